"""Today's figures of each queue, pushed on the realtime protocol (docs/kpis.md, "Live").

After the ingester commits a batch, each queue whose rollups of today (or of the last 30
minutes) changed gets one `analytics.queue_figures` event, recorded in a short transaction of
its own and read after the rollups it describes were committed: a snapshot's `analytics`
section (read from the rollups in the transaction that reads its last event id) plus the events
after it equals a fresh snapshot once that event is in (docs/adr/0025). The audience is the
queue's, exactly as routing gives its queue events (`Routing.queue_audience`).

Likewise per channel (`analytics.channel_figures`: the queue report's figures for the channel
over every queue; to admins only) and per team (`analytics.team_figures`: the agents report's
total over the team's members of now; to the team's supervisors and admins; every team is
in the snapshot, and a membership change pushes the team's figures).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import agents, service
from omnidesk.analytics import repository as repo
from omnidesk.analytics.models import (
    AgentStateInterval,
    IngestCursor,
    KpiSettings,
    QueueInterval,
)
from omnidesk.analytics.schemas import KpiAgentInterval, KpiQueueInterval, KpiQueueReport
from omnidesk.directory.models import Team
from omnidesk.platform.database import utcnow
from omnidesk.platform.events import Audience, DomainEvent, event_type
from omnidesk.platform.uow import UnitOfWork

QUARTER = timedelta(minutes=15)


@event_type("analytics.queue_figures", subject="queue")
class QueueFigures(DomainEvent):
    """A queue's figures as of now, whole: a client replaces what it had for the queue. `today`
    is the tenant's day (as `GET /analytics/queues` without a range gives it); `last_30m` the
    current 15-minute interval and the one before; `current` the current one alone (when the
    next quarter begins with nothing new, `current` is the new last 30 minutes)."""

    queue_id: str
    timezone: str
    today: KpiQueueInterval
    last_30m: KpiQueueInterval
    current: KpiQueueInterval

    def subject_id(self) -> str:
        return self.queue_id


@event_type("analytics.agent_figures", subject="agent")
class AgentFigures(DomainEvent):
    """An agent's figures of the tenant's day as of now, whole (the agents report's `total`
    for today): what they handled, their handle time and occupancy, their time per state."""

    agent_id: str
    timezone: str
    today: KpiAgentInterval

    def subject_id(self) -> str:
        return self.agent_id


@event_type("analytics.channel_figures", subject="channel")
class ChannelFigures(DomainEvent):
    """A channel's figures as of now, whole, as a queue's: the queue report with `channel`
    and no queue (every queue's contacts on that channel). Admins only: a supervisor sees some
    queues, and a channel's figures over the queues they see would be another event for each
    set of visible queues; they read their queues' channel figures from the report."""

    channel: str
    timezone: str
    today: KpiQueueInterval
    last_30m: KpiQueueInterval
    current: KpiQueueInterval

    def subject_id(self) -> str:
        return self.channel


@event_type("analytics.team_figures", subject="team")
class TeamFigures(DomainEvent):
    """A team's figures of the tenant's day as of now, whole: the `total` of the agents report
    of today for the team's members of now (`GET /analytics/agents?team_id=`)."""

    team_id: str
    timezone: str
    today: KpiAgentInterval

    def subject_id(self) -> str:
        return self.team_id


class Window:
    """The ranges the figures cover at `now` in the tenant's zone."""

    def __init__(self, now: datetime, zone: ZoneInfo) -> None:
        self.zone = zone
        local = now.astimezone(zone)
        self.day_start = datetime.combine(local.date(), time(), tzinfo=zone).astimezone(UTC)
        self.day_end = datetime.combine(
            local.date() + timedelta(days=1), time(), tzinfo=zone
        ).astimezone(UTC)
        utc = now.astimezone(UTC)
        self.quarter = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
        # The earliest interval whose change changes a figure (after midnight, the last 30
        # minutes reach into yesterday).
        self.earliest = min(self.day_start, self.quarter - QUARTER)


async def window(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> Window:
    settings = await repo.settings(session, tenant_id)
    return Window(now, ZoneInfo(settings.timezone))


async def _queue_reports(
    session: AsyncSession, tenant_id: uuid.UUID, at: Window, queue_id: str | None,
    channel: str | None,
) -> tuple[KpiQueueReport, KpiQueueReport]:  # fmt: skip
    """The queue report of today and of the last 30 minutes (by 15 minutes)."""
    day = await service.queue_report(
        session, tenant_id, start=at.day_start, end=at.day_end, interval="day",
        queue_id=queue_id, channel=channel,
    )  # fmt: skip
    recent = await service.queue_report(
        session, tenant_id, start=at.quarter - QUARTER, end=at.quarter + QUARTER,
        interval="15m", queue_id=queue_id, channel=channel,
    )  # fmt: skip
    return day, recent


async def figures(
    session: AsyncSession, tenant_id: uuid.UUID, queue_id: str, at: Window
) -> QueueFigures:
    """The queue's figures, read from the rollups with the reports' own code."""
    day, recent = await _queue_reports(session, tenant_id, at, queue_id, None)
    return QueueFigures(
        queue_id=queue_id,
        timezone=day.timezone,
        today=day.total,
        last_30m=recent.total,
        current=recent.intervals[-1],
    )


async def channel_figures(
    session: AsyncSession, tenant_id: uuid.UUID, channel: str, at: Window
) -> ChannelFigures:
    """The channel's figures over every queue, with the queue report's own code."""
    day, recent = await _queue_reports(session, tenant_id, at, None, channel)
    return ChannelFigures(
        channel=channel,
        timezone=day.timezone,
        today=day.total,
        last_30m=recent.total,
        current=recent.intervals[-1],
    )


async def team_figures(
    session: AsyncSession, tenant_id: uuid.UUID, team_ids: Iterable[str], at: Window
) -> list[TeamFigures]:
    """The teams' figures of today: the agents report's total over each team's members of
    now (`GET /analytics/agents?team_id=`), read once for all their members. None before
    the ingester's first batch of the tenant (`begun`)."""
    settings = await session.scalar(select(KpiSettings))
    if settings is None or not await begun(session):
        return []
    members = await agents.team_agents(session, sorted(set(team_ids)))
    totals = await agents.team_totals(
        session, tenant_id, start=at.day_start, end=at.day_end, zone=at.zone, teams=members
    )
    return [
        TeamFigures(team_id=team, timezone=settings.timezone, today=today)
        for team, today in sorted(totals.items())
    ]


async def agent_figures(
    session: AsyncSession, tenant_id: uuid.UUID, agent_ids: Iterable[str], at: Window
) -> list[AgentFigures]:
    """The agents' figures of today, read with the agents report's own code in one report for
    all of them (each with its own CSAT, FCR and adherence reads: not one report per agent).
    An agent with nothing counted today has none."""
    wanted = sorted(set(agent_ids))
    if not wanted:
        return []
    day = await agents.agent_report(
        session, tenant_id, start=at.day_start, end=at.day_end, interval="day",
        agent_id=None, agents=wanted,
    )  # fmt: skip
    return [
        AgentFigures(agent_id=a.agent_id, timezone=day.timezone, today=a.total)
        for a in day.agents
        if a.agent_id in wanted
    ]


def changed_queues(intervals: Iterable[tuple[datetime, str]], at: Window) -> list[str]:
    """The queues of (interval start, queue) increments that change a figure shown now."""
    return sorted({queue for start, queue in intervals if _aware(start) >= at.earliest})


def changed_channels(intervals: Iterable[tuple[datetime, str]], at: Window) -> list[str]:
    """The channels of (interval start, channel) increments that change a figure shown now."""
    return changed_queues(intervals, at)


def changed_agents(intervals: Iterable[tuple[datetime, str]], at: Window) -> list[str]:
    """The agents of (interval start, agent) increments that change their figures of today."""
    return sorted({agent for start, agent in intervals if _aware(start) >= at.day_start})


async def current(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> list[QueueFigures]:
    """The figures of every queue with rollups since `Window.earliest`: exactly the queues an
    event can have been published for since then."""
    if await session.scalar(select(KpiSettings.id)) is None:
        # Nothing ingested yet (the ingester creates the row before its first rollup); and a
        # snapshot's read-only transaction must not create it.
        return []
    at = await window(session, tenant_id, now)
    stmt = select(QueueInterval.queue_id).distinct()
    stmt = stmt.where(QueueInterval.interval_start >= at.earliest)
    queues = sorted(await session.scalars(stmt))
    return [await figures(session, tenant_id, q, at) for q in queues]


async def current_agents(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime
) -> list[AgentFigures]:
    """The figures of every agent with rollups today: exactly the agents an event can have
    been published for today."""
    if await session.scalar(select(KpiSettings.id)) is None:
        return []
    at = await window(session, tenant_id, now)
    worked = select(QueueInterval.agent_id).where(
        QueueInterval.interval_start >= at.day_start, QueueInterval.agent_id != ""
    )
    states = select(AgentStateInterval.agent_id).where(
        AgentStateInterval.interval_start >= at.day_start
    )
    agents = sorted(set(await session.scalars(worked.distinct())) | set(
        await session.scalars(states.distinct())
    ))  # fmt: skip
    return await agent_figures(session, tenant_id, agents, at)


async def current_channels(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime
) -> list[ChannelFigures]:
    """The figures of every channel with rollups since `Window.earliest` (as `current`)."""
    if await session.scalar(select(KpiSettings.id)) is None:
        return []
    at = await window(session, tenant_id, now)
    stmt = select(QueueInterval.channel).distinct()
    stmt = stmt.where(QueueInterval.interval_start >= at.earliest)
    return [
        await channel_figures(session, tenant_id, c, at)
        for c in sorted(await session.scalars(stmt))
    ]


async def current_teams(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime
) -> list[TeamFigures]:
    """The figures of every team of the tenant (a team with nothing today: zeros), once the
    ingester has begun (its first batch of the tenant pushes every team's). A team's figures
    change with its members' figures and with its members (each pushes it), so every team is
    in every snapshot and a client's entry of a team never goes stale; a deleted team's entry
    is dropped by the client on `team.deleted`."""
    if await session.scalar(select(KpiSettings.id)) is None or not await begun(session):
        return []
    at = await window(session, tenant_id, now)
    return await team_figures(session, tenant_id, await all_teams(session), at)


async def begun(session: AsyncSession) -> bool:
    """Whether the ingester has applied a batch of the tenant's (since its last rebuild)."""
    return bool(await session.scalar(select(IngestCursor.last_seq)))


async def all_teams(session: AsyncSession) -> list[str]:
    return sorted(str(t) for t in await session.scalars(select(Team.id)))


async def section(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """The snapshot's `analytics` section."""
    found = await current(session, tenant_id, now)
    channels = await current_channels(session, tenant_id, now)
    agents = await current_agents(session, tenant_id, now)
    teams = await current_teams(session, tenant_id, now)
    return {
        "queues": {f.queue_id: f.model_dump(mode="json") for f in found},
        "channels": {f.channel: f.model_dump(mode="json") for f in channels},
        "agents": {f.agent_id: f.model_dump(mode="json") for f in agents},
        "teams": {f.team_id: f.model_dump(mode="json") for f in teams},
    }


def empty_section() -> dict[str, Any]:
    return {"queues": {}, "channels": {}, "agents": {}, "teams": {}}


# A channel's figures: admins only (ChannelFigures says why).
CHANNEL_AUDIENCE = Audience()


def team_audience(team_id: str) -> Audience:
    """Who receives a team's figures: its supervisors (and admins)."""
    try:
        return Audience.of(teams=[uuid.UUID(team_id)])
    except ValueError:
        return Audience()


def agent_audience(teams_of: Audience) -> Audience:
    """Who receives an agent's figures: the supervisors of the agent's teams (and admins), from
    routing's audience of the agent without the agent: agents read no reports."""
    return Audience.of(teams=teams_of.teams)


async def record_all(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    audience: Callable[[uuid.UUID, str], Audience],
    agents_audience: Callable[[uuid.UUID, str], Audience],
) -> None:
    """Every queue's, channel's, agent's and team's figures as events of `uow` (after a
    settings change: all of them moved)."""
    await uow.session.flush()
    now = utcnow()
    for found in await current(uow.session, tenant_id, now):
        uow.record(found, audience(tenant_id, found.queue_id))
    for channel in await current_channels(uow.session, tenant_id, now):
        uow.record(channel, CHANNEL_AUDIENCE)
    for agent in await current_agents(uow.session, tenant_id, now):
        uow.record(agent, agent_audience(agents_audience(tenant_id, agent.agent_id)))
    for team in await current_teams(uow.session, tenant_id, now):
        uow.record(team, team_audience(team.team_id))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
