"""Bad input gets a clear 4xx problem response, never a 500, and changes nothing.

Each test sends a table of bad requests and checks after every one that the tenant's users,
teams, tokens, audit log and event log are exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from spine_checks import assert_no_new_events, assert_problem, audit_entries, event_cursor

JSON = {"content-type": "application/json"}
LIMIT = 1_000_000  # the default max_body_bytes


class Unchanged:
    """Snapshot of everything an admin can read; `check()` asserts nothing moved since."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.state = self._read()
        self.cursor = event_cursor(admin)

    def _read(self) -> dict[str, Any]:
        tokens = self.admin.get("/api/v1/api-tokens").json()
        return {
            "users": self.admin.get("/api/v1/users").json(),
            "teams": self.admin.get("/api/v1/teams").json(),
            "tokens": [{k: v for k, v in t.items() if k != "last_used_at"} for t in tokens],
            "audit": audit_entries(self.admin),
        }

    def check(self, label: str) -> None:
        assert self._read() == self.state, f"{label} changed data"
        assert_no_new_events(self.admin, self.cursor)


@pytest.fixture
def setup(tenants, as_user) -> tuple[Any, dict[str, str], Unchanged]:
    admin = as_user("admin")
    ids = dict(tenants["demo"].ids)
    token = admin.post("/api/v1/api-tokens", json={"name": "ci", "user_id": ids["agent1"]})
    ids["token"] = token.json()["id"]
    return admin, ids, Unchanged(admin)


def _send(admin: Any, method: str, url: str, body: Any) -> Any:
    if isinstance(body, bytes):
        return admin.request(method, url, content=body, headers=JSON)
    return admin.request(method, url, **({} if body is None else {"json": body}))


def test_malformed_json_is_400(setup) -> None:
    admin, ids, unchanged = setup
    cases = [
        ("POST", "/api/v1/users", b'{"username": "eve",'),
        ("POST", "/api/v1/teams", b"{name: 'single quotes'}"),
        ("PATCH", f"/api/v1/users/{ids['agent1']}", b'{"display_name": "x"}}'),
        ("PUT", f"/api/v1/teams/{ids['team']}/members/{ids['agent2']}", b"role=member"),
        ("POST", "/api/v1/api-tokens", b'{"name": "x", "user_id": ' + b"1" * 20 + b"e"),
    ]
    for method, url, body in cases:
        assert_problem(_send(admin, method, url, body), 400, "not valid JSON")
        unchanged.check(f"{method} {url} {body!r}")
    # Not JSON at all: invalid UTF-8, nesting deeper than any parser should follow.
    for body in (b'{"name": "\xff\xfe"}', b"[" * 100_000):
        assert_problem(_send(admin, "POST", "/api/v1/teams", body), 400)
        unchanged.check(repr(body[:20]))


def test_login_with_malformed_json_is_400(client) -> None:
    client.cookies.clear()
    response = client.post("/api/v1/auth/login", content=b'{"tenant": "demo"', headers=JSON)
    assert_problem(response, 400, "not valid JSON")


def test_unknown_fields_are_422_naming_the_field(setup, client) -> None:
    admin, ids, unchanged = setup
    member = f"/api/v1/teams/{ids['team']}/members/{ids['agent2']}"
    cases = [
        (
            "POST",
            "/api/v1/users",
            {"username": "eve", "display_name": "E", "role": "agent", "is_superuser": True},
            "is_superuser",
        ),
        ("PATCH", f"/api/v1/users/{ids['agent1']}", {"username": "renamed"}, "username"),
        (
            "PATCH",
            f"/api/v1/users/{ids['agent1']}",
            {"display_name": "Ok", "tenant_id": ids["admin"]},
            "tenant_id",
        ),
        ("POST", "/api/v1/teams", {"name": "Sales", "colour": "red"}, "colour"),
        ("PATCH", f"/api/v1/teams/{ids['team']}", {"name": "Renamed", "members": []}, "members"),
        ("PUT", member, {"role": "member", "admin": True}, "admin"),
        (
            "POST",
            "/api/v1/api-tokens",
            {"name": "x", "user_id": ids["admin"], "scope": "all"},
            "scope",
        ),
        (
            "POST",
            "/api/v1/auth/password",
            {"current_password": "x" * 10, "new_password": "y" * 12, "force": 1},
            "force",
        ),
    ]
    for method, url, body, field in cases:
        problem = assert_problem(_send(admin, method, url, body), 422, field)
        assert any(field in e["loc"] for e in problem["errors"]), problem
        unchanged.check(f"{method} {url} {body}")
    client.cookies.clear()
    login = {
        "tenant": "demo",
        "username": "admin",
        "password": "whatever-it-is",
        "remember_me": True,
    }
    assert_problem(client.post("/api/v1/auth/login", json=login), 422, "remember_me")


def test_wrong_types_and_values_are_422_naming_the_field(setup) -> None:
    admin, ids, unchanged = setup
    user = f"/api/v1/users/{ids['agent1']}"
    new_user = {"username": "eve", "display_name": "Eve", "role": "agent"}
    cases = [
        ("POST", "/api/v1/users", {**new_user, "username": 123}, "username"),
        ("POST", "/api/v1/users", {**new_user, "username": "Eve Upper"}, "username"),
        ("POST", "/api/v1/users", {**new_user, "role": "boss"}, "role"),
        ("POST", "/api/v1/users", {**new_user, "email": "not-an-address"}, "email"),
        ("POST", "/api/v1/users", {**new_user, "timezone": "Mars/Olympus"}, "timezone"),
        ("POST", "/api/v1/users", {**new_user, "password": "short"}, "password"),
        ("POST", "/api/v1/users", {**new_user, "display_name": "nul\u0000byte"}, "display_name"),
        ("POST", "/api/v1/users", {"username": "eve", "display_name": "Eve"}, "role"),
        ("POST", "/api/v1/users", [new_user], "body"),
        ("PATCH", user, {"active": [True]}, "active"),
        ("PATCH", user, {"display_name": {"first": "A"}}, "display_name"),
        ("PATCH", user, {"display_name": ""}, "display_name"),
        ("PATCH", user, {"display_name": "x" * 201}, "display_name"),
        ("PATCH", user, {"display_name": None}, "display_name"),
        ("PATCH", user, {"timezone": None}, "timezone"),
        ("PATCH", user, {"password": None}, "password"),
        ("PATCH", user, {"role": None}, "role"),
        ("PATCH", user, {"active": None}, "active"),
        ("POST", "/api/v1/teams", {"name": None}, "name"),
        ("POST", "/api/v1/teams", {"name": 42}, "name"),
        ("POST", "/api/v1/teams", {}, "name"),
        ("POST", "/api/v1/teams", {"name": "a\u0000b"}, "name"),
        ("PUT", f"/api/v1/teams/{ids['team']}/members/{ids['agent2']}", {"role": "owner"}, "role"),
        ("POST", "/api/v1/api-tokens", {"name": "x", "user_id": "not-a-uuid"}, "user_id"),
        (
            "POST",
            "/api/v1/api-tokens",
            {"name": "x", "user_id": ids["admin"], "expires_in_days": "soon"},
            "expires_in_days",
        ),
        (
            "POST",
            "/api/v1/api-tokens",
            {"name": "x", "user_id": ids["admin"], "expires_in_days": 0},
            "expires_in_days",
        ),
        (
            "POST",
            "/api/v1/api-tokens",
            {"name": "x", "user_id": ids["admin"], "expires_in_days": 1.5},
            "expires_in_days",
        ),
        ("POST", "/api/v1/api-tokens", {"name": "", "user_id": ids["admin"]}, "name"),
        ("GET", "/api/v1/users/not-a-uuid", None, "user_id"),
        ("DELETE", "/api/v1/api-tokens/123", None, "token_id"),
        ("PUT", f"/api/v1/teams/{ids['team']}/members/x", {"role": "member"}, "user_id"),
        ("GET", "/api/v1/events?after=-1", None, "after"),
        ("GET", "/api/v1/events?after=abc", None, "after"),
        ("GET", f"/api/v1/events?after={2**70}", None, "after"),
        ("GET", "/api/v1/events?limit=0", None, "limit"),
        # Valid ISO 8601 whose UTC instant a datetime cannot hold.
        ("GET", "/api/v1/events?since=0001-01-01T00:00:00%2B05:00", None, "since"),
        ("GET", "/api/v1/events?since=9999-12-31T23:00:00-05:00", None, "since"),
        ("GET", f"/api/v1/audit-log?before={2**64}", None, "before"),
        ("GET", "/api/v1/audit-log?limit=100000", None, "limit"),
    ]
    for method, url, body, field in cases:
        assert_problem(_send(admin, method, url, body), 422, field)
        unchanged.check(f"{method} {url} {body}")
    # Null is how an email is cleared (the one nullable field), so that one is fine.
    assert admin.patch(user, json={"email": None}).status_code == 200


def test_domain_conflicts_are_4xx(setup) -> None:
    admin, ids, unchanged = setup
    cases = [
        (
            "POST",
            "/api/v1/users",
            {"username": "agent1", "display_name": "Dup", "role": "agent"},
            409,
            "taken",
        ),
        ("POST", "/api/v1/teams", {"name": "Support"}, 409, "already exists"),
        (
            "DELETE",
            f"/api/v1/teams/{ids['team']}/members/{ids['admin']}",
            None,
            404,
            "not a member",
        ),
        ("POST", "/api/v1/api-tokens", {"name": "x", "user_id": ids["team"]}, 404, "not found"),
        ("GET", f"/api/v1/teams/{ids['agent1']}", None, 404, "not found"),
        ("PUT", f"/api/v1/teams/{ids['agent1']}/members/{ids['agent2']}", {}, 404, "not found"),
    ]
    for method, url, body, status, fragment in cases:
        assert_problem(_send(admin, method, url, body), status, fragment)
        unchanged.check(f"{method} {url}")
    # Another tenant's ids are not found either: every route in test_isolation.py.


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        yield b" " * part
        sent += part


def test_oversize_bodies_are_413(setup, client) -> None:
    admin, _, unchanged = setup
    team = b'{"name": "Huge"}'
    cases = {
        "Content-Length over the limit": dict(content=team + b" " * (LIMIT + 1 - len(team))),
        "chunked, no Content-Length": dict(content=(c for c in [team, *_chunks(LIMIT)])),
    }
    for label, kwargs in cases.items():
        response = admin.post("/api/v1/teams", headers=JSON, **kwargs)
        if label.startswith("chunked"):
            assert "content-length" not in response.request.headers
        assert_problem(response, 413, str(LIMIT))
        unchanged.check(label)
    # Before authentication too: an anonymous client cannot make the server buffer a huge body.
    client.cookies.clear()
    big = b'{"tenant": "demo"' + b" " * LIMIT + b"}"
    assert_problem(client.post("/api/v1/auth/login", content=big, headers=JSON), 413)
    # The limit is exact: a body of exactly max_body_bytes is read and acted on, streamed or not.
    exact = team + b" " * (LIMIT - len(team))
    assert admin.post("/api/v1/teams", content=exact, headers=JSON).status_code == 201
    streamed = (c for c in [b'{"name": "Stream', b'ed"}'])
    assert admin.post("/api/v1/teams", content=streamed, headers=JSON).status_code == 201
    assert {"Huge", "Streamed"} <= {t["name"] for t in admin.get("/api/v1/teams").json()}


def test_bad_content_length_and_type(setup) -> None:
    admin, _, unchanged = setup
    response = admin.post(
        "/api/v1/teams", content=b'{"name": "X"}', headers={"content-type": "text/plain"}
    )
    assert_problem(response, 415, "application/json")
    unchanged.check("text/plain body")
    response = admin.post(
        "/api/v1/teams",
        content=b'{"name": "X"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "application/json")
    unchanged.check("form body")


def test_bad_credentials_and_unknown_routes(setup, client) -> None:
    admin, _, unchanged = setup
    client.cookies.clear()
    assert_problem(
        client.post(
            "/api/v1/auth/login", json={"tenant": "demo", "username": "admin", "password": "wrong"}
        ),
        401,
    )
    assert_problem(client.get("/api/v1/users", headers={"Authorization": "Bearer odk_x"}), 401)
    assert_problem(admin.get("/api/v1/no-such-thing"), 404)
    assert_problem(admin.request("PUT", "/api/v1/users"), 405)
    assert_problem(
        admin.request("POST", f"/api/v1/users/{admin.get('/api/v1/auth/me').json()['id']}"), 405
    )
    unchanged.check("credentials and routes")
