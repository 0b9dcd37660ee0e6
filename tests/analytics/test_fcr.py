"""First-contact resolution (analytics/fcr.py) from hand-made interaction records: the exact
figures, the edges of the range, the open window, transfers, and the API's refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from kpi_db import new_tenant

from omnidesk.analytics.fcr import fcr_report
from omnidesk.crm import repository as crm_repo
from omnidesk.crm.models import Interaction
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.tenancy import tenant_by_slug

DAY = timedelta(days=1)
# A range of one day, well in the past: every repeat window (7 days) has passed...
START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + DAY


def _record(tenant_id: uuid.UUID, contact: str, **fields: Any) -> Interaction:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "contact_id": contact,
        "channel": "chat",
        "direction": "inbound",
        "state": "ended",
        "queue_ids": ["q1"],
        "agent_ids": ["a1"],
        "resolved": True,
        "started_at": START + timedelta(hours=1),
        "ended_at": START + timedelta(hours=2),
    }
    values.update(fields)
    return Interaction(**values)


async def _store(db: Database, tenant_id: uuid.UUID, records: list[Interaction]) -> None:
    session = db.session(tenant_id)
    try:
        await crm_repo.settings(session, tenant_id)  # the repeat window: the default 7 days
        # Later records name earlier ones (repeat_of): one flush each keeps the order.
        for record in records:
            session.add(record)
            await session.flush()
        await session.commit()
    finally:
        await session.close()


def _span(start: datetime, *, hours: float) -> dict[str, datetime]:
    return {"started_at": start, "ended_at": start + timedelta(hours=hours)}


def _history(tenant_id: uuid.UUID) -> list[Interaction]:
    first = _record(tenant_id, "first")  # resolved, then the customer came back: repeated
    transferred = _record(tenant_id, "transferred", queue_ids=["q1", "q2"], agent_ids=["a1", "a2"])
    voice = _record(tenant_id, "voice", channel="voice", queue_ids=["q2"], agent_ids=["a2"])
    return [
        first,
        transferred,
        voice,
        # Its repeat: ended after the range (it repeats `first`, and is not resolved itself).
        _record(tenant_id, "back", resolved=False, **_span(START + 2 * DAY, hours=1)),
        # Not resolved: not counted.
        _record(tenant_id, "unresolved", resolved=False),
        _record(tenant_id, "no-code", resolved=None),
        # The range's edges: ended at its start counts, at its end does not.
        _record(tenant_id, "at-start", ended_at=START, started_at=START - timedelta(minutes=5)),
        _record(tenant_id, "at-end", ended_at=END),
    ]


async def test_fcr_counts_resolved_contacts_no_repeat_followed(db: Database) -> None:
    tenant_id = await new_tenant(db)
    records = _history(tenant_id)
    records[3].repeat_of = records[0].id = uuid.uuid4()
    await _store(db, tenant_id, records)
    session = db.session(tenant_id)
    try:
        report = await fcr_report(session, tenant_id, start=START, end=END, by="total")
        total = report.total
        # Resolved in the range: first, transferred, voice, at-start; first was repeated.
        assert (total.resolved, total.repeated, total.first_contact_resolved) == (4, 1, 3)
        assert total.fcr == 0.75 and total.provisional == 0 and report.window_days == 7
        assert report.rows == []

        by_queue = await fcr_report(session, tenant_id, start=START, end=END, by="queue")
        # A transferred contact counts for the queue it ended in.
        rows = {r.key: (r.resolved, r.repeated, r.fcr) for r in by_queue.rows}
        assert rows == {"q1": (2, 1, 0.5), "q2": (2, 0, 1.0)}
        by_agent = await fcr_report(session, tenant_id, start=START, end=END, by="agent")
        assert {r.key: r.resolved for r in by_agent.rows} == {"a1": 2, "a2": 2}
        by_channel = await fcr_report(session, tenant_id, start=START, end=END, by="channel")
        assert {r.key: (r.resolved, r.fcr) for r in by_channel.rows} == {
            "chat": (3, round(2 / 3, 4)),
            "voice": (1, 1.0),
        }
        # Filters and a supervisor's limits.
        q2 = await fcr_report(session, tenant_id, start=START, end=END, by="total", queue_id="q2")
        assert (q2.total.resolved, q2.total.repeated) == (2, 0)
        mine = await fcr_report(session, tenant_id, start=START, end=END, by="queue", queues={"q1"})
        assert [r.key for r in mine.rows] == ["q1"] and mine.total.resolved == 2
        voice = await fcr_report(
            session, tenant_id, start=START, end=END, by="total", channel="voice"
        )
        assert voice.total.resolved == 1
        empty = await fcr_report(session, tenant_id, start=END, end=END + DAY, by="total")
        assert empty.total.resolved == 1 and empty.total.fcr == 1.0  # at-end belongs here
    finally:
        await session.close()


async def test_contacts_within_their_window_are_provisional(db: Database) -> None:
    tenant_id = await new_tenant(db)
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    recent = _record(
        tenant_id,
        "recent",
        started_at=today - 2 * DAY,
        ended_at=today - 2 * DAY + timedelta(hours=1),
    )
    old = _record(
        tenant_id, "old", started_at=today - 9 * DAY, ended_at=today - 2 * DAY + timedelta(hours=2)
    )
    repeated = _record(
        tenant_id,
        "repeated",
        started_at=today - 2 * DAY,
        ended_at=today - 2 * DAY + timedelta(hours=3),
    )
    repeated.id = uuid.uuid4()
    back = _record(tenant_id, "back", resolved=None, repeat_of=repeated.id,
                   started_at=today - DAY, ended_at=today - DAY)  # fmt: skip
    await _store(db, tenant_id, [recent, old, repeated, back])
    session = db.session(tenant_id)
    try:
        report = await fcr_report(
            session, tenant_id, start=today - 2 * DAY, end=today - DAY, by="total"
        )
    finally:
        await session.close()
    total = report.total
    # `recent` could still be followed by a repeat (its window runs 7 days from its start);
    # `old` started 9 days ago (its window has passed); `repeated` was repeated.
    assert (total.resolved, total.repeated, total.provisional) == (3, 1, 1)
    assert total.fcr == round(2 / 3, 4)


async def _demo_id(db: Database) -> uuid.UUID:
    session = db.session(SYSTEM)
    try:
        tenant = await tenant_by_slug(session, "demo")
        assert tenant is not None
        return tenant.id
    finally:
        await session.close()


def test_the_fcr_report_by_api(client, app, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    db = app.state.services.db
    tenant_id = client.portal.call(_demo_id, db)
    records = _history(tenant_id)
    records[3].repeat_of = records[0].id = uuid.uuid4()
    client.portal.call(_store, db, tenant_id, records)
    params = {"start": START.isoformat(), "end": END.isoformat()}
    admin = as_user("admin")
    r = admin.get("/api/v1/analytics/fcr", params={**params, "by": "queue"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"]["resolved"] == 4 and body["total"]["fcr"] == 0.75
    assert [(row["key"], row["repeated"]) for row in body["rows"]] == [("q1", 1), ("q2", 0)]
    # The other tenant sees none of it.
    other = as_user("admin", "other").get("/api/v1/analytics/fcr", params=params).json()
    assert other["total"]["resolved"] == 0 and other["total"]["fcr"] is None
    # Agents read no reports; a queue the supervisor cannot see is 404; bad input is 422.
    assert as_user("agent1").get("/api/v1/analytics/fcr", params=params).status_code == 403
    r = as_user("supervisor").get("/api/v1/analytics/fcr", params={**params, "queue_id": "q9"})
    assert r.status_code == 404
    r = admin.get("/api/v1/analytics/fcr", params={**params, "by": "team"})
    assert r.status_code == 422 and "by" in r.text
    r = admin.get(
        "/api/v1/analytics/fcr", params={"start": END.isoformat(), "end": START.isoformat()}
    )
    assert r.status_code == 422 and r.json()["field"] == "end"
