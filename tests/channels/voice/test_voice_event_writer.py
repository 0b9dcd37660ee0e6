"""The voice server's event writer (event_writer.py): call steps of many calls are committed in
few transactions, each call's steps in order, a failure reaches exactly the writes it concerns,
and stopping writes what was queued."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.calls import utcnow
from omnidesk.channels.voice.event_writer import EventWriter
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.platform import eventlog
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.events import Audience
from omnidesk.platform.tenancy import create_tenant
from omnidesk.platform.uow import UnitOfWork


class Uows:
    """The writer's UnitOfWork factory, counting the transactions it opens."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.bus = InProcessBus()
        self.opened = 0

    @contextlib.asynccontextmanager
    async def __call__(self, tenant_id: uuid.UUID) -> AsyncIterator[UnitOfWork]:
        self.opened += 1
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id) as uow:
                yield uow
        finally:
            await session.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def _tenant(db: Database, slug: str) -> uuid.UUID:
    session = db.session(SYSTEM)
    try:
        tenant = await create_tenant(session, slug, slug)
        await session.commit()
        return tenant.id
    finally:
        await session.close()


async def _log(db: Database, tenant_id: uuid.UUID) -> list[eventlog.EventRecord]:
    session = db.session(tenant_id)
    try:
        return list(await eventlog.read_after(session, 0, limit=100_000))
    finally:
        await session.close()


def _step(call_id: str, n: int) -> ev.CallStateChanged:
    return ev.CallStateChanged(call_id=call_id, state="ivr", detail={"step": n})


def _cdr(tenant_id: uuid.UUID, call_id: str, trunk_id: uuid.UUID | None = None) -> CallRow:
    now = utcnow()
    return CallRow(
        tenant_id=tenant_id,
        call_id=call_id,
        direction="inbound",
        from_uri="sip:+4930111@carrier",
        to_uri="sip:+4930222@omnidesk",
        trunk_id=trunk_id,
        started_at=now,
        ended_at=now,
        end_reason="test",
        recording_ids=[],
    )


async def test_concurrent_calls_share_transactions_and_keep_their_order(db: Database) -> None:
    tenant = await _tenant(db, "writer-batch")
    uows = Uows(db)
    writer = EventWriter(uows)
    writer.start()
    calls, steps = 20, 10

    async def call(call_id: str) -> None:
        # Like a call's inbox: each step awaits its own write before the next one is made.
        for n in range(steps):
            await writer.write(tenant, _step(call_id, n), Audience())

    try:
        await asyncio.gather(*(call(f"call-{i}") for i in range(calls)))
    finally:
        await writer.stop()

    records = await _log(db, tenant)
    assert len(records) == calls * steps
    # One transaction per step would be 200; the steps that arrive while a write is running
    # share the next one (about one per round of steps here).
    assert uows.opened < calls * steps // 4, uows.opened
    assert [r.seq for r in records] == list(range(1, calls * steps + 1))
    for i in range(calls):
        mine = [r.payload["detail"]["step"] for r in records if r.subject_id == f"call-{i}"]
        assert mine == list(range(steps))


async def test_steps_queued_without_waiting_are_written_in_arrival_order(db: Database) -> None:
    tenant = await _tenant(db, "writer-order")
    uows = Uows(db)
    writer = EventWriter(uows)
    writer.start()
    try:
        # Tasks that do not wait for each other (a ring task and the call's inbox, say): they
        # queue in the order they run, and that is the order of the log.
        tasks = [
            asyncio.create_task(writer.write(tenant, _step(f"call-{n % 3}", n), Audience()))
            for n in range(30)
        ]
        await asyncio.gather(*tasks)
    finally:
        await writer.stop()
    records = await _log(db, tenant)
    assert [r.payload["detail"]["step"] for r in records] == list(range(30))
    assert uows.opened < 30


async def test_an_event_keeps_the_time_of_its_step_while_it_waits(db: Database) -> None:
    tenant = await _tenant(db, "writer-time")
    gate = asyncio.Event()
    inner = Uows(db)

    @contextlib.asynccontextmanager
    async def slow(tenant_id: uuid.UUID) -> AsyncIterator[UnitOfWork]:
        await gate.wait()  # the database is busy: the write waits in line
        async with inner(tenant_id) as uow:
            yield uow

    writer = EventWriter(slow)
    writer.start()
    try:
        stepped = utcnow()
        pending = asyncio.create_task(writer.write(tenant, _step("call-t", 1), Audience()))
        await asyncio.sleep(0.3)
        gate.set()
        await pending
    finally:
        await writer.stop()
    [record] = await _log(db, tenant)
    occurred = record.occurred_at.replace(tzinfo=stepped.tzinfo)
    assert abs((occurred - stepped).total_seconds()) < 0.2, (occurred, stepped)


async def test_a_failing_write_fails_only_its_own_caller(db: Database) -> None:
    tenant = await _tenant(db, "writer-fail")
    unknown_tenant = uuid.uuid4()  # no event sequence: its transaction fails
    uows = Uows(db)
    writer = EventWriter(uows)
    writer.start()
    try:
        results = await asyncio.gather(
            writer.write(tenant, _step("a", 0), Audience(), rows=[_cdr(tenant, "a")]),
            # A detail record naming a trunk that does not exist (deleted mid-call).
            writer.write(tenant, _step("b", 0), Audience(), rows=[_cdr(tenant, "b", uuid.uuid4())]),
            writer.write(tenant, _step("c", 0), Audience()),
            writer.write(unknown_tenant, _step("d", 0), Audience()),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], Exception) and "FOREIGN KEY" in str(results[1]).upper()
        assert isinstance(results[3], LookupError)
        # The writer carries on after a failure.
        await writer.write(tenant, _step("e", 0), Audience())
    finally:
        await writer.stop()

    records = await _log(db, tenant)
    assert [r.subject_id for r in records] == ["a", "c", "e"]
    session = db.session(tenant)
    try:
        cdrs = (await session.scalars(select(CallRow.call_id))).all()
    finally:
        await session.close()
    assert cdrs == ["a"]  # the good record of the failed batch is written, the bad one is not


async def test_stop_writes_what_was_queued_then_writes_directly(db: Database) -> None:
    tenant = await _tenant(db, "writer-stop")
    uows = Uows(db)
    writer = EventWriter(uows)
    writer.start()
    tasks = [
        asyncio.create_task(writer.write(tenant, _step("call", n), Audience())) for n in range(25)
    ]
    # One turn of the loop: the tasks queue their writes; the writer, woken by the first of
    # them, runs only after this test does, so nothing is written when stop() is called.
    await asyncio.sleep(0)
    assert uows.opened == 0

    await writer.stop()
    assert not writer.running
    assert [r.payload["detail"]["step"] for r in await _log(db, tenant)] == list(range(25))
    assert await asyncio.gather(*tasks) == [None] * 25

    # A straggler after stop (a call still hanging up) is not lost: it is its own transaction.
    opened = uows.opened
    await writer.write(tenant, _step("call", 25), Audience())
    assert uows.opened == opened + 1
    assert [r.payload["detail"]["step"] for r in await _log(db, tenant)] == list(range(26))
