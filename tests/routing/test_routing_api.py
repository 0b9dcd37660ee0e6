"""Routing through the API on both databases: the flow, permissions, bad input, restart."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from spine_checks import assert_no_new_events, event_cursor

QUEUE = {
    "id": "support",
    "channels": ["chat", "voice"],
    "name": "Support",
    "steps": [{"target": "skills.lang.de >= 3", "timeout_seconds": 30}, {"target": None}],
    "offer_timeout_seconds": 20,
    "wrap_up_seconds": 60,
}


def _setup(as_user, ids):  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    r = admin.post("/api/v1/routing/queues", json=QUEUE)
    assert r.status_code == 201, r.text
    for name, level in (("agent1", 4), ("agent2", 1)):
        r = admin.put(
            f"/api/v1/routing/agents/{ids[name]}",
            json={
                "skills": {"lang.de": level},
                "queues": {"support": 1},
                "capacity": {"chat": 2, "voice": 1},
            },
        )
        assert r.status_code == 200, r.text
    return admin


def _go_available(as_user, ids, *names):  # type: ignore[no-untyped-def]
    for name in names:
        r = as_user(name).post(
            f"/api/v1/routing/agents/{ids[name]}/state", json={"state": "available"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "available"


def test_contact_is_offered_accepted_handled_and_wrapped_up(as_user, tenants):
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    _go_available(as_user, ids, "agent1", "agent2")
    r = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": "support", "channel": "chat", "contact_id": "c1"},
    )
    assert r.status_code == 201, r.text
    contact = r.json()
    # The first step wants German level >= 3: only agent1 qualifies.
    assert contact["state"] == "offered"
    assert contact["agent_id"] == ids["agent1"]
    offer_id = contact["offer_id"]
    # agent2 cannot accept someone else's offer; the contact's state is unchanged.
    r = as_user("agent2").post(f"/api/v1/routing/offers/{offer_id.replace('#', '%23')}/accept")
    assert r.status_code in (404, 409), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    r = as_user("agent1").post(f"/api/v1/routing/offers/{offer_id.replace('#', '%23')}/accept")
    assert r.status_code == 200, r.text
    assert "routing.offer_accepted" in [e["type"] for e in r.json()["events"]]
    assert as_user("agent1").get("/api/v1/routing/contacts/c1").json()["state"] == "active"
    assert as_user("agent2").get("/api/v1/routing/contacts/c1").status_code == 404
    r = as_user("agent1").post("/api/v1/routing/contacts/c1/end")
    assert r.status_code == 200, r.text
    status = as_user("agent1").get(f"/api/v1/routing/agents/{ids['agent1']}").json()["status"]
    assert status["state"] == "wrap_up"
    r = as_user("agent1").post("/api/v1/routing/wrap-ups/c1/end", json={"disposition": "resolved"})
    assert r.status_code == 200, r.text
    status = as_user("agent1").get(f"/api/v1/routing/agents/{ids['agent1']}").json()["status"]
    assert status["state"] == "available"
    # Everything is in the event log, in order, and the agent sees their own offer events.
    log = admin.get("/api/v1/events", params={"limit": 1000}).json()["events"]
    types = [e["event"] for e in log if e["event"].startswith("routing.")]
    for expected in (
        "routing.contact_received",
        "routing.offer_created",
        "routing.offer_accepted",
        "routing.contact_ended",
        "routing.wrap_up_started",
        "routing.wrap_up_ended",
    ):
        assert expected in types
    mine = as_user("agent1").get("/api/v1/events", params={"limit": 1000}).json()["events"]
    assert "routing.offer_created" in [e["event"] for e in mine]
    theirs = as_user("agent2").get("/api/v1/events", params={"limit": 1000}).json()["events"]
    assert "routing.offer_created" not in [e["event"] for e in theirs]


def test_waiting_contact_reports_position_and_estimate(as_user, tenants):
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    for n in range(3):
        r = admin.post(
            "/api/v1/routing/contacts",
            json={"queue_id": "support", "channel": "chat", "contact_id": f"w{n}"},
        )
        assert r.status_code == 201
    views = [admin.get(f"/api/v1/routing/contacts/w{n}").json() for n in range(3)]
    assert [v["state"] for v in views] == ["waiting"] * 3
    assert [v["estimate"]["position"] for v in views] == [1, 2, 3]
    queue = admin.get("/api/v1/routing/queues/support").json()
    assert queue["status"]["waiting"] == 3


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "status"),
    [
        ("agent1", "post", "/api/v1/routing/queues", QUEUE, 403),
        ("supervisor", "post", "/api/v1/routing/queues", QUEUE, 403),
        (
            "agent1",
            "post",
            "/api/v1/routing/contacts",
            {"queue_id": "support", "channel": "chat"},
            403,
        ),
        ("admin", "post", "/api/v1/routing/contacts", {"queue_id": "nope", "channel": "chat"}, 404),
        (
            "admin",
            "post",
            "/api/v1/routing/contacts",
            {"queue_id": "support", "channel": "fax"},
            422,
        ),
        (
            "admin",
            "post",
            "/api/v1/routing/queues",
            {**QUEUE, "id": "q2", "steps": [{"target": "skills.x >= "}]},
            422,
        ),
        ("admin", "post", "/api/v1/routing/queues", {**QUEUE, "id": "q3", "surprise": 1}, 422),
        ("admin", "post", "/api/v1/routing/queues", QUEUE, 409),
        ("admin", "post", "/api/v1/routing/offers/zzz%231/accept", None, 404),
        ("admin", "post", "/api/v1/routing/contacts/none/end", None, 404),
    ],
)
def test_bad_routing_requests_change_nothing(as_user, tenants, user, method, path, body, status):
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    before = event_cursor(admin)
    kwargs = {"json": body} if body is not None else {}
    r = getattr(as_user(user), method)(path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"]
    # Not the KPI ingester's figures: `_setup`'s routing events woke it, and its first batch
    # of the tenant pushes every team's figures on its own time, whatever this request did.
    assert_no_new_events(admin, before)


def test_invalid_rule_reports_line_and_column(as_user, tenants):
    admin = as_user("admin")
    queue = {**QUEUE, "steps": [{"target": "skills.lang.de >= 3 AND\n  contact.priority >"}]}
    r = admin.post("/api/v1/routing/queues", json=queue)
    assert r.status_code == 422
    body = r.json()
    assert body["line"] == 2
    assert body["column"] >= 1


def test_other_tenant_cannot_see_or_touch_routing(as_user, tenants):
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": "support", "channel": "chat", "contact_id": "secret"},
    )
    other = as_user("admin", tenant="other")
    assert other.get("/api/v1/routing/contacts/secret").status_code == 404
    assert other.get("/api/v1/routing/queues/support").status_code == 404
    assert other.delete("/api/v1/routing/contacts/secret").status_code == 404
    assert other.get("/api/v1/routing/queues").json() == []
    assert other.get(f"/api/v1/routing/agents/{ids['agent1']}").status_code == 404
    assert admin.get("/api/v1/routing/contacts/secret").json()["state"] == "waiting"


def _crash_routing(client, app) -> None:  # type: ignore[no-untyped-def]
    """The first app's routing stops as a killed process's would: no closing snapshot, and no
    timer of it writes to the log the second app now owns (two live writers of one tenant's
    log is not a restart; it collided on log positions in a loaded run)."""
    client.portal.call(lambda: app.state.routing.stop(snapshot=False))


def test_restart_restores_waiting_contacts_in_order(app, settings, tenants, as_user, client):
    """A new process on the same database (no clean shutdown) finds every contact in its place."""
    from omnidesk.app import create_app

    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    for n in range(4):
        admin.post(
            "/api/v1/routing/contacts",
            json={"queue_id": "support", "channel": "chat", "contact_id": f"r{n}"},
        )
    before = [admin.get(f"/api/v1/routing/contacts/r{n}").json() for n in range(4)]
    # A second app on the same database: as after kill -9, it has only what was committed.
    _crash_routing(client, app)
    second = create_app(settings)
    with TestClient(second) as other_client:
        other_client.cookies.clear()
        r = other_client.get("/api/v1/routing/contacts", headers=admin.headers())
        assert r.status_code == 200, r.text
        after = {c["contact_id"]: c for c in r.json()}
    assert sorted(after) == [f"r{n}" for n in range(4)]
    for view in before:
        restored = after[view["contact_id"]]
        assert restored["queued_at"] == view["queued_at"]
        assert restored["estimate"]["position"] == view["estimate"]["position"]
        assert restored["estimate"]["waited_seconds"] >= view["estimate"]["waited_seconds"]


def test_restart_revokes_pending_offers_and_routes_again(app, settings, tenants, as_user, client):
    """An offer pending at a crash is taken back (the agent may never have seen it), without
    marking the agent as having missed it, and the contact is offered again."""
    from omnidesk.app import create_app

    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    _go_available(as_user, ids, "agent1")
    r = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": "support", "channel": "chat", "contact_id": "p1"},
    )
    first_offer = r.json()["offer_id"]
    assert r.json()["state"] == "offered"
    _crash_routing(client, app)
    second = create_app(settings)
    with TestClient(second) as other_client:
        other_client.cookies.clear()
        contact = other_client.get("/api/v1/routing/contacts/p1", headers=admin.headers()).json()
        agent = other_client.get(
            f"/api/v1/routing/agents/{ids['agent1']}", headers=admin.headers()
        ).json()
        events = other_client.get(
            "/api/v1/events", params={"limit": 1000}, headers=admin.headers()
        ).json()
    assert contact["state"] == "offered"
    assert contact["agent_id"] == ids["agent1"]
    assert contact["offer_id"] != first_offer
    assert agent["status"]["state"] != "away", "the agent was marked as missing the offer"
    revoked = [e for e in events["events"] if e["event"] == "routing.offer_revoked"]
    assert [e["data"]["offer_id"] for e in revoked] == [first_offer]


def test_supervisors_see_contacts_of_queues_their_teams_serve(as_user, tenants):
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)  # agent1 and agent2 (team Support) serve "support"
    lonely = {**QUEUE, "id": "lonely", "steps": [{"target": None}]}
    assert admin.post("/api/v1/routing/queues", json=lonely).status_code == 201
    for queue_id, contact_id in (("support", "s1"), ("lonely", "l1")):
        body = {"queue_id": queue_id, "channel": "chat", "contact_id": contact_id}
        assert admin.post("/api/v1/routing/contacts", json=body).status_code == 201
    seen = as_user("supervisor").get("/api/v1/events", params={"limit": 1000}).json()["events"]
    received = {e["subject"]["id"] for e in seen if e["event"] == "routing.contact_received"}
    assert received == {"s1"}
    # A profile change moves the index: once agent1 also serves "lonely", its contacts show.
    profile = {"skills": {"lang.de": 4}, "queues": {"support": 1, "lonely": 1}}
    assert admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json=profile).status_code == 200
    body = {"queue_id": "lonely", "channel": "chat", "contact_id": "l2"}
    assert admin.post("/api/v1/routing/contacts", json=body).status_code == 201
    seen = as_user("supervisor").get("/api/v1/events", params={"limit": 1000}).json()["events"]
    received = {e["subject"]["id"] for e in seen if e["event"] == "routing.contact_received"}
    assert received == {"s1", "l2"}
