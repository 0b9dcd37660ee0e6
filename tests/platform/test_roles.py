"""Role checks: what admins, supervisors, agents (and API tokens acting as them) may see and do."""

from __future__ import annotations

from typing import Any

import pytest

from spine_checks import assert_no_new_events, assert_problem, audit_entries, event_cursor


def _admin_only_requests(
    ids: dict[str, str], token_id: str
) -> list[tuple[str, str, dict[str, Any] | None]]:
    team, member = ids["team"], ids["agent2"]
    return [
        ("POST", "/api/v1/users", {"username": "mallory", "display_name": "M", "role": "admin"}),
        ("PATCH", f"/api/v1/users/{member}", {"display_name": "Renamed"}),
        ("POST", "/api/v1/teams", {"name": "Shadow"}),
        ("PATCH", f"/api/v1/teams/{team}", {"name": "Renamed"}),
        ("DELETE", f"/api/v1/teams/{team}", None),
        ("PUT", f"/api/v1/teams/{team}/members/{ids['admin']}", {"role": "member"}),
        ("DELETE", f"/api/v1/teams/{team}/members/{member}", None),
        ("GET", "/api/v1/api-tokens", None),
        ("POST", "/api/v1/api-tokens", {"name": "mine", "user_id": ids["admin"]}),
        ("DELETE", f"/api/v1/api-tokens/{token_id}", None),
        ("GET", "/api/v1/audit-log", None),
    ]


@pytest.mark.parametrize("role", ["supervisor", "agent1"])
def test_non_admins_cannot_administer(tenants, as_user, role: str) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    token = admin.post("/api/v1/api-tokens", json={"name": "ci", "user_id": ids["admin"]}).json()
    users, teams = admin.get("/api/v1/users").json(), admin.get("/api/v1/teams").json()
    tokens, audit, cursor = (
        admin.get("/api/v1/api-tokens").json(),
        audit_entries(admin),
        event_cursor(admin),
    )

    caller = as_user(role)
    for method, url, body in _admin_only_requests(ids, token["id"]):
        response = caller.request(method, url, **({} if body is None else {"json": body}))
        assert_problem(response, 403)
    # Not even their own record: changing one's role or name is an admin action.
    assert_problem(caller.patch(f"/api/v1/users/{ids[role]}", json={"role": "admin"}), 403)

    assert admin.get("/api/v1/users").json() == users
    assert admin.get("/api/v1/teams").json() == teams
    assert [t["revoked_at"] for t in admin.get("/api/v1/api-tokens").json()] == [
        t["revoked_at"] for t in tokens
    ]
    assert audit_entries(admin) == audit
    assert_no_new_events(admin, cursor)


def test_non_admin_api_token_has_its_users_role(tenants, as_user, client) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    secret = admin.post(
        "/api/v1/api-tokens", json={"name": "bot", "user_id": ids["agent1"]}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {secret}"}
    client.cookies.clear()
    assert [u["id"] for u in client.get("/api/v1/users", headers=headers).json()] == [ids["agent1"]]
    assert_problem(client.post("/api/v1/teams", json={"name": "Bots"}, headers=headers), 403)
    assert_problem(client.get("/api/v1/audit-log", headers=headers), 403)
    assert_problem(
        client.post(
            "/api/v1/api-tokens", json={"name": "x", "user_id": ids["admin"]}, headers=headers
        ),
        403,
    )


def _usernames(caller: Any) -> list[str]:
    response = caller.get("/api/v1/users")
    assert response.status_code == 200, response.text
    return [u["username"] for u in response.json()]


def test_visibility_by_role(tenants, as_user) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    # A second team with its own agent: the Support supervisor must not see either.
    carol = admin.post(
        "/api/v1/users", json={"username": "carol", "display_name": "C", "role": "agent"}
    ).json()
    sales = admin.post("/api/v1/teams", json={"name": "Sales"}).json()
    assert (
        admin.put(f"/api/v1/teams/{sales['id']}/members/{carol['id']}", json={}).status_code == 200
    )
    assert (
        admin.put(f"/api/v1/teams/{sales['id']}/members/{ids['agent1']}", json={}).status_code
        == 200
    )

    assert _usernames(admin) == ["admin", "agent1", "agent2", "carol", "supervisor"]
    assert {t["name"] for t in admin.get("/api/v1/teams").json()} == {"Support", "Sales"}

    supervisor = as_user("supervisor")
    assert _usernames(supervisor) == ["agent1", "agent2", "supervisor"]
    for hidden in (ids["admin"], carol["id"]):
        assert_problem(supervisor.get(f"/api/v1/users/{hidden}"), 404)
    assert supervisor.get(f"/api/v1/users/{ids['agent2']}").json()["username"] == "agent2"
    teams = supervisor.get("/api/v1/teams").json()
    assert [t["name"] for t in teams] == ["Support"]
    assert {m["user_id"] for m in teams[0]["members"]} == {
        ids["supervisor"],
        ids["agent1"],
        ids["agent2"],
    }
    assert_problem(supervisor.get(f"/api/v1/teams/{sales['id']}"), 404)

    agent = as_user("agent1")
    assert _usernames(agent) == ["agent1"]
    for hidden in (ids["agent2"], ids["supervisor"], ids["admin"], carol["id"]):
        assert_problem(agent.get(f"/api/v1/users/{hidden}"), 404)
    teams = {t["name"]: t for t in agent.get("/api/v1/teams").json()}
    assert set(teams) == {"Support", "Sales"}
    # A member sees the team, but of its members only themselves.
    assert [m["user_id"] for m in teams["Support"]["members"]] == [ids["agent1"]]
    assert [m["user_id"] for m in teams["Sales"]["members"]] == [ids["agent1"]]
    assert agent.get("/api/v1/auth/me").json()["id"] == ids["agent1"]

    other_agent = as_user("agent2")
    assert_problem(other_agent.get(f"/api/v1/teams/{sales['id']}"), 404)

    # Events follow the same rule: an agent sees what is addressed to them, not colleagues' changes.
    seen = {e["subject"]["id"] for e in agent.get("/api/v1/events").json()["events"]}
    assert ids["agent1"] in seen and not seen & {ids["agent2"], carol["id"], ids["admin"]}


def test_role_changes_apply_to_live_sessions(tenants, as_user) -> None:
    ids = tenants["demo"].ids
    admin, supervisor = as_user("admin"), as_user("supervisor")
    assert len(_usernames(supervisor)) == 3
    # Demoted to agent: the supervisor membership becomes a plain one, visibility shrinks at once.
    response = admin.patch(f"/api/v1/users/{ids['supervisor']}", json={"role": "agent"})
    assert response.status_code == 200, response.text
    assert response.json()["teams"] == [{"team_id": ids["team"], "role": "member"}]
    assert _usernames(supervisor) == ["supervisor"]
    # Promoted to admin: everything, including admin actions.
    assert admin.patch(f"/api/v1/users/{ids['agent2']}", json={"role": "admin"}).status_code == 200
    promoted = as_user("agent2")
    assert len(_usernames(promoted)) == 4
    assert promoted.post("/api/v1/teams", json={"name": "Promoted"}).status_code == 201


def test_role_rules_that_protect_the_directory(tenants, as_user) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    cursor = event_cursor(admin)
    # An agent cannot supervise a team.
    assert_problem(
        admin.put(
            f"/api/v1/teams/{ids['team']}/members/{ids['agent1']}", json={"role": "supervisor"}
        ),
        409,
        "supervisor role",
    )
    # Admins cannot lock themselves out.
    assert_problem(
        admin.patch(f"/api/v1/users/{ids['admin']}", json={"active": False}), 409, "themselves"
    )
    assert_problem(
        admin.patch(f"/api/v1/users/{ids['admin']}", json={"role": "agent"}), 409, "themselves"
    )
    me = admin.get("/api/v1/auth/me").json()
    assert me["role"] == "admin" and me["active"] is True
    team = admin.get(f"/api/v1/teams/{ids['team']}").json()
    assert {m["user_id"]: m["role"] for m in team["members"]}[ids["agent1"]] == "member"
    assert_no_new_events(admin, cursor)
