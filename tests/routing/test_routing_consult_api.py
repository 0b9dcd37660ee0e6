"""Consults through the API, on both databases: ask, accept, hand over, and who may do what."""

from __future__ import annotations

from test_routing_api import _go_available, _setup


def _active_chat(as_user, ids):  # type: ignore[no-untyped-def]
    """c1 is an active chat of agent1; agent2 is ready."""
    admin = _setup(as_user, ids)
    _go_available(as_user, ids, "agent1", "agent2")
    r = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": "support", "channel": "chat", "contact_id": "c1"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["agent_id"] == ids["agent1"]
    r = as_user("agent1").post("/api/v1/routing/offers/c1%231/accept")
    assert r.status_code == 200, r.text
    return admin


def _types(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["type"] for e in response.json()["events"]]


def test_consult_accept_and_warm_transfer(as_user, tenants):
    ids = tenants["demo"].ids
    admin = _active_chat(as_user, ids)
    agent1, agent2 = as_user("agent1"), as_user("agent2")
    r = agent1.post(
        "/api/v1/routing/contacts/c1/consult",
        json={"target_kind": "agent", "target": ids["agent2"], "consult_id": "k1"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["consult_id"] == "k1"
    assert _types(r)[:2] == ["routing.consult_started", "routing.offer_created"]

    # the consultant sees and accepts the consult offer like any offer
    r = agent2.post("/api/v1/routing/offers/k1%231/accept")
    assert r.status_code == 200, r.text
    leg = agent2.get("/api/v1/routing/contacts/k1").json()
    assert leg["state"] == "active" and leg["consult_of"] == "c1"

    # only the requester may hand the contact over
    r = agent2.post("/api/v1/routing/consults/k1/end", json={"transfer": True})
    assert r.status_code == 403, r.text
    r = agent1.post("/api/v1/routing/consults/k1/end", json={"transfer": True})
    assert r.status_code == 200, r.text
    assert "routing.contact_transferred" in _types(r)
    contact = admin.get("/api/v1/routing/contacts/c1").json()
    assert contact["agent_id"] == ids["agent2"] and contact["state"] == "active"
    status = admin.get(f"/api/v1/routing/agents/{ids['agent1']}").json()["status"]
    assert status["state"] == "wrap_up"
    # both agents find the consult in their event stream
    for who in (agent1, agent2):
        mine = who.get("/api/v1/events", params={"limit": 1000}).json()["events"]
        assert "routing.consult_ended" in [e["event"] for e in mine]


def test_consultant_can_hang_up_and_outsiders_cannot_touch_it(as_user, tenants):
    ids = tenants["demo"].ids
    _active_chat(as_user, ids)
    r = as_user("agent1").post(
        "/api/v1/routing/contacts/c1/consult",
        json={"target_kind": "queue", "target": "support"},
    )
    assert r.status_code == 201, r.text
    consult_id = r.json()["consult_id"]
    r = as_user("agent2").post(f"/api/v1/routing/offers/{consult_id}%231/accept")
    assert r.status_code == 200, r.text
    # another tenant never sees it
    r = as_user("admin", tenant="other").post(f"/api/v1/routing/consults/{consult_id}/end", json={})
    assert r.status_code == 404, r.text
    r = as_user("agent2").post(f"/api/v1/routing/consults/{consult_id}/end", json={})
    assert r.status_code == 200, r.text
    assert _types(r)[0] == "routing.consult_ended"
    c1 = as_user("agent1").get("/api/v1/routing/contacts/c1").json()
    assert c1["agent_id"] == ids["agent1"] and c1["consult_id"] is None


def test_bad_consults_are_refused_with_reasons(as_user, tenants):
    ids = tenants["demo"].ids
    _active_chat(as_user, ids)
    agent1 = as_user("agent1")
    cases = [
        ({"target_kind": "team", "target": "x"}, 422),
        ({"target_kind": "agent"}, 422),
        ({"target_kind": "agent", "target": ids["agent1"]}, 409),  # yourself
        ({"target_kind": "queue", "target": "nope"}, 404),
        ({"target_kind": "agent", "target": ids["agent2"], "extra": 1}, 422),
    ]
    for body, expected in cases:
        r = agent1.post("/api/v1/routing/contacts/c1/consult", json=body)
        assert r.status_code == expected, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # agent2 does not handle c1: it cannot start a consult on it
    r = as_user("agent2").post(
        "/api/v1/routing/contacts/c1/consult", json={"target_kind": "queue", "target": "support"}
    )
    assert r.status_code == 404, r.text
    # nobody ready: 409, and the contact is untouched
    as_user("agent2").post(f"/api/v1/routing/agents/{ids['agent2']}/state", json={"state": "away"})
    r = agent1.post(
        "/api/v1/routing/contacts/c1/consult",
        json={"target_kind": "agent", "target": ids["agent2"]},
    )
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "consult_unavailable"
    c1 = agent1.get("/api/v1/routing/contacts/c1").json()
    assert c1["state"] == "active" and c1["consult_id"] is None
    r = agent1.post("/api/v1/routing/consults/ghost/end", json={})
    assert r.status_code == 404, r.text
