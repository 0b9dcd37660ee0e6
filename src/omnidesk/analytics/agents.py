"""The agent report (docs/kpis.md, "Agent reports" and "Agent performance"): per agent and
interval, the contacts they answered and their state time from the rollups, and beside them
CSAT from survey answers, the quality score from supervisors' evaluations, FCR from the CRM's
records and adherence to their published schedule.

Each source keeps its own rule of when a figure counts: handled contacts by the visit's arrival
(as the queue report), CSAT, quality and FCR by the contact's end (as the survey results and
the FCR report), adherence by the instant. Each is computed by its domain's own code (surveys'
answers, quality's evaluations, fcr.py, wfm's adherence); this module only puts them side by
side. None of them is a rollup: `omnidesk kpis rebuild` leaves them as they are.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import kpis
from omnidesk.analytics import repository as repo
from omnidesk.analytics.facts import SUM_FIELDS, Sums
from omnidesk.analytics.fcr import resolved_contacts
from omnidesk.analytics.models import AgentStateInterval, QueueInterval
from omnidesk.analytics.schemas import (
    KpiAgentFigures,
    KpiAgentInterval,
    KpiAgentReport,
    KpiAgentsReport,
    KpiAgentSums,
)
from omnidesk.analytics.service import check_range
from omnidesk.directory.models import TeamMember
from omnidesk.platform.database import utcnow
from omnidesk.qa.results import quality_scores
from omnidesk.surveys.results import csat_scores
from omnidesk.wfm.scheduling.reporting import adherence_by_interval

ZERO = timedelta(0)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


class _AgentBucket:
    def __init__(self) -> None:
        self.work = Sums()
        self.states: dict[str, int] = {}
        self.csat_answers = self.csat_satisfied = 0
        # Scores in hundredths of a percent (each is kept to 2 decimals): integer sums are
        # exact, so the mean does not depend on the order the evaluations are added in.
        self.evaluations = self.quality_hundredths = 0
        self.resolved = self.repeated = self.provisional = 0
        self.scheduled = self.in_adherence = ZERO

    def add(self, other: _AgentBucket) -> None:
        self.work.add(other.work)
        for key, us in other.states.items():
            self.states[key] = self.states.get(key, 0) + us
        self.csat_answers += other.csat_answers
        self.csat_satisfied += other.csat_satisfied
        self.evaluations += other.evaluations
        self.quality_hundredths += other.quality_hundredths
        self.resolved += other.resolved
        self.repeated += other.repeated
        self.provisional += other.provisional
        self.scheduled += other.scheduled
        self.in_adherence += other.in_adherence

    def out(self, start: datetime, end: datetime) -> KpiAgentInterval:
        by_state: dict[str, int] = {}
        for key, us in self.states.items():
            state = key.split(":", 1)[0]
            by_state[state] = by_state.get(state, 0) + us
        first = self.resolved - self.repeated
        return KpiAgentInterval(
            start=start,
            end=end,
            sums=KpiAgentSums(
                handled=self.work.answered,
                talk_seconds=self.work.talk_us / 1e6,
                hold_seconds=self.work.hold_us / 1e6,
                wrap_seconds=self.work.wrap_us / 1e6,
                state_seconds={k: us / 1e6 for k, us in sorted(self.states.items())},
                csat_answers=self.csat_answers,
                csat_satisfied=self.csat_satisfied,
                evaluations=self.evaluations,
                quality_score_sum=self.quality_hundredths / 100,
                fcr_resolved=self.resolved,
                fcr_repeated=self.repeated,
                fcr_first_contact_resolved=first,
                fcr_provisional=self.provisional,
                scheduled_seconds=self.scheduled.total_seconds(),
                in_adherence_seconds=self.in_adherence.total_seconds(),
            ),
            kpis=KpiAgentFigures(
                aht_seconds=kpis.aht_seconds(self.work),
                occupancy=kpis.occupancy(by_state),
                csat=_ratio(self.csat_satisfied, self.csat_answers),
                # Rounded exactly (a Fraction, halves to even), as each score is.
                quality_score=(
                    float(round(Fraction(self.quality_hundredths, self.evaluations * 100), 2))
                    if self.evaluations
                    else None
                ),
                fcr=_ratio(first, self.resolved),
                # timedelta ÷ timedelta: exact integer microseconds, one rounding at the end.
                adherence=self.in_adherence / self.scheduled if self.scheduled else None,
            ),
        )


class _Buckets:
    """Each agent's buckets, one per report interval, made when the agent first shows up."""

    def __init__(self, edges: list[datetime], agents: Collection[str] | None) -> None:
        self.edges = edges
        self.agents = agents
        self.found: dict[str, list[_AgentBucket]] = {}

    def row(self, agent: str) -> list[_AgentBucket]:
        return self.found.setdefault(agent, [_AgentBucket() for _ in self.edges[:-1]])

    def at(self, agent: str, instant: datetime) -> _AgentBucket:
        return self.row(agent)[bisect_right(self.edges, instant) - 1]


async def _work_and_states(session: AsyncSession, buckets: _Buckets, agent_id: str | None) -> None:
    start, end, agents = buckets.edges[0], buckets.edges[-1], buckets.agents
    work = select(
        QueueInterval.agent_id,
        QueueInterval.interval_start,
        *(func.sum(getattr(QueueInterval, n)) for n in SUM_FIELDS),
    ).where(
        QueueInterval.interval_start >= start,
        QueueInterval.interval_start < end,
        QueueInterval.agent_id != "",
    )
    states = select(
        AgentStateInterval.agent_id,
        AgentStateInterval.interval_start,
        AgentStateInterval.state,
        AgentStateInterval.reason,
        func.sum(AgentStateInterval.us),
    ).where(AgentStateInterval.interval_start >= start, AgentStateInterval.interval_start < end)
    if agent_id is not None:
        work = work.where(QueueInterval.agent_id == agent_id)
        states = states.where(AgentStateInterval.agent_id == agent_id)
    if agents is not None:
        work = work.where(QueueInterval.agent_id.in_(sorted(agents)))
        states = states.where(AgentStateInterval.agent_id.in_(sorted(agents)))
    work = work.group_by(QueueInterval.agent_id, QueueInterval.interval_start)
    for row in await session.execute(work):
        buckets.at(row[0], row[1]).work.add(Sums(*(int(v or 0) for v in row[2:])))
    states = states.group_by(
        AgentStateInterval.agent_id,
        AgentStateInterval.interval_start,
        AgentStateInterval.state,
        AgentStateInterval.reason,
    )
    for agent, at, state, reason, us in await session.execute(states):
        key = f"{state}:{reason}" if reason else state
        target = buckets.at(agent, at)
        target.states[key] = target.states.get(key, 0) + int(us or 0)


async def _performance(
    session: AsyncSession, tenant_id: uuid.UUID, buckets: _Buckets, agent_id: str | None
) -> None:
    """CSAT, quality, FCR and adherence into the buckets."""
    start, end = buckets.edges[0], buckets.edges[-1]
    agents = buckets.agents
    if agent_id is not None:
        agents = [agent_id] if agents is None or agent_id in agents else []
    for agent, ended_at, score in await csat_scores(session, start, end, agents):
        target = buckets.at(agent, ended_at)
        target.csat_answers += 1
        target.csat_satisfied += score >= 4
    for agent, ended_at, percent in await quality_scores(session, start, end, agents):
        target = buckets.at(agent, ended_at)
        target.evaluations += 1
        target.quality_hundredths += round(percent * 100)
    for contact in await resolved_contacts(session, tenant_id, start, end):
        if contact.agent_id is None or (agents is not None and contact.agent_id not in agents):
            continue
        target = buckets.at(contact.agent_id, contact.ended_at)
        target.resolved += 1
        target.repeated += contact.repeated
        target.provisional += contact.provisional
    found = await adherence_by_interval(session, buckets.edges, agents=agents, now=utcnow())
    for agent, figures in found.items():
        for target, part in zip(buckets.row(agent), figures, strict=True):
            target.scheduled += part.scheduled
            target.in_adherence += part.in_adherence


async def team_agents(session: AsyncSession, team_ids: Collection[str]) -> dict[str, set[str]]:
    """The members (any role: a supervisor who takes contacts counts too) of each of these
    teams now, by team id; a team without members (or an id that is no team's) has none."""
    wanted = {t: u for t in team_ids if (u := _as_uuid(t)) is not None}
    found: dict[str, set[str]] = {t: set() for t in team_ids}
    if not wanted:
        return found
    stmt = select(TeamMember.team_id, TeamMember.user_id).where(
        TeamMember.team_id.in_(sorted(wanted.values()))
    )
    for team, user in await session.execute(stmt):
        found[str(team)].add(str(user))
    return found


async def teams_of_agents(session: AsyncSession, agent_ids: Collection[str]) -> set[str]:
    """The teams any of these agents is a member of now."""
    users = sorted({u for a in agent_ids if (u := _as_uuid(a)) is not None})
    if not users:
        return set()
    stmt = select(TeamMember.team_id).distinct().where(TeamMember.user_id.in_(users))
    return {str(t) for t in await session.scalars(stmt)}


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def team_totals(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    teams: Mapping[str, Collection[str]],
) -> dict[str, KpiAgentInterval]:
    """Each team's figures over [start, end) (on the grid, UTC): the `total` the agent report
    restricted to the team's members gives (`agent_report(agents=members).total`), read with
    its code once for all the teams' members and added up per team."""
    members = sorted(set().union(*teams.values())) if teams else []
    buckets = _Buckets(kpis.boundaries(start, end, "day", zone), members)
    if members:
        await _work_and_states(session, buckets, None)
        await _performance(session, tenant_id, buckets, None)
    found: dict[str, KpiAgentInterval] = {}
    for team, agent_ids in teams.items():
        total = _AgentBucket()
        for agent in agent_ids:
            for part in buckets.found.get(agent, []):
                total.add(part)
        found[team] = total.out(start, end)
    return found


async def agent_report(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    interval: str,
    agent_id: str | None,
    agents: Collection[str] | None = None,
) -> KpiAgentsReport:
    """Per agent with anything to count in the range: the contacts they answered (handled,
    talk, hold, wrap-up of those visits, by the visit's arrival), their state time, CSAT,
    quality, FCR and adherence. `agents`: only these (a supervisor's); None: every agent."""
    settings = await repo.settings(session, tenant_id)
    zone = ZoneInfo(settings.timezone)
    start, end = check_range(start, end, interval, zone)
    buckets = _Buckets(kpis.boundaries(start, end, interval, zone), agents)
    await _work_and_states(session, buckets, agent_id)
    await _performance(session, tenant_id, buckets, agent_id)
    edges = buckets.edges
    reports = []
    everyone = _AgentBucket()
    for agent in sorted(buckets.found):
        total = _AgentBucket()
        for part in buckets.found[agent]:
            total.add(part)
        everyone.add(total)
        reports.append(
            KpiAgentReport(
                agent_id=agent,
                intervals=[
                    part.out(edges[i], edges[i + 1]) for i, part in enumerate(buckets.found[agent])
                ],
                total=total.out(start, end),
            )
        )
    return KpiAgentsReport(
        start=start,
        end=end,
        interval=interval,
        timezone=settings.timezone,
        agents=reports,
        total=everyone.out(start, end),
    )
