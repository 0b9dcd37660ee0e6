"""The voice server's one writer of call-step events: many calls' steps, few transactions.

Why: every call step (ringing, connected, held, the detail record …) used to be a transaction
of its own. On SQLite a write transaction holds the database's single write lock from its
first statement (BEGIN IMMEDIATE, platform/database.py), so at tens of new calls a second the
steps of many calls queue for that lock, and a step that waits longer than busy_timeout fails
with "database is locked". Here every step goes onto one queue and one task writes whatever
has accumulated while its previous write ran (a group commit): one UnitOfWork per tenant per
batch, in arrival order, so each call's events keep their order (and the tenant's sequence
numbers follow it). There is no waiting for a batch to fill: a lone step is written at once,
so a quiet server's latency is unchanged, and batches grow only as the database gets slower.

`write` waits until its own event is committed and published (or raises what made it fail),
exactly as the transaction of its own did.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime

from omnidesk.platform.database import utcnow
from omnidesk.platform.events import Audience, DomainEvent
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork

log = get_logger(__name__)

# A tenant's unit of work whose session is closed on the way out (VoiceContext.uow).
UowFactory = Callable[[uuid.UUID], AbstractAsyncContextManager[UnitOfWork]]

# Enough to absorb a burst in one transaction, small enough that one batch's transaction stays
# short (others — routing, the API — wait for the same lock meanwhile).
MAX_BATCH = 256


@dataclass(eq=False)
class _Write:
    tenant_id: uuid.UUID
    event: DomainEvent
    audience: Audience
    rows: Sequence[object]  # rows to insert with the event (the call detail record)
    done: asyncio.Future[None]
    # When the call step happened: the event keeps that time however long it waited in line.
    occurred_at: datetime = field(default_factory=utcnow)


class EventWriter:
    def __init__(self, uow: UowFactory, *, max_batch: int = MAX_BATCH) -> None:
        self._uow = uow
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Write | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopped = True

    @property
    def running(self) -> bool:
        return not self._stopped

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the event writer is already started")
        self._stopped = False
        self._task = asyncio.create_task(self._run(), name="voice-event-writer")

    async def stop(self) -> None:
        """Write everything queued so far, then stop; later writes are written directly."""
        task = self._task
        if task is None:
            return
        if not task.done():
            self._queue.put_nowait(None)
            # Shielded: a stop() that is itself cancelled must not cut the drain short.
            await asyncio.shield(task)
        self._task = None

    async def write(
        self,
        tenant_id: uuid.UUID,
        event: DomainEvent,
        audience: Audience,
        rows: Sequence[object] = (),
    ) -> None:
        if self._stopped:
            # Before start (crash recovery) or after stop (a straggler of shutdown): nothing is
            # queued that this write could overtake, so its own transaction keeps the order.
            await self._commit(tenant_id, [_Write(tenant_id, event, audience, rows, _done())])
            return
        item = _Write(tenant_id, event, audience, rows, _done())
        self._queue.put_nowait(item)
        # A caller cancelled here (its call hung up) does not take its event back: it is queued
        # behind the call's earlier steps and ahead of its detail record, and is written there.
        await item.done

    # --- the writing task --------------------------------------------------------------------

    async def _run(self) -> None:
        batch: list[_Write] = []
        try:
            stopping = False
            while True:
                if stopping and self._queue.empty():
                    break
                first = await self._queue.get()
                if first is None:
                    stopping = True  # drain: what was queued before stop() is still written
                    continue
                batch = [first]
                while len(batch) < self._max_batch and not self._queue.empty():
                    item = self._queue.get_nowait()
                    if item is None:
                        stopping = True
                    else:
                        batch.append(item)
                await self._write_batch(batch)
                batch = []
        finally:
            # Set before anything can run again: a write after this point is not queued behind
            # a writer that will never take it.
            self._stopped = True
            leftover = batch + [i for i in _drain(self._queue) if i is not None]
            for item in leftover:
                _fail(item, RuntimeError("the voice event writer stopped"))

    async def _write_batch(self, batch: list[_Write]) -> None:
        by_tenant: dict[uuid.UUID, list[_Write]] = {}
        for item in batch:
            by_tenant.setdefault(item.tenant_id, []).append(item)
        for tenant_id, items in by_tenant.items():
            try:
                await self._commit(tenant_id, items)
            except Exception as exc:
                if len(items) == 1:
                    _fail(items[0], exc)
                    continue
                # One bad item (say a detail record naming a trunk deleted mid-call) must not
                # cost the other calls of the batch their steps: write them one by one, which
                # is what they were before batching, so only the bad one fails.
                log.warning("voice.event_batch_failed", items=len(items), error=repr(exc))
                for item in items:
                    try:
                        await self._commit(tenant_id, [item])
                    except Exception as one:
                        _fail(item, one)
                    else:
                        _succeed(item)
            else:
                for item in items:
                    _succeed(item)

    async def _commit(self, tenant_id: uuid.UUID, items: list[_Write]) -> None:
        async with self._uow(tenant_id) as uow:
            for item in items:
                uow.session.add_all(item.rows)
                uow.record(item.event, item.audience, occurred_at=item.occurred_at)


def _done() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


def _succeed(item: _Write) -> None:
    if not item.done.done():  # its caller may have been cancelled meanwhile
        item.done.set_result(None)


def _fail(item: _Write, exc: BaseException) -> None:
    if not item.done.done():
        item.done.set_exception(exc)


def _drain(queue: asyncio.Queue[_Write | None]) -> list[_Write | None]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
