"""Group commit: writes that arrive together share one transaction (docs/adr/0034-group-commit-
for-inbound-messages.md, after routing's, ADR 0015).

One writer task per tenant takes whatever was submitted while the previous batch was being
written and writes it in one unit of work: SQLite's single write lock is taken once per batch,
not once per write, and the batch's events are appended with one sequence allocation. There is
no timer: a lone write goes at once, and a busy tenant gets one transaction per few
milliseconds of writes.

Each submitter is answered only when its batch has committed, and the batch's events are
published only after that commit (the unit of work publishes after it commits): nothing is
acknowledged or heard of that could still be lost. Writes keep the order in which they were
submitted, within a batch and across batches.

One member's failure never fails its batch-mates:
- an exception the writer declares `isolated` is raised before that member wrote anything (a
  conversation that moved on since its look): that member fails with it, the batch goes on;
- any other failure, in a member's write or in the commit, rolls the whole batch back, and every
  member of it is then written in a transaction of its own, which tells whose write it was; a
  member whose own transaction fails gets that exception (a member alone is not tried twice).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Generic, TypeVar

from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork

log = get_logger(__name__)
T = TypeVar("T")
R = TypeVar("R")
# A bound on one transaction's size: a long backlog is written in several, so the write lock
# is given up now and then for the other writers (routing, the CRM projection).
MAX_BATCH = 64
STOP_SECONDS = 10.0  # how long stopping waits for what is queued to be written


@dataclass
class _Member(Generic[T, R]):
    item: T
    done: asyncio.Future[R]


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        unit: Callable[[uuid.UUID], AbstractAsyncContextManager[UnitOfWork]],
        write: Callable[[UnitOfWork, T], Awaitable[R]],
        *,
        prepare: Callable[[UnitOfWork, Sequence[T]], Awaitable[None]] | None = None,
        isolated: tuple[type[Exception], ...] = (),
        max_batch: int = MAX_BATCH,
        name: str = "group-commit",
    ) -> None:
        """`unit(tenant)` opens the transaction, `write(uow, item)` does one member's work in
        it, `prepare(uow, items)` first reads what the batch needs in one go."""
        self._unit = unit
        self._write = write
        self._prepare = prepare
        self._isolated = isolated
        self._max_batch = max_batch
        self._name = name
        self._queues: dict[uuid.UUID, deque[_Member[T, R]]] = {}
        self._writers: dict[uuid.UUID, asyncio.Task[None]] = {}
        self.batches = 0  # transactions committed with more than one member, for tests and logs

    async def submit(self, tenant_id: uuid.UUID, item: T) -> R:
        """Write `item` with whatever else is waiting; returns once it is committed. A submitter
        cancelled before its batch began is left out of it (it was never acknowledged)."""
        member: _Member[T, R] = _Member(item, asyncio.get_running_loop().create_future())
        self._queues.setdefault(tenant_id, deque()).append(member)
        if tenant_id not in self._writers:
            self._writers[tenant_id] = asyncio.create_task(
                self._drain(tenant_id), name=f"{self._name}-{tenant_id}"
            )
        return await member.done

    async def stop(self) -> None:
        """Let what is queued be written (the server stops after its requests ended, so it is
        little), then cancel writers still busy: their members are never acknowledged."""
        writers = list(self._writers.values())
        if not writers:
            return
        _, late = await asyncio.wait(writers, timeout=STOP_SECONDS)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)

    async def _drain(self, tenant_id: uuid.UUID) -> None:
        queue = self._queues[tenant_id]
        try:
            # Those submitted in the same turn of the event loop join the first batch.
            await asyncio.sleep(0)
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), self._max_batch))]
                batch = [m for m in batch if not m.done.done()]
                if batch:
                    await self._commit(tenant_id, batch)
        finally:
            # No await between the loop's last look at the queue and here: nothing submitted
            # meanwhile can be stranded without a writer.
            del self._writers[tenant_id]
            while queue:  # only when cancelled (the server stops): never written
                queue.popleft().done.cancel()
            self._queues.pop(tenant_id, None)

    async def _commit(self, tenant_id: uuid.UUID, batch: list[_Member[T, R]]) -> None:
        written: list[tuple[_Member[T, R], R]] = []
        refused: list[tuple[_Member[T, R], Exception]] = []
        try:
            async with self._unit(tenant_id) as uow:
                if self._prepare is not None:
                    await self._prepare(uow, [m.item for m in batch])
                for member in batch:
                    try:
                        written.append((member, await self._write(uow, member.item)))
                    except self._isolated as exc:
                        refused.append((member, exc))
        except asyncio.CancelledError:
            for member in batch:
                member.done.cancel()
            raise
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            log.warning(
                "group_commit.batch_failed",
                writer=self._name,
                members=len(batch),
                exc=type(exc).__name__,
            )
            # Whose write it was (a redelivery racing its original, a bad row) or a commit
            # that failed for everyone (a lost connection): each alone tells.
            for member in batch:
                if not member.done.done():
                    await self._commit(tenant_id, [member])
            return
        if len(batch) > 1:
            self.batches += 1
        for member, value in written:
            if not member.done.done():  # its submitter may have gone away meanwhile
                member.done.set_result(value)
        for member, error in refused:
            _fail(member, error)


def _fail(member: _Member[T, R], exc: Exception) -> None:
    if not member.done.done():
        member.done.set_exception(exc)
