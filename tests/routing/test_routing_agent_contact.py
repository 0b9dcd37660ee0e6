"""An agent's own contact (StartAgentContact) through the routing host, on both databases: its
events reach the realtime views consistently, and it survives a restart (log replay and
snapshot)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_routing_realtime import (
    VIEWERS,
    RoutingClient,
    demo_host,
    fresh,
    ok,
    set_state,
    settle,
    setup_routing,
    without_estimates,
)

from omnidesk.core.routing import RoutingError, StartAgentContact


def start(client: Any, app: Any, command: StartAgentContact) -> list[dict[str, Any]]:
    host = demo_host(client, app)
    return [e.to_dict() for e in client.portal.call(host.execute, command)]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_views_follow_an_agents_own_contacts(as_user, client, app, tenants, viewer):
    user = as_user(viewer)
    with user.websocket() as ws:
        watcher = RoutingClient(ws)
        watcher.register()
        world = setup_routing(as_user, client, tenants["demo"].ids)
        ids, admin = world["ids"], world["admin"]
        agent1 = as_user("agent1")
        set_state(agent1, ids["agent1"], "available")
        # One counted for the support queue, one for no queue: agent1's 2 chats are taken.
        start(client, app, StartAgentContact("m1", ids["agent1"], "chat", queue_id="support"))
        start(client, app, StartAgentContact("m2", ids["agent1"], "chat"))
        status = ok(admin.get(f"/api/v1/routing/agents/{ids['agent1']}"))["status"]
        assert status["state"] == "busy" and status["load"] == {"chat": 2}
        assert ok(admin.get("/api/v1/routing/contacts/m2"))["queue_id"] is None
        # A chat for the queue waits: agent1 has no room.
        body = {"queue_id": "support", "channel": "chat", "contact_id": "c1"}
        assert ok(admin.post("/api/v1/routing/contacts", json=body), 201)["state"] == "waiting"
        settle(client, app)
        cursor = watcher.sync()
        head, middle = fresh(user)
        assert cursor == head
        assert without_estimates(watcher.state) == without_estimates(middle)
        # Ended: wrap-up (the queue's 600 s for m1; until ended for m2).
        ok(agent1.post("/api/v1/routing/contacts/m1/end"))
        ok(agent1.post("/api/v1/routing/contacts/m2/end"))
        ok(agent1.post("/api/v1/routing/wrap-ups/m2/end", json={}))
        settle(client, app)
        cursor = watcher.sync()
    head, final = fresh(user)
    assert cursor == head
    assert without_estimates(watcher.state) == without_estimates(final)
    if viewer == "agent1":
        assert set(middle["agents"][ids["agent1"]]["contacts"]) == {"m1", "m2"}
        assert final["agents"][ids["agent1"]]["contacts"]["m1"]["state"] == "wrap_up"
    if viewer in ("admin", "supervisor"):
        # Only the one with a queue is shown in a queue; the other in its agent's entry only.
        assert middle["contacts"]["m1"]["state"] == "active"
        assert "m2" not in middle["contacts"]
        assert middle["queues"]["support"]["active"] == 1
        # m2's wrap-up ended: agent1 had room for c1, which is now offered to them.
        assert final["contacts"]["c1"]["agent_id"] == ids["agent1"]


@pytest.mark.parametrize("snapshot_every", [1, 1000], ids=["snapshot", "log-replay"])
def test_an_agents_own_contact_survives_a_restart(
    as_user, client, app, settings, tenants, snapshot_every
):
    from omnidesk.app import create_app

    world = setup_routing(as_user, client, tenants["demo"].ids)
    ids, admin = world["ids"], world["admin"]
    demo_host(client, app).snapshot_every = snapshot_every
    set_state(as_user("agent1"), ids["agent1"], "available")
    start(client, app, StartAgentContact("m2", ids["agent1"], "chat", attributes={"n": 1}))
    with pytest.raises(RoutingError) as refused:
        start(client, app, StartAgentContact("m2", ids["agent1"], "chat"))
    assert refused.value.code == "duplicate_id"
    before = ok(admin.get("/api/v1/routing/contacts/m2"))
    # A second app on the same database: as after kill -9, it has only what was committed.
    with TestClient(create_app(settings)) as second:
        second.cookies.clear()
        after = second.get("/api/v1/routing/contacts/m2", headers=admin.headers()).json()
        agent = second.get(f"/api/v1/routing/agents/{ids['agent1']}", headers=admin.headers())
        assert agent.json()["status"]["state"] == "busy"
        ended = second.post("/api/v1/routing/contacts/m2/end", headers=admin.headers())
        assert ended.status_code == 200, ended.text
        kinds = [e["type"] for e in ended.json()["events"]]
        assert kinds[:2] == ["routing.contact_ended", "routing.wrap_up_started"]
    assert after == before
    assert (after["state"], after["agent_id"], after["queue_id"]) == ("active", ids["agent1"], None)
