"""The audit log: every admin action, with its actor and target, in the same transaction."""

from __future__ import annotations

import json
from typing import Any

from spine_checks import audit_entries


def _new_entries(admin: Any, known: set[int]) -> list[dict[str, Any]]:
    """Entries not in `known`, oldest first."""
    return [e for e in reversed(audit_entries(admin)) if e["id"] not in known]


def _ids(entries: list[dict[str, Any]]) -> set[int]:
    return {e["id"] for e in entries}


def test_admin_actions_are_audited_with_actor_and_target(tenants, as_user) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    known = _ids(audit_entries(admin))

    def step(method: str, url: str, body: Any = None) -> Any:
        response = admin.request(method, url, **({} if body is None else {"json": body}))
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    carol = step(
        "POST", "/api/v1/users", {"username": "carol", "display_name": "Carol", "role": "agent"}
    )
    step(
        "PATCH",
        f"/api/v1/users/{carol['id']}",
        {"display_name": "Carol C.", "timezone": "Europe/Berlin"},
    )
    step("PATCH", f"/api/v1/users/{carol['id']}", {"password": "carols-secret-pw"})
    team = step("POST", "/api/v1/teams", {"name": "Sales"})
    step("PATCH", f"/api/v1/teams/{team['id']}", {"name": "Sales EU"})
    step("PUT", f"/api/v1/teams/{team['id']}/members/{carol['id']}", {"role": "member"})
    step("DELETE", f"/api/v1/teams/{team['id']}/members/{carol['id']}")
    step("DELETE", f"/api/v1/teams/{team['id']}")
    token = step("POST", "/api/v1/api-tokens", {"name": "crm-sync", "user_id": ids["agent1"]})
    step("DELETE", f"/api/v1/api-tokens/{token['id']}")
    step("DELETE", f"/api/v1/api-tokens/{token['id']}")  # already revoked: no second entry
    step(
        "POST",
        "/api/v1/auth/password",
        {
            "current_password": tenants["demo"].passwords["admin"],
            "new_password": "admins-new-password",
        },
    )

    entries = _new_entries(admin, known)
    got = [(e["action"], e["target_type"], e["target_id"]) for e in entries]
    assert got == [
        ("user.create", "user", carol["id"]),
        ("user.update", "user", carol["id"]),
        ("user.update", "user", carol["id"]),
        ("team.create", "team", team["id"]),
        ("team.rename", "team", team["id"]),
        ("team.member_set", "team", team["id"]),
        ("team.member_remove", "team", team["id"]),
        ("team.delete", "team", team["id"]),
        ("api_token.create", "api_token", token["id"]),
        ("api_token.revoke", "api_token", token["id"]),
        ("user.password_change", "user", ids["admin"]),
    ]
    assert {e["actor_user_id"] for e in entries} == {ids["admin"]}
    assert {e["actor_token_id"] for e in entries} == {None}
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    details = [e["details"] for e in entries]
    assert details[0] == {"username": "carol", "role": "agent"}
    assert sorted(details[1]["changed"]) == ["display_name", "timezone"]
    assert details[2]["changed"] == ["password"]
    assert details[4] == {"old": "Sales", "new": "Sales EU"}
    assert details[5] == {"user_id": carol["id"], "role": "member"}
    assert details[6] == {"user_id": carol["id"]}
    assert details[8] == {"user_id": ids["agent1"], "name": "crm-sync"}
    # Secrets never reach the log.
    dumped = json.dumps(entries)
    for secret in (
        "carols-secret-pw",
        "admins-new-password",
        token["token"],
        token["token"].split(".")[1],
    ):
        assert secret not in dumped


def test_actions_through_an_api_token_name_the_token(tenants, as_user, client) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    token = admin.post(
        "/api/v1/api-tokens", json={"name": "provisioning", "user_id": ids["admin"]}
    ).json()
    known = _ids(audit_entries(admin))
    client.cookies.clear()
    response = client.post(
        "/api/v1/teams",
        json={"name": "Provisioned"},
        headers={"Authorization": f"Bearer {token['token']}"},
    )
    assert response.status_code == 201, response.text
    [entry] = _new_entries(admin, known)
    assert entry["action"] == "team.create" and entry["target_id"] == response.json()["id"]
    assert entry["actor_user_id"] == ids["admin"]
    assert entry["actor_token_id"] == token["id"]


def test_no_ops_and_refusals_write_no_audit_entries(tenants, as_user) -> None:
    ids = tenants["demo"].ids
    admin, supervisor = as_user("admin"), as_user("supervisor")
    before = audit_entries(admin)
    team = ids["team"]
    # Changes to the current values change nothing, so they are not audited.
    assert (
        admin.patch(
            f"/api/v1/users/{ids['agent1']}", json={"display_name": "Alex Agent"}
        ).status_code
        == 200
    )
    assert admin.patch(f"/api/v1/teams/{team}", json={"name": "Support"}).status_code == 200
    assert (
        admin.put(
            f"/api/v1/teams/{team}/members/{ids['agent1']}", json={"role": "member"}
        ).status_code
        == 200
    )
    # Refused (forbidden, conflicting, invalid) actions are rolled back with their audit entry.
    assert supervisor.post("/api/v1/teams", json={"name": "X"}).status_code == 403
    assert admin.post("/api/v1/teams", json={"name": "Support"}).status_code == 409
    assert admin.patch(f"/api/v1/users/{ids['admin']}", json={"active": False}).status_code == 409
    assert (
        admin.patch(f"/api/v1/users/{ids['agent1']}", json={"timezone": "Nowhere/Town"}).status_code
        == 422
    )
    assert audit_entries(admin) == before


def test_audit_log_pages_newest_first_and_demo_setup_is_by_the_system(tenants, as_user) -> None:
    admin = as_user("admin")
    for name in ("A", "B", "C"):
        assert admin.post("/api/v1/teams", json={"name": name}).status_code == 201
    everything = audit_entries(admin)
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)
    first = admin.get("/api/v1/audit-log", params={"limit": 2}).json()
    assert first == everything[:2]
    rest = admin.get("/api/v1/audit-log", params={"before": first[-1]["id"], "limit": 500}).json()
    assert rest == everything[2:]
    # The demo loader acted as the system: entries without an actor.
    setup = [e for e in everything if e["actor_user_id"] is None]
    assert {e["action"] for e in setup} == {"team.create", "user.create", "team.member_set"}
    assert len([e for e in setup if e["action"] == "user.create"]) == 4
