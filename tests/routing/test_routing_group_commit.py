"""Group commit (docs/adr/0015-group-commit.md), on both databases: the tenant's lock is not held
while a batch is written, nothing is answered before its batch is committed, commands keep their
order, and a failed commit fails every step it held (and those applied after it) and the host
rebuilds from the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from test_routing_compaction import new_tenant

from omnidesk.core.routing import AddQueue, ContactArrived, QueueDef
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import Database
from omnidesk.platform.events import PublishedEvent
from omnidesk.routing.host import RoutingHost, StepNotPersisted
from omnidesk.routing.models import RoutingLogEntry

QUEUE = QueueDef(id="support", channels=("chat",))


@pytest.fixture
async def host(db: Database) -> AsyncIterator[RoutingHost]:
    tenant_id = await new_tenant(db, "acme")
    host = RoutingHost(tenant_id, db, InProcessBus())
    await host.load()
    await host.execute(AddQueue(QUEUE))
    yield host
    await host.close(snapshot=False)


class Gate:
    """Wraps the host's batch writer: counts batches and can hold one at its start."""

    def __init__(self, host: RoutingHost) -> None:
        self.write = host._write
        self.batches: list[int] = []
        self.open = asyncio.Event()
        self.open.set()
        self.entered = asyncio.Event()
        self.fail = False
        host._write = self  # type: ignore[method-assign]

    async def __call__(self, batch: list) -> None:  # type: ignore[type-arg]
        self.batches.append(len(batch))
        self.entered.set()
        await self.open.wait()
        if self.fail:
            self.fail = False
            raise OSError("disk full")
        await self.write(batch)


async def logged(host: RoutingHost) -> list[str]:
    session = host.db.session(host.tenant_id)
    try:
        rows = await session.scalars(select(RoutingLogEntry).order_by(RoutingLogEntry.position))
        return [
            str(e.command["contact_id"])
            for e in rows
            if e.command and e.command["type"] == "routing.contact_arrived"
        ]
    finally:
        await session.close()


async def applied(host: RoutingHost, contacts: int) -> None:
    """Let the tasks started so far take their turn (applying needs no I/O)."""
    for _ in range(200):
        if len(host.engine.contact_ids()) >= contacts:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"only {host.engine.contact_ids()} applied")


def arrive(host: RoutingHost, contact_id: str) -> asyncio.Task:  # type: ignore[type-arg]
    return asyncio.create_task(host.execute(ContactArrived(contact_id, "support", "chat")))


async def test_steps_apply_while_a_batch_is_written_and_are_answered_after_their_commit(host):
    published: list[PublishedEvent] = []
    host.bus.subscribe(published.append)
    gate = Gate(host)
    gate.open.clear()
    first = arrive(host, "c0")
    await gate.entered.wait()  # c0's batch is being written, and stays there
    later = [arrive(host, f"c{n}") for n in range(1, 6)]
    # The lock is free while c0 is written: the others are applied meanwhile, in order...
    await applied(host, 6)
    assert not host.lock.locked()
    assert host.backlog == 6  # what overload shedding counts: requests not yet answered
    # ...but nobody is answered and nothing is published before its batch is committed.
    assert not any(task.done() for task in [first, *later])
    assert published == []
    assert await logged(host) == []
    gate.open.set()
    await asyncio.gather(first, *later)
    assert host.backlog == 0
    # One transaction for c0, one for everything applied while it was written.
    assert gate.batches == [1, 5]
    assert await logged(host) == [f"c{n}" for n in range(6)]
    received = [e.payload["contact_id"] for e in published if e.type == "routing.contact_received"]
    assert received == [f"c{n}" for n in range(6)]


async def test_a_failed_commit_fails_its_batch_and_what_followed_and_the_host_reloads(host):
    await host.execute(ContactArrived("kept", "support", "chat"))
    gate = Gate(host)
    gate.open.clear()
    gate.fail = True
    doomed = arrive(host, "lost1")
    await gate.entered.wait()
    after = [arrive(host, "lost2"), arrive(host, "lost3")]
    await applied(host, 4)
    gate.open.set()
    for task in [doomed, *after]:
        with pytest.raises(StepNotPersisted):
            await task
    # Nothing of them is on disk, and the host serves what is: it reloads before the next step.
    assert await logged(host) == ["kept"]
    await host.execute(ContactArrived("next", "support", "chat"))
    assert host.engine.contact_ids() == ["kept", "next"]
    assert await logged(host) == ["kept", "next"]
    fresh = RoutingHost(host.tenant_id, host.db, InProcessBus())
    await fresh.load()
    assert fresh.engine.snapshot() == host.engine.snapshot()


async def test_a_consistent_read_waits_for_the_steps_applied_before_it(host):
    gate = Gate(host)
    gate.open.clear()
    task = arrive(host, "c1")
    await gate.entered.wait()
    read = asyncio.create_task(_read_contacts(host))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not read.done()  # c1 is applied but not committed: the reader waits for it
    gate.open.set()
    await task
    assert await read == ["c1"]


async def _read_contacts(host: RoutingHost) -> list[str]:
    async with host.consistent():
        return host.engine.contact_ids()
