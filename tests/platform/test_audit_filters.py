"""The audit log's filters (GET /audit-log): each narrows, they combine, paging with `before`
stays stable under them, bad filters are a 422 with a reason, other tenants' entries never
show, and only admins read the log. API tokens' secrets are write-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from spine_checks import audit_entries, routes


def _get(admin: Any, **params: Any) -> list[dict[str, Any]]:
    response = admin.get("/api/v1/audit-log", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _some_activity(admin: Any, user_id: str) -> dict[str, Any]:
    team = admin.post("/api/v1/teams", json={"name": "Filters"}).json()
    admin.patch(f"/api/v1/teams/{team['id']}", json={"name": "Filters 2"})
    token = admin.post("/api/v1/api-tokens", json={"name": "f", "user_id": user_id}).json()
    admin.delete(f"/api/v1/api-tokens/{token['id']}")
    return {"team": team, "token": token}


def test_each_filter_narrows_and_they_combine(tenants, as_user, client) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    made = _some_activity(admin, ids["agent1"])
    everything = audit_entries(admin)

    def expected(pred: Any) -> list[dict[str, Any]]:
        return [e for e in everything if pred(e)]

    exact = _get(admin, action="api_token.create")
    assert exact and exact == expected(lambda e: e["action"] == "api_token.create")
    prefix = _get(admin, action="api_token.*")
    assert {e["action"] for e in prefix} == {"api_token.create", "api_token.revoke"}
    assert prefix == expected(lambda e: e["action"].startswith("api_token."))
    # `_` in a prefix is a character, not a LIKE wildcard: "api.token" matches nothing.
    assert _get(admin, action="api.token*") == []
    assert _get(admin, action="team.*") == expected(lambda e: e["action"].startswith("team."))
    assert _get(admin, action="team") == []  # exact: no entry is called just "team"
    assert _get(admin, target_type="api_token") == prefix
    team_id = made["team"]["id"]
    by_target = _get(admin, target_type="team", target_id=team_id)
    assert [e["action"] for e in by_target] == ["team.rename", "team.create"]
    assert _get(admin, target_id=team_id) == by_target
    assert _get(admin, action="team.rename", target_id=team_id) == by_target[:1]
    # The demo loader acted as the system; the admin's own actions name the admin.
    mine = _get(admin, actor_user_id=ids["admin"])
    assert mine == expected(lambda e: e["actor_user_id"] == ids["admin"]) and len(mine) == 4
    assert _get(admin, actor_user_id=ids["agent2"]) == []

    # An action through an API token: found by the token.
    token = admin.post("/api/v1/api-tokens", json={"name": "robot", "user_id": ids["admin"]}).json()
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert client.post("/api/v1/teams", json={"name": "Robots"}, headers=bearer).status_code == 201
    [through] = _get(as_user("admin"), actor_token_id=token["id"])
    assert through["action"] == "team.create" and through["actor_token_id"] == token["id"]


def test_time_window_filters(tenants, as_user) -> None:
    admin = as_user("admin")
    everything = audit_entries(admin)
    newest = datetime.fromisoformat(everything[0]["at"])
    after_all = (newest + timedelta(seconds=1)).isoformat()
    assert _get(admin, since=after_all) == []
    assert _get(admin, until=after_all) == everything
    # since is inclusive, until exclusive: an entry's own instant splits the log there.
    at = everything[0]["at"]
    at_or_after = _get(admin, since=at)
    before = _get(admin, until=at)
    assert everything[0] in at_or_after and everything[0] not in before
    assert sorted(e["id"] for e in at_or_after + before) == sorted(e["id"] for e in everything)
    # Any offset names the same instant.
    plus_two = newest.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=2, seconds=1)
    assert _get(admin, until=plus_two.isoformat() + "+02:00") == everything
    assert _get(admin, since="2000-01-01T00:00:00Z", until=after_all) == everything


def test_before_paging_is_stable_under_filters(tenants, as_user) -> None:
    admin = as_user("admin")
    for name in "ABCDE":
        assert admin.post("/api/v1/teams", json={"name": f"Page {name}"}).status_code == 201
    wanted = _get(admin, action="team.create")
    assert len(wanted) >= 6  # the demo's team and these five
    pages: list[dict[str, Any]] = []
    before = None
    while True:
        params = {"action": "team.create", "limit": 2} | ({"before": before} if before else {})
        page = admin.get("/api/v1/audit-log", params=params).json()
        if not page:
            break
        pages.extend(page)
        before = page[-1]["id"]
        # Newer entries, matching or not, do not move the pages still to come.
        admin.post("/api/v1/teams", json={"name": f"Meanwhile {before}"})
        admin.patch(f"/api/v1/users/{tenants['demo'].ids['agent1']}", json={"timezone": "UTC"})
    assert pages == wanted


def test_bad_filters_are_refused_with_a_reason(tenants, as_user) -> None:
    admin = as_user("admin")
    bad = [
        {"since": "yesterday"},
        {"since": "1700000000"},
        {"since": "2026-12-06T10:00:00"},  # no time zone
        {"until": "2026-13-01T00:00:00Z"},
        {"until": "9999-12-31T23:00:00-05:00"},  # past the last instant, in UTC
        {"since": "0001-01-01T00:00:00+05:00"},
        {"actor_user_id": "not-a-uuid"},
        {"actor_token_id": "42"},
        {"action": "Team.Create"},
        {"action": "team.*.x"},
        {"action": "a" * 102},
        {"target_id": "x" * 65},
        {"target_type": ""},
        {"before": 0},
        {"limit": 501},
    ]
    for params in bad:
        response = admin.get("/api/v1/audit-log", params=params)
        assert response.status_code == 422, (params, response.text)
        assert next(iter(params)) in response.text, (params, response.text)
    response = admin.get(
        "/api/v1/audit-log",
        params={"since": "2026-12-06T10:00:00Z", "until": "2026-12-06T10:00:00Z"},
    )
    assert response.status_code == 422 and "before" in response.json()["detail"]


def test_another_tenants_entries_never_show(tenants, as_user) -> None:
    admin_a, admin_b = as_user("admin"), as_user("admin", tenant="other")
    made_b = _some_activity(admin_b, tenants["other"].ids["agent1"])
    _some_activity(admin_a, tenants["demo"].ids["agent1"])
    b_ids = {e["id"] for e in audit_entries(admin_b)}
    a_ids = {e["id"] for e in audit_entries(admin_a)}
    assert b_ids and a_ids and not (a_ids & b_ids)
    token_b = made_b["token"]["id"]
    other_admin = tenants["other"].ids["admin"]
    for params in (
        {"target_id": token_b},
        {"target_type": "api_token", "target_id": token_b},
        {"actor_user_id": other_admin},
        {"action": "api_token.*", "actor_user_id": other_admin},
        {"before": max(b_ids) + 1, "action": "team.*"},
    ):
        seen = _get(admin_a, **params)
        assert not ({e["id"] for e in seen} & b_ids), params
    assert _get(admin_b, target_id=token_b)  # B itself finds them


def test_only_admins_read_the_audit_log(tenants, as_user, client) -> None:
    for who in ("supervisor", "agent1"):
        for params in ({}, {"action": "team.*"}, {"since": "2000-01-01T00:00:00Z"}):
            response = as_user(who).get("/api/v1/audit-log", params=params)
            assert response.status_code == 403, (who, params, response.text)
    client.cookies.clear()
    assert client.get("/api/v1/audit-log").status_code == 401


def test_no_api_returns_a_tokens_secret_after_creation(tenants, as_user, app) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    created = admin.post("/api/v1/api-tokens", json={"name": "secret", "user_id": ids["agent1"]})
    assert created.status_code == 201
    token = created.json()
    secret = token["token"].split(".", 1)[1]
    assert len(secret) >= 32 and token["token"].startswith("odk_")
    listed = admin.get("/api/v1/api-tokens").json()
    mine = next(t for t in listed if t["id"] == token["id"])
    assert "token" not in mine and "secret_hash" not in mine
    revoked = admin.delete(f"/api/v1/api-tokens/{token['id']}")
    assert revoked.status_code == 200 and "token" not in revoked.json()
    # Every read without a path parameter, as the admin: none carries the secret (nor the
    # stored hash's source); the token's id may appear, its secret never.
    reads = sorted(
        path
        for method, path in routes(app)
        if method == "GET" and path.startswith("/api/v1/") and "{" not in path
    )
    assert "/api/v1/api-tokens" in reads and "/api/v1/audit-log" in reads
    for path in reads:
        response = admin.get(path)
        assert secret not in response.text, path
        assert token["token"] not in response.text, path
