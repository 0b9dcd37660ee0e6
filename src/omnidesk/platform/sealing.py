"""Sealing the few secrets the server must send on (a trunk's password, a messaging provider's
access token): AES-256-GCM from `cryptography`, written as "v2:" + base64url(nonce ‖ ciphertext ‖
tag), so that a database dump alone does not reveal them.

The AES key is derived with HKDF-SHA256 from the install's key material (`install_key`): the
`secret_key` setting or, when that is not set, a random key file created once in the data
directory (0600). Each use has its own `purpose`, which goes into the HKDF salt and info and the
associated data, so a value sealed for one purpose never opens as another's. The version prefix
is in the associated data too, so a value cannot be passed off as another format.
"""

from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v2"
_NONCE = 12  # GCM's native nonce size; random nonces are safe far beyond our sealing rate
_TAG = 16
KEY_FILE = "secret.key"


class SealError(ValueError):
    """A sealed value that this key cannot open (wrong key, damaged or unknown format)."""


@lru_cache(maxsize=16)
def _aead(key: bytes, purpose: str) -> AESGCM:
    # Cached: lookups unseal per outbound call, and HKDF plus key setup need not repeat.
    # Salt and info are fixed and public: they separate this use of the key material from any
    # other (RFC 5869 §3.1).
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=f"omnidesk/{purpose}/vault".encode(),
        info=f"omnidesk {purpose} seal {VERSION} aes-256-gcm".encode(),
    ).derive(key)
    return AESGCM(derived)


class Sealer:
    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        self._aad = f"omnidesk-{purpose}-seal:{VERSION}".encode()

    def seal(self, key: bytes, plaintext: str) -> str:
        nonce = os.urandom(_NONCE)
        body = _aead(key, self.purpose).encrypt(nonce, plaintext.encode(), self._aad)
        return f"{VERSION}:{base64.urlsafe_b64encode(nonce + body).decode()}"

    def unseal(self, key: bytes, sealed: str) -> str:
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
            plain = _aead(key, self.purpose).decrypt(raw[:_NONCE], raw[_NONCE:], self._aad)
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
