"""The principal cache (platform/auth/cache.py): a credential resolved a moment ago is answered
without the database; a change made through this process applies at once; one made elsewhere
(another node, the CLI's own process) once the entry runs out."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import event, text

from omnidesk.platform.auth.cache import EVERYONE, PrincipalCache
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from spine_checks import assert_problem


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _principal(tenant: uuid.UUID, user: uuid.UUID, **extra: Any) -> Principal:
    return Principal(
        tenant_id=tenant,
        user_id=user,
        username="u",
        role=Role.AGENT,
        supervised_teams=frozenset(),
        member_teams=frozenset(),
        **extra,
    )


def test_entries_run_out_never_outlive_their_credential_and_are_bounded() -> None:
    clock = Clock()
    cache = PrincipalCache(5, size=2, clock=clock)
    tenant = uuid.uuid4()
    ann, bob, cy = (_principal(tenant, uuid.uuid4()) for _ in range(3))
    cache.put("ann", ann)
    assert cache.get("ann") == ann
    clock.now += 5
    assert cache.get("ann") is None  # run out
    # A session that expires before the entry would run out is not answered past its expiry.
    expiring = _principal(tenant, uuid.uuid4(), expires_at=utcnow() - timedelta(seconds=1))
    cache.put("expiring", expiring)
    assert cache.get("expiring") is None
    # At most `size` entries: the oldest goes.
    cache.put("ann", ann)
    cache.put("bob", bob)
    cache.put("cy", cy)
    assert (cache.get("ann"), cache.get("bob"), cache.get("cy")) == (None, bob, cy)
    assert len(cache) == 2
    # Nothing is kept with 0 seconds.
    off = PrincipalCache(0, clock=clock)
    off.put("ann", ann)
    assert off.get("ann") is None


def test_forgetting_a_user_a_tenant_or_everyone() -> None:
    cache = PrincipalCache(60, clock=Clock())
    one, two = uuid.uuid4(), uuid.uuid4()
    ann, bob, cy = (
        _principal(one, uuid.uuid4()),
        _principal(one, uuid.uuid4()),
        _principal(two, uuid.uuid4()),
    )
    for key, principal in (("ann", ann), ("bob", bob), ("cy", cy)):
        cache.put(key, principal)
    cache.forget({ann.user_id})
    assert [cache.get(k) for k in ("ann", "bob", "cy")] == [None, bob, cy]
    cache.forget({one})
    assert [cache.get(k) for k in ("bob", "cy")] == [None, cy]
    cache.forget({EVERYONE})
    assert len(cache) == 0


def _session_reads(app: Any) -> list[str]:
    """Every statement of the app's database that reads the session table, from now on."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "auth_sessions" in statement:
            seen.append(statement)

    event.listen(app.state.services.db.engine.sync_engine, "before_cursor_execute", before)
    return seen


def test_a_known_credential_is_answered_without_the_database(tenants, as_user, app) -> None:
    agent = as_user("agent1")
    assert agent.get("/api/v1/auth/me").status_code == 200
    cache = app.state.services.principals
    reads = _session_reads(app)
    hits = cache.hits
    for _ in range(3):
        assert agent.get("/api/v1/auth/me").status_code == 200
    assert cache.hits == hits + 3
    assert reads == []
    # The CSRF check still runs on every request: a cached principal is no pass.
    response = agent.client.post(
        "/api/v1/auth/logout", headers={"cookie": f"omnidesk_session={agent.cookie}"}
    )
    assert_problem(response, 403, "X-CSRF-Token")


def test_changes_made_through_this_process_apply_at_once(tenants, as_user, client) -> None:
    admin, agent = as_user("admin"), as_user("agent2")
    agent_id = tenants["demo"].ids["agent2"]
    assert_problem(agent.post("/api/v1/teams", json={"name": "Night"}), 403)  # cached: agent
    assert admin.patch(f"/api/v1/users/{agent_id}", json={"role": "admin"}).status_code == 200
    assert agent.post("/api/v1/teams", json={"name": "Night"}).status_code == 201
    assert admin.patch(f"/api/v1/users/{agent_id}", json={"role": "agent"}).status_code == 200
    assert_problem(agent.post("/api/v1/teams", json={"name": "Day"}), 403)
    # A disabled account is refused on its very next request, though it was just answered.
    assert agent.get("/api/v1/auth/me").status_code == 200
    assert admin.patch(f"/api/v1/users/{agent_id}", json={"active": False}).status_code == 200
    assert_problem(agent.get("/api/v1/auth/me"), 401)


def test_a_change_made_elsewhere_is_seen_once_the_entry_runs_out(
    tenants, as_user, app, client
) -> None:
    agent = as_user("agent1")
    cache = app.state.services.principals
    clock = Clock()
    cache.clock = clock
    assert agent.get("/api/v1/auth/me").status_code == 200  # resolved and kept

    async def end_sessions_as_another_node() -> None:
        # Core SQL on the engine, no ORM session: nothing in this process hears of it, as
        # with a write by another node or by the CLI in its own process.
        async with app.state.services.db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM auth_sessions"))

    client.portal.call(end_sessions_as_another_node)
    assert agent.get("/api/v1/auth/me").status_code == 200  # within auth_cache_seconds
    clock.now += cache.seconds
    assert_problem(agent.get("/api/v1/auth/me"), 401)
