"""Digest authentication (RFC 2617, RFC 7616) for SIP, both sides, and a failure limiter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from omnidesk.channels.voice.sip.message import SipResponse

Algorithm = Literal["MD5", "SHA-256"]
Clock = Callable[[], float]

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def _h(algorithm: str, text: str) -> str:
    return _HASHES[algorithm.upper()](text.encode("utf-8")).hexdigest()


def compute_ha1(user: str, realm: str, password: str, algorithm: Algorithm = "MD5") -> str:
    """What the product stores instead of the password (one per realm and algorithm)."""
    return _h(algorithm, f"{user}:{realm}:{password}")


def digest_response(
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    *,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    algorithm: str = "MD5",
) -> str:
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


_PARAM = re.compile(r'\s*([A-Za-z0-9_\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """`Digest a=b, c="d"` -> ("digest", {"a": "b", "c": "d"}); ValueError when malformed."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            raise ValueError("malformed auth parameters")
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        params[m.group(1).lower()] = v
        pos = m.end()
    return scheme.lower(), params


class NonceManager:
    """Stateless nonces: base64(timestamp:HMAC(secret, timestamp)); stale after `lifetime`."""

    def __init__(
        self, secret: bytes | None = None, lifetime: float = 300.0, clock: Clock = time.time
    ) -> None:
        self.secret = secret or secrets.token_bytes(32)
        self.lifetime = lifetime
        self.clock = clock
        # Highest nc seen per nonce, bounded: a replayed (nonce, nc) is refused.
        self._nc: OrderedDict[str, int] = OrderedDict()

    def make(self) -> str:
        ts = f"{self.clock():.3f}"
        mac = hmac.new(self.secret, ts.encode(), hashlib.sha256).hexdigest()[:32]
        return base64.b64encode(f"{ts}:{mac}".encode()).decode().rstrip("=")

    def check(self, nonce: str) -> Literal["ok", "stale", "invalid"]:
        try:
            raw = base64.b64decode(nonce + "=" * (-len(nonce) % 4), validate=True).decode()
            ts, mac = raw.split(":")
            issued = float(ts)
        except (ValueError, UnicodeDecodeError):
            return "invalid"
        want = hmac.new(self.secret, ts.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(want, mac):
            return "invalid"
        age = self.clock() - issued
        if age < -5 or age > self.lifetime:
            return "stale"
        return "ok"

    def accept_nc(self, nonce: str, nc: int) -> bool:
        last = self._nc.get(nonce, 0)
        if nc <= last:
            return False
        self._nc[nonce] = nc
        self._nc.move_to_end(nonce)
        while len(self._nc) > 10000:
            self._nc.popitem(last=False)
        return True


def challenge(realm: str, nonce: str, *, stale: bool = False, algorithm: str = "MD5") -> str:
    out = f'Digest realm="{realm}", nonce="{nonce}", algorithm={algorithm}, qop="auth"'
    return out + (", stale=true" if stale else "")


@dataclass(frozen=True)
class AuthResult:
    outcome: Literal["ok", "stale", "failed", "malformed"]
    user: str | None = None
    reason: str = ""


def verify(
    params: dict[str, str],
    method: str,
    ha1: str,
    nonces: NonceManager,
    *,
    realm: str,
) -> AuthResult:
    """Check a parsed Authorization header against the stored HA1 for its user."""
    user = params.get("username")
    for name in ("username", "realm", "nonce", "uri", "response"):
        if not params.get(name):
            return AuthResult("malformed", user, f"missing {name}")
    if params["realm"] != realm:
        return AuthResult("failed", user, "wrong realm")
    algorithm = params.get("algorithm", "MD5").upper()
    if algorithm not in _HASHES:
        return AuthResult("malformed", user, "unsupported algorithm")
    qop = params.get("qop")
    nc_text, cnonce = params.get("nc"), params.get("cnonce")
    if qop is not None:
        if qop != "auth":
            return AuthResult("malformed", user, "unsupported qop")
        if not nc_text or not re.fullmatch(r"[0-9a-fA-F]{8}", nc_text) or not cnonce:
            return AuthResult("malformed", user, "bad nc or cnonce")
    expected = digest_response(
        ha1,
        params["nonce"],
        method,
        params["uri"],
        qop=qop,
        nc=nc_text,
        cnonce=cnonce,
        algorithm=algorithm,
    )
    if not hmac.compare_digest(expected, params["response"].lower()):
        return AuthResult("failed", user, "wrong response")
    state = nonces.check(params["nonce"])
    if state == "invalid":
        return AuthResult("failed", user, "forged nonce")
    if state == "stale":
        # Right password on an old nonce: ask again with stale=true (no failure counted).
        return AuthResult("stale", user, "stale nonce")
    if qop is not None and nc_text and not nonces.accept_nc(params["nonce"], int(nc_text, 16)):
        return AuthResult("failed", user, "replayed nc")
    return AuthResult("ok", user)


class FailureLimiter:
    """After `max_failures` within `window` s from one IP or for one user: locked for `lockout`."""

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 60.0,
        lockout: float = 300.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.clock = clock
        self._fails: dict[str, deque[float]] = {}
        self._locked: dict[str, float] = {}

    def _keys(self, ip: str, user: str | None) -> list[str]:
        return [f"ip:{ip}"] + ([f"user:{user}"] if user else [])

    def is_locked(self, ip: str, user: str | None = None) -> bool:
        now = self.clock()
        for key in self._keys(ip, user):
            until = self._locked.get(key)
            if until is not None:
                if now < until:
                    return True
                del self._locked[key]
        return False

    def record_failure(self, ip: str, user: str | None = None) -> bool:
        """Count a failure; True when it tripped (or keeps) a lockout."""
        now = self.clock()
        tripped = False
        for key in self._keys(ip, user):
            q = self._fails.setdefault(key, deque())
            q.append(now)
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.max_failures:
                self._locked[key] = now + self.lockout
                q.clear()
                tripped = True
        if len(self._fails) > 100000:  # scanners rotate IPs: bound memory
            self._fails.clear()
        return tripped

    def record_success(self, ip: str, user: str | None = None) -> None:
        for key in self._keys(ip, user):
            self._fails.pop(key, None)


@dataclass
class Credentials:
    username: str
    password: str
    realm: str | None = None  # None: answer any realm


class DigestClient:
    """UAC side: builds Authorization / Proxy-Authorization for a 401/407 challenge."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._nc = 0

    def answer(self, response: SipResponse, method: str, uri: str) -> tuple[str, str] | None:
        """(header name, value) answering `response`'s challenge, or None if we cannot."""
        name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        reply = "Authorization" if response.status == 401 else "Proxy-Authorization"
        for value in response.headers.get_all(name):
            try:
                scheme, params = parse_auth_header(value)
            except ValueError:
                continue
            algorithm = params.get("algorithm", "MD5").upper()
            if scheme != "digest" or algorithm not in _HASHES or "nonce" not in params:
                continue
            realm = params.get("realm", "")
            if self.credentials.realm is not None and realm != self.credentials.realm:
                continue
            qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
            qop = "auth" if "auth" in qops else None
            self._nc += 1
            nc = f"{self._nc:08x}"
            cnonce = secrets.token_hex(8)
            ha1 = _h(algorithm, f"{self.credentials.username}:{realm}:{self.credentials.password}")
            resp = digest_response(
                ha1,
                params["nonce"],
                method,
                uri,
                qop=qop,
                nc=nc,
                cnonce=cnonce,
                algorithm=algorithm,
            )
            parts = [
                f'username="{self.credentials.username}"',
                f'realm="{realm}"',
                f'nonce="{params["nonce"]}"',
                f'uri="{uri}"',
                f'response="{resp}"',
                f"algorithm={algorithm}",
            ]
            if "opaque" in params:
                parts.append(f'opaque="{params["opaque"]}"')
            if qop:
                parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
            return reply, "Digest " + ", ".join(parts)
        return None
