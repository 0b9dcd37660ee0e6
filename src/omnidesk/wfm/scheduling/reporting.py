"""Adherence per agent and report interval, for the analytics agent report (docs/kpis.md,
"Agent performance"). Never commits.

The figures are wfm's own (adherence.py, docs/wfm.md "Adherence"): the default grace and break
reasons, the agent's state changes from the event log as the adherence endpoint reads them. One
adherence run covers the agent's whole report range, so whether a run of mismatch is forgiven
(no longer than the grace) is decided on the whole run, not on the part of it inside one
interval; each interval then gets its scheduled time and the time of the kept out-of-adherence
runs that lies in it. So the intervals' seconds add up exactly to the range's.

Which schedule holds at an instant: the newest published schedule the agent is in whose horizon
(from 00:00 UTC of its first day, `days` long, as the solver and the adherence endpoint read
it) contains the instant. A schedule published again for the same days replaces the older one
there, also where the new one gives the agent no shift.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.wfm.scheduling.adherence import ScheduledSpan, adherence, scheduled_spans
from omnidesk.wfm.scheduling.models import Schedule, ScheduleAgent, ScheduleShift
from omnidesk.wfm.scheduling.service import shift_of, state_changes

ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class IntervalAdherence:
    scheduled: timedelta  # scheduled working + break, up to now
    in_adherence: timedelta  # grace applied

    @property
    def adherence(self) -> float | None:
        return self.in_adherence / self.scheduled if self.scheduled else None


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> timedelta:
    return max(ZERO, min(a1, b1) - max(a0, b0))


def _horizon(row: Schedule) -> tuple[datetime, datetime]:
    start = datetime(
        row.horizon_start.year, row.horizon_start.month, row.horizon_start.day, tzinfo=UTC
    )
    return start, start + timedelta(days=row.days)


def _uuids(ids: Collection[str]) -> list[uuid.UUID]:
    out = []
    for value in ids:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue  # not a user (an agent id of another system): has no schedule
    return out


async def _governing_spans(
    session: AsyncSession, user_id: uuid.UUID, schedules: Sequence[Schedule]
) -> list[ScheduledSpan]:
    """The agent's scheduled spans, each instant from the newest schedule covering it."""
    covered: list[tuple[datetime, datetime]] = []
    spans: list[ScheduledSpan] = []
    for row in sorted(schedules, key=lambda r: (r.created_at, str(r.id)), reverse=True):
        h0, h1 = _horizon(row)
        free = [(h0, h1)]
        for c0, c1 in covered:  # the horizon minus what newer schedules already cover
            free = [
                piece
                for f0, f1 in free
                for piece in ((f0, min(f1, c0)), (max(f0, c1), f1))
                if piece[0] < piece[1]
            ]
        covered.append((h0, h1))
        shifts = await session.scalars(
            select(ScheduleShift).where(
                ScheduleShift.schedule_id == row.id, ScheduleShift.user_id == user_id
            )
        )
        for span in scheduled_spans(shift_of(s) for s in shifts):
            for f0, f1 in free:
                s0, s1 = max(span.start, f0), min(span.end, f1)
                if s0 < s1:
                    spans.append(ScheduledSpan(s0, s1, span.activity))
    return sorted(spans, key=lambda s: s.start)


async def adherence_by_interval(
    session: AsyncSession,
    edges: Sequence[datetime],
    *,
    agents: Collection[str] | None,
    now: datetime,
) -> dict[str, list[IntervalAdherence]]:
    """Per agent (as a string id) with a schedule whose horizon overlaps [edges[0], edges[-1]):
    the adherence in each interval [edges[i], edges[i+1]), never past `now` (the
    future has no states yet). `agents`: only these; None: every agent."""
    start, end = edges[0], edges[-1]
    stmt = (
        select(ScheduleAgent.user_id, Schedule)
        .join(Schedule, Schedule.id == ScheduleAgent.schedule_id)
        .where(Schedule.horizon_start <= end.date())
    )
    if agents is not None:
        stmt = stmt.where(ScheduleAgent.user_id.in_(_uuids(agents)))
    by_agent: dict[uuid.UUID, list[Schedule]] = {}
    for user_id, row in await session.execute(stmt):
        h0, h1 = _horizon(row)
        if h0 < end and h1 > start:
            by_agent.setdefault(user_id, []).append(row)
    cut = min(end, now)
    result: dict[str, list[IntervalAdherence]] = {}
    for user_id, schedules in sorted(by_agent.items(), key=lambda item: str(item[0])):
        spans = [s for s in await _governing_spans(session, user_id, schedules) if s.end > start]
        out: list[tuple[datetime, datetime]] = []
        if cut > start:
            changes = await state_changes(session, user_id, start, cut)
            report = adherence(spans, changes, start, cut)
            out = [(run.start, run.end) for run in report.spans]
        intervals = []
        for i0, edge in pairwise(edges):
            i1 = min(edge, cut)
            planned = sum((_overlap(s.start, s.end, i0, i1) for s in spans), ZERO)
            missed = sum((_overlap(r0, r1, i0, i1) for r0, r1 in out), ZERO)
            intervals.append(IntervalAdherence(planned, planned - missed))
        result[str(user_id)] = intervals
    return result
