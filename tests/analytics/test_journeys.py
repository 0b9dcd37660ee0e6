"""Customer journeys (analytics/journeys.py) from hand-made interaction records, as FCR's tests
build them: the worked example of docs/kpis.md ("Customer journeys") to the last figure, the
filters and a supervisor's queues, an empty range, and the API's refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from kpi_db import new_tenant
from test_fcr import _demo_id, _store

from omnidesk.analytics.journeys import handle_us, journey_report
from omnidesk.crm.models import Interaction
from omnidesk.platform.database import Database

DAY = timedelta(days=1)
START = datetime(2026, 3, 2, tzinfo=UTC)  # well in the past: every window has passed
END = START + DAY
H = timedelta(hours=1)
M = timedelta(minutes=1)


def _steps(queue: str, accepted: datetime, ended: datetime, wrap: timedelta = timedelta(),
           hold: tuple[datetime, datetime] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """A routed contact's steps: received and accepted at `accepted`, ended, then wrap-up."""
    entries: list[tuple[datetime, str, dict[str, Any]]] = [
        (accepted, "received", {"queue_id": queue}),
        (accepted, "accepted", {"queue_id": queue, "agent_id": "a1"}),
    ]
    if hold is not None:
        entries += [(hold[0], "call_held", {}), (hold[1], "call_resumed", {})]
    entries.append((ended, "ended", {}))
    if wrap:
        entries += [(ended, "wrap_up_started", {"agent_id": "a1"}),
                    (ended + wrap, "wrap_up_ended", {"agent_id": "a1"})]  # fmt: skip
    return [
        {"at": when.isoformat(), "seq": n, "step": name, **data}
        for n, (when, name, data) in enumerate(entries, start=1)
    ]


def _record(tenant_id: uuid.UUID, contact: str, channel: str, queue: str, started: datetime,
            ended: datetime, **fields: Any) -> Interaction:  # fmt: skip
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "contact_id": contact,
        "channel": channel,
        "direction": "inbound",
        "state": "ended",
        "queue_ids": [queue],
        "agent_ids": ["a1"],
        "resolved": False,
        "started_at": started,
        "ended_at": ended,
    }
    values.update(fields)
    return Interaction(**values)


async def _customer(db: Database, tenant_id: uuid.UUID) -> uuid.UUID:
    from omnidesk.crm.models import Customer

    session = db.session(tenant_id)
    try:
        customer = Customer(tenant_id=tenant_id)
        session.add(customer)
        await session.commit()
        return customer.id
    finally:
        await session.close()


async def _case(db: Database, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> uuid.UUID:
    from omnidesk.crm.models import Case

    session = db.session(tenant_id)
    try:
        case = Case(tenant_id=tenant_id, number=1001, customer_id=customer_id, type="repair",
                    title="Router")  # fmt: skip
        session.add(case)
        await session.commit()
        return case.id
    finally:
        await session.close()


async def _example(db: Database, tenant_id: uuid.UUID, q1: str, q2: str) -> None:
    """The worked example of docs/kpis.md, "Customer journeys"."""
    anna, ben, cleo = [await _customer(db, tenant_id) for _ in range(3)]
    case = await _case(db, tenant_id, anna)
    t = START
    # Anna, one case: WhatsApp (not resolved), switched to a callback, then an email resolves.
    w1 = _record(tenant_id, "w1", "messaging", q1, t + H, t + H + 30 * M, customer_id=anna,
                 case_id=case, steps=_steps(q1, t + H, t + H + 10 * M, wrap=M))  # fmt: skip
    v1 = _record(tenant_id, "v1", "voice", q2, t + 3 * H, t + 3 * H + 20 * M, customer_id=anna,
                 case_id=case, switched_from=w1.id,
                 steps=_steps(q2, t + 3 * H, t + 3 * H + 20 * M,
                              hold=(t + 3 * H + 5 * M, t + 3 * H + 6 * M)))  # fmt: skip
    e1 = _record(tenant_id, "e1", "email", q1, t + 5 * H, t + 6 * H, customer_id=anna,
                 case_id=case, repeat_of=v1.id, resolved=True,
                 steps=_steps(q1, t + 5 * H, t + 5 * H + 5 * M))  # fmt: skip
    # Ben, no case, the same reason: a chain A -> B -> C that began the day before.
    c1 = _record(tenant_id, "c1", "chat", q1, t - 4 * H, t - 3 * H, customer_id=ben,
                 reason="billing", steps=_steps(q1, t - 4 * H, t - 4 * H + 5 * M))  # fmt: skip
    c2 = _record(tenant_id, "c2", "chat", q1, t + 2 * H, t + 2 * H + M, customer_id=ben,
                 reason="billing", repeat_of=c1.id, resolved=None)  # fmt: skip
    c3 = _record(tenant_id, "c3", "voice", q2, t + 9 * H, t + 10 * H, customer_id=ben,
                 reason="billing", repeat_of=c2.id, resolved=True,
                 steps=_steps(q2, t + 9 * H, t + 9 * H + 10 * M, wrap=M))  # fmt: skip
    # Cleo: a call not resolved, her next contact (a chat) 8 days later: outside the window.
    d1 = _record(tenant_id, "d1", "voice", q1, t + 4 * H, t + 4 * H + 10 * M, customer_id=cleo)
    d2 = _record(tenant_id, "d2", "chat", q1, t + 8 * DAY, t + 8 * DAY + M, customer_id=cleo)
    # An anonymous chat, resolved at once.
    n1 = _record(tenant_id, "n1", "chat", q2, t + 12 * H, t + 12 * H + 2 * M, resolved=True,
                 steps=_steps(q2, t + 12 * H, t + 12 * H + 2 * M))  # fmt: skip
    # An internal call is nobody's journey.
    i1 = _record(tenant_id, "i1", "voice", q1, t + H, t + 2 * H, direction="internal")
    await _store(db, tenant_id, [w1, v1, e1, c1, c2, c3, d1, d2, n1, i1])


def _figures(row: Any) -> tuple[Any, ...]:
    return (row.contacts, row.repeats, row.switches, row.breaks, row.resolved_matters,
            row.contacts_per_matter, row.channels_per_matter, row.handle_seconds_per_matter,
            row.elapsed_seconds_per_matter)  # fmt: skip


def test_handle_time_is_the_folds_talk_hold_and_wrap_up() -> None:
    steps = _steps("q", START, START + 20 * M, wrap=M, hold=(START + 5 * M, START + 6 * M))
    assert handle_us("c", steps) == 21 * 60 * 1_000_000
    assert handle_us("c", []) == 0


async def test_the_worked_example(db: Database) -> None:
    tenant_id = await new_tenant(db)
    await _example(db, tenant_id, "q1", "q2")
    session = db.session(tenant_id)
    try:
        report = await journey_report(session, tenant_id, start=START, end=END, by="total")
        total = report.total
        # Handle: w1 600+60, v1 1200 (hold inside), e1 300 = 2160; c1 300 + c3 600+60 = 960;
        # n1 120. Elapsed: 5 h; 14 h (from c1, the day before); 2 min.
        assert _figures(total) == (7, 3, 3, 2, 3, round(7 / 3, 4), 2.0, 1080.0, 22840.0)
        assert (total.repeat_rate, total.switch_rate, total.break_rate) == (
            round(3 / 7, 4), round(3 / 7, 4), round(2 / 7, 4))  # fmt: skip
        assert total.provisional == 0 and report.window_days == 7 and report.rows == []
        assert [(s.from_channel, s.to_channel, s.switches) for s in report.switch_matrix] == [
            ("chat", "voice", 1), ("messaging", "voice", 1), ("voice", "email", 1)]  # fmt: skip

        by_channel = await journey_report(session, tenant_id, start=START, end=END, by="channel")
        assert {r.key: _figures(r) for r in by_channel.rows} == {
            "chat": (2, 1, 1, 1, 2, 2.0, 1.5, 540.0, 25260.0),
            "email": (1, 1, 0, 0, 0, None, None, None, None),
            "messaging": (1, 0, 1, 0, 1, 3.0, 3.0, 2160.0, 18000.0),
            "voice": (3, 1, 1, 1, 0, None, None, None, None),
        }
        assert _figures(by_channel.total) == _figures(total)
        by_queue = await journey_report(session, tenant_id, start=START, end=END, by="queue")
        assert {r.key: _figures(r)[:5] for r in by_queue.rows} == {
            "q1": (4, 2, 2, 1, 2), "q2": (3, 1, 1, 1, 1)}  # fmt: skip

        # A supervisor of q2 only; one queue; one channel.
        mine = await journey_report(session, tenant_id, start=START, end=END, by="total",
                                    queues={"q2"})  # fmt: skip
        assert _figures(mine.total)[:5] == (3, 1, 1, 1, 1)
        assert [(s.from_channel, s.to_channel) for s in mine.switch_matrix] == [("voice", "email")]
        q1 = await journey_report(session, tenant_id, start=START, end=END, by="total",
                                  queue_id="q1")  # fmt: skip
        assert _figures(q1.total)[:5] == (4, 2, 2, 1, 2)
        voice = await journey_report(session, tenant_id, start=START, end=END, by="total",
                                     channel="voice")  # fmt: skip
        assert _figures(voice.total)[:5] == (3, 1, 1, 1, 0)

        # The next week: d2 started (not a repeat, no switch, nothing resolved).
        later = await journey_report(session, tenant_id, start=START + 8 * DAY,
                                     end=START + 9 * DAY, by="total")  # fmt: skip
        assert _figures(later.total) == (1, 0, 0, 0, 0, None, None, None, None)
        # Nothing in the range: zeros, no rates.
        empty = await journey_report(session, tenant_id, start=START - 30 * DAY,
                                     end=START - 29 * DAY, by="channel")  # fmt: skip
        assert empty.rows == [] and empty.switch_matrix == []
        assert _figures(empty.total) == (0, 0, 0, 0, 0, None, None, None, None)
        assert empty.total.repeat_rate is None and empty.total.break_rate is None
    finally:
        await session.close()


async def test_a_switch_made_from_a_contact_is_no_break(db: Database) -> None:
    tenant_id = await new_tenant(db)
    anna = await _customer(db, tenant_id)
    t = START
    chat = _record(tenant_id, "chat", "chat", "q", t + H, t + 2 * H, customer_id=anna)
    # The agent moved the matter to a callback: a switch, not a break.
    call = _record(tenant_id, "call", "voice", "q", t + 2 * H, t + 3 * H, customer_id=anna,
                   switched_from=chat.id)  # fmt: skip
    # The callback not resolved, and the customer's next contact is an email: a break.
    mail = _record(tenant_id, "mail", "email", "q", t + 5 * H, t + 6 * H, customer_id=anna)
    # An email whose next contact is on the same channel: no break.
    again = _record(tenant_id, "again", "email", "q", t + 7 * H, t + 8 * H, customer_id=anna)
    await _store(db, tenant_id, [chat, call, mail, again])
    session = db.session(tenant_id)
    try:
        report = await journey_report(session, tenant_id, start=START, end=END, by="channel")
    finally:
        await session.close()
    rows = {r.key: (r.contacts, r.switches, r.breaks) for r in report.rows}
    assert rows == {"chat": (1, 1, 0), "voice": (1, 0, 1), "email": (2, 0, 0)}


def test_the_journey_report_by_api(client, app, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    from conftest import login

    ids = tenants["demo"].ids
    admin = as_user("admin")
    queue = {"id": "jq", "channels": ["chat", "voice"], "name": "Journeys"}
    assert admin.post("/api/v1/routing/queues", json=queue).status_code == 201
    r = admin.put(f"/api/v1/routing/agents/{ids['agent1']}",
                  json={"skills": {}, "queues": {"jq": 1}, "capacity": {"chat": 1}})  # fmt: skip
    assert r.status_code == 200, r.text
    db = app.state.services.db
    tenant_id = client.portal.call(_demo_id, db)
    client.portal.call(_example, db, tenant_id, "jq", "elsewhere")
    params = {"start": START.isoformat(), "end": END.isoformat()}
    url = "/api/v1/analytics/journeys"
    r = admin.get(url, params={**params, "by": "queue"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"]["contacts"] == 7 and body["total"]["elapsed_seconds_per_matter"] == 22840
    assert [(row["key"], row["contacts"]) for row in body["rows"]] == [("elsewhere", 3), ("jq", 4)]
    assert len(body["switch_matrix"]) == 3
    # The team's supervisor sees the contacts of jq (its agent serves it), not of `elsewhere`.
    mine = as_user("supervisor").get(url, params=params).json()["total"]
    assert (mine["contacts"], mine["switches"], mine["resolved_matters"]) == (4, 2, 2)
    # A supervisor of no team sees none; a queue they cannot see is 404.
    body = {"username": "journeylead", "display_name": "Journey Lead", "role": "supervisor",
            "password": "journeylead-password-1234"}  # fmt: skip
    assert admin.post("/api/v1/users", json=body).status_code == 201
    outsider = login(client, "demo", "journeylead", body["password"])
    assert outsider.get(url, params=params).json()["total"]["contacts"] == 0
    assert outsider.get(url, params={**params, "queue_id": "jq"}).status_code == 404
    # The other tenant sees none of it; agents read no reports.
    other = as_user("admin", "other").get(url, params=params).json()
    assert other["total"]["contacts"] == 0 and other["total"]["repeat_rate"] is None
    assert as_user("agent1").get(url, params=params).status_code == 403
    # Bad input names the field.
    r = admin.get(url, params={**params, "by": "agent"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "by"]
    r = admin.get(url, params={"start": END.isoformat(), "end": START.isoformat()})
    assert r.status_code == 422 and r.json()["field"] == "end"
    r = admin.get(url, params={**params, "start": "2026-03-02T00:07:00Z"})
    assert r.status_code == 422 and r.json()["field"] == "start"


def test_the_journey_report_as_files(client, app, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    admin = as_user("admin")
    queue = {"id": "jq2", "channels": ["chat", "voice"], "name": "=HYPERLINK(1)"}
    assert admin.post("/api/v1/routing/queues", json=queue).status_code == 201
    db = app.state.services.db
    tenant_id = client.portal.call(_demo_id, db)
    client.portal.call(_example, db, tenant_id, "jq2", "q2")
    params = {"start": START.isoformat(), "end": END.isoformat(), "by": "queue"}
    url = "/api/v1/analytics/journeys/export"
    r = admin.get(url, params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    assert "omnidesk-journeys-2026-03-02-2026-03-03.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Row (row | total | switch)", "Key (queue)", "Queue", "Contacts started"]
    # Names from users never start a formula.
    assert [row[:4] for row in rows[1:4]] == [
        ["row", "jq2", "'=HYPERLINK(1)", "4"],
        ["row", "q2", "", "3"],
        ["total", "", "", "7"],
    ]
    switches = [(row[-2], row[-1], row[6]) for row in rows if row[0] == "switch"]
    assert switches == [
        ("chat", "voice", "1"),
        ("messaging", "voice", "1"),
        ("voice", "email", "1"),
    ]
    r = admin.get(url, params={**params, "format": "xlsx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = admin.get(url, params=params)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "format"]
