"""Incremental rollups equal a recomputation from the raw events, on both databases: in any
batch sizes, with batches delivered twice, replayed later or rolled back midway; and
`kpis rebuild` gives the same rows again."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_db import append, new_tenant, rollups
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
