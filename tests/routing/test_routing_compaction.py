"""Compaction of the routing log and snapshots (routing/compaction.py), on both databases:
restore after pruning is restore without it, pruning really deletes, the retention window is
kept and stays replayable from the oldest kept snapshot, and the host prunes by itself after
a snapshot."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from omnidesk.app import create_app
from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    CancelContact,
    Command,
    ContactArrived,
    EndContact,
    EndWrapUp,
    Engine,
    QueueDef,
    RejectOffer,
    SetAgentState,
    SetContactPriority,
    command_from_dict,
)
from omnidesk.core.routing.clock import from_us
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.settings import Settings, load_settings
from omnidesk.platform.tenancy import create_tenant
from omnidesk.routing.compaction import prune
from omnidesk.routing.host import SERVICE_KEY, RoutingHost
from omnidesk.routing.models import RoutingLogEntry, RoutingSnapshot

FAR_FUTURE_US = 10**17  # year 5138: every entry is older than any window
QUEUE = QueueDef(id="support", channels=("chat",), offer_timeout_seconds=600, wrap_up_seconds=600)


async def new_tenant(db: Database, slug: str) -> uuid.UUID:
    session = db.session(SYSTEM)
    try:
        tenant = await create_tenant(session, slug, slug)
        await session.commit()
        return tenant.id
    finally:
        await session.close()


@pytest.fixture
async def tenant_id(db: Database) -> uuid.UUID:
    return await new_tenant(db, "acme")


@dataclass
class Stored:
    entries: list[tuple[int, int]]  # (position, at_us)
    snapshots: list[int]  # positions


async def stored(db: Database, tenant_id: uuid.UUID) -> Stored:
    session = db.session(tenant_id)
    try:
        rows = await session.execute(
            select(RoutingLogEntry.position, RoutingLogEntry.at_us).order_by(
                RoutingLogEntry.position
            )
        )
        snapshots = await session.scalars(
            select(RoutingSnapshot.position).order_by(RoutingSnapshot.position)
        )
        return Stored([(p, at) for p, at in rows], list(snapshots))
    finally:
        await session.close()


async def run(host: RoutingHost, command: Command) -> list[dict[str, Any]]:
    return [event.to_dict() for event in await host.execute(command)]


def offered(events: list[dict[str, Any]], contact_id: str) -> str:
    return next(
        e["offer_id"]
        for e in events
        if e["type"] == "routing.offer_created" and e["contact_id"] == contact_id
    )


async def busy_day(host: RoutingHost) -> None:
    """Every kind of state a restore must bring back: waiting contacts in a priority order,
    pending offers, active contacts, wrap-ups, an agent away after a rejection."""
    await run(host, AddQueue(QUEUE))
    for agent in ("a1", "a2", "a3"):
        definition = AgentDef(id=agent, capacity={"chat": 1}, queues={"support": 0})
        await run(host, AddAgent(definition))
    await run(host, SetAgentState("a1", "available"))
    events = await run(host, ContactArrived("c1", "support", "chat"))
    await run(host, AcceptOffer(offered(events, "c1"), "a1"))
    await run(host, SetAgentState("a2", "available"))
    events = await run(host, ContactArrived("c2", "support", "chat"))
    await run(host, RejectOffer(offered(events, "c2"), "a2", reason="busy"))
    for contact in ("c3", "c4", "c5"):
        await run(host, ContactArrived(contact, "support", "chat"))
    await run(host, SetContactPriority("c4", 9))
    await run(host, CancelContact("c5"))
    await run(host, EndContact("c1"))
    events = await run(host, SetAgentState("a3", "available"))  # offered the first in line
    await run(host, AcceptOffer(offered(events, "c4"), "a3"))
    await run(host, EndContact("c4"))  # a3 wraps up (600 s)
    await run(host, EndWrapUp("a1", "c1", disposition="resolved"))  # a1 is offered the next


def state_of(host: RoutingHost) -> dict[str, Any]:
    directory = host.directory
    return {
        "position": host.position,
        "engine": host.engine.snapshot(),
        "directory": {
            "queues": directory.queues,
            "agents": directory.agents,
            "contacts": directory.contacts,
            "held": directory.held,
            "since": directory.since,
        },
    }


async def restored(db: Database, tenant_id: uuid.UUID) -> dict[str, Any]:
    host = RoutingHost(tenant_id, db, InProcessBus())
    await host.load()
    return state_of(host)


async def test_restore_after_pruning_equals_restore_without_it(db, tenant_id):
    host = RoutingHost(tenant_id, db, InProcessBus(), snapshot_every=3)
    await busy_day(host)
    other = await new_tenant(db, "other")  # as old, and left alone
    await busy_day(RoutingHost(other, db, InProcessBus(), snapshot_every=3))
    others = await stored(db, other)
    before = await stored(db, tenant_id)
    newest = before.snapshots[-1]
    assert len(before.snapshots) >= 3
    assert newest < host.position, "the newest snapshot must leave entries to replay"
    reference = await restored(db, tenant_id)
    assert reference == state_of(host)

    # Batches of 3 entries: several round trips, each its own transaction.
    pruned = await prune(db, tenant_id, retention=timedelta(0), now_us=FAR_FUTURE_US, batch=3)

    assert await restored(db, tenant_id) == reference
    after = await stored(db, tenant_id)
    assert pruned.cut == newest
    assert [p for p, _ in after.entries] == list(range(newest + 1, host.position + 1))
    assert after.snapshots == [newest]
    assert pruned.entries == len(before.entries) - len(after.entries) == newest
    assert pruned.snapshots == len(before.snapshots) - 1
    assert await stored(db, other) == others
    again = await prune(db, tenant_id, retention=timedelta(0), now_us=FAR_FUTURE_US)
    assert (again.entries, again.snapshots, again.cut) == (0, 0, newest)
    # The running host goes on undisturbed, and what it does next restores too.
    await run(host, ContactArrived("c6", "support", "chat"))
    assert await restored(db, tenant_id) == state_of(host)


async def test_retention_keeps_the_window_replayable_from_the_oldest_kept_snapshot(db, tenant_id):
    host = RoutingHost(tenant_id, db, InProcessBus(), snapshot_every=3)
    await busy_day(host)
    before = await stored(db, tenant_id)
    at = dict(before.entries)
    # The window starts at an entry in the middle, later than the one before it.
    middle = next(p for p in range(len(at) // 2, len(at)) if at[p - 1] < at[p])
    window_start = at[middle]
    last_old = middle - 1
    expected_cut = max(s for s in before.snapshots if s <= last_old)
    assert expected_cut > 0 and expected_cut < before.snapshots[-1]

    pruned = await prune(
        db, tenant_id, retention=timedelta(days=7), now_us=window_start + 7 * 86_400_000_000
    )

    after = await stored(db, tenant_id)
    kept = dict(after.entries)
    assert pruned.cut == expected_cut
    assert pruned.entries == expected_cut > 0
    assert all(p in kept for p, t in before.entries if t >= window_start), "window kept"
    assert all(at[p] < window_start for p in at if p not in kept), "only old entries pruned"
    assert min(kept) == expected_cut + 1
    assert after.snapshots == [s for s in before.snapshots if s >= expected_cut]
    assert await restored(db, tenant_id) == state_of(host)
    # The oldest kept snapshot plus the kept entries rebuild the engine as it is now.
    assert (await replay_from_oldest(db, tenant_id)).snapshot() == host.engine.snapshot()


async def replay_from_oldest(db: Database, tenant_id: uuid.UUID) -> Engine:
    session = db.session(tenant_id)
    try:
        oldest = await session.scalar(
            select(RoutingSnapshot).order_by(RoutingSnapshot.position).limit(1)
        )
        assert oldest is not None
        engine = Engine.restore({k: v for k, v in oldest.state.items() if k != SERVICE_KEY})
        entries = await session.scalars(
            select(RoutingLogEntry)
            .where(RoutingLogEntry.position > oldest.position)
            .order_by(RoutingLogEntry.position)
        )
        for entry in entries:
            if entry.kind == "advance":
                engine.advance(from_us(entry.at_us))
            else:
                engine.handle(command_from_dict(entry.command or {}), from_us(entry.at_us))
        return engine
    finally:
        await session.close()


async def test_the_host_prunes_after_a_snapshot(db, tenant_id):
    host = RoutingHost(tenant_id, db, InProcessBus(), snapshot_every=6, log_retention=timedelta(0))
    await busy_day(host)
    await host.compactor.idle()
    after = await stored(db, tenant_id)
    newest = host.snapshot_position
    assert 6 < newest < host.position
    assert after.snapshots == [newest]
    assert [p for p, _ in after.entries] == list(range(newest + 1, host.position + 1))
    # A clean close takes a last snapshot and stops compacting; restore is exact.
    live = state_of(host)
    await host.close()
    assert await restored(db, tenant_id) == live
    session = db.session(tenant_id)
    try:
        count = await session.scalar(select(func.count()).select_from(RoutingSnapshot))
    finally:
        await session.close()
    assert count == 2  # the closing snapshot is pruned by the next run, not after close


def test_retention_is_a_setting(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIDESK_ROUTING_LOG_RETENTION_DAYS", "3")
    assert load_settings(None).routing_log_retention_days == 3
    monkeypatch.delenv("OMNIDESK_ROUTING_LOG_RETENTION_DAYS")
    assert load_settings(None).routing_log_retention_days == 7
    app = create_app(settings.model_copy(update={"routing_log_retention_days": 2}))
    with TestClient(app):
        assert app.state.routing.log_retention == timedelta(days=2)
