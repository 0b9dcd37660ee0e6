"""The follower that keeps interaction records up to date with the event log.

Per tenant it reads the log from a stored cursor, in order, in batches; each batch is applied
and the cursor moved in one transaction, so after a crash or restart it goes on exactly where
it stopped (complete, nothing applied twice). The bus only wakes it (a routing.* or voice.*
event of a tenant was committed): it never trusts the bus for content, so a missed or duplicate
wake-up changes nothing. On start it catches up every tenant. Besides routing's and voice's
events it applies the CRM's own `crm.contact_identified` (whose a routed contact is).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from sqlalchemy import select

from omnidesk.crm import repository as repo
from omnidesk.crm.interactions import Projection
from omnidesk.crm.models import ProjectionCursor
from omnidesk.platform import eventlog
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.platform.pacing import Pacer
from omnidesk.platform.tenancy import Tenant
from omnidesk.platform.uow import UnitOfWork

log = get_logger(__name__)
# conversation.*: a digital channel says whose contact a conversation's round is.
SOURCES = ("routing.", "voice.", "conversation.")
# The CRM's own events that say whose a routed contact is (arrivals.py) and which earlier
# contact it continues on another channel (switches.py).
OWN = ("crm.contact_identified", "crm.channel_switched")
BATCH = 500
RETRY_SECONDS = 5.0
STOP_SECONDS = 10.0
# At most one catch-up per this many seconds (platform/pacing.py): the customer card of an offer
# and the interaction records follow routing by at most this much more.
PACE_SECONDS = 0.1


class InteractionFollower:
    def __init__(self, db: Database, bus: EventBus, *, batch: int = BATCH) -> None:
        self.db = db
        self.bus = bus
        self.batch = batch
        self._dirty: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._stopping = False
        # Set while nothing noted is waiting to be applied: `settled()` waits for it.
        self._idle = asyncio.Event()
        self._retrying: set[uuid.UUID] = set()
        self._pacer = Pacer(PACE_SECONDS)

    def start(self) -> None:
        self._subscription = self.bus.subscribe(self._on_event)
        self._task = asyncio.create_task(self._run(), name="crm-interaction-follower")

    async def stop(self) -> None:
        """Let a batch in flight finish (a database call cancelled midway leaves its driver
        thread to report to a closed loop), then end; cancel only if it takes too long."""
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
        if relevant(published.type):
            self._note(published.tenant_id)

    def _note(self, tenant_id: uuid.UUID) -> None:
        self._dirty.add(tenant_id)
        self._idle.clear()
        self._wake.set()

    async def settled(self) -> None:
        """Wait until every event the bus announced so far is applied (a failed batch keeps
        it unsettled until a retry applies it): what a caller who needs the records of its
        own steps, or a quiet event log, waits for."""
        await self._idle.wait()

    async def catch_up(self, tenant_id: uuid.UUID) -> int:
        """Apply everything logged so far for the tenant; returns how many events were read."""
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        total = 0
        async with lock:
            while read := await self._step(tenant_id):
                total += read
                if read < self.batch:
                    break  # the end of the log (as the analytics ingester's catch_up says)
        return total

    async def _step(self, tenant_id: uuid.UUID) -> int:
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id) as uow:
                cursor = await _cursor(uow, tenant_id)
                records = await eventlog.read_after(session, cursor.last_seq, limit=self.batch)
                if not records:
                    return 0
                applied = [r for r in records if relevant(r.type)]
                if applied:
                    settings = await repo.settings(session, tenant_id)
                    await Projection(uow, settings.default_region).apply(applied)
                cursor.last_seq = records[-1].seq
            return len(records)
        finally:
            await session.close()

    async def _run(self) -> None:
        tenants: list[uuid.UUID] = []
        while not self._stopping:
            try:
                tenants = await self._tenants()
                break
            except Exception as exc:  # the database is not reachable (yet): /readyz says so
                # No traceback: rendering one takes the event loop for longer than the retry.
                log.warning("crm.follower_start_failed", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), RETRY_SECONDS)
        for tenant_id in tenants:
            if self._stopping:
                return
            await self._guarded(tenant_id)
        while not self._stopping:
            if not self._dirty and not self._retrying:
                self._idle.set()
            await self._wake.wait()
            await self._pacer.wait_turn()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            for tenant_id in dirty:
                if self._stopping:
                    return
                await self._guarded(tenant_id)

    async def _guarded(self, tenant_id: uuid.UUID) -> None:
        try:
            await self.catch_up(tenant_id)
        except Exception:
            # The cursor did not move: the same events are tried again on the next wake-up
            # or after a pause, and nothing later of this tenant is applied before them.
            log.exception("crm.follower_failed", tenant=str(tenant_id))
            self._retrying.add(tenant_id)
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self._retry, tenant_id)

    def _retry(self, tenant_id: uuid.UUID) -> None:
        self._retrying.discard(tenant_id)
        self._note(tenant_id)

    async def _tenants(self) -> list[uuid.UUID]:
        session = self.db.session(SYSTEM)
        try:
            return list(await session.scalars(select(Tenant.id).where(Tenant.active)))
        finally:
            await session.close()


def relevant(event_type: str) -> bool:
    return event_type.startswith(SOURCES) or event_type in OWN


async def _cursor(uow: UnitOfWork, tenant_id: uuid.UUID) -> ProjectionCursor:
    """The tenant's cursor row, locked (PostgreSQL) so two nodes never apply one batch twice."""
    stmt = select(ProjectionCursor).with_for_update()
    row: ProjectionCursor | None = await uow.session.scalar(stmt)
    if row is None:
        await uow.session.execute(
            repo.insert_ignoring(uow.session, ProjectionCursor, ["tenant_id"]).values(
                id=uuid.uuid4(), tenant_id=tenant_id, last_seq=0
            )
        )
        row = (await uow.session.scalars(stmt)).one()
    return row
