"""Interaction records from the event log: routing contacts and voice calls, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_helpers import API, customer, setup_crm, tenant_of
from sqlalchemy import update

from omnidesk.channels.voice import call_events as ev
from omnidesk.crm.follower import InteractionFollower
from omnidesk.crm.models import Interaction, ProjectionCursor
from omnidesk.platform.database import utcnow
from omnidesk.platform.uow import UnitOfWork

QUEUE = {
    "id": "support",
    "channels": ["chat", "voice"],
    "name": "Support",
    "steps": [{"target": None}],
}


def _routing(as_user, ids) -> Any:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin.put(
        f"/api/v1/routing/agents/{ids['agent1']}",
        json={"queues": {"support": 1}, "capacity": {"chat": 2, "voice": 1}},
    )
    assert r.status_code == 200, r.text
    r = as_user("agent1").post(
        f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    return admin


def _record(client, app, tenant_id: uuid.UUID, *events: Any) -> None:  # type: ignore[no-untyped-def]
    services = app.state.services

    async def go() -> None:
        session = services.db.session(tenant_id)
        try:
            async with UnitOfWork(session, services.bus, tenant_id=tenant_id) as uow:
                for event in events:
                    uow.record(event)
        finally:
            await session.close()

    client.portal.call(go)


def _catch_up(client, app, tenant_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    client.portal.call(app.state.crm.follower.catch_up, tenant_id)


def test_a_call_becomes_an_interaction_of_the_caller(client, app, as_user, tenants) -> None:
    ids = tenants["demo"].ids
    setup_crm(as_user("admin"))
    admin = _routing(as_user, ids)
    agent = as_user("agent1")
    tenant_id = tenant_of(client, app)
    known = customer(agent, "Erika Muster", ("phone", "030 12345678"))
    recording = str(uuid.uuid4())
    _record(
        client,
        app,
        tenant_id,
        ev.CallStarted(
            call_id="call-1", direction="inbound", caller="+493012345678", callee="+4930999999"
        ),
    )
    r = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": "support", "channel": "voice", "contact_id": "call-1"},
    )
    assert r.status_code == 201 and r.json()["agent_id"] == ids["agent1"], r.text
    offer = r.json()["offer_id"].replace("#", "%23")
    assert agent.post(f"/api/v1/routing/offers/{offer}/accept").status_code == 200
    now = utcnow()
    _record(
        client,
        app,
        tenant_id,
        ev.CallStateChanged(call_id="call-1", state="connected", contact_id="call-1"),
        ev.RecordingSaved(
            call_id="call-1",
            recording_id=recording,
            contact_id="call-1",
            seconds=3.0,
            sha256="x",
            complete=True,
        ),
        ev.CallEnded(
            call_id="call-1",
            direction="inbound",
            caller="+493012345678",
            callee="+4930999999",
            contact_id="call-1",
            agent_id=None,
            started_at=now,
            connected_at=now,
            ended_at=now,
            reason="hangup",
            recording_ids=[recording],
        ),
    )
    assert agent.post("/api/v1/routing/contacts/call-1/end").status_code == 200
    # An unknown caller gets a customer of their own.
    _record(
        client,
        app,
        tenant_id,
        ev.CallStarted(call_id="call-2", direction="inbound", caller="+4915199887766", callee=None),
    )
    _catch_up(client, app, tenant_id)
    found = agent.get(f"{API}/interactions", params={"contact_id": "call-1"}).json()
    assert len(found) == 1
    record = found[0]
    assert (record["customer_id"], record["channel"], record["state"]) == (
        known["id"],
        "voice",
        "ended",
    )
    assert record["agent_ids"] == [ids["agent1"]] and record["queue_ids"] == ["support"]
    assert record["recordings"] == [
        {"id": recording, "url": f"/api/v1/voice/recordings/{recording}/audio"}
    ]
    steps = [s["step"] for s in record["steps"]]
    assert steps[:3] == ["call_started", "received", "queued"]
    assert {"accepted", "call_connected", "recording_saved", "call_ended", "ended"} <= set(steps)
    stranger = agent.get(f"{API}/interactions", params={"contact_id": "call-2"}).json()[0]
    assert stranger["customer_id"] not in (None, known["id"])
    # On the caller's timeline, linked to a case.
    timeline = agent.get(f"{API}/customers/{known['id']}/timeline").json()["items"]
    assert [i["kind"] for i in timeline] == ["interaction"]
    assert timeline[0]["interaction"]["id"] == record["id"]
    case = agent.post(
        f"{API}/cases", json={"customer_id": known["id"], "title": "Line down"}
    ).json()
    r = agent.put(f"{API}/interactions/{record['id']}/case", json={"case_id": case["id"]})
    assert r.status_code == 200 and r.json()["case_id"] == case["id"]
    card = agent.get(f"{API}/customers/{known['id']}/card").json()
    assert card["open_cases"][0]["number"] == case["number"]
    assert card["last_contacts"][0]["id"] == record["id"]
    other = customer(agent, "Someone Else")
    other_case = agent.post(f"{API}/cases", json={"customer_id": other["id"], "title": "x"}).json()
    r = agent.put(f"{API}/interactions/{record['id']}/case", json={"case_id": other_case["id"]})
    assert r.status_code == 409


def test_the_projection_resumes_from_its_cursor_and_applies_nothing_twice(
    client, app, as_user, tenants
) -> None:
    ids = tenants["demo"].ids
    admin = _routing(as_user, ids)
    tenant_id = tenant_of(client, app)
    for n in range(3):
        r = admin.post(
            "/api/v1/routing/contacts",
            json={"queue_id": "support", "channel": "chat", "contact_id": f"c{n}"},
        )
        assert r.status_code == 201, r.text
    _catch_up(client, app, tenant_id)
    before = admin.get(f"{API}/interactions").json()
    assert sorted(i["contact_id"] for i in before) == ["c0", "c1", "c2"]
    services = app.state.services

    async def replay_from_scratch() -> int:
        # A second follower (another process after a restart) with its cursor set back.
        session = services.db.session(tenant_id)
        try:
            await session.execute(update(ProjectionCursor).values(last_seq=0))
            await session.commit()
        finally:
            await session.close()
        return await InteractionFollower(services.db, services.bus).catch_up(tenant_id)

    assert client.portal.call(replay_from_scratch) > 0
    after = admin.get(f"{API}/interactions").json()
    assert [(i["id"], i["steps"]) for i in after] == [(i["id"], i["steps"]) for i in before]
    # A new contact after the restart is picked up by the running follower's next pass.
    admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": "support", "channel": "chat", "contact_id": "c9"},
    )
    _catch_up(client, app, tenant_id)
    assert (
        admin.get(f"{API}/interactions", params={"contact_id": "c9"}).json()[0]["state"] == "open"
    )
    r = admin.put(
        f"{API}/interactions/{after[0]['id']}/customer",
        json={"identity": {"kind": "email", "value": "chatter@example.com"}},
    )
    assert r.status_code == 200 and r.json()["customer_id"]


def test_interactions_filter_by_agent_state_and_end(client, app, as_user) -> None:  # type: ignore[no-untyped-def]
    """Filters by an agent among those who handled the contact (never a prefix of their id),
    open or ended, and the end's range; bad ranges name the field."""
    tenant_id = tenant_of(client, app)
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    t0 = datetime(2026, 5, 4, 8, tzinfo=UTC)
    rows = [  # contact, agents, ended after (minutes) or open
        ("f-1", [one], 10),
        ("f-2", [two, one], 70),
        ("f-3", [two], 20),
        ("f-4", [one], None),
        ("f-5", [one[:-1]], 15),  # another agent whose id is a prefix of agent one's
    ]

    async def insert() -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            for contact, agents, minutes in rows:
                session.add(
                    Interaction(
                        tenant_id=tenant_id, contact_id=contact, channel="chat",
                        direction="inbound", state="open" if minutes is None else "ended",
                        agent_ids=agents, started_at=t0,
                        ended_at=None if minutes is None else t0 + timedelta(minutes=minutes),
                    )
                )  # fmt: skip
            await session.commit()
        finally:
            await session.close()

    client.portal.call(insert)
    sup = as_user("supervisor")

    def contacts(**params: Any) -> list[str]:
        r = sup.get(f"{API}/interactions", params=params)
        assert r.status_code == 200, r.text
        return sorted(i["contact_id"] for i in r.json())

    assert contacts(agent_id=one) == ["f-1", "f-2", "f-4"]
    assert contacts(agent_id=two) == ["f-2", "f-3"]
    assert contacts(agent_id=one, ended=True) == ["f-1", "f-2"]
    assert contacts(agent_id=one, ended=False) == ["f-4"]
    hour = {"ended_from": t0.isoformat(), "ended_until": (t0 + timedelta(hours=1)).isoformat()}
    assert contacts(agent_id=one, **hour) == ["f-1"]
    assert contacts(**hour) == ["f-1", "f-3", "f-5"]
    assert contacts(agent_id=one, ended_from=(t0 + timedelta(hours=1)).isoformat()) == ["f-2"]
    assert contacts(agent_id=str(uuid.uuid4())) == []
    backwards = {"ended_from": hour["ended_until"], "ended_until": hour["ended_from"]}
    r = sup.get(f"{API}/interactions", params=backwards)
    assert r.status_code == 422 and r.json()["field"] == "ended_until", r.text
    r = sup.get(f"{API}/interactions", params={"ended": False, **hour})
    assert r.status_code == 422 and r.json()["field"] == "ended", r.text
    assert sup.get(f"{API}/interactions", params={"agent_id": ""}).status_code == 422
    # Another tenant sees none of them.
    assert (
        as_user("admin", "other").get(f"{API}/interactions", params={"agent_id": one}).json() == []
    )
