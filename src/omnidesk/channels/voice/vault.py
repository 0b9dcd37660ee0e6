"""Voice secrets: digest HA1 values (one-way) and sealing of the few secrets we must send on.

HA1 = H(username ":" realm ":" password), hex, for MD5 (RFC 2617) and SHA-256 (RFC 7616). A
registrar needs only HA1 to check a digest response, so the password itself is never stored.

Sealing (outbound trunk passwords, which the carrier wants in clear inside its own digest) is
the platform's (platform/sealing.py, AES-256-GCM with a key derived from the install's key
material) for the purpose "voice". ("v1", a hand-made HMAC construction, was never released
and is not read.)
"""

from __future__ import annotations

import hashlib
from typing import Literal

from omnidesk.platform.sealing import KEY_FILE, VERSION, Sealer, SealError, install_key

Algorithm = Literal["MD5", "SHA-256"]
ALGORITHMS: tuple[Algorithm, ...] = ("MD5", "SHA-256")
_SEALER = Sealer("voice")
seal = _SEALER.seal
unseal = _SEALER.unseal
__all__ = [
    "ALGORITHMS",
    "KEY_FILE",
    "VERSION",
    "Algorithm",
    "SealError",
    "ha1",
    "install_key",
    "seal",
    "unseal",
]


def ha1(username: str, realm: str, password: str, algorithm: Algorithm) -> str:
    text = f"{username}:{realm}:{password}".encode()
    if algorithm == "MD5":
        return hashlib.md5(text, usedforsecurity=False).hexdigest()
    if algorithm == "SHA-256":
        return hashlib.sha256(text).hexdigest()
    raise ValueError(f"unknown digest algorithm {algorithm!r}")
