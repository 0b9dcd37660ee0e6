"""Directory → routing: team membership (and name, time zone, deactivation) reach the agent's
routing profile after the directory change commits, and with it who follows the agent."""

from __future__ import annotations

from typing import Any

from test_routing_realtime import (
    SUPPORT,
    RoutingClient,
    add_agent_user,
    contact,
    fresh,
    ok,
    set_state,
    user_id,
    without_estimates,
)


def settle(client: Any, app: Any) -> None:
    """Wait until the routing service has applied every directory change it was told of."""
    client.portal.call(app.state.routing.settled)


def routing_def(admin: Any, uid: str) -> dict[str, Any]:
    return dict(ok(admin.get(f"/api/v1/routing/agents/{uid}"))["definition"])


def carol_agent(as_user: Any, client: Any) -> tuple[Any, Any, str]:
    """A queue, and carol: an agent user in no team, with a routing profile."""
    admin = as_user("admin")
    ok(admin.post("/api/v1/routing/queues", json=SUPPORT), 201)
    carol = add_agent_user(admin, client, "demo", "carol", None)
    uid = user_id(admin, "carol")
    profile = {"skills": {"lang.de": 4}, "queues": {"support": 0}, "capacity": {"chat": 1}}
    assert ok(admin.put(f"/api/v1/routing/agents/{uid}", json=profile))["teams"] == []
    return admin, carol, uid


def test_membership_reaches_routing_and_the_supervisor(as_user, client, app, tenants):
    ids = tenants["demo"].ids
    team = ids["team"]  # "Support", supervised by `supervisor`
    admin, carol, uid = carol_agent(as_user, client)
    supervisor = as_user("supervisor")
    with supervisor.websocket() as ws:
        watcher = RoutingClient(ws)
        watcher.register()
        assert uid not in watcher.state["agents"]

        ok(admin.put(f"/api/v1/teams/{team}/members/{uid}", json={"role": "member"}))
        settle(client, app)
        assert routing_def(admin, uid)["teams"] == [team]
        watcher.sync()
        # The profile change re-synchronised the supervisor, who now follows carol (her later
        # steps come as events; had they happened before the new snapshot was read, they
        # would be in it instead).
        assert watcher.snapshots[-1]["reason"] == "scope_changed"
        set_state(carol, uid, "available")
        contact(admin, "k1", "support")  # offered to carol, the only available member
        watcher.sync()
        assert watcher.state["agents"][uid]["state"] == "available"
        assert watcher.state["agents"][uid]["contacts"]["k1"]["state"] == "offered"
        heard = {e["event"] for e in watcher.routing_events() if e["data"].get("agent_id") == uid}
        assert {"routing.agent_state_changed", "routing.offer_created"} <= heard
        _, view = fresh(supervisor)
        assert without_estimates(view) == without_estimates(watcher.state)

        ok(admin.delete(f"/api/v1/teams/{team}/members/{uid}"), 204)
        settle(client, app)
        assert routing_def(admin, uid)["teams"] == []
        before = len(watcher.events)
        ok(carol.post("/api/v1/routing/offers/k1%231/reject", json={}))
        watcher.sync()
        assert uid not in watcher.state["agents"]
        assert all(e["data"].get("agent_id") != uid for e in watcher.events[before:])
        _, view = fresh(supervisor)
        assert uid not in view["agents"]
        assert without_estimates(view) == without_estimates(watcher.state)


def test_put_takes_teams_from_the_directory_unless_given(as_user, client, app, tenants):
    ids = tenants["demo"].ids
    admin = as_user("admin")
    ok(admin.post("/api/v1/routing/queues", json=SUPPORT), 201)
    other = ok(admin.post("/api/v1/teams", json={"name": "Night"}), 201)["id"]
    profile: dict[str, Any] = {"queues": {"support": 0}}
    # agent1 is in Support: that is its team when none is given.
    assert ok(admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json=profile))["teams"] == [
        ids["team"]
    ]
    given = ok(
        admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json={**profile, "teams": [other]})
    )
    assert given["teams"] == [other]
    # A team that does not exist (here: another tenant's) is refused, naming the field.
    foreign = tenants["other"].ids["team"]
    r = admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json={**profile, "teams": [foreign]})
    assert r.status_code == 404 and "team" in r.json()["detail"], r.text
    assert r.json()["field"] == "teams"
    r = admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json={**profile, "teams": ["x"]})
    assert r.status_code == 422, r.text
    assert routing_def(admin, ids["agent1"])["teams"] == [other]
    # The directory stays the source: the next membership change brings its teams back.
    ok(admin.put(f"/api/v1/teams/{other}/members/{ids['agent1']}", json={"role": "member"}))
    settle(client, app)
    assert sorted(routing_def(admin, ids["agent1"])["teams"]) == sorted([ids["team"], other])


def test_team_deletion_name_and_zone_follow(as_user, client, app, tenants):
    admin, _, uid = carol_agent(as_user, client)
    night = ok(admin.post("/api/v1/teams", json={"name": "Night"}), 201)["id"]
    ok(admin.put(f"/api/v1/teams/{night}/members/{uid}", json={"role": "member"}))
    ok(
        admin.patch(
            f"/api/v1/users/{uid}", json={"display_name": "Carol C.", "timezone": "Asia/Tokyo"}
        )
    )
    settle(client, app)
    definition = routing_def(admin, uid)
    assert (definition["teams"], definition["name"], definition["timezone"]) == (
        [night],
        "Carol C.",
        "Asia/Tokyo",
    )
    ok(admin.delete(f"/api/v1/teams/{night}"), 204)
    settle(client, app)
    assert routing_def(admin, uid)["teams"] == []
    # Idempotent: syncs that find the profile in line with the directory issue nothing (carol
    # is offline: deactivating her has nothing to disconnect either).
    before = routing_events(admin)
    ok(admin.patch(f"/api/v1/users/{uid}", json={"active": False}))
    ok(admin.patch(f"/api/v1/users/{uid}", json={"active": True}))
    settle(client, app)
    assert routing_events(admin) == before


def routing_events(admin: Any) -> list[dict[str, Any]]:
    events = ok(admin.get("/api/v1/events", params={"limit": 1000}))["events"]
    return [e for e in events if e["event"].startswith("routing.")]


def test_deactivated_user_is_disconnected_and_their_contact_waits_again(
    as_user, client, app, tenants
):
    admin, carol, uid = carol_agent(as_user, client)
    set_state(carol, uid, "available")
    assert contact(admin, "d1", "support")["agent_id"] == uid
    ok(carol.post("/api/v1/routing/offers/d1%231/accept"))
    ok(admin.patch(f"/api/v1/users/{uid}", json={"active": False}))
    settle(client, app)
    agent = ok(admin.get(f"/api/v1/routing/agents/{uid}"))
    assert agent["status"]["state"] == "offline"
    assert agent["status"]["contacts"] == {}
    assert agent["definition"]["queues"] == {"support": 0}  # the profile stays
    waiting = ok(admin.get("/api/v1/routing/contacts/d1"))
    assert (waiting["state"], waiting["agent_id"]) == ("waiting", None)


def test_a_failing_sync_loses_no_directory_change(as_user, client, app, tenants):
    ids = tenants["demo"].ids
    admin, _, uid = carol_agent(as_user, client)
    routing = app.state.routing
    real = routing.sync_agents
    calls: list[Any] = []

    async def broken(tenant_id: Any, users: Any) -> Any:
        calls.append(users)
        raise RuntimeError("routing database unavailable")

    routing.sync_retry_seconds = 0.01
    routing.sync_agents = broken
    try:
        ok(admin.put(f"/api/v1/teams/{ids['team']}/members/{uid}", json={"role": "member"}))
        settle(client, app)
    finally:
        routing.sync_agents = real
    assert len(calls) == 3  # tried, retried, then given up (and logged)
    members = ok(admin.get(f"/api/v1/teams/{ids['team']}"))["members"]
    assert uid in {m["user_id"] for m in members}, "the directory change was lost"
    assert routing_def(admin, uid)["teams"] == []
    # The next change of that user brings routing in line with the directory again.
    ok(admin.patch(f"/api/v1/users/{uid}", json={"display_name": "Carol B."}))
    settle(client, app)
    assert routing_def(admin, uid)["teams"] == [ids["team"]]
