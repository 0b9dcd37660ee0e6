"""Signed webhooks: `sha256=<hex HMAC-SHA256 of the raw body>` with the account's secret.

Computed on the bytes as received (re-serialised JSON would differ) and compared in constant
time, so the comparison's duration tells an attacker nothing about the right value.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    given = header.strip()
    if not given.lower().startswith(PREFIX):
        return False
    expected = sign(secret, body)[len(PREFIX) :]
    return hmac.compare_digest(expected.encode(), given[len(PREFIX) :].lower().encode())


def same(given: str, expected: str) -> bool:
    """A shared token (the verify token), compared in constant time; never equal to nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
