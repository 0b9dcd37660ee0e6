"""The routing service as domains and channels use it (omnidesk.routing.api), on both databases:
commands in, read models of one committed instant out, audiences; a tenant without routing is
read without being loaded."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from test_routing_realtime import ok, setup_routing

from omnidesk.platform.database import SYSTEM
from omnidesk.platform.tenancy import Tenant
from omnidesk.routing.api import (
    CancelContact,
    ContactArrived,
    Routing,
    RoutingError,
    RoutingReads,
)


def _tenant_id(client: Any, app: Any, slug: str) -> uuid.UUID:
    async def find() -> uuid.UUID:
        session = app.state.services.db.session(SYSTEM)
        try:
            found = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        finally:
            await session.close()
        assert found is not None
        return found

    return client.portal.call(find)  # type: ignore[no-any-return]


def test_commands_in_and_read_models_out(as_user, client, app, tenants):  # type: ignore[no-untyped-def]
    world = setup_routing(as_user, client, tenants["demo"].ids)
    ids = world["ids"]
    tenant = _tenant_id(client, app, "demo")
    routing: Routing = app.state.routing
    arrived = ContactArrived("c1", "support", "chat", attributes={"x": 1})
    events = client.portal.call(routing.execute, tenant, arrived)
    assert [e.type for e in events][:2] == ["routing.contact_received", "routing.contact_queued"]

    def look(reads: RoutingReads) -> dict[str, Any]:
        # Inside `read`: routing's lock is held, nothing can commit meanwhile.
        assert app.state.routing.loaded_host(tenant).lock.locked()
        contact, estimate = reads.contact("c1"), reads.wait_estimate("c1")
        agent, queue = reads.agent(ids["agent1"]), reads.queue("support")
        assert contact is not None and estimate is not None
        assert agent is not None and queue is not None
        return {
            "state": contact.state,
            "position": estimate.position,
            "in": (reads.has_contact("c1"), reads.has_contact("nobody")),
            "ids": reads.contact_ids(),
            "agent": agent.state,
            "waiting": queue.waiting,
            "unknown": (reads.contact("nobody"), reads.agent("nobody"), reads.queue("nobody")),
            "queues": sorted(reads.queues()),
            "agents": sorted(reads.agents()),
        }

    seen = client.portal.call(routing.read, tenant, look)
    assert seen == {
        "state": "waiting",
        "position": 1,
        "in": (True, False),
        "ids": ["c1"],
        "agent": "offline",
        "waiting": 1,
        "unknown": (None, None, None),
        "queues": ["other", "support"],
        "agents": sorted([ids["agent1"], ids["agent2"], ids["olga"]]),
    }
    # Changing a copy changes nothing in routing.
    client.portal.call(routing.read, tenant, lambda r: r.queues().clear())
    assert client.portal.call(routing.read, tenant, lambda r: sorted(r.queues())) == seen["queues"]

    client.portal.call(routing.execute, tenant, CancelContact("c1", "abandoned"))
    gone = client.portal.call(
        routing.read,
        tenant,
        lambda r: (r.contact("c1"), r.has_contact("c1"), r.wait_estimate("c1")),
    )
    assert gone == (None, False, None)


def test_several_commands_are_one_step(as_user, client, app, tenants):  # type: ignore[no-untyped-def]
    setup_routing(as_user, client, tenants["demo"].ids)
    admin = as_user("admin")
    tenant = _tenant_id(client, app, "demo")
    routing: Routing = app.state.routing
    before = len(ok(admin.get("/api/v1/events", params={"limit": 1000}))["events"])
    both = [ContactArrived("c1", "support", "chat"), ContactArrived("c2", "other", "chat")]
    events = client.portal.call(routing.execute_all, tenant, both)
    assert {e.contact_id for e in events if e.type == "routing.contact_received"} == {"c1", "c2"}
    # A refused one changes nothing and is raised once the others are committed.
    again = [ContactArrived("c1", "support", "chat"), ContactArrived("c3", "support", "chat")]
    with pytest.raises(RoutingError) as refused:
        client.portal.call(routing.execute_all, tenant, again)
    assert refused.value.code == "duplicate_id"
    ids = client.portal.call(routing.read, tenant, lambda r: r.contact_ids())
    assert ids == ["c1", "c2", "c3"]
    log = ok(admin.get("/api/v1/events", params={"limit": 1000}))["events"][before:]
    assert [e["event"] for e in log].count("routing.contact_received") == 3


def test_audiences_of_queues_and_agents(as_user, client, app, tenants):  # type: ignore[no-untyped-def]
    world = setup_routing(as_user, client, tenants["demo"].ids)
    ids = world["ids"]
    team = uuid.UUID(tenants["demo"].ids["team"])
    tenant = _tenant_id(client, app, "demo")
    routing: Routing = app.state.routing
    assert routing.queue_audience(tenant, "support").teams == {team}
    agent = routing.agent_audience(tenant, ids["agent1"])
    assert agent.users == {uuid.UUID(ids["agent1"])} and agent.teams == {team}
    assert routing.queue_audience(tenant, "nobody's").teams == frozenset()


def test_a_tenant_without_routing_is_read_empty_and_not_loaded(client, app, tenants):  # type: ignore[no-untyped-def]
    tenant = _tenant_id(client, app, "other")
    routing: Routing = app.state.routing
    seen = client.portal.call(
        routing.read, tenant, lambda r: (r.queues(), r.agents(), r.contact_ids(), r.contact("c"))
    )
    assert seen == ({}, {}, [], None)
    assert app.state.routing.loaded_host(tenant) is None
    someone = str(uuid.uuid4())
    assert routing.queue_audience(tenant, "support").teams == frozenset()
    assert routing.agent_audience(tenant, someone).users == {uuid.UUID(someone)}
