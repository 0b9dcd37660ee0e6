"""The quality score in the agent report (analytics/agents.py): the mean of evaluation scores
by the contact's end, per interval and in total, from a hand-built sequence; and a rebuild of
the KPIs from the log (`omnidesk kpis rebuild`) gives the very same report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from kpi_db import append, new_tenant
from kpi_events import Log

from omnidesk.analytics import agents, ingester
from omnidesk.analytics.schemas import KpiAgentsReport
from omnidesk.directory.models import User
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import Database
from omnidesk.qa.models import Evaluation

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)  # the report: 08:00-10:00 UTC, hour by hour
HOUR = timedelta(hours=1)


def _evaluation(tenant_id: uuid.UUID, agent: str, ended: float, score: float) -> Evaluation:
    return Evaluation(
        id=uuid.uuid4(), tenant_id=tenant_id, scorecard_id=None, scorecard_name="card",
        scorecard_version=1, criteria=[], contact_id=f"c{uuid.uuid4().hex[:8]}", channel="chat",
        queue_id="q1", agent_id=agent, evaluator_id=uuid.uuid4(), answers={}, score=score,
        auto_failed=score == 0, contact_ended_at=T0 + timedelta(seconds=ended),
    )  # fmt: skip


async def _report(db: Database, tenant_id: uuid.UUID) -> KpiAgentsReport:
    session = db.session(tenant_id)
    try:
        return await agents.agent_report(
            session, tenant_id, start=T0, end=T0 + 2 * HOUR, interval="60m", agent_id=None
        )
    finally:
        await session.close()


async def test_quality_score_per_interval_and_total_survives_a_rebuild(db: Database) -> None:
    tenant_id = await new_tenant(db)
    session = db.session(tenant_id)
    try:
        users = [User(tenant_id=tenant_id, username=n, display_name=n, role=Role.AGENT)
                 for n in "ab"]  # fmt: skip
        session.add_all(users)
        await session.flush()
        a, b = (str(u.id) for u in users)
        # A: 85 and 66.67 (08:10, 08:40), an auto-fail 0 (09:20), 100 after the range (10:30).
        graded = [(a, 600, 85.0), (a, 2400, 66.67), (a, 4800, 0.0), (a, 9000, 100.0)]
        session.add_all(_evaluation(tenant_id, *g) for g in graded)
        await session.commit()
    finally:
        await session.close()
    # The log: B's state time (so B has a row without evaluations), and the evaluations'
    # events as quality records them (the ingester's rollups do not count them).
    log = Log(T0).state(0, b, "available", "offline").state(1800, b, "offline", "available")
    for agent, ended, score in graded:
        log.add("quality.evaluation_created", ended + 60, agent_id=agent, score=score)
    await append(db, tenant_id, log.events)
    await ingester.catch_up(db, tenant_id)
    report = await _report(db, tenant_id)
    by_id = {r.agent_id: r for r in report.agents}
    first, second = by_id[a].intervals
    total = by_id[a].total
    # (85 + 66.67) / 2 = 75.835 → 75.84 (halves to even); (85 + 66.67 + 0) / 3 = 50.5566…
    assert (first.sums.evaluations, first.kpis.quality_score) == (2, 75.84)
    assert (second.sums.evaluations, second.kpis.quality_score) == (1, 0.0)
    assert (total.sums.evaluations, total.sums.quality_score_sum) == (3, 151.67)
    assert total.kpis.quality_score == 50.56
    assert (by_id[b].total.sums.evaluations, by_id[b].total.kpis.quality_score) == (0, None)

    await ingester.rebuild(db, tenant_id)
    assert await _report(db, tenant_id) == report
