"""Database helpers of the KPI tests: a tenant, its events written as the log holds them, and
the rollups read back in the shape `processing.recompute` gives."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update

from omnidesk.analytics.facts import SUM_FIELDS, LogEvent, Sums, at_us, from_us, to_us
from omnidesk.analytics.models import (
    AgentStateInterval,
    DispositionInterval,
    QueueInterval,
    TeamInterval,
)
from omnidesk.analytics.processing import AgentRowKey, DispositionRowKey, QueueRowKey, TeamRowKey
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.eventlog import EventRecord, EventSequence
from omnidesk.platform.tenancy import create_tenant

_slugs = itertools.count()


async def new_tenant(db: Database, slug: str | None = None) -> uuid.UUID:
    session = db.session(SYSTEM)
    try:
        tenant = await create_tenant(session, slug or f"kpi-{next(_slugs)}", "KPI test")
        await session.commit()
        return tenant.id
    finally:
        await session.close()


async def append(db: Database, tenant_id: uuid.UUID, events: Sequence[LogEvent]) -> None:
    """Write events with their own seqs (the log's next ones) in one transaction."""
    session = db.session(tenant_id)
    try:
        for event in events:
            instant = at_us(event.payload)
            session.add(
                EventRecord(
                    tenant_id=tenant_id,
                    seq=event.seq,
                    type=event.type,
                    version=1,
                    occurred_at=from_us(instant) if instant else datetime.now(UTC),
                    actor_id=None,
                    subject_type="contact" if "contact_id" in event.payload else "agent",
                    subject_id=str(
                        event.payload.get("contact_id") or event.payload.get("agent_id") or ""
                    ),
                    payload=dict(event.payload),
                    audience={"users": [], "teams": [], "scope_change_for": []},
                )
            )
        await session.execute(
            update(EventSequence)
            .where(EventSequence.tenant_id == tenant_id)
            .values(last_seq=max(e.seq for e in events))
        )
        await session.commit()
    finally:
        await session.close()


async def rollups(
    db: Database, tenant_id: uuid.UUID
) -> tuple[dict[QueueRowKey, Sums], dict[AgentRowKey, int]]:
    session = db.session(tenant_id)
    try:
        queues = {
            QueueRowKey(to_us(r.interval_start), r.queue_id, r.channel, r.agent_id): Sums(
                *(getattr(r, n) for n in SUM_FIELDS)
            )
            for r in await session.scalars(select(QueueInterval))
        }
        agents = {
            AgentRowKey(to_us(r.interval_start), r.agent_id, r.state, r.reason): r.us
            for r in await session.scalars(select(AgentStateInterval))
        }
        return queues, agents
    finally:
        await session.close()


async def dimension_rollups(
    db: Database, tenant_id: uuid.UUID
) -> tuple[dict[TeamRowKey, Sums], dict[DispositionRowKey, Sums]]:
    """The team and disposition rows, in the shape `processing.recompute` gives."""
    session = db.session(tenant_id)
    try:
        teams = {
            TeamRowKey(to_us(r.interval_start), r.team_id): Sums(
                *(getattr(r, n) for n in SUM_FIELDS)
            )
            for r in await session.scalars(select(TeamInterval))
        }
        dispositions = {
            DispositionRowKey(to_us(r.interval_start), r.queue_id, r.channel, r.disposition): Sums(
                answered=r.handled, talk_us=r.talk_us, hold_us=r.hold_us, wrap_us=r.wrap_us
            )
            for r in await session.scalars(select(DispositionInterval))
        }
        return teams, dispositions
    finally:
        await session.close()
