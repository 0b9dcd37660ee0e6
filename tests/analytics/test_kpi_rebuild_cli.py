"""`omnidesk kpis rebuild` recomputes the rollups from the log: the very rows incremental
ingestion built (both databases)."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from kpi_db import append, new_tenant, rollups
from kpi_streams import event_logs

from omnidesk.analytics import ingester
from omnidesk.analytics.facts import LogEvent
from omnidesk.platform.database import Database
from omnidesk_cli import run_omnidesk


def _log() -> list[LogEvent]:
    # One fixed random-looking log: hypothesis draws it once, reproducibly.
    found: list[list[LogEvent]] = []

    @settings(max_examples=1, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(event_logs())
    def draw(events: list[LogEvent]) -> None:
        found.append(events)

    draw()
    return found[0]


async def test_rebuild_gives_identical_rollups(db: Database, database_url: str) -> None:
    events = _log()
    tenant_id = await new_tenant(db, "rebuilt")
    other_id = await new_tenant(db, "untouched")
    await append(db, tenant_id, events)
    await append(db, other_id, events[:5])
    for start in range(0, len(events), 3):  # incrementally, as events come
        assert await ingester.step(db, tenant_id, batch=3) == len(events[start : start + 3])
    await ingester.catch_up(db, other_id)
    before, before_other = await rollups(db, tenant_id), await rollups(db, other_id)
    assert before[0], "the log produced no rollups: the comparison would be vacuous"
    result = await asyncio.to_thread(
        run_omnidesk, "kpis", "rebuild", "--tenant", "rebuilt", "--database-url", database_url
    )
    assert result.returncode == 0, result.stderr
    assert f"rollups rebuilt from {len(events)} events" in result.stdout
    assert await rollups(db, tenant_id) == before
    assert await rollups(db, other_id) == before_other
    result = await asyncio.to_thread(
        run_omnidesk, "kpis", "rebuild", "--tenant", "nope", "--database-url", database_url
    )
    assert result.returncode != 0 and "no active tenant" in result.stderr
