"""`GET /routing/colleagues`: an agent's view of the tenant's other agents (name and routing
state only), for calling, consulting and transferring to them from the desk."""

from __future__ import annotations

from typing import Any


def _profiles(as_user: Any, ids: dict[str, str], tenant: str = "demo") -> None:
    admin = as_user("admin", tenant)
    for name in ("agent1", "agent2", "supervisor"):
        profile = {"capacity": {"chat": 1}}
        r = admin.put(f"/api/v1/routing/agents/{ids[name]}", json=profile)
        assert r.status_code == 200, r.text


def test_an_agent_lists_their_colleagues_with_presence(tenants, as_user):  # type: ignore[no-untyped-def]
    demo, other = tenants["demo"].ids, tenants["other"].ids
    _profiles(as_user, demo)
    _profiles(as_user, other, "other")
    one, two = as_user("agent1"), as_user("agent2")
    assert (
        two.post(
            f"/api/v1/routing/agents/{demo['agent2']}/state", json={"state": "available"}
        ).status_code
        == 200
    )
    away = {"state": "away", "reason": "break"}
    sup = as_user("supervisor")
    assert (
        sup.post(f"/api/v1/routing/agents/{demo['supervisor']}/state", json=away).status_code == 200
    )

    r = one.get("/api/v1/routing/colleagues")
    assert r.status_code == 200, r.text
    seen = {c["id"]: c for c in r.json()}
    # Everyone of the tenant with a routing profile but the asker; nobody of another tenant.
    assert set(seen) == {demo["agent2"], demo["supervisor"]}, seen
    assert not set(seen) & set(other.values())
    assert seen[demo["agent2"]]["state"] == "available"
    assert seen[demo["supervisor"]]["state"] == "away"
    # Only what a colleague may see: no skills, queues, hours, contacts or away reason.
    assert all(set(c) == {"id", "name", "state"} for c in r.json()), r.json()
    assert {c["name"] for c in r.json()} and all(c["name"] for c in r.json())

    # The state follows routing; the other tenant's agents see only theirs.
    assert (
        two.post(
            f"/api/v1/routing/agents/{demo['agent2']}/state", json={"state": "offline"}
        ).status_code
        == 200
    )
    again = {c["id"]: c["state"] for c in one.get("/api/v1/routing/colleagues").json()}
    assert again[demo["agent2"]] == "offline"
    theirs = {c["id"] for c in as_user("agent1", "other").get("/api/v1/routing/colleagues").json()}
    assert theirs == {other["agent2"], other["supervisor"]}
