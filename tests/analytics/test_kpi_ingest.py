"""Incremental rollups equal a recomputation from the raw events, on both databases: in any
batch sizes, with batches delivered twice, replayed later or rolled back midway; and
`kpis rebuild` gives the same rows again."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_db import append, dimension_rollups, new_tenant, rollups
from kpi_events import Log
from kpi_streams import event_logs

from omnidesk.analytics import ingester
from omnidesk.analytics.facts import LogEvent
from omnidesk.analytics.processing import recompute
from omnidesk.platform.database import Database

SHORT = 5_000_000  # the default setting: 5 s


class Crash(Exception):
    pass


async def _apply(db: Database, tenant_id: uuid.UUID, batch: list[LogEvent]) -> int:
    session = db.session(tenant_id)
    try:
        async with session.begin():
            return await ingester.apply_batch(session, tenant_id, batch)
    finally:
        await session.close()


async def _apply_and_crash(db: Database, tenant_id: uuid.UUID, batch: list[LogEvent]) -> None:
    """The batch is applied but its transaction never commits (the process died)."""
    session = db.session(tenant_id)
    try:
        with pytest.raises(Crash):
            async with session.begin():
                await ingester.apply_batch(session, tenant_id, batch)
                raise Crash
    finally:
        await session.close()


async def _expect_equal(db: Database, tenant_id: uuid.UUID, events: list[LogEvent]) -> None:
    expected = recompute(events, SHORT)
    queues, agents = await rollups(db, tenant_id)
    assert queues == expected.queue_rows
    assert agents == expected.agent_rows
    teams, dispositions = await dimension_rollups(db, tenant_id)
    assert teams == expected.team_rows
    assert dispositions == expected.disposition_rows


async def _scenario(url: str, events: list[LogEvent], cuts: list[int], chaos: list[int]) -> None:
    db = Database(url)
    try:
        tenant_id = await new_tenant(db)
        await append(db, tenant_id, events)
        done: list[list[LogEvent]] = []
        position = 0
        for n, size in enumerate(cuts):
            batch = events[position : position + size]
            if not batch:
                break
            mode = chaos[n % len(chaos)]
            if mode == 1:
                await _apply_and_crash(db, tenant_id, batch)
            cursor = await _apply(db, tenant_id, batch)
            if mode == 2:
                assert await _apply(db, tenant_id, batch) == cursor  # delivered twice
            if mode == 3 and done:
                assert await _apply(db, tenant_id, done[n // 2]) == cursor  # an old batch
            if mode == 4:  # a batch overlapping the cursor: only its new part counts
                more = events[position : position + 2 * size]
                cursor = await _apply(db, tenant_id, more)
                batch = more
            position += len(batch)
            done.append(batch)
            assert cursor == events[position - 1].seq
        await ingester.catch_up(db, tenant_id, batch=7)  # the rest, as the ingester reads it
        await _expect_equal(db, tenant_id, events)
        await ingester.rebuild(db, tenant_id, batch=50)
        await _expect_equal(db, tenant_id, events)
    finally:
        await db.dispose()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=event_logs(),
    cuts=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=12),
    chaos=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=5),
)
def test_incremental_rollups_equal_recomputation(
    database_url: str, events: list[LogEvent], cuts: list[int], chaos: list[int]
) -> None:
    asyncio.run(_scenario(database_url, events, cuts, chaos))


async def test_a_gap_is_refused_and_a_replay_changes_nothing(db: Database) -> None:
    tenant_id = await new_tenant(db)
    log = Log().received(0, "c1").accepted(10, "c1", "a1", 10.0, True).ended(70, "c1", agent="a1")
    await append(db, tenant_id, log.events)
    assert await _apply(db, tenant_id, log.events[2:]) == 0  # does not continue the cursor
    assert await _apply(db, tenant_id, log.events[:3]) == 3
    assert await _apply(db, tenant_id, log.events) == 4
    assert await _apply(db, tenant_id, log.events) == 4
    queues, _ = await rollups(db, tenant_id)
    (sums,) = queues.values()
    assert (sums.offered, sums.answered, sums.talk_us) == (1, 1, 60_000_000)


async def test_a_quiet_contact_is_forgotten_but_its_late_wrap_up_start_still_counts(
    db: Database,
) -> None:
    """The wrap-up the engine starts in the step that ended a contact can fall into the next
    batch: the contact is kept (for an hour) until it comes."""
    tenant_id = await new_tenant(db)
    log = Log().received(0, "c1").accepted(10, "c1", "a1", 10.0, True).ended(70, "c1", agent="a1")
    log.wrap(70, 100, "c1", "a1", "resolved").received(7200, "c2").ended(7201, "c2", "cancelled")
    await append(db, tenant_id, log.events)
    for event in log.events:  # one event per batch
        await _apply(db, tenant_id, [event])
    await _expect_equal(db, tenant_id, log.events)
    queues, _ = await rollups(db, tenant_id)
    assert sum(s.wrap_us for s in queues.values()) == 30_000_000


async def test_a_stop_during_a_batch_ends_the_service_when_the_batch_ends(monkeypatch) -> None:
    # Before the fix, the loop cleared its wake-up after a batch, losing a stop() that came
    # during it: every shutdown waited out STOP_SECONDS (10 s on many test teardowns).
    from omnidesk.platform.bus import InProcessBus

    monkeypatch.setattr(ingester, "STOP_SECONDS", 3600.0)
    monkeypatch.setattr(ingester, "PACE_SECONDS", 0.0)
    tenant = uuid.uuid4()
    in_batch, release = asyncio.Event(), asyncio.Event()

    async def tenants(_db: object) -> list[uuid.UUID]:
        return [tenant]

    async def slow_batch(_db: object, _tenant: uuid.UUID, _batch: int, _publish: object) -> int:
        in_batch.set()
        await release.wait()
        return 0

    monkeypatch.setattr(ingester, "active_tenants", tenants)
    monkeypatch.setattr(ingester, "catch_up", slow_batch)
    service = ingester.Ingester(db=None, bus=InProcessBus())  # type: ignore[arg-type]
    service.start()
    await asyncio.wait_for(in_batch.wait(), 30)
    stopping = asyncio.create_task(service.stop())
    await asyncio.sleep(0)  # the stop has begun: its wake-up is set while the batch runs
    release.set()
    await asyncio.wait_for(stopping, 30)
    assert service._task is not None and not service._task.cancelled()
