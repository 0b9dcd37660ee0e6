"""Password hashing with argon2id (argon2-cffi's tuned defaults)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same, so the
# login endpoint does not reveal which usernames exist.
_DUMMY = ""


def configure_hasher(time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Set the argon2id cost (settings `argon2_*`); existing hashes are upgraded at next login."""
    global _hasher, _DUMMY
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _DUMMY = ""


def _dummy() -> str:
    global _DUMMY
    if not _DUMMY:
        _DUMMY = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY


MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    return secrets.token_urlsafe(12)
