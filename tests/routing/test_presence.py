"""Honest presence (routing/presence.py): an agent whose last realtime socket closes is taken out
of routing after the grace (their offer goes to someone else); a reconnect within it keeps the
state; an agent on a call is set away instead; agents restored in a working state nobody
reconnects for are taken out too. The platform's hub only says when sockets open and close."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_routing_realtime import SUPPORT, contact, ok, set_state

from omnidesk.app import create_app
from omnidesk.platform.settings import Settings

GRACE = 0.3
VOICE = {**SUPPORT, "id": "phone", "name": "Phone", "channels": ["voice"], "steps": [{}]}


@pytest.fixture(name="settings")
def short_grace(settings: Settings) -> Settings:
    return settings.model_copy(update={"presence_grace_seconds": GRACE})


def setup(as_user: Any, ids: dict[str, str]) -> Any:
    admin = as_user("admin")
    ok(admin.post("/api/v1/routing/queues", json={**SUPPORT, "steps": [{}]}), 201)
    ok(admin.post("/api/v1/routing/queues", json=VOICE), 201)
    for name in ("agent1", "agent2"):
        profile = {"queues": {"support": 1, "phone": 1}, "capacity": {"chat": 1, "voice": 1}}
        ok(admin.put(f"/api/v1/routing/agents/{ids[name]}", json=profile))
    return admin


def events_until(ws: Any, done: Any) -> list[dict[str, Any]]:
    """The routing events the socket receives until `done(event)` holds for one."""
    seen = []
    while True:
        message = ws.receive_json()
        if message["type"] != "event":
            continue
        seen.append(message)
        if done(message):
            return seen


def state_of(admin: Any, uid: str) -> dict[str, Any]:
    return dict(ok(admin.get(f"/api/v1/routing/agents/{uid}"))["status"])


def test_closed_desk_goes_offline_after_the_grace_and_its_offer_moves(as_user, tenants):
    ids = tenants["demo"].ids
    admin = setup(as_user, ids)
    agent1, agent2 = as_user("agent1"), as_user("agent2")
    with admin.websocket() as watcher:
        watcher.send_json({"type": "register", "last_event_id": None})
        watcher.receive_json()
        with agent1.websocket() as desk:
            desk.send_json({"type": "register", "last_event_id": None})
            desk.receive_json()
            set_state(agent1, ids["agent1"], "available")
            assert contact(admin, "c1", "support")["agent_id"] == ids["agent1"]  # offered
        # The desk is gone (browser closed): nothing happens at once ...
        assert state_of(admin, ids["agent1"])["presence"] == "available"
        set_state(agent2, ids["agent2"], "available")  # agent2 works through the API only
        # ... then, after the grace, agent1 is out and c1 is offered to agent2.
        seen = events_until(
            watcher,
            lambda m: (
                m["event"] == "routing.offer_created" and m["data"]["agent_id"] == ids["agent2"]
            ),
        )
    names = [(m["event"], m["data"].get("agent_id")) for m in seen]
    assert ("routing.offer_revoked", ids["agent1"]) in names
    assert names[-1] == ("routing.offer_created", ids["agent2"])
    revoked = next(m for m in seen if m["event"] == "routing.offer_revoked")
    assert revoked["data"]["reason"] == "agent_disconnected"
    assert state_of(admin, ids["agent1"])["state"] == "offline"
    # agent2, who never had a socket, is not watched: still in routing.
    assert state_of(admin, ids["agent2"])["presence"] == "available"


def test_reconnect_within_the_grace_keeps_the_state(as_user, client, app, tenants, settings):
    ids = tenants["demo"].ids
    admin = setup(as_user, ids)
    agent1 = as_user("agent1")
    app.state.presence.grace_seconds = 30  # long enough not to fire during the test
    with agent1.websocket() as desk:
        desk.send_json({"type": "register", "last_event_id": None})
        desk.receive_json()
        set_state(agent1, ids["agent1"], "available")
    assert app.state.presence._timers  # the clock runs ...
    with agent1.websocket() as desk:
        desk.send_json({"type": "register", "last_event_id": None})
        desk.receive_json()
        assert not app.state.presence._timers  # ... and stopped when the desk came back
        client.portal.call(app.state.presence.settled)
    assert state_of(admin, ids["agent1"])["state"] == "available"


def test_an_agent_on_a_call_is_set_away_not_pulled_off_it(as_user, client, app, tenants):
    ids = tenants["demo"].ids
    admin = setup(as_user, ids)
    agent1 = as_user("agent1")
    with agent1.websocket() as desk:
        desk.send_json({"type": "register", "last_event_id": None})
        desk.receive_json()
        set_state(agent1, ids["agent1"], "available")
        body = {"queue_id": "phone", "channel": "voice", "contact_id": "call1"}
        ok(admin.post("/api/v1/routing/contacts", json=body), 201)
        offer = ok(admin.get("/api/v1/routing/contacts/call1"))["offer_id"]
        ok(agent1.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept"))
    client.portal.call(app.state.presence.settled)  # the grace, and what it led to
    status = state_of(admin, ids["agent1"])
    # Away underneath (the reason shows once the call ends), busy on the call meanwhile.
    assert (status["presence"], status["state"]) == ("away", "busy")
    assert status["contacts"] == {"call1": "active"}  # the call goes on


def test_agents_restored_working_without_a_desk_are_taken_out(as_user, client, tenants, settings):
    ids = tenants["demo"].ids
    admin = setup(as_user, ids)
    set_state(as_user("agent1"), ids["agent1"], "available")
    # Another process on the same database (the server restarted): agent1 is restored
    # available, and never reconnects.
    with TestClient(create_app(settings)) as second:
        app2: Any = second.app

        async def after_grace() -> Any:
            tenants = await app2.state.routing.restored()
            await app2.state.presence.settled()  # the restore's clock, then the disconnect
            return await app2.state.routing.read(tenants[0], lambda r: r.agent(ids["agent1"]))

        status = second.portal.call(after_grace)
    assert status.presence == "offline"
    assert state_of(admin, ids["agent1"])["presence"] == "available"  # the first process's view
