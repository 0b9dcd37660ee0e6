"""Registrar bindings (RFC 3261 §10.3), in memory, on an injected clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from omnidesk.channels.voice.sip.message import NameAddr, SipParseError, SipRequest, SipUri
from omnidesk.channels.voice.sip.transport import Address


@dataclass
class Binding:
    aor: str
    contact: SipUri
    source: Address  # where REGISTER came from: reach NATed phones there
    expires_at: float
    q: float
    call_id: str
    cseq: int
    user_agent: str | None = None  # the phone's User-Agent header, as it last sent it
    # When the phone registered this contact from this source (registrar clock): a refresh
    # from the same place keeps it, one from elsewhere (a new NAT mapping, another network)
    # starts it again.
    since: float = 0.0

    def expires_in(self, now: float) -> int:
        return max(0, round(self.expires_at - now))


class RegistrarError(Exception):
    def __init__(self, status: int, reason: str, min_expires: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.min_expires = min_expires


class Registrar:
    def __init__(
        self,
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.clock = clock
        self._bindings: dict[str, list[Binding]] = {}

    def lookup(self, aor: str) -> list[Binding]:
        """Live bindings, highest q first; among equal q the newest registration first (a phone
        that went away without unregistering leaves an older binding behind, which would
        otherwise be rung until it expires while the phone the agent uses now stays silent)."""
        self._expire(aor)
        return sorted(self._bindings.get(aor, []), key=lambda b: (-b.q, -b.since))

    def _expire(self, aor: str) -> None:
        now = self.clock()
        live = [b for b in self._bindings.get(aor, []) if b.expires_at > now]
        if live:
            self._bindings[aor] = live
        else:
            self._bindings.pop(aor, None)

    def purge(self) -> None:
        for aor in list(self._bindings):
            self._expire(aor)

    def register(
        self, request: SipRequest, source: Address, *, aor: str | None = None
    ) -> list[Binding]:
        """Apply a REGISTER; returns the AOR's bindings afterwards. Raises RegistrarError."""
        aor = aor or request.to.uri.aor
        call_id = request.call_id
        cseq = request.cseq[0]
        header_expires = request.headers.get("expires")
        if header_expires is not None and not header_expires.isdigit():
            raise RegistrarError(400, "Bad Expires")
        try:
            contacts = request.contacts
        except SipParseError as exc:
            raise RegistrarError(400, f"Bad Contact: {exc.reason}") from exc
        self._expire(aor)
        current = self._bindings.get(aor, [])
        if any(c.wildcard for c in contacts):
            # §10.3 step 6: "*" only alone and with Expires: 0.
            if len(contacts) != 1 or header_expires != "0":
                raise RegistrarError(400, "Wildcard Contact needs Expires: 0 and no other")
            for b in current:
                if b.call_id == call_id and cseq <= b.cseq:
                    raise RegistrarError(500, "Out of order CSeq")
            self._bindings.pop(aor, None)
            return []
        now = self.clock()
        updates: list[tuple[NameAddr, int]] = []
        for c in contacts:
            raw = c.params.get("expires")
            if raw is not None and not raw.isdigit():
                raise RegistrarError(400, "Bad Contact expires")
            exp = (
                int(raw)
                if raw is not None
                else (int(header_expires) if header_expires is not None else self.default_expires)
            )
            if 0 < exp < self.min_expires:
                raise RegistrarError(423, "Interval Too Brief", self.min_expires)
            updates.append((c, min(exp, self.max_expires)))
        for c, exp in updates:
            key = contact_key(c.uri)
            existing = next((b for b in current if contact_key(b.contact) == key), None)
            if existing is not None and existing.call_id == call_id and cseq <= existing.cseq:
                # §10.3 step 7: a reordered or repeated REGISTER must not undo a newer one.
                raise RegistrarError(500, "Out of order CSeq")
            if existing is not None:
                current.remove(existing)
            if exp == 0:
                continue
            q_raw = c.params.get("q")
            try:
                q = float(q_raw) if q_raw is not None else 1.0
            except ValueError as exc:
                raise RegistrarError(400, "Bad q") from exc
            since = existing.since if existing is not None and existing.source == source else now
            agent = request.headers.get("user-agent")
            current.append(Binding(aor, c.uri, source, now + exp, q, call_id, cseq, agent, since))
        if current:
            self._bindings[aor] = current
        else:
            self._bindings.pop(aor, None)
        return self.lookup(aor)


def contact_key(uri: SipUri) -> str:
    # URI comparison (§19.1.4), simplified: scheme, user, host, port, transport.
    return f"{uri.scheme}:{uri.user}@{uri.host.lower()}:{uri.port}:{uri.params.get('transport')}"
