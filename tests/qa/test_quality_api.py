"""Quality over HTTP on both databases: scorecards (admins write, stale versions 409, agents
403), evaluations (a supervisor grades their team's agents only, nobody themselves; unknown
criterion, answer out of range, a contact the agent did not handle: 422; an unknown contact,
another tenant's scorecard: 404; the same grade twice: 409), an agent reads and acknowledges
only their own, the event and audit entry, and the score in the agent report and its export."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from omnidesk.crm.models import Interaction
from omnidesk.platform.database import SYSTEM, Base, Database
from omnidesk.platform.tenancy import tenant_by_slug
from spine_checks import all_events, audit_entries, event_cursor

Q = "/api/v1/quality"
T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
CARD = {
    "name": "Chat basics",
    "criteria": [
        {"id": "greeting", "text": "Greeted by name", "kind": "yes_no", "weight": 1},
        {"id": "solution", "text": "Solved it", "kind": "points", "weight": 3, "max_points": 5},
        {"id": "privacy", "text": "Checked identity", "kind": "yes_no", "weight": 0,
         "auto_fail": True},
    ],
}  # fmt: skip


async def _contacts(db: Database, slug: str, rows: list[tuple[str, list[str], str]]) -> None:
    """Interaction records (contact id, agents, state) ending at T0 + 10 min."""
    async with db.session(SYSTEM) as system:
        tenant = await tenant_by_slug(system, slug)
        assert tenant is not None
    session = db.session(tenant.id)
    try:
        for contact, agents, state in rows:
            ended = T0 + timedelta(minutes=10) if state == "ended" else None
            record = Interaction(
                id=uuid.uuid4(), tenant_id=tenant.id, contact_id=contact, channel="chat",
                direction="inbound", state=state, queue_ids=["q1"], agent_ids=agents,
                started_at=T0, ended_at=ended,
            )  # fmt: skip
            session.add(record)
        await session.commit()
    finally:
        await session.close()


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def test_scorecards_evaluations_permissions_and_the_report(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    agent1, agent2 = ids["agent1"], ids["agent2"]
    admin, sup = as_user("admin"), as_user("supervisor")
    db = app.state.services.db
    rows = [("c-1", [agent1], "ended"), ("c-2", [agent2, agent1], "ended"),
            ("c-open", [agent1], "open")]  # fmt: skip
    client.portal.call(_contacts, db, "demo", rows)  # type: ignore[union-attr]
    profile = {"skills": {}, "queues": {}, "capacity": {"chat": 1}}
    for agent in (agent1, agent2):  # routing knows them: their supervisor sees them
        assert admin.put(f"/api/v1/routing/agents/{agent}", json=profile).status_code == 200

    # Scorecards: admins write, supervisors read, agents neither; stale versions are 409.
    assert sup.post(f"{Q}/scorecards", json=CARD).status_code == 403
    assert as_user("agent1").get(f"{Q}/scorecards").status_code == 403
    bad = {**CARD, "criteria": [{"id": "a", "text": "A", "kind": "points", "weight": 1}]}
    refusal = _problem(admin.post(f"{Q}/scorecards", json=bad), 422)
    assert refusal["field"] == "criteria.0.max_points"
    card = _problem(admin.post(f"{Q}/scorecards", json=CARD), 201)
    assert card["version"] == 1
    renamed = _problem(admin.put(f"{Q}/scorecards/{card['id']}", json={**CARD, "version": 1}), 200)
    assert renamed["version"] == 2
    stale = admin.put(f"{Q}/scorecards/{card['id']}", json={**CARD, "name": "X", "version": 1})
    assert _problem(stale, 409)["code"] == "version_conflict"
    assert admin.delete(f"{Q}/scorecards/{card['id']}", params={"version": 1}).status_code == 409
    assert [c["id"] for c in sup.get(f"{Q}/scorecards").json()] == [card["id"]]

    # Grading.
    answers = {"greeting": "yes", "solution": 4, "privacy": "yes"}
    grade = {"scorecard_id": card["id"], "contact_id": "c-1", "agent_id": agent1,
             "answers": answers, "comment": "Good"}  # fmt: skip
    refused = [
        ({"answers": {**answers, "speed": 1}}, 422, "answers.speed"),
        ({"answers": {**answers, "solution": 6}}, 422, "answers.solution"),
        ({"answers": {"greeting": "yes", "solution": 4}}, 422, "answers.privacy"),
        ({"agent_id": agent2}, 422, "agent_id"),  # c-1 is agent1's only
        ({"contact_id": "c-open"}, 422, "contact_id"),
        ({"contact_id": "nope"}, 404, "contact_id"),
        ({"scorecard_id": str(uuid.uuid4())}, 404, "scorecard_id"),
    ]
    for change, status, field in refused:
        assert (
            _problem(sup.post(f"{Q}/evaluations", json={**grade, **change}), status).get("field")
            == field
        ), change
    assert as_user("agent2").post(f"{Q}/evaluations", json=grade).status_code == 403
    own = {**grade, "agent_id": ids["supervisor"]}
    assert sup.post(f"{Q}/evaluations", json=own).status_code == 403
    # Another tenant's supervisor: our agent and scorecard are unknown there.
    assert as_user("supervisor", "other").post(f"{Q}/evaluations", json=grade).status_code == 404
    cursor = event_cursor(admin)
    first = _problem(sup.post(f"{Q}/evaluations", json=grade), 201)
    # (1·1 + 3·4/5) / (1 + 3) = 85 %
    assert (first["score"], first["auto_failed"], first["scorecard_version"]) == (85.0, False, 2)
    assert _problem(sup.post(f"{Q}/evaluations", json=grade), 409)["code"] == "evaluation_exists"
    failed = {**grade, "contact_id": "c-2", "answers": {**answers, "privacy": "no"}}
    second = _problem(admin.post(f"{Q}/evaluations", json=failed), 201)
    assert (second["score"], second["auto_failed"]) == (0.0, True)
    events, _ = all_events(admin, cursor)
    created = [e for e in events if e["event"] == "quality.evaluation_created"]
    assert [e["data"]["score"] for e in created] == [85.0, 0.0]
    assert "Good" not in str(created)  # the comment stays out of the log
    graded = [e for e in audit_entries(admin) if e["action"] == "quality.evaluation.create"]
    assert len(graded) == 2

    # Reading: the agent their own only; another agent nothing of theirs.
    a1, a2 = as_user("agent1"), as_user("agent2")
    assert {e["id"] for e in a1.get(f"{Q}/evaluations").json()} == {first["id"], second["id"]}
    assert a1.get(f"{Q}/evaluations", params={"agent_id": agent2}).json() == []
    assert a2.get(f"{Q}/evaluations").json() == []
    assert a2.get(f"{Q}/evaluations/{first['id']}").status_code == 404
    assert as_user("admin", "other").get(f"{Q}/evaluations/{first['id']}").status_code == 404
    assert a2.post(f"{Q}/evaluations/{first['id']}/acknowledge").status_code == 404
    assert sup.post(f"{Q}/evaluations/{first['id']}/acknowledge").status_code == 403
    acked = _problem(a1.post(f"{Q}/evaluations/{first['id']}/acknowledge"), 200)
    assert acked["acknowledged_at"] is not None and acked["comment"] == "Good"
    listed = sup.get(f"{Q}/evaluations", params={"agent_id": agent1}).json()
    assert [e["score"] for e in listed] == [0.0, 85.0]  # same end: the newer grade first
    seen = [e for e in all_events(a1, cursor)[0] if e["event"].startswith("quality.")]
    assert len(seen) == 3  # both grades and the acknowledgement
    assert not [e for e in all_events(a2, cursor)[0] if e["event"].startswith("quality.")]

    # An edited scorecard leaves the evaluation's criteria as graded.
    changed = {**CARD, "criteria": CARD["criteria"][:2], "version": 2}
    assert admin.put(f"{Q}/scorecards/{card['id']}", json=changed).status_code == 200
    kept = sup.get(f"{Q}/evaluations/{first['id']}").json()
    assert [c["id"] for c in kept["criteria"]] == ["greeting", "solution", "privacy"]
    # ... and a deleted one too: the evaluation keeps its name, criteria and score.
    assert admin.delete(f"{Q}/scorecards/{card['id']}", params={"version": 3}).status_code == 204
    kept = sup.get(f"{Q}/evaluations/{first['id']}").json()
    assert (kept["scorecard_id"], kept["scorecard_name"], kept["score"]) == (
        None,
        "Chat basics",
        85.0,
    )

    # The agent report: the mean of the two (42.5 %), in the interval and the total.
    params = {"start": T0.isoformat(), "end": (T0 + timedelta(hours=2)).isoformat(),
              "interval": "60m", "agent_id": agent1}  # fmt: skip
    (report,) = sup.get("/api/v1/analytics/agents", params=params).json()["agents"]
    assert report["total"]["sums"]["evaluations"] == 2
    assert report["total"]["kpis"]["quality_score"] == 42.5
    assert [i["kpis"]["quality_score"] for i in report["intervals"]] == [42.5, None]
    export = sup.get("/api/v1/analytics/agents/export", params={**params, "format": "csv"})
    table = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert (table[-1]["Quality evaluations"], table[-1]["Quality score (%)"]) == ("2", "42.5")


def _every_row(client: TestClient, app: FastAPI) -> str:
    """Every row of every table (the event log and the audit log among them), as one text."""

    async def go() -> str:
        rows: list[str] = []
        async with app.state.services.db.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in await conn.execute(text(f'SELECT * FROM "{table.name}"')):
                    rows.append(json.dumps([str(v) for v in row]))
        return "\n".join(rows)

    return client.portal.call(go)  # type: ignore[union-attr, no-any-return]


def test_an_erased_customers_evaluation_comments_are_blanked(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    """The comment may describe the customer: it goes with them; the grade (about the agent)
    stays, and neither the events nor the audit log ever held the comment."""
    agent1 = tenants["demo"].ids["agent1"]
    admin, sup = as_user("admin"), as_user("supervisor")
    db = app.state.services.db
    rows = [("e-1", [agent1], "ended"), ("e-2", [agent1], "ended")]
    client.portal.call(_contacts, db, "demo", rows)  # type: ignore[union-attr]
    r = admin.post("/api/v1/crm/customers", json={"display_name": "Zebulon Quaxley"})
    assert r.status_code == 201, r.text
    customer_id = r.json()["id"]
    interactions = admin.get("/api/v1/crm/interactions", params={"contact_id": "e-1"}).json()
    r = admin.put(
        f"/api/v1/crm/interactions/{interactions[0]['id']}/customer",
        json={"customer_id": customer_id},
    )
    assert r.status_code == 200, r.text
    profile = {"skills": {}, "queues": {}, "capacity": {"chat": 1}}
    assert admin.put(f"/api/v1/routing/agents/{agent1}", json=profile).status_code == 200
    card = _problem(admin.post(f"{Q}/scorecards", json={**CARD, "name": "Erasure"}), 201)
    answers = {"greeting": "yes", "solution": 5, "privacy": "yes"}
    grades = {}
    for contact, comment in (("e-1", "Zebulon's IBAN COMMENTSECRET read aloud"),
                             ("e-2", "Another customer, kept")):  # fmt: skip
        grade = {"scorecard_id": card["id"], "contact_id": contact, "agent_id": agent1,
                 "answers": answers, "comment": comment}  # fmt: skip
        grades[contact] = _problem(sup.post(f"{Q}/evaluations", json=grade), 201)
    assert "COMMENTSECRET" in _every_row(client, app)  # in the evaluation's row, and only there

    erase = admin.post(f"/api/v1/crm/customers/{customer_id}/erase")
    assert erase.status_code == 200
    assert erase.json()["evaluation_comments"] == 1  # said in the answer (and the audit)
    erased = sup.get(f"{Q}/evaluations/{grades['e-1']['id']}").json()
    assert erased["comment"] is None
    assert (erased["score"], erased["answers"]) == (100.0, answers)
    kept = sup.get(f"{Q}/evaluations/{grades['e-2']['id']}").json()
    assert kept["comment"] == "Another customer, kept"
    assert "COMMENTSECRET" not in _every_row(client, app)
    created = [e for e in all_events(admin)[0] if e["event"] == "quality.evaluation_created"]
    assert created and "Another customer" not in str(created)
    assert "Another customer" not in str(audit_entries(admin))
