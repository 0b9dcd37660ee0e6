"""Per-contact report: one row per queue visit of the contacts that arrived in a range.

The rows come from the same fold of the event log as the KPI rollups (facts.py), so a visit's
wait, talk, hold, wrap-up and outcome are exactly what the queue figures count; the CRM's
interaction record adds the customer, every agent of the contact and its disposition.

A range holds at most MAX_CONTACTS contacts (arrivals of the tenant, before the supervisor's
queue filter): more is a 422 naming the count, never a silently cut file.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import repository as repo
from omnidesk.analytics.facts import (
    CALL_STATE,
    CONTACT_TYPES,
    RECEIVED,
    LogEvent,
    Visit,
    fold_contact,
    from_us,
    seconds_to_us,
)
from omnidesk.analytics.processing import contact_of
from omnidesk.analytics.schemas import KpiContactVisit, KpiContactVisits
from omnidesk.analytics.service import check_range
from omnidesk.crm.models import Interaction
from omnidesk.platform.errors import Invalid
from omnidesk.platform.eventlog import EventRecord

MAX_CONTACTS: Final = 20_000
_CHUNK: Final = 500
_ROUTING_TYPES: Final = sorted(CONTACT_TYPES - {CALL_STATE})


async def _arrivals(session: AsyncSession, start: datetime, end: datetime) -> list[str]:
    in_range = (
        EventRecord.type == RECEIVED,
        EventRecord.occurred_at >= start,
        EventRecord.occurred_at < end,
    )
    count = await session.scalar(
        select(func.count(func.distinct(EventRecord.subject_id))).where(*in_range)
    )
    if (count or 0) > MAX_CONTACTS:
        raise Invalid(
            f"{count} contacts arrived in the range, more than the {MAX_CONTACTS} an export "
            "holds: choose a shorter range",
            field="end",
        )
    rows = await session.execute(
        select(EventRecord.subject_id, func.min(EventRecord.seq))
        .where(*in_range)
        .group_by(EventRecord.subject_id)
    )
    return [contact for contact, _ in sorted(rows, key=lambda r: r[1])]


async def _records(
    session: AsyncSession, ids: Sequence[str]
) -> tuple[dict[str, Interaction], dict[str, list[LogEvent]]]:
    """The CRM records of these contacts and their events the fold reads, in seq order."""
    records = {
        r.contact_id: r
        for r in await session.scalars(select(Interaction).where(Interaction.contact_id.in_(ids)))
    }
    stmt = select(EventRecord.seq, EventRecord.type, EventRecord.payload).where(
        EventRecord.subject_type == "contact",
        EventRecord.subject_id.in_(ids),
        EventRecord.type.in_(_ROUTING_TYPES),
    )
    found = [LogEvent(seq, kind, payload) for seq, kind, payload in await session.execute(stmt)]
    # A call's hold and resume are the call's events (subject: the call), with the contact
    # named in the payload.
    calls = sorted({r.call_id for r in records.values() if r.call_id})
    if calls:
        stmt = select(EventRecord.seq, EventRecord.type, EventRecord.payload).where(
            EventRecord.type == CALL_STATE, EventRecord.subject_id.in_(calls)
        )
        found += [LogEvent(s, k, p) for s, k, p in await session.execute(stmt)]
    events: dict[str, list[LogEvent]] = {}
    for event in sorted(found, key=lambda e: e.seq):
        contact = contact_of(event)
        if contact is not None:
            events.setdefault(contact, []).append(event)
    return records, events


def _seconds(us: int) -> float:
    return us / 1e6


def _row(
    visit: Visit,
    number: int,
    record: Interaction | None,
    queue_names: Mapping[str, str],
    agent_names: Mapping[str, str],
) -> KpiContactVisit:
    handle = visit.talk_us + visit.hold_us + visit.wrap_us
    return KpiContactVisit(
        contact_id=visit.contact_id,
        visit=number,
        channel=visit.channel,
        queue_id=visit.queue_id,
        queue_name=queue_names.get(visit.queue_id),
        customer_id=str(record.customer_id) if record and record.customer_id else None,
        agent_id=visit.agent_id,
        agent_name=agent_names.get(visit.agent_id) if visit.agent_id else None,
        agents=list(record.agent_ids) if record else [],
        offered_at=visit.arrived_at,
        answered_at=from_us(visit.answered_us) if visit.answered_us is not None else None,
        ended_at=from_us(visit.left_us) if visit.left_us is not None else None,
        wait_seconds=_seconds(visit.wait_us) if visit.outcome != "waiting" else None,
        talk_seconds=_seconds(visit.talk_us),
        hold_seconds=_seconds(visit.hold_us),
        wrap_seconds=_seconds(visit.wrap_us),
        handle_seconds=_seconds(handle),
        outcome=visit.outcome,
        abandoned=visit.outcome in ("abandoned", "short_abandoned"),
        disposition=visit.disposition or (record.disposition if record else None),
    )


async def contact_visits(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    queue_id: str | None,
    channel: str | None,
    queues: Collection[str] | None,
    queue_names: Mapping[str, str],
    agent_names: Mapping[str, str],
) -> KpiContactVisits:
    """`queues`: only visits of these queues (a supervisor's); None: every queue."""
    settings = await repo.settings(session, tenant_id)
    zone = ZoneInfo(settings.timezone)
    start, end = check_range(start, end, "day", zone)
    short_abandon_us = seconds_to_us(settings.short_abandon_seconds)
    thresholds = (await repo.load_state(session, [], [])).threshold
    ids = await _arrivals(session, start, end)
    rows: list[KpiContactVisit] = []
    for offset in range(0, len(ids), _CHUNK):
        chunk = ids[offset : offset + _CHUNK]
        records, events = await _records(session, chunk)
        for contact in chunk:
            fold = fold_contact(
                contact,
                events.get(contact, []),
                short_abandon_us=short_abandon_us,
                threshold=thresholds,
            )
            for number, visit in enumerate(fold.visits, start=1):
                if queue_id is not None and visit.queue_id != queue_id:
                    continue
                if channel is not None and visit.channel != channel:
                    continue
                if queues is not None and visit.queue_id not in queues:
                    continue
                rows.append(_row(visit, number, records.get(contact), queue_names, agent_names))
    return KpiContactVisits(
        start=start, end=end, timezone=settings.timezone, limit=MAX_CONTACTS, visits=rows
    )
