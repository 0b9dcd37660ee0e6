"""Agents' softphones as the desktops see them: who is registered, from where (address, port,
transport), with what phone, since when and until when — and an event whenever that changes.

The registrar (sip/registrar.py) holds the bindings, in memory: after a restart there are none
until the phones re-register (they do, within their registration interval). This module
watches it. After each accepted REGISTER the server hands it the address of record and its
owner; it compares the bindings with what it saw last and reports each difference as a
`voice.registration_changed` event (call_events.py): `registered` (a new contact), `moved`
(the same contact from another address, port or transport), `unregistered` (the phone removed
it) or `expired` (not refreshed in time; a timer per address of record wakes at its earliest
expiry). A refresh from the same place is not an event. The events are written in order by one
task, so a slow database never delays a phone's 200 OK; their audience is the agent and the
supervisors of the agent's teams (as the directory has them).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from omnidesk.channels.voice.call_events import RegistrationChanged
from omnidesk.channels.voice.sip.registrar import Binding, Registrar, contact_key
from omnidesk.channels.voice.sip.transport import Address
from omnidesk.platform.events import Audience, DomainEvent
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)

Change = Literal["registered", "moved", "unregistered", "expired"]
# Writes an event of a tenant for an audience (the voice server's event writer).
Writer = Callable[[uuid.UUID, DomainEvent, Audience], Awaitable[None]]
# The teams a user belongs to (the supervisors of these follow the user's softphones).
TeamsOf = Callable[[uuid.UUID, uuid.UUID], Awaitable[frozenset[uuid.UUID]]]
# After an expiry is due, how long to wait before looking: the registrar's clock and the
# event loop's may differ by a hair, and a look just before the expiry would find nothing.
_EXPIRY_SLACK_S = 0.05


@dataclass(frozen=True)
class Owner:
    """Whose softphone an address of record is: the user with that SIP login."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    username: str


@dataclass(frozen=True)
class Registration:
    """One registered softphone (one contact of the user's address of record)."""

    user_id: uuid.UUID
    username: str
    aor: str
    contact: str
    transport: str
    address: str
    port: int
    user_agent: str | None
    registered_at: datetime
    expires_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "username": self.username,
            "aor": self.aor,
            "contact": self.contact,
            "transport": self.transport,
            "address": self.address,
            "port": self.port,
            "user_agent": self.user_agent,
            "registered_at": self.registered_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class _Seen:
    """What was last seen of one binding."""

    registration: Registration
    source: Address
    expires_at: float  # on the registrar's clock


@dataclass(frozen=True)
class _Report:
    owner: Owner
    change: Change
    registration: Registration
    previous: Address | None
    current: list[Registration]


class SoftphoneRegistry:
    def __init__(
        self,
        registrar: Registrar,
        write: Writer,
        teams_of: TeamsOf,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.registrar = registrar
        self._write = write
        self._teams_of = teams_of
        self._wall_clock = wall_clock
        self._owners: dict[str, Owner] = {}
        self._seen: dict[str, dict[str, _Seen]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._reports: asyncio.Queue[_Report | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="voice-registrations")

    async def stop(self) -> None:
        """Write what was reported so far, then stop (the bindings stay in the registrar)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._worker is not None:
            self._reports.put_nowait(None)
            await asyncio.shield(self._worker)
            self._worker = None

    # --- what changed ------------------------------------------------------------------------

    def registered(self, aor: str, owner: Owner) -> None:
        """A REGISTER for `aor` was accepted (it added, refreshed, moved or removed bindings).
        Call it right after the registrar applied it, with no await in between, so that the
        comparison sees exactly that REGISTER's outcome."""
        self._owners[aor] = owner
        self._check(aor)

    def _check(self, aor: str) -> None:
        owner = self._owners.get(aor)
        if owner is None:
            return
        now = self.registrar.clock()
        before = self._seen.get(aor, {})
        after: dict[str, _Seen] = {}
        reports: list[tuple[Change, Registration, Address | None]] = []
        for binding in self.registrar.lookup(aor):
            key = contact_key(binding.contact)
            old = before.get(key)
            seen = self._seen_of(owner, binding, now, old)
            after[key] = seen
            if old is None:
                reports.append(("registered", seen.registration, None))
            elif old.source != binding.source:
                reports.append(("moved", seen.registration, old.source))
        for key, old in before.items():
            if key not in after:
                gone: Change = "expired" if old.expires_at <= now else "unregistered"
                reports.append((gone, old.registration, None))
        if after:
            self._seen[aor] = after
        else:
            self._seen.pop(aor, None)
            self._owners.pop(aor, None)
        self._schedule_expiry(aor, after)
        if reports:
            current = self.of_user(owner.tenant_id, owner.user_id)
            for change, registration, previous in reports:
                self._report(_Report(owner, change, registration, previous, current))

    def _seen_of(self, owner: Owner, binding: Binding, now: float, old: _Seen | None) -> _Seen:
        wall = self._wall_clock()
        if old is not None and old.source == binding.source:
            registered_at = old.registration.registered_at  # a refresh: the same registration
        else:
            registered_at = _instant(wall - (now - binding.since))
        registration = Registration(
            user_id=owner.user_id,
            username=owner.username,
            aor=binding.aor,
            contact=str(binding.contact),
            transport=binding.source.transport,
            address=binding.source.host,
            port=binding.source.port,
            user_agent=binding.user_agent,
            registered_at=registered_at,
            expires_at=_instant(wall + (binding.expires_at - now)),
        )
        return _Seen(registration, binding.source, binding.expires_at)

    def _schedule_expiry(self, aor: str, seen: dict[str, _Seen]) -> None:
        timer = self._timers.pop(aor, None)
        if timer is not None:
            timer.cancel()
        if not seen:
            return
        due = min(s.expires_at for s in seen.values()) - self.registrar.clock()
        loop = asyncio.get_running_loop()
        self._timers[aor] = loop.call_later(max(0.0, due) + _EXPIRY_SLACK_S, self._expire, aor)

    def _expire(self, aor: str) -> None:
        self._timers.pop(aor, None)
        self._check(aor)

    def check_expiries(self) -> None:
        """Look at every address of record now (the timers do this by themselves; tests that
        move the registrar's clock call it)."""
        for aor in list(self._owners):
            self._check(aor)

    def _report(self, report: _Report) -> None:
        r = report.registration
        log.info(
            f"voice.softphone_{report.change}",
            tenant=str(report.owner.tenant_id),
            user=str(r.user_id),
            username=r.username,
            contact=r.contact,
            source=f"{r.transport}:{r.address}:{r.port}",
            user_agent=r.user_agent,
            expires_at=r.expires_at.isoformat(),
            previous=str(report.previous) if report.previous else None,
        )
        self._reports.put_nowait(report)

    async def _run(self) -> None:
        while (report := await self._reports.get()) is not None:
            try:
                await self._publish(report)
            except Exception:
                # A softphone must stay registered whether or not its event could be written.
                log.exception("voice.registration_event_failed", user=str(report.owner.user_id))

    async def _publish(self, report: _Report) -> None:
        owner = report.owner
        previous = report.previous
        event = RegistrationChanged(
            user_id=owner.user_id,
            username=owner.username,
            change=report.change,
            registration=report.registration.to_json(),
            previous=None
            if previous is None
            else {"transport": previous.transport, "address": previous.host, "port": previous.port},
            registrations=[r.to_json() for r in report.current],
        )
        teams = await self._teams_of(owner.tenant_id, owner.user_id)
        audience = Audience.of(users=[owner.user_id], teams=teams)
        await self._write(owner.tenant_id, event, audience)

    # --- what is registered now --------------------------------------------------------------

    def of_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[Registration]:
        return [r for r in self.of_tenant(tenant_id) if r.user_id == user_id]

    def of_tenant(self, tenant_id: uuid.UUID) -> list[Registration]:
        """The tenant's live registrations, by username and then registration time."""
        now = self.registrar.clock()
        out: list[Registration] = []
        for aor, owner in list(self._owners.items()):
            if owner.tenant_id != tenant_id:
                continue
            seen = self._seen.get(aor, {})
            for binding in self.registrar.lookup(aor):
                known = seen.get(contact_key(binding.contact))
                out.append(self._seen_of(owner, binding, now, known).registration)
        out.sort(key=lambda r: (r.username, r.registered_at, r.contact))
        return out


def _instant(epoch: float) -> datetime:
    """A wall-clock instant to the whole second: the same binding reads the same each time."""
    return datetime.fromtimestamp(round(epoch), UTC)


def registration_views(registrations: list[Registration]) -> dict[str, list[dict[str, Any]]]:
    """Registrations as the snapshot has them: by user id, only users with any."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in registrations:
        out.setdefault(str(r.user_id), []).append(r.to_json())
    return out
