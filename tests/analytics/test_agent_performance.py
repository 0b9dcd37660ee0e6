"""Agent performance in the agent report (analytics/agents.py): CSAT, FCR and adherence per
agent and interval from hand-built survey answers, CRM records, schedules and state events;
the null cases; an agent without a schedule; a supervisor's view; the export's columns."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from kpi_db import append, new_tenant
from kpi_events import Log

from omnidesk.analytics import agents, ingester
from omnidesk.crm import repository as crm_repo
from omnidesk.crm.models import Interaction
from omnidesk.directory.models import User
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.tenancy import tenant_by_slug
from omnidesk.surveys.models import SurveyAnswer, SurveySend
from omnidesk.wfm.scheduling.models import Schedule, ScheduleAgent, ScheduleShift

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)  # the report: 08:00-10:00 UTC, hour by hour
HOUR = timedelta(hours=1)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _schedule(
    tenant_id: uuid.UUID, user: uuid.UUID, shift: tuple[float, float], created: datetime,
    breaks: tuple[tuple[float, float], ...] = (),
) -> list[Any]:  # fmt: skip
    """A published schedule of one day (2 March, from 00:00 UTC) with one shift of `user`."""
    row = Schedule(
        id=uuid.uuid4(), tenant_id=tenant_id, name="week", horizon_start=date(2026, 3, 2),
        days=1, interval_minutes=15, status="OPTIMAL", objective=0.0, best_bound=None,
        wall_seconds=0.0, summary={}, coverage={}, inputs={}, created_at=created,
    )  # fmt: skip
    member = ScheduleAgent(
        schedule_id=row.id, user_id=user, tenant_id=tenant_id, timezone="UTC", skills=[],
        paid_minutes_by_week=[0], target_minutes_by_week=[0],
    )  # fmt: skip
    start, end = shift
    spans = [{"start": _at(b0).isoformat(), "end": _at(b1).isoformat(), "paid": True}
             for b0, b1 in breaks]  # fmt: skip
    shift_row = ScheduleShift(
        tenant_id=tenant_id, schedule_id=row.id, user_id=user, template="day",
        start_at=_at(start), end_at=_at(end), breaks=spans, paid_minutes=0,
    )  # fmt: skip
    return [row, member, shift_row]


def _send(
    tenant_id: uuid.UUID, agent: str, ended: float, **scores: int
) -> list[SurveySend | SurveyAnswer]:
    send = SurveySend(
        id=uuid.uuid4(), tenant_id=tenant_id, contact_id=f"c{uuid.uuid4().hex[:8]}",
        channel="chat", queue_id="q1", agent_id=agent, status="answered" if scores else "sent",
        ended_at=_at(ended),
    )  # fmt: skip
    answers = [
        SurveyAnswer(tenant_id=tenant_id, send_id=send.id, question_id=q,
                     kind="nps" if q == "recommend" else "csat", score=s)
        for q, s in scores.items()
    ]  # fmt: skip
    return [send, *answers]


def _interaction(
    tenant_id: uuid.UUID, contact: str, agents: list[str], ended: float, **fields: Any
) -> Interaction:
    values = dict(
        id=uuid.uuid4(), tenant_id=tenant_id, contact_id=contact, channel="chat",
        direction="inbound", state="ended", queue_ids=["q1"], agent_ids=agents, resolved=True,
        started_at=_at(ended - 300), ended_at=_at(ended),
    )  # fmt: skip
    return Interaction(**(values | fields))


async def _add(db: Database, tenant_id: uuid.UUID, rows: list[Any]) -> None:
    session = db.session(tenant_id)
    try:
        await crm_repo.settings(session, tenant_id)  # the repeat window: 7 days
        for row in rows:  # one flush each: later rows name earlier ones
            session.add(row)
            await session.flush()
        await session.commit()
    finally:
        await session.close()


def _figures(tenant_id: uuid.UUID, a: str, b: str) -> list[Any]:
    """A: scheduled 08:00-10:00 with a break 09:00-09:15 (an older schedule of the same day,
    06:00-12:00 without a break, is replaced by it); B: no schedule."""
    first = _interaction(tenant_id, "first", [b, a], 20 * 60)  # A handled it last: A's
    return [
        *_schedule(tenant_id, uuid.UUID(a), (-7200, 14400), T0 - 48 * HOUR),
        *_schedule(tenant_id, uuid.UUID(a), (0, 7200), T0 - 24 * HOUR, ((3600, 4500),)),
        # CSAT: A 5 and 3 (08:10), 4 (09:20; the NPS answer is not CSAT); 1 after the range.
        *_send(tenant_id, a, 600, overall=5, again=3),
        *_send(tenant_id, a, 4800, overall=4, recommend=9),
        *_send(tenant_id, a, 7500, overall=1),
        *_send(tenant_id, b, 5400),  # sent, never answered
        # FCR: A resolved `first` (08:20; the customer came back: repeated) and `second`.
        first,
        _interaction(tenant_id, "second", [a], 70 * 60),
        _interaction(tenant_id, "back", [a], 3 * 86400, resolved=False, repeat_of=first.id),
        _interaction(tenant_id, "b-open", [b], 80 * 60, resolved=False),
    ]


async def test_csat_fcr_and_adherence_per_agent_and_interval(db: Database) -> None:
    tenant_id = await new_tenant(db)
    users = [User(tenant_id=tenant_id, username=n, display_name=n, role=Role.AGENT) for n in "ab"]
    await _add(db, tenant_id, users)
    a, b = (str(u.id) for u in users)
    await _add(db, tenant_id, _figures(tenant_id, a, b))
    # A: available 08:00, training 08:30-08:40 (600 s out), available through the 09:00-09:15
    # break (900 s out), offline 09:59:30 (30 s: within the 60 s grace, forgiven).
    log = Log(T0).state(0, a, "available", "offline")
    log.state(1800, a, "away", "available", "training").state(2400, a, "available", "away")
    log.state(7170, a, "offline", "available")
    log.state(0, b, "available", "offline").state(3600, b, "offline", "available")
    await append(db, tenant_id, log.events)
    await ingester.catch_up(db, tenant_id)
    session = db.session(tenant_id)
    try:
        report = await agents.agent_report(
            session, tenant_id, start=T0, end=T0 + 2 * HOUR, interval="60m", agent_id=None
        )
        mine = await agents.agent_report(
            session, tenant_id, start=T0, end=T0 + 2 * HOUR, interval="60m", agent_id=None,
            agents=[a],
        )  # fmt: skip
    finally:
        await session.close()
    by_id = {r.agent_id: r for r in report.agents}
    assert set(by_id) == {a, b}
    assert [r.agent_id for r in mine.agents] == [a]  # a supervisor of A only
    ra, rb = by_id[a], by_id[b]
    first, second = ra.intervals
    assert (ra.total.sums.csat_answers, ra.total.sums.csat_satisfied) == (3, 2)
    assert ra.total.kpis.csat == 2 / 3
    assert (first.kpis.csat, second.kpis.csat) == (0.5, 1.0)
    s = ra.total.sums
    assert (s.fcr_resolved, s.fcr_repeated, s.fcr_first_contact_resolved) == (2, 1, 1)
    assert s.fcr_provisional == 0  # the windows have passed
    assert (ra.total.kpis.fcr, first.kpis.fcr, second.kpis.fcr) == (0.5, 0.0, 1.0)
    assert (s.scheduled_seconds, s.in_adherence_seconds) == (7200, 5700)
    assert ra.total.kpis.adherence == 5700 / 7200
    assert (first.sums.in_adherence_seconds, second.sums.in_adherence_seconds) == (3000, 2700)
    assert (first.kpis.adherence, second.kpis.adherence) == (3000 / 3600, 0.75)
    # B: no schedule, no CSAT answer, nothing resolved: nulls, and zeros in the sums.
    assert rb.total.sums.scheduled_seconds == 0 and rb.total.sums.csat_answers == 0
    assert (rb.total.kpis.adherence, rb.total.kpis.csat, rb.total.kpis.fcr) == (None,) * 3
    assert rb.total.kpis.occupancy == 0.0  # but state time: available 08:00-09:00


async def _demo_id(db: Database) -> uuid.UUID:
    session = db.session(SYSTEM)
    try:
        tenant = await tenant_by_slug(session, "demo")
        assert tenant is not None
        return tenant.id
    finally:
        await session.close()


def test_a_supervisor_reads_their_agents_figures_and_the_export(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    from conftest import login

    ids = tenants["demo"].ids
    db = app.state.services.db
    tenant_id = client.portal.call(_demo_id, db)  # type: ignore[union-attr]
    agent1 = ids["agent1"]
    rows = [*_schedule(tenant_id, uuid.UUID(agent1), (0, 3600), T0 - HOUR),
            *_send(tenant_id, agent1, 600, overall=4)]  # fmt: skip
    client.portal.call(_add, db, tenant_id, rows)  # type: ignore[union-attr]
    params = {"start": T0.isoformat(), "end": (T0 + 2 * HOUR).isoformat(), "interval": "60m"}
    url = "/api/v1/analytics/agents"
    admin = as_user("admin")
    r = admin.put(f"/api/v1/routing/agents/{agent1}",
                  json={"skills": {}, "queues": {}, "capacity": {"chat": 1}})  # fmt: skip
    assert r.status_code == 200, r.text  # routing knows the agent: their supervisor sees them
    body = {"username": "nightlead", "display_name": "Night Lead", "role": "supervisor",
            "password": "nightlead-password-1234"}  # fmt: skip
    assert admin.post("/api/v1/users", json=body).status_code == 201
    outsider = login(client, "demo", "nightlead", body["password"])  # supervises no team
    assert outsider.get(url, params=params).json()["agents"] == []
    for reader in (as_user("supervisor"), admin):
        (found,) = reader.get(url, params=params).json()["agents"]
        assert found["agent_id"] == agent1
        # Never logged in during the shift: offline all of it.
        assert found["total"]["kpis"] | {"aht_seconds": None} == {
            "aht_seconds": None, "occupancy": None, "csat": 1.0, "fcr": None, "adherence": 0.0,
            "quality_score": None,
        }  # fmt: skip
    r = as_user("supervisor").get(f"{url}/export", params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    total = table[-1]
    assert (total["Row (interval | total)"], total["CSAT (0-1)"], total["FCR (0-1)"]) == (
        "total", "1.0", ""
    )  # fmt: skip
    assert (total["Scheduled (s)"], total["Adherence (0-1)"]) == ("3600.0", "0.0")
