"""Authentication: cookie sessions with CSRF, API tokens, logout, expiry, rate limiting, lockout."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from conftest import As, login
from omnidesk.platform.auth.models import ApiToken, AuthSession
from omnidesk.platform.auth.ratelimit import LoginRateLimiter
from omnidesk.platform.database import SYSTEM, utcnow
from spine_checks import assert_no_new_events, assert_problem, event_cursor

LOGIN = "/api/v1/auth/login"


def in_db(app: Any, client: Any, fn: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `fn(session)` on a SYSTEM session of the app's database and commit."""

    async def go() -> Any:
        session = app.state.services.db.session(SYSTEM)
        try:
            result = await fn(session)
            await session.commit()
            return result
        finally:
            await session.close()

    return client.portal.call(go)


def _post_login(client: Any, tenant: str, username: str, password: str) -> Any:
    client.cookies.clear()
    response = client.post(
        LOGIN, json={"tenant": tenant, "username": username, "password": password}
    )
    client.cookies.clear()
    return response


def _cookie_attributes(response: Any, name: str) -> dict[str, str]:
    for header in response.headers.get_list("set-cookie"):
        first, *attrs = [part.strip() for part in header.split(";")]
        key, _, value = first.partition("=")
        if key == name:
            parsed = {"value": value}
            for attr in attrs:
                k, _, v = attr.partition("=")
                parsed[k.lower()] = v.lower() if v else "true"
            return parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def test_login_sets_httponly_samesite_session_and_csrf_cookies(tenants, client) -> None:
    response = _post_login(client, "demo", "admin", tenants["demo"].passwords["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["username"] == "admin" and body["user"]["role"] == "admin"
    assert "password_hash" not in response.text

    session = _cookie_attributes(response, "omnidesk_session")
    assert session["httponly"] == "true"
    assert session["samesite"] in ("lax", "strict")
    assert session["path"] == "/" and int(session["max-age"]) > 0
    assert len(session["value"]) >= 32 and session["value"] not in response.text

    csrf = _cookie_attributes(response, "omnidesk_csrf")
    assert "httponly" not in csrf, "the page's scripts must be able to read the CSRF cookie"
    assert csrf["samesite"] == "strict"
    assert csrf["value"] == body["csrf_token"] != session["value"]

    # Only a digest of the cookie is stored: a database dump yields no usable sessions.
    stored = in_db(client.app, client, lambda s: s.scalars(select(AuthSession.id)))
    stored = set(stored)
    assert hashlib.sha256(session["value"].encode()).hexdigest() in stored
    assert session["value"] not in stored


def test_bad_credentials_are_one_indistinct_401(tenants, client) -> None:
    password = tenants["demo"].passwords["admin"]
    attempts = [
        ("demo", "admin", password + "x"),
        ("demo", "nobody", password),
        ("nowhere", "admin", password),
        ("other", "admin", password),  # the right password, but of another tenant's admin
    ]
    details = set()
    for tenant, username, pw in attempts:
        response = _post_login(client, tenant, username, pw)
        details.add(assert_problem(response, 401)["detail"])
        assert "omnidesk_session" not in response.headers.get("set-cookie", "")
    # Same message whatever was wrong: the endpoint does not reveal which tenants or users exist.
    assert len(details) == 1


def test_unsafe_methods_need_the_csrf_header(tenants, as_user) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    other_session = login(admin.client, "demo", "admin", tenants["demo"].passwords["admin"])
    cursor = event_cursor(admin)
    teams = admin.get("/api/v1/teams").json()
    changes = [
        ("POST", "/api/v1/teams", {"name": "Forged"}),
        ("PATCH", f"/api/v1/users/{ids['agent1']}", {"display_name": "Forged"}),
        ("PUT", f"/api/v1/teams/{ids['team']}/members/{ids['admin']}", {"role": "member"}),
        ("DELETE", f"/api/v1/teams/{ids['team']}", None),
        ("POST", "/api/v1/auth/logout", None),
        ("POST", "/api/v1/auth/password", {"current_password": "x", "new_password": "y" * 12}),
    ]
    forged_headers = [
        {},  # no header at all (a cross-site form post)
        {"X-CSRF-Token": "wrong"},
        {"X-CSRF-Token": ""},
        {"X-CSRF-Token": other_session.csrf},  # valid, but of another session
    ]
    client = admin.client
    for method, url, body in changes:
        for extra in forged_headers:
            client.cookies.clear()
            headers = {
                "cookie": f"omnidesk_session={admin.cookie}; omnidesk_csrf={admin.csrf}",
                **extra,
            }
            response = client.request(
                method, url, headers=headers, **({} if body is None else {"json": body})
            )
            assert_problem(response, 403, "X-CSRF-Token")
    # Nothing changed, and the session still works (logout was refused too).
    assert admin.get("/api/v1/teams").json() == teams
    assert admin.get(f"/api/v1/users/{ids['agent1']}").json()["display_name"] == "Alex Agent"
    assert_no_new_events(admin, cursor)
    # Safe methods need no header; with the right one, changes go through.
    client.cookies.clear()
    assert (
        client.get(
            "/api/v1/auth/me", headers={"cookie": f"omnidesk_session={admin.cookie}"}
        ).status_code
        == 200
    )
    assert admin.post("/api/v1/teams", json={"name": "Real"}).status_code == 201


def _token(admin: As, user_id: str, **extra: Any) -> dict[str, Any]:
    response = admin.post(
        "/api/v1/api-tokens", json={"name": "integration", "user_id": user_id, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _bearer(client: Any, method: str, url: str, token: str, **kwargs: Any) -> Any:
    client.cookies.clear()
    return client.request(method, url, headers={"Authorization": token}, **kwargs)


def test_api_tokens_work_without_csrf_until_revoked(tenants, as_user, client) -> None:
    admin = as_user("admin")
    created = _token(admin, tenants["demo"].ids["admin"], expires_in_days=30)
    secret = created["token"]
    assert secret.startswith("odk_")
    listed = admin.get("/api/v1/api-tokens").json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert secret not in str(listed), "the secret is shown only once"

    response = _bearer(
        client, "POST", "/api/v1/teams", f"Bearer {secret}", json={"name": "Via token"}
    )
    assert response.status_code == 201, response.text
    assert (
        _bearer(client, "GET", "/api/v1/auth/me", f"bearer {secret}").json()["username"] == "admin"
    )
    used = admin.get("/api/v1/api-tokens").json()[0]
    assert used["last_used_at"] is not None

    revoked = admin.delete(f"/api/v1/api-tokens/{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(_bearer(client, "GET", "/api/v1/auth/me", f"Bearer {secret}"), 401, "revoked")
    response = _bearer(
        client, "POST", "/api/v1/teams", f"Bearer {secret}", json={"name": "After revoke"}
    )
    assert_problem(response, 401, "revoked")
    assert "After revoke" not in {t["name"] for t in admin.get("/api/v1/teams").json()}


def test_expired_and_malformed_tokens_are_401(tenants, as_user, client, app) -> None:
    admin = as_user("admin")
    created = _token(admin, tenants["demo"].ids["agent1"], expires_in_days=1)
    secret = created["token"]
    assert _bearer(client, "GET", "/api/v1/auth/me", f"Bearer {secret}").status_code == 200

    token_id = uuid.UUID(created["id"])
    in_db(
        app,
        client,
        lambda s: s.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        ),
    )
    assert_problem(_bearer(client, "GET", "/api/v1/auth/me", f"Bearer {secret}"), 401, "expired")

    ident = created["id"].replace("-", "")
    for header, fragment in [
        ("Bearer garbage", "malformed"),
        ("Bearer odk_nothex.secret", "malformed"),
        ("Bearer odk_" + ident, "malformed"),
        (f"Bearer odk_{uuid.uuid4().hex}.secret", "unknown"),
        (f"Bearer odk_{ident}.wrong-secret", "unknown"),
        ("Bearer ", "Bearer <token>"),
        (f"Basic {secret}", "Bearer <token>"),
        ("Bearer " + "x" * 5000, "malformed"),
    ]:
        assert_problem(_bearer(client, "GET", "/api/v1/users", header), 401, fragment)


def test_no_or_unknown_session_cookie_is_401(tenants, client) -> None:
    client.cookies.clear()
    assert_problem(client.get("/api/v1/users"), 401, "not logged in")
    assert_problem(client.get("/api/v1/users", headers={"cookie": "omnidesk_session=forged"}), 401)
    assert_problem(client.post("/api/v1/teams", json={"name": "x"}), 401)


def test_logout_ends_the_session(tenants, as_user) -> None:
    admin = as_user("admin")
    second = login(admin.client, "demo", "admin", tenants["demo"].passwords["admin"])
    response = admin.post("/api/v1/auth/logout")
    assert response.status_code == 204
    cleared = _cookie_attributes(response, "omnidesk_session")
    assert cleared["value"] in ("", '""') and cleared.get("max-age") == "0"
    assert_problem(admin.get("/api/v1/auth/me"), 401)
    assert_problem(admin.post("/api/v1/auth/logout"), 401)
    # Only that session: the same user's other session is unaffected.
    assert second.get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize("column", ["expires_at", "last_seen_at"])
def test_expired_or_idle_session_is_401_expired(tenants, as_user, app, client, column: str) -> None:
    agent = as_user("agent1")
    assert agent.get("/api/v1/auth/me").status_code == 200
    digest = hashlib.sha256(agent.cookie.encode()).hexdigest()
    # expires_at in the past, or no request for longer than the idle limit (2 h by default).
    past = utcnow() - timedelta(hours=3)
    in_db(
        app,
        client,
        lambda s: s.execute(
            update(AuthSession).where(AuthSession.id == digest).values({column: past})
        ),
    )
    assert_problem(agent.get("/api/v1/auth/me"), 401, "expired")
    assert in_db(app, client, lambda s: s.get(AuthSession, digest)) is None
    # Logging in again works.
    assert (
        _post_login(client, "demo", "agent1", tenants["demo"].passwords["agent1"]).status_code
        == 200
    )


def test_a_sessions_last_seen_touch_is_one_update(tenants, as_user, app, client) -> None:
    # Once a minute a session's last-seen mark moves (the idle timeout needs it). With 1,000
    # agents that is about 17 touches a second: each is one UPDATE of the session row, not a
    # second resolution of the session and the user in a writing transaction.
    agent = as_user("agent1")
    assert agent.get("/api/v1/auth/me").status_code == 200
    digest = hashlib.sha256(agent.cookie.encode()).hexdigest()
    two_minutes_ago = utcnow() - timedelta(minutes=2)
    in_db(
        app,
        client,
        lambda s: s.execute(
            update(AuthSession).where(AuthSession.id == digest).values(last_seen_at=two_minutes_ago)
        ),
    )
    sent: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "auth_sessions" in statement:
            sent.append(statement.lstrip().split()[0].upper())

    engine = app.state.services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        assert agent.get("/api/v1/auth/me").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert sent == ["SELECT", "UPDATE"]  # the session read once, then the touch
    seen = in_db(app, client, lambda s: s.get(AuthSession, digest))
    assert seen.last_seen_at > two_minutes_ago + timedelta(minutes=1)
    # The touch changes nothing about who the agent is: its principal stays cached.
    hits = app.state.services.principals.hits
    assert agent.get("/api/v1/auth/me").status_code == 200
    assert app.state.services.principals.hits == hits + 1


def test_login_rate_limit(tenants, client) -> None:
    password = tenants["demo"].passwords["agent1"]
    for _ in range(5):  # login_max_failures=5 in the test settings
        assert_problem(_post_login(client, "demo", "agent1", "wrong password"), 401)
    limited = _post_login(client, "demo", "agent1", password)
    assert_problem(limited, 429, "try again")
    assert int(limited.headers["Retry-After"]) > 0
    assert "omnidesk_session" not in limited.headers.get("set-cookie", "")
    # Usernames are case-insensitive, so are their limits.
    assert_problem(_post_login(client, "demo", "AGENT1", password), 429)
    # Per user: a colleague (and the same name in another tenant) still logs in.
    assert (
        _post_login(client, "demo", "agent2", tenants["demo"].passwords["agent2"]).status_code
        == 200
    )
    assert (
        _post_login(client, "other", "agent1", tenants["other"].passwords["agent1"]).status_code
        == 200
    )


def test_rate_limit_window_slides(tenants, client, app) -> None:
    now = [1000.0]
    app.state.services.limiter = LoginRateLimiter(2, 60, clock=lambda: now[0])
    password = tenants["demo"].passwords["agent1"]
    for _ in range(2):
        assert_problem(_post_login(client, "demo", "agent1", "wrong password"), 401)
    limited = _post_login(client, "demo", "agent1", password)
    assert_problem(limited, 429)
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    now[0] += 61  # the window slides past the failures
    assert _post_login(client, "demo", "agent1", password).status_code == 200


def test_guessing_names_from_an_address_slows_it_but_locks_out_nobody_else(
    tenants, client, app
) -> None:
    """An office behind one address: strangers guessing made-up names there make its logins
    wait, but a colleague's right password still logs in; the guessed-at user is still locked."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    app.state.services.limiter = LoginRateLimiter(2, 60, clock=lambda: 1000.0, sleep=sleep)
    for n in range(8):  # 4x the per-user allowance: the address's own allowance
        assert_problem(_post_login(client, "demo", f"guess{n}", "wrong password"), 401)
    assert waits == []
    agent2 = tenants["demo"].passwords["agent2"]
    assert _post_login(client, "demo", "agent2", agent2).status_code == 200
    assert waits == [0.25]  # slowed, not refused
    for n in range(10):
        assert_problem(_post_login(client, "demo", f"more{n}", "wrong password"), 401)
    assert waits[-1] == 8.0  # doubling per failure, up to the cap
    assert _post_login(client, "demo", "agent2", agent2).status_code == 200
    # Guessing at one real user from the address still locks that user, right password or not.
    agent1 = tenants["demo"].passwords["agent1"]
    for _ in range(2):
        assert_problem(_post_login(client, "demo", "agent1", "wrong password"), 401)
    assert_problem(_post_login(client, "demo", "agent1", agent1), 429, "try again")
    assert _post_login(client, "demo", "agent2", agent2).status_code == 200


def test_deactivated_user_cannot_log_in_and_loses_sessions(tenants, as_user, client) -> None:
    ids = tenants["demo"].ids
    admin, agent = as_user("admin"), as_user("agent1")
    secret = _token(admin, ids["agent1"])["token"]
    assert agent.get("/api/v1/auth/me").status_code == 200
    response = admin.patch(f"/api/v1/users/{ids['agent1']}", json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False

    assert_problem(agent.get("/api/v1/auth/me"), 401)
    assert_problem(_bearer(client, "GET", "/api/v1/auth/me", f"Bearer {secret}"), 401, "disabled")
    assert_problem(_post_login(client, "demo", "agent1", tenants["demo"].passwords["agent1"]), 401)

    assert admin.patch(f"/api/v1/users/{ids['agent1']}", json={"active": True}).status_code == 200
    assert (
        _post_login(client, "demo", "agent1", tenants["demo"].passwords["agent1"]).status_code
        == 200
    )


def test_password_change_ends_other_sessions(tenants, as_user, client) -> None:
    old = tenants["demo"].passwords["agent1"]
    new = "a-new-long-password"
    current, other = as_user("agent1"), login(client, "demo", "agent1", old)

    assert_problem(
        current.post(
            "/api/v1/auth/password", json={"current_password": "wrong", "new_password": new}
        ),
        403,
        "current password",
    )
    assert_problem(
        current.post(
            "/api/v1/auth/password", json={"current_password": old, "new_password": "short"}
        ),
        422,
        "new_password",
    )
    assert other.get("/api/v1/auth/me").status_code == 200, "a refused change ends nothing"
    assert _post_login(client, "demo", "agent1", old).status_code == 200

    response = current.post(
        "/api/v1/auth/password", json={"current_password": old, "new_password": new}
    )
    assert response.status_code == 204, response.text
    assert current.get("/api/v1/auth/me").status_code == 200
    assert_problem(other.get("/api/v1/auth/me"), 401)
    assert_problem(_post_login(client, "demo", "agent1", old), 401)
    assert _post_login(client, "demo", "agent1", new).status_code == 200


def test_admin_password_reset_ends_all_sessions(tenants, as_user, client) -> None:
    ids = tenants["demo"].ids
    admin, agent = as_user("admin"), as_user("agent2")
    response = admin.patch(f"/api/v1/users/{ids['agent2']}", json={"password": "reset-by-admin-1"})
    assert response.status_code == 200, response.text
    assert_problem(agent.get("/api/v1/auth/me"), 401)
    assert _post_login(client, "demo", "agent2", "reset-by-admin-1").status_code == 200
    assert admin.get("/api/v1/auth/me").status_code == 200


def test_recognising_a_fresh_session_takes_no_write_lock(tenants, as_user, database_url) -> None:
    # A reconnect storm or a busy desk must not queue behind writers just to be recognised:
    # a session touched under a minute ago is read from a snapshot. While another connection
    # holds SQLite's one write lock, a socket still connects and gets its snapshot.
    # (PostgreSQL's reads never waited for writers; SQLite's did: every transaction there
    # begins IMMEDIATE.)
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock only")
    agent = as_user("agent1")
    assert agent.get("/api/v1/auth/me").status_code == 200
    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with agent.websocket() as ws:  # authenticates, then reads its snapshot: no writes
            ws.send_json({"type": "register"})
            message = ws.receive_json()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert message["type"] == "snapshot", message
