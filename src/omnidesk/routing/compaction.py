"""Compaction of a tenant's routing log and snapshots (docs/routing.md, Durability).

Restore needs only the newest snapshot and the log entries after it. Older entries are kept for
a retention window so that any state within it can be rebuilt for debugging: the oldest kept
snapshot plus the retained entries after it. So the log is cut at a snapshot: at the newest
snapshot whose log entry is older than the window. Entries up to that position and the
snapshots before it go; that snapshot, every later one and every later entry stay. What is
kept is therefore the window plus at most one snapshot interval, and restore reads exactly
what it read before (the newest snapshot is never removed, nor an entry after it).

The history of what happened is the event log, which compaction does not touch: nothing else
reads `routing_log` (WFM history, the twin's builders and voice recovery read events).

Deletes run in bounded batches, each its own short transaction taken under the host's write lock
(held by its group commit per batch), so a commit waits at most one delete batch and SQLite's
single writer is never held for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Delete, delete, func, select
from sqlalchemy.engine import CursorResult

from omnidesk.platform.database import Database
from omnidesk.platform.logging import get_logger
from omnidesk.routing.models import RoutingLogEntry, RoutingSnapshot

log = get_logger(__name__)
DEFAULT_RETENTION = timedelta(days=7)
LOG_BATCH = 1000  # entries are small: a batch deletes in a few milliseconds
SNAPSHOT_BATCH = 5  # a snapshot holds the whole engine state


@dataclass(frozen=True)
class Pruned:
    entries: int = 0
    snapshots: int = 0
    # The log position up to which entries are gone (the oldest kept snapshot's); 0: none.
    cut: int = 0


class Compactor:
    """Runs `prune` for one tenant in the background, one run at a time: started after each
    snapshot (and when the host starts), cancelled when the host closes."""

    def __init__(
        self, db: Database, tenant_id: uuid.UUID, lock: asyncio.Lock, retention: timedelta
    ) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.lock = lock
        self.retention = retention
        self._task: asyncio.Task[Pruned] | None = None
        self._again = False
        self._closed = False

    async def run(self, *, now_us: int | None = None) -> Pruned:
        return await prune(
            self.db,
            self.tenant_id,
            retention=self.retention,
            now_us=int(time.time() * 1_000_000) if now_us is None else now_us,
            lock=self.lock,
        )

    def start(self) -> None:
        if self._closed:
            return
        if self._task is not None and not self._task.done():
            self._again = True  # a snapshot taken during a run: one more run after it
            return
        self._task = asyncio.create_task(
            self._run_logged(), name=f"routing-compaction-{self.tenant_id}"
        )

    async def idle(self) -> Pruned | None:
        """Wait for the current runs, if any; what the last one pruned."""
        return await asyncio.shield(self._task) if self._task is not None else None

    async def stop(self) -> None:
        self._closed = True
        if self._task is not None:
            # Each batch is its own transaction: a later run goes on where this one stopped.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run_logged(self) -> Pruned:
        pruned = Pruned()
        self._again = True
        while self._again:
            self._again = False
            try:
                pruned = await self.run()
            except Exception:
                # Nothing is lost by a failed run: the next snapshot starts another.
                log.exception("routing compaction failed", tenant=str(self.tenant_id))
                return Pruned()
            if pruned.entries or pruned.snapshots:
                log.info(
                    "routing log compacted",
                    tenant=str(self.tenant_id),
                    entries=pruned.entries,
                    snapshots=pruned.snapshots,
                    cut=pruned.cut,
                )
        return pruned


async def prune(
    db: Database,
    tenant_id: uuid.UUID,
    *,
    retention: timedelta,
    now_us: int,
    lock: asyncio.Lock | None = None,
    batch: int = LOG_BATCH,
) -> Pruned:
    """Remove the entries and snapshots older than the window that restore does not need."""
    cut = await _cut_position(db, tenant_id, now_us - _us(retention))
    if cut is None:
        return Pruned()
    entries = await _delete_entries(db, tenant_id, cut, lock, batch)
    snapshots = await _delete_snapshots(db, tenant_id, cut, lock)
    return Pruned(entries, snapshots, cut)


async def _cut_position(db: Database, tenant_id: uuid.UUID, cutoff_us: int) -> int | None:
    """The newest snapshot at or before the last entry older than the cutoff. Instants never
    go backwards along the log (the host's clock is monotonic), so every entry up to that
    position is older than the cutoff too."""
    session = db.session(tenant_id)
    try:
        last_old = (
            select(func.max(RoutingLogEntry.position))
            .where(RoutingLogEntry.at_us < cutoff_us)
            .scalar_subquery()
        )
        found: int | None = await session.scalar(
            select(func.max(RoutingSnapshot.position)).where(RoutingSnapshot.position <= last_old)
        )
    finally:
        await session.close()
    return found


async def _delete_entries(
    db: Database, tenant_id: uuid.UUID, cut: int, lock: asyncio.Lock | None, batch: int
) -> int:
    session = db.session(tenant_id)
    try:
        first = await session.scalar(select(func.min(RoutingLogEntry.position)))
        await session.commit()
    finally:
        await session.close()
    deleted = 0
    # Positions are dense (1, 2, 3, ...), so a range of `batch` positions is one batch of rows.
    low = first if first is not None else cut + 1
    while low <= cut:
        high = min(low + batch - 1, cut)
        where = (RoutingLogEntry.position >= low, RoutingLogEntry.position <= high)
        deleted += await _delete(db, tenant_id, lock, delete(RoutingLogEntry).where(*where))
        low = high + 1
    return deleted


async def _delete_snapshots(
    db: Database, tenant_id: uuid.UUID, cut: int, lock: asyncio.Lock | None
) -> int:
    deleted = 0
    while True:
        session = db.session(tenant_id)
        try:
            ids = list(
                await session.scalars(
                    select(RoutingSnapshot.id)
                    .where(RoutingSnapshot.position < cut)
                    .order_by(RoutingSnapshot.position)
                    .limit(SNAPSHOT_BATCH)
                )
            )
            await session.commit()
        finally:
            await session.close()
        if not ids:
            return deleted
        deleted += await _delete(
            db, tenant_id, lock, delete(RoutingSnapshot).where(RoutingSnapshot.id.in_(ids))
        )


async def _delete(
    db: Database, tenant_id: uuid.UUID, lock: asyncio.Lock | None, statement: Delete
) -> int:
    # The host's lock for one batch only: commands wait for at most this much, and on SQLite
    # the prune never competes with a routing step for the write lock.
    guard: contextlib.AbstractAsyncContextManager[object] = (
        lock if lock is not None else contextlib.nullcontext()
    )
    async with guard:
        session = db.session(tenant_id)
        try:
            result = await session.execute(statement)
            await session.commit()
        finally:
            await session.close()
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
