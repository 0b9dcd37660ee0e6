"""The event log: written with the change, published only after commit, gapless per tenant."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from realtime_client import ViewClient
from sqlalchemy import select

from omnidesk.directory import service
from omnidesk.directory.models import Team
from omnidesk.directory.schemas import TeamCreate
from omnidesk.platform import eventlog
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.tenancy import Tenant
from omnidesk.platform.uow import UnitOfWork


def _tenant_id(client, app, slug="demo") -> uuid.UUID:  # type: ignore[no-untyped-def]
    async def go() -> uuid.UUID:
        from omnidesk.platform.database import SYSTEM

        session = app.state.services.db.session(SYSTEM)
        try:
            return (await session.scalars(select(Tenant.id).where(Tenant.slug == slug))).one()
        finally:
            await session.close()

    return client.portal.call(go)


def _log(client, app, tenant_id):  # type: ignore[no-untyped-def]
    async def go() -> list[PublishedEvent]:
        session = app.state.services.db.session(tenant_id)
        try:
            return [r.to_published() for r in await eventlog.read_after(session, 0, limit=100_000)]
        finally:
            await session.close()

    return client.portal.call(go)


def _domain(events: list[PublishedEvent]) -> list[PublishedEvent]:
    """The events the test's writes made: without the KPI ingester's figures (`analytics.*`),
    which it pushes in transactions of its own on its own time (a new team's, for one)."""
    return [e for e in events if not e.type.startswith("analytics.")]


@pytest.fixture
def published(app, client):  # type: ignore[no-untyped-def]
    received: list[PublishedEvent] = []
    subscription = app.state.services.bus.subscribe(received.append)
    yield received
    subscription.close()


def test_commit_appends_and_then_publishes(client, app, tenants, published):
    tenant_id = _tenant_id(client, app)
    before = len(_log(client, app, tenant_id))

    async def go() -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            async with UnitOfWork(session, app.state.services.bus, tenant_id=tenant_id) as uow:
                await service.create_team(uow, None, TeamCreate(name="Night shift"))
                assert published == [], "published before commit"
        finally:
            await session.close()

    client.portal.call(go)
    log = _log(client, app, tenant_id)
    # The team's figures are pushed after its commit: the team's event is the next in the log.
    assert [e.type for e in _domain(log[before:])] == ["team.created"]
    assert [e.type for e in _domain(published)] == ["team.created"]
    assert published[0].seq == log[before].seq == before + 1
    assert published[0].payload["name"] == "Night shift"


def test_rollback_publishes_nothing_and_logs_nothing(client, app, tenants, published):
    tenant_id = _tenant_id(client, app)
    before = _log(client, app, tenant_id)

    async def go() -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            with pytest.raises(RuntimeError, match="boom"):
                async with UnitOfWork(session, app.state.services.bus, tenant_id=tenant_id) as uow:
                    await service.create_team(uow, None, TeamCreate(name="Doomed"))
                    raise RuntimeError("boom")
        finally:
            await session.close()
        check = app.state.services.db.session(tenant_id)
        try:
            assert (await check.scalars(select(Team).where(Team.name == "Doomed"))).first() is None
        finally:
            await check.close()

    client.portal.call(go)
    assert published == []
    assert _log(client, app, tenant_id) == before


def test_failed_commit_publishes_nothing(client, app, tenants, published):
    """The database refuses the commit (unique name); the recorded event must not escape."""
    tenant_id = _tenant_id(client, app)
    before = _log(client, app, tenant_id)

    async def go() -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            uow = UnitOfWork(session, app.state.services.bus, tenant_id=tenant_id)
            with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
                async with uow:
                    await service.create_team(uow, None, TeamCreate(name="Twin"))
                    # Bypass the service's check: the constraint fires inside commit's flush.
                    session.add(Team(id=uuid.uuid4(), name="Twin", members=[]))
        finally:
            await session.close()

    client.portal.call(go)
    assert published == []
    assert _log(client, app, tenant_id) == before


def test_failed_commit_ends_its_transaction(client, app, tenants, published):
    """A refused commit must not leave its transaction open: on SQLite an open write transaction
    holds the database's write lock, and every other writer would wait on it until timeout."""
    tenant_id = _tenant_id(client, app)

    async def go() -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            uow = UnitOfWork(session, app.state.services.bus, tenant_id=tenant_id)
            with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
                async with uow:
                    await service.create_team(uow, None, TeamCreate(name="Pair"))
                    session.add(Team(id=uuid.uuid4(), name="Pair", members=[]))
            # Still open (not closed yet), yet no transaction is held any more.
            assert not session.in_transaction()
            other = app.state.services.db.session(tenant_id)
            try:
                async with UnitOfWork(other, app.state.services.bus, tenant_id=tenant_id) as ok:
                    await asyncio.wait_for(
                        service.create_team(ok, None, TeamCreate(name="After")), 5
                    )
            finally:
                await other.close()
        finally:
            await session.close()

    client.portal.call(go)
    assert [e.type for e in _domain(published)] == ["team.created"]
    assert published[0].payload["name"] == "After"


def test_api_error_records_no_event(as_user, client, app, tenants, published):
    admin = as_user("admin")
    r = admin.post(
        "/api/v1/users", json={"username": "agent1", "display_name": "Dup", "role": "agent"}
    )
    assert r.status_code == 409
    assert published == []


def test_concurrent_writers_get_gapless_ordered_sequences(client, app, tenants, published):
    tenant_id = _tenant_id(client, app)
    start = len(_log(client, app, tenant_id))
    writers = 12

    async def write(n: int) -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            async with UnitOfWork(session, app.state.services.bus, tenant_id=tenant_id) as uow:
                await service.create_team(uow, None, TeamCreate(name=f"Team {n}"))
                await asyncio.sleep(0)  # let the other writers interleave
                await service.create_team(uow, None, TeamCreate(name=f"Team {n}b"))
        finally:
            await session.close()

    async def go() -> None:
        await asyncio.gather(*(write(n) for n in range(writers)))

    client.portal.call(go)
    # A new team's figures are pushed by the KPI ingester (analytics.team_figures) in
    # transactions of its own, on its own time: let them all in, so that the log and what was
    # published are read complete. They take sequence numbers like any writer's events.
    client.portal.call(app.state.analytics.settled)
    log = _log(client, app, tenant_id)
    seqs = [e.seq for e in log]
    assert seqs == list(range(1, len(log) + 1))
    new = log[start:]
    teams = _domain(new)
    assert [e.type for e in teams] == ["team.created"] * 2 * writers
    # Each transaction's two events are consecutive: sequences follow commit order.
    for first, second in zip(teams[::2], teams[1::2], strict=True):
        assert second.payload["name"] == first.payload["name"] + "b"
        assert second.seq == first.seq + 1
    assert sorted(e.seq for e in published) == seqs[start:]


def test_out_of_order_bus_delivery_is_repaired(as_user, client, app, tenants):
    """Committed events published late or in the wrong order reach a client once, in order."""
    ids = tenants["demo"].ids
    tenant_id = _tenant_id(client, app)
    quiet_bus = InProcessBus()  # commits here reach no subscriber until we forward them
    held: list[PublishedEvent] = []
    quiet_bus.subscribe(held.append)

    async def commit(name: str) -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            async with UnitOfWork(session, quiet_bus, tenant_id=tenant_id) as uow:
                await service.create_team(uow, None, TeamCreate(name=name))
        finally:
            await session.close()

    with as_user("admin").websocket() as ws:
        viewer = ViewClient(ws, ids["admin"])
        start = viewer.register()["last_event_id"]
        for name in ("One", "Two", "Three"):
            client.portal.call(commit, name)
        assert [e.seq for e in held] == [start + 1, start + 2, start + 3]
        # Deliver the last one first, then a duplicate of it, then the others.
        for event in (held[2], held[2], held[0], held[1]):
            client.portal.call(app.state.services.bus.publish, [event])
        viewer.sync()
    # Their publication woke the KPI ingester (a new team's figures): its events come after.
    teams = [m for m in viewer.events if not m["event"].startswith("analytics.")]
    assert [m["id"] for m in teams] == [start + 1, start + 2, start + 3]
    assert [m["data"]["name"] for m in teams] == ["One", "Two", "Three"]


def test_events_since_an_instant_start_there(as_user, tenants, client, app):  # type: ignore[no-untyped-def]
    """GET /events?since= starts at the first event at or after the instant (a binary search
    over the log), then pages on by `after` as usual."""
    from datetime import UTC, datetime, timedelta

    admin = as_user("admin")

    def settle() -> None:
        client.portal.call(app.state.analytics.settled)

    # A new team's figures (analytics.team_figures) are pushed by the KPI ingester, a writer
    # of its own: an event's instant is taken when it is recorded, its seq at commit, so a push
    # recorded just before "After 1" but committed after it would sit after it in the log with
    # an earlier instant ("to within a commit's moment", eventlog.seq_before). The Before
    # teams' pushes are in before "After 1" is written: every event after it is from after it.
    for name in ("Before 1", "Before 2"):
        assert admin.post("/api/v1/teams", json={"name": name}).status_code == 201
    settle()
    for name in ("After 1", "After 2", "After 3"):
        assert admin.post("/api/v1/teams", json={"name": name}).status_code == 201
    settle()  # and the After teams' are in before the log is read twice
    everything = admin.get("/api/v1/events", params={"limit": 1000}).json()
    created = [e for e in everything["events"] if e["event"] == "team.created"][
        1:
    ]  # not the demo's
    since = created[2]["occurred_at"]  # "After 1"'s own instant
    page = admin.get("/api/v1/events", params={"since": since}).json()
    names = [e["data"]["name"] for e in page["events"] if e["event"] == "team.created"]
    assert names == ["After 1", "After 2", "After 3"]
    assert page["events"][0]["id"] == created[2]["id"]
    assert page["last_event_id"] == everything["last_event_id"]
    later = datetime.fromisoformat(created[-1]["occurred_at"]) + timedelta(seconds=1)
    after = admin.get("/api/v1/events", params={"since": later.isoformat()}).json()["events"]
    # (The figures are pushed up to FIGURES_SECONDS after the teams: maybe after `later`.)
    assert [e for e in after if not e["event"].startswith("analytics.")] == []
    first = admin.get("/api/v1/events", params={"since": datetime(2000, 1, 1, tzinfo=UTC)})
    assert first.json()["events"][0]["id"] == everything["events"][0]["id"]
    # An instant as the schema says, not a number of seconds.
    assert admin.get("/api/v1/events", params={"since": "0.5"}).status_code == 422
