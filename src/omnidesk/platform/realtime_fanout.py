"""Fan-out of one tenant's committed events to the realtime connections that may see them.

Two jobs, both done once per tenant rather than once per socket (docs/adr/0004):

- **Order.** The bus may deliver late or out of order (another node, or two writers publishing
  after their commits in the other order). `TenantFanout` keeps the tenant's *head*: every event
  up to it has been dispatched, in order, exactly once. An event past head + 1 waits while the
  hole is read from the event log — one read per hole for the whole tenant — and then everything
  goes out in order. A connection therefore never sees a hole and keeps no cursor scan.
- **Audience.** Connections are indexed by what their principal's fields make them candidates
  for: admins (every event), their own user id (events addressed to them, and scope changes),
  and the teams they supervise (team events). An event touches only its candidates, and only
  those `Principal.sees` (the one rule; the index merely narrows who is asked) or whose scope it
  changes are handed it: no queue put, no wake-up for anyone else. Its wire text is built once
  and the same string goes to every recipient.

It also keeps the last few hundred dispatched events so that a client resuming by id right after
a network blip is replayed from memory instead of from the database.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Iterator
from functools import cached_property
from typing import Protocol

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.events import Audience, PublishedEvent
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)


class Outgoing:
    """An event as it goes out: the same object, and the same wire text, for every recipient."""

    def __init__(self, event: PublishedEvent) -> None:
        self.event = event

    @property
    def seq(self) -> int:
        return self.event.seq

    @cached_property
    def text(self) -> str:
        # Built on first use: an event nobody is sent costs no serialisation at all.
        return json.dumps(self.event.to_wire(), separators=(",", ":"))


class Recipient(Protocol):
    """A connection as the fan-out sees it."""

    @property
    def principal(self) -> Principal: ...

    def offer(self, item: Outgoing) -> None:
        """Queue the event for sending; never blocks (a slow recipient cuts itself off)."""


class EventLog(Protocol):
    """The tenant's event log, read when the bus leaves a hole."""

    async def head(self) -> int: ...

    async def read(self, after: int, until: int) -> list[PublishedEvent]:
        """Events with after < seq <= until, oldest first (at most one page of them)."""


class _Keys:
    """Where a connection sits in the index, kept so that it can be taken out again."""

    __slots__ = ("admin", "teams", "user")

    def __init__(self, principal: Principal) -> None:
        # Derived from the fields `Principal.sees` reads. An admin sees everything, so one set
        # holds them all. A non-admin is asked about events naming its user (addressed to it or
        # changing its scope) and about events of every team in `supervised_teams`; `sees` then
        # decides (it also checks the role, which the index need not mirror).
        self.admin = principal.is_admin
        self.user = principal.user_id
        self.teams = frozenset() if self.admin else principal.supervised_teams


def _add(index: dict[uuid.UUID, set[Recipient]], key: uuid.UUID, item: Recipient) -> None:
    index.setdefault(key, set()).add(item)


def _remove(index: dict[uuid.UUID, set[Recipient]], key: uuid.UUID, item: Recipient) -> None:
    peers = index.get(key)
    if peers is not None:
        peers.discard(item)
        if not peers:
            del index[key]


class TenantFanout:
    def __init__(self, tenant_id: uuid.UUID, log_: EventLog, *, recent: int = 1000) -> None:
        self.tenant_id = tenant_id
        self._log = log_
        # Every event with seq <= head has been dispatched; None until read from the log.
        self.head: int | None = None
        self._pending: dict[int, PublishedEvent] = {}
        self._recent: deque[Outgoing] = deque(maxlen=recent)
        self._keys: dict[Recipient, _Keys] = {}
        self._admins: set[Recipient] = set()
        self._by_user: dict[uuid.UUID, set[Recipient]] = {}
        self._by_team: dict[uuid.UUID, set[Recipient]] = {}
        self._started: asyncio.Task[None] | None = None
        self._filler: asyncio.Task[None] | None = None
        # Counters for tests and `omnidesk bench realtime`.
        self.dispatched = 0
        self.log_reads = 0

    # --- the index -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[Recipient]:
        return iter(list(self._keys))

    def add(self, recipient: Recipient) -> None:
        keys = _Keys(recipient.principal)
        self._keys[recipient] = keys
        if keys.admin:
            self._admins.add(recipient)
            return
        _add(self._by_user, keys.user, recipient)
        for team in keys.teams:
            _add(self._by_team, team, recipient)

    def remove(self, recipient: Recipient) -> bool:
        keys = self._keys.pop(recipient, None)
        if keys is None:
            return False
        self._admins.discard(recipient)
        _remove(self._by_user, keys.user, recipient)
        for team in keys.teams:
            _remove(self._by_team, team, recipient)
        return True

    def recipients(self, audience: Audience) -> list[Recipient]:
        if audience.everyone:
            return list(self._keys)
        candidates = set(self._admins)
        for user in audience.users | audience.scope_change_for:
            candidates.update(self._by_user.get(user, ()))
        for team in audience.teams:
            candidates.update(self._by_team.get(team, ()))
        return [
            c
            for c in candidates
            if c.principal.sees(audience) or c.principal.user_id in audience.scope_change_for
        ]

    # --- the head --------------------------------------------------------------------------

    async def ready(self) -> None:
        """Wait until the head is known (read from the log once, by whoever asks first)."""
        if self._started is None:
            self._started = asyncio.create_task(self._start(), name="realtime-fanout-head")
        # Shielded: one caller giving up must not cancel the read the others wait for.
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        try:
            head = await self._log.head()
        except BaseException:
            self._started = None  # the next connection tries again
            raise
        # Events published while the head was being read: those at or below it are covered by
        # every snapshot or replay read from now on (all waiters read after this).
        self.head = head
        self._pending = {s: e for s, e in self._pending.items() if s > head}
        self._drain()

    def recent_after(self, after: int) -> list[Outgoing] | None:
        """The dispatched events after `after` (up to the head), or None if no longer kept."""
        if self.head is None or after > self.head:
            return None
        if after == self.head:
            return []
        if not self._recent or self._recent[0].seq > after + 1:
            return None
        return [out for out in self._recent if out.seq > after]

    # --- dispatch --------------------------------------------------------------------------

    def publish(self, event: PublishedEvent) -> None:
        """Take an event from the bus (any order, possibly twice)."""
        if self.head is not None and event.seq <= self.head:
            return  # late or repeated: already dispatched or covered
        if self.head is not None and event.seq == self.head + 1:
            self._dispatch(event)
            self._drain()
            return
        self._pending[event.seq] = event
        if self.head is not None and self._filler is None:
            self._filler = asyncio.create_task(self._fill(), name="realtime-fanout-fill")

    def _dispatch(self, event: PublishedEvent) -> None:
        self.head = event.seq
        self.dispatched += 1
        out = Outgoing(event)
        self._recent.append(out)
        for recipient in self.recipients(event.audience):
            recipient.offer(out)

    def _drain(self) -> None:
        assert self.head is not None
        while (event := self._pending.pop(self.head + 1, None)) is not None:
            self._dispatch(event)
        if self._pending and self._filler is None:
            self._filler = asyncio.create_task(self._fill(), name="realtime-fanout-fill")

    async def _fill(self) -> None:
        """Read each hole below the waiting events from the log, once, and dispatch in order."""
        try:
            while self._pending and self.head is not None:
                first = min(self._pending)
                if first <= self.head + 1:
                    self._pending = {s: e for s, e in self._pending.items() if s > self.head}
                    self._drain()
                    continue
                self.log_reads += 1
                events = await self._log.read(self.head, first - 1)
                if not events:
                    self._skip_to(first - 1)
                for event in events:
                    if event.seq <= self.head:
                        continue  # arrived (and went out) while we read
                    self._skip_to(event.seq - 1)
                    self._dispatch(event)
                self._drain()
        except Exception:
            log.exception("realtime: reading a hole in the event log failed", tenant=self.tenant_id)
            self._fail()
        finally:
            self._filler = None

    def _skip_to(self, seq: int) -> None:
        """Move the head past events the log does not have (it always should: events are
        published after commit): go on rather than stall the tenant, as a connection's own
        replay did before."""
        assert self.head is not None
        if seq <= self.head:
            return
        log.warning("realtime: events missing from the log", tenant=self.tenant_id, up_to=seq)
        self.head = seq
        self._recent.clear()  # no longer contiguous

    def _fail(self) -> None:
        """The order can no longer be guaranteed: every connection is closed (each resumes by
        its last id) and the head is read afresh by the next one to attach."""
        for recipient in self:
            self.remove(recipient)
            fail = getattr(recipient, "fail", None)
            if fail is not None:
                fail()
        self.head = None
        self._started = None
        self._pending.clear()
        self._recent.clear()

    def close(self) -> None:
        for task in (self._started, self._filler):
            if task is not None:
                task.cancel()
