"""The ingester: keeps each tenant's KPI rollups up to date with its event log.

Per tenant it reads the log after a stored cursor, in order, in batches; each batch's rollup
increments, the state it changed and the new cursor are written in one transaction, so after a
crash, a restart, a second node or a duplicate wake-up nothing is counted twice or missed
(docs/adr/0019-kpis-from-the-event-log.md). The bus only wakes it; content comes from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import repository as repo
from omnidesk.analytics.agent_states import STATE_CHANGED
from omnidesk.analytics.facts import LogEvent
from omnidesk.analytics.processing import contact_of, process
from omnidesk.platform import eventlog
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.platform.pacing import Pacer
from omnidesk.platform.tenancy import Tenant

log = get_logger(__name__)
SOURCES = ("routing.", "voice.")
BATCH = 1000
RETRY_SECONDS = 5.0
STOP_SECONDS = 10.0
# At most one catch-up per this many seconds (platform/pacing.py): the KPIs follow the log by
# at most this much more, far below their 15-minute intervals and the console's refresh.
PACE_SECONDS = 0.25


async def apply_batch(
    session: AsyncSession, tenant_id: uuid.UUID, records: Sequence[LogEvent]
) -> int:
    """Apply `records` (ascending seq) after the tenant's cursor, in the caller's transaction;
    returns the new cursor. Records at or below the cursor are skipped (a replay changes
    nothing); a batch that does not continue the cursor (a gap) is refused: nothing applied."""
    cursor = await repo.cursor(session, tenant_id)
    fresh = [r for r in records if r.seq > cursor.last_seq]
    if not fresh or fresh[0].seq != cursor.last_seq + 1:
        return cursor.last_seq
    settings = await repo.settings(session, tenant_id)
    contacts = {c for r in fresh if (c := contact_of(r)) is not None}
    agents = {str(r.payload.get("agent_id")) for r in fresh if r.type == STATE_CHANGED}
    state = await repo.load_state(session, contacts, agents)
    result = process(fresh, state, round(settings.short_abandon_seconds * 1_000_000))
    await repo.store(session, tenant_id, state, result)
    cursor.last_seq = fresh[-1].seq
    await session.flush()
    return cursor.last_seq


async def read_batch(session: AsyncSession, after: int, limit: int) -> list[LogEvent]:
    rows = await eventlog.read_payloads_after(session, after, limit=limit)
    return [LogEvent(seq, kind, payload) for seq, kind, payload in rows]


async def step(db: Database, tenant_id: uuid.UUID, batch: int = BATCH) -> int:
    """One batch for the tenant in its own transaction; returns how many events it read."""
    session = db.session(tenant_id)
    try:
        async with session.begin():
            cursor = await repo.cursor(session, tenant_id)
            records = await read_batch(session, cursor.last_seq, batch)
            if records:
                await apply_batch(session, tenant_id, records)
        return len(records)
    finally:
        await session.close()


async def catch_up(db: Database, tenant_id: uuid.UUID, batch: int = BATCH) -> int:
    total = 0
    while read := await step(db, tenant_id, batch):
        total += read
        if read < batch:
            # A short batch reached the end of the log: asking again would cost a transaction
            # that reads nothing (on every wake-up, many a second under load). Events logged
            # since are announced on the bus and wake the ingester again.
            break
    return total


async def rebuild(db: Database, tenant_id: uuid.UUID, batch: int = BATCH) -> int:
    """Forget the tenant's rollups and compute them again from the whole log."""
    session = db.session(tenant_id)
    try:
        async with session.begin():
            await repo.reset(session, tenant_id)
    finally:
        await session.close()
    return await catch_up(db, tenant_id, batch)


async def active_tenants(db: Database) -> list[uuid.UUID]:
    session = db.session(SYSTEM)
    try:
        return list(await session.scalars(select(Tenant.id).where(Tenant.active)))
    finally:
        await session.close()


class Ingester:
    """The background service: catches every tenant up on start, then whenever the bus says
    a tenant's routing or voice events were committed."""

    def __init__(self, db: Database, bus: EventBus, *, batch: int = BATCH) -> None:
        self.db = db
        self.bus = bus
        self.batch = batch
        self._dirty: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._stopping = False
        self._retrying: set[uuid.UUID] = set()
        self._pacer = Pacer(PACE_SECONDS)

    def start(self) -> None:
        self._subscription = self.bus.subscribe(self._on_event)
        self._task = asyncio.create_task(self._run(), name="analytics-ingester")

    async def stop(self) -> None:
        """Let a batch in flight finish, then end; cancel only if it takes too long."""
        if self._subscription is not None:
            self._subscription.close()
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    def _on_event(self, published: PublishedEvent) -> None:
        if published.type.startswith(SOURCES):
            self.note(published.tenant_id)

    def note(self, tenant_id: uuid.UUID) -> None:
        """Something new (or a reset) for the tenant: catch it up soon."""
        self._dirty.add(tenant_id)
        self._idle.clear()
        self._wake.set()

    async def settled(self) -> None:
        """Wait until everything announced so far is in the rollups."""
        await self._idle.wait()

    async def catch_up(self, tenant_id: uuid.UUID) -> int:
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            return await catch_up(self.db, tenant_id, self.batch)

    async def _run(self) -> None:
        tenants: list[uuid.UUID] = []
        while not self._stopping:
            try:
                tenants = await active_tenants(self.db)
                break
            except Exception as exc:  # the database is not reachable (yet)
                log.warning("analytics.ingester_start_failed", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), RETRY_SECONDS)
        self._dirty.update(tenants)
        while not self._stopping:
            await self._pacer.wait_turn()
            dirty, self._dirty = self._dirty, set()
            for tenant_id in dirty:
                if self._stopping:
                    return
                await self._guarded(tenant_id)
            if not self._dirty and not self._retrying:
                self._idle.set()
            if not self._dirty:
                self._wake.clear()
                await self._wake.wait()

    async def _guarded(self, tenant_id: uuid.UUID) -> None:
        try:
            await self.catch_up(tenant_id)
        except Exception:
            # The cursor did not move: the same events are tried again after a pause.
            log.exception("analytics.ingester_failed", tenant=str(tenant_id))
            self._retrying.add(tenant_id)
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self._retry, tenant_id)

    def _retry(self, tenant_id: uuid.UUID) -> None:
        self._retrying.discard(tenant_id)
        self.note(tenant_id)
