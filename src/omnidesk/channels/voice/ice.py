"""What the browser phone's ICE is given: STUN/TURN servers with fresh TURN credentials, and the
addresses its host candidates may be on (docs/voice.md, "Browser phone"; ADR 0030).

Short-lived TURN credentials are the TURN REST API scheme coturn implements with
`use-auth-secret` / `static-auth-secret`: username `<expiry unix time>:<who>`, credential
base64(HMAC-SHA1(secret, username)). The TURN server checks the HMAC with the shared secret and
refuses a username whose time has passed, so a credential read out of a desk is worth nothing
after `ttl_seconds`, and nobody has to change a password when an agent leaves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiortc import RTCIceServer


@dataclass(frozen=True)
class TurnRest:
    """A TURN server whose credentials are minted per user from a shared secret."""

    urls: list[str]
    secret: str
    ttl_seconds: int

    def mint(self, who: str) -> RTCIceServer:
        return self.mint_until(who, int(time.time()) + self.ttl_seconds)

    def mint_until(self, who: str, expires: int) -> RTCIceServer:
        return RTCIceServer(urls=self.urls, **turn_rest_credential(self.secret, who, expires))


def turn_rest_credential(secret: str, who: str, expires: int) -> dict[str, str]:
    username = f"{expires}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"username": username, "credential": base64.b64encode(digest).decode()}


IceSource = RTCIceServer | TurnRest


def servers_for(sources: Sequence[IceSource], who: str) -> list[RTCIceServer]:
    """The servers as one user's peer connection takes them, in the configured order (aiortc
    uses the first STUN and the first TURN server it can), with fresh credentials minted."""
    return [s.mint(who) if isinstance(s, TurnRest) else s for s in sources]


# --- which addresses host candidates may be on (voice_webrtc_addresses) -------------------------


def keep_candidates(sdp: str, allowed: Iterable[str]) -> str:
    """The SDP with its host candidates limited to `allowed` addresses, and its server
    reflexive ones to those gathered on them (relay candidates stay: TURN's addresses).

    Why in the SDP: aioice gathers on every interface but loopback and has no parameter to
    choose (aiortc's RTCConfiguration passes none through), so the answer is where the browser
    learns them. A candidate left out is never paired by the browser; the server still sends
    its connectivity checks from every interface, but a browser that cannot reach an address
    cannot answer checks from it either (docs/voice.md says so)."""
    wanted = {ipaddress.ip_address(a) for a in allowed}
    if not wanted:
        return sdp
    sections: list[list[str]] = [[]]
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            sections.append([])
        if line.startswith("a=candidate:") and not _kept(line, wanted):
            continue
        sections[-1].append(line)
    return "\r\n".join("\r\n".join(_default_address(s)) for s in sections if s)


def _kept(candidate: str, wanted: set[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    parts = candidate.split()
    if len(parts) < 8 or parts[7] not in ("host", "srflx"):
        return True  # relay: the TURN server's address, its raddr a public one
    # A server reflexive candidate's base (raddr) is the interface it was gathered on.
    address = parts[4] if parts[7] == "host" else _raddr(parts)
    try:
        return address is not None and ipaddress.ip_address(address) in wanted
    except ValueError:
        return False  # an mDNS name or the like: not one of ours


def _raddr(parts: list[str]) -> str | None:
    return parts[parts.index("raddr") + 1] if "raddr" in parts[:-1] else None


def _default_address(section: list[str]) -> list[str]:
    """A media section's c= and m= port name its first candidate left (aiortc wrote the first
    gathered one there, which may be an address the setting hides)."""
    first = next((ln.split() for ln in section if ln.startswith("a=candidate:")), None)
    if first is None or not section[0].startswith("m="):
        return section
    host, port = first[4], first[5]
    family = "IP6" if ":" in host else "IP4"
    out = []
    for line in section:
        if line.startswith("m="):
            kind, _, rest = line.split(" ", 2)
            line = f"{kind} {port} {rest}"
        elif line.startswith("c="):
            line = f"c=IN {family} {host}"
        out.append(line)
    return out
