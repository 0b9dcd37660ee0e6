"""Voice secrets: digest HA1 values (one-way) and sealing of the few secrets we must send on.

HA1 = H(username ":" realm ":" password), hex, for MD5 (RFC 2617) and SHA-256 (RFC 7616). A
registrar needs only HA1 to check a digest response, so the password itself is never stored.

Sealing (outbound trunk passwords, which the carrier wants in clear inside its own digest):
AES-256-GCM from `cryptography`, written as "v2:" + base64url(nonce ‖ ciphertext ‖ tag). The
AES key is derived with HKDF-SHA256 from the install's key material: the `secret_key` setting
or, when that is not set, a random key file created once in the data directory (0600), so
that a database dump alone does not reveal the passwords. The version prefix is also the
associated data, so a value cannot be passed off as another format. ("v1", a hand-made
HMAC construction, was never released and is not read.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Algorithm = Literal["MD5", "SHA-256"]
ALGORITHMS: tuple[Algorithm, ...] = ("MD5", "SHA-256")
VERSION = "v2"
_NONCE = 12  # GCM's native nonce size; random nonces are safe far beyond our sealing rate
_TAG = 16
_AAD = f"omnidesk-voice-seal:{VERSION}".encode()
# Fixed, public: it separates this use of the key material from any other (RFC 5869 §3.1).
_HKDF_SALT = b"omnidesk/voice/vault"
_HKDF_INFO = b"omnidesk voice seal v2 aes-256-gcm"
KEY_FILE = "secret.key"


def ha1(username: str, realm: str, password: str, algorithm: Algorithm) -> str:
    text = f"{username}:{realm}:{password}".encode()
    if algorithm == "MD5":
        return hashlib.md5(text, usedforsecurity=False).hexdigest()
    if algorithm == "SHA-256":
        return hashlib.sha256(text).hexdigest()
    raise ValueError(f"unknown digest algorithm {algorithm!r}")


class SealError(ValueError):
    """A sealed value that this key cannot open (wrong key, damaged or unknown format)."""


@lru_cache(maxsize=8)
def _aead(key: bytes) -> AESGCM:
    # Cached: the lookups unseal per outbound call, and HKDF plus key setup need not repeat.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        key
    )
    return AESGCM(derived)


def seal(key: bytes, plaintext: str) -> str:
    nonce = os.urandom(_NONCE)
    body = _aead(key).encrypt(nonce, plaintext.encode(), _AAD)
    return f"{VERSION}:{base64.urlsafe_b64encode(nonce + body).decode()}"


def unseal(key: bytes, sealed: str) -> str:
    version, _, packed = sealed.partition(":")
    if version != VERSION:
        raise SealError(f"unknown sealed format {version!r}")
    try:
        raw = base64.urlsafe_b64decode(packed.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise SealError("damaged sealed value") from exc
    if len(raw) < _NONCE + _TAG:
        raise SealError("damaged sealed value")
    try:
        plain = _aead(key).decrypt(raw[:_NONCE], raw[_NONCE:], _AAD)
    except InvalidTag:
        raise SealError("sealed value does not match this key (or was altered)") from None
    return plain.decode()


def install_key(secret_key: str | None, data_dir: Path) -> bytes:
    """The install's key material: the setting if given (every node of a cluster must share
    it), else `<data_dir>/secret.key`, created with 32 random bytes on first use. The AES key
    is derived from it with HKDF when sealing."""
    if secret_key:
        return secret_key.encode()
    path = data_dir / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    # Written whole under a private name, then linked into place: link() fails if the file
    # exists, so two processes starting together agree on one key, and neither ever reads a
    # key file that is still empty.
    temp = data_dir / f".{KEY_FILE}.{os.getpid()}.{os.urandom(4).hex()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.hex())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return _read_key(path)
    finally:
        temp.unlink(missing_ok=True)
    return key


def _read_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise RuntimeError(f"{path} does not hold a 32-byte hex key")
    return key
