"""Scheduling use cases: profiles, publishing schedules, reading them, adherence. Never commits.

Who may do what: admins everything in their tenant; supervisors manage and read the agents they
may see (their teams, as in the directory); agents read only their own profile, schedule and
adherence. Users the caller may not see are "not found", like everywhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory import repository as directory
from omnidesk.directory.models import User
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import DomainError, Forbidden, Invalid, NotFound
from omnidesk.platform.eventlog import EventRecord
from omnidesk.platform.events import Audience
from omnidesk.platform.uow import UnitOfWork
from omnidesk.wfm.scheduling.adherence import StateChange, scheduled_spans
from omnidesk.wfm.scheduling.adherence import adherence as adherence_report
from omnidesk.wfm.scheduling.errors import (
    NoScheduleFound,
    SchedulingError,
    SchedulingInfeasible,
    SchedulingInputError,
)
from omnidesk.wfm.scheduling.events import SchedulePublished
from omnidesk.wfm.scheduling.inputs import Problem, validate, zone
from omnidesk.wfm.scheduling.models import AgentProfile, Schedule, ScheduleAgent, ScheduleShift
from omnidesk.wfm.scheduling.result import Schedule as Solved
from omnidesk.wfm.scheduling.result import ScheduledBreak, ScheduledShift, iso
from omnidesk.wfm.scheduling.schemas import (
    ProfileIn,
    RulesIn,
    ScheduleIn,
    agent_of,
    horizon_of,
    requirement_of,
    rules_dict,
    split_field,
    templates_of,
    weights_of,
)

STATE_EVENT = "routing.agent_state_changed"
# Engine timers record their events at the next tick after they fire (a second or so later);
# events recorded up to this long after the window can still belong to it.
EVENT_SLACK = timedelta(hours=1)


class ScheduleInfeasible(DomainError):
    status = 422
    code = "schedule_infeasible"
    title = "Schedule infeasible"


class NoScheduleInTime(DomainError):
    status = 422
    code = "no_schedule_found"
    title = "No schedule found in time"


def require_staff(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise Forbidden("this action needs the supervisor or admin role")


def domain_error(exc: SchedulingError, users: Sequence[User] = ()) -> DomainError:
    """The scheduler's errors as HTTP problems; agent indexes also name the user."""
    extra: dict[str, Any] = {"field": exc.field}
    where = split_field(exc.field)
    if where is not None and where[0] < len(users):
        extra["user_id"] = str(users[where[0]].id)
    if isinstance(exc, SchedulingInfeasible):
        return ScheduleInfeasible(f"{exc.field}: {exc.message}", **extra)
    if isinstance(exc, NoScheduleFound):
        return NoScheduleInTime(f"{exc.field}: {exc.message}", **extra)
    return Invalid(f"{exc.field}: {exc.message}", **extra)


# --- profiles -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effective:
    timezone: str
    timezone_from: str  # routing | profile | user
    skills: list[str]
    skills_from: str  # routing | profile | none


def effective(
    user: User, profile: AgentProfile | None, routing: Mapping[str, Any] | None
) -> Effective:
    """Skills and time zone from the routing profile where it has them, else the scheduling
    profile, else (time zone) the user's own."""
    routing_skills = sorted((routing or {}).get("skills") or {})
    if routing_skills:
        skills, skills_from = routing_skills, "routing"
    elif profile is not None and profile.skills:
        skills, skills_from = sorted(profile.skills), "profile"
    else:
        skills, skills_from = [], "none"
    if routing and routing.get("timezone"):
        tz, tz_from = str(routing["timezone"]), "routing"
    elif profile is not None and profile.timezone:
        tz, tz_from = profile.timezone, "profile"
    else:
        tz, tz_from = user.timezone, "user"
    return Effective(tz, tz_from, skills, skills_from)


def _profile_view(
    user: User, profile: AgentProfile, routing: Mapping[str, Any] | None
) -> dict[str, Any]:
    eff = effective(user, profile, routing)
    return {
        "user_id": str(user.id),
        "timezone": profile.timezone,
        "skills": profile.skills,
        **profile.rules,
        "effective": {
            "timezone": eff.timezone,
            "timezone_from": eff.timezone_from,
            "skills": eff.skills,
            "skills_from": eff.skills_from,
        },
        "updated_at": profile.updated_at.isoformat(),
    }


async def _profile(session: AsyncSession, user_id: uuid.UUID) -> AgentProfile | None:
    return await session.scalar(select(AgentProfile).where(AgentProfile.user_id == user_id))


async def get_profile(
    session: AsyncSession,
    by: Principal,
    user_id: uuid.UUID,
    routing: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    user = await directory.get_user(session, by, user_id)
    profile = await _profile(session, user_id)
    if profile is None:
        raise NotFound(f"user {user_id} has no scheduling profile")
    return _profile_view(user, profile, routing.get(str(user_id)))


async def put_profile(
    uow: UnitOfWork,
    by: Principal,
    user_id: uuid.UUID,
    data: ProfileIn,
    routing: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    require_staff(by)
    user = await directory.get_user(uow.session, by, user_id)
    profile = await _profile(uow.session, user_id)
    rules = rules_dict(data)
    if profile is None:
        profile = AgentProfile(user_id=user.id, rules=rules)
        uow.session.add(profile)
    profile.timezone = data.timezone
    profile.skills = None if data.skills is None else sorted(set(data.skills))
    profile.rules = rules
    profile.updated_by = by.user_id
    await uow.session.flush()
    audit(uow, by, "wfm.profile.set", "user", user.id, **rules)
    return _profile_view(user, profile, routing.get(str(user_id)))


# --- publishing -----------------------------------------------------------------------------


@dataclass
class Planned:
    """A schedule request made ready for the solver (read in one short transaction)."""

    problem: Problem
    users: list[User]
    skills: list[list[str]]


async def plan(
    session: AsyncSession,
    by: Principal,
    body: ScheduleIn,
    routing: Mapping[str, Mapping[str, Any]],
) -> Planned:
    require_staff(by)
    if body.agents is None:
        visible = {u.id: u for u in await directory.list_users(session, by) if u.active}
        rows = (await session.scalars(select(AgentProfile))).all()
        pairs = sorted(
            ((visible[p.user_id], p) for p in rows if p.user_id in visible),
            key=lambda pair: pair[0].username,
        )
        if not pairs:
            raise Invalid(
                "agents: nobody has a scheduling profile yet (PUT /wfm/agents/{user_id}/profile)",
                field="agents",
            )
    else:
        pairs = []
        seen: set[uuid.UUID] = set()
        for i, user_id in enumerate(body.agents):
            if user_id in seen:
                raise Invalid(f"agents.{i}: user {user_id} is listed twice", field=f"agents.{i}")
            seen.add(user_id)
            user = await directory.get_user(session, by, user_id)
            profile = await _profile(session, user_id)
            if profile is None:
                raise Invalid(
                    f"agents.{i}: user {user_id} has no scheduling profile", field=f"agents.{i}"
                )
            pairs.append((user, profile))
    users = [user for user, _ in pairs]
    try:
        horizon = horizon_of(body.horizon)
        specs, skills = [], []
        for i, (user, profile) in enumerate(pairs):
            eff = effective(user, profile, routing.get(str(user.id)))
            rules = RulesIn.model_validate(profile.rules)
            specs.append(agent_of(str(user.id), eff.timezone, eff.skills, rules, f"agents.{i}"))
            skills.append(eff.skills)
        problem = Problem(
            horizon,
            requirement_of(body.requirement, horizon),
            templates_of(body.shift_templates),
            tuple(specs),
            weights_of(body.weights),
        )
        validate(problem)
    except SchedulingInputError as exc:
        raise domain_error(exc, users) from None
    return Planned(problem, users, skills)


async def publish(
    uow: UnitOfWork, by: Principal, body: ScheduleIn, planned: Planned, solved: Solved
) -> Schedule:
    p = planned.problem
    row = Schedule(
        id=uuid.uuid4(),
        name=body.name or f"{p.horizon.start.isoformat()} +{p.horizon.days}d",
        horizon_start=p.horizon.start,
        days=p.horizon.days,
        interval_minutes=p.horizon.interval_minutes,
        status=solved.status,
        objective=solved.objective,
        best_bound=solved.best_bound,
        wall_seconds=solved.wall_seconds,
        summary=solved.summary(),
        coverage=solved.coverage_dict(),
        inputs={
            "requirement": {g: list(v) for g, v in p.requirement.items()},
            "shift_templates": [
                t.model_dump(mode="json", by_alias=True) for t in body.shift_templates
            ],
            "weights": body.weights.model_dump(),
            "time_limit_seconds": body.time_limit_seconds,
        },
        created_by=by.user_id,
    )
    uow.session.add(row)
    await uow.session.flush()
    shifts = 0
    for user, skills, out in zip(planned.users, planned.skills, solved.agents, strict=True):
        uow.session.add(
            ScheduleAgent(
                schedule_id=row.id,
                user_id=user.id,
                timezone=out.timezone,
                skills=skills,
                paid_minutes_by_week=list(out.paid_minutes_by_week),
                target_minutes_by_week=list(out.target_minutes_by_week),
            )
        )
        for shift in out.shifts:
            shifts += 1
            uow.session.add(
                ScheduleShift(
                    schedule_id=row.id,
                    user_id=user.id,
                    template=shift.template,
                    start_at=shift.start,
                    end_at=shift.end,
                    breaks=[b.to_dict() for b in shift.breaks],
                    paid_minutes=shift.paid_minutes,
                )
            )
    await uow.session.flush()
    agent_ids = [u.id for u in planned.users]
    uow.record(
        SchedulePublished(
            schedule_id=row.id,
            name=row.name,
            horizon_start=row.horizon_start,
            days=row.days,
            interval_minutes=row.interval_minutes,
            status=row.status,
            agent_ids=agent_ids,
            shifts=shifts,
            under_minutes=solved.under_minutes,
            over_minutes=solved.over_minutes,
        ),
        Audience.of(
            users=agent_ids, teams={m.team_id for u in planned.users for m in u.memberships}
        ),
    )
    audit(
        uow,
        by,
        "wfm.schedule.create",
        "schedule",
        row.id,
        name=row.name,
        agents=len(agent_ids),
        shifts=shifts,
        status=row.status,
    )
    return row


# --- reading --------------------------------------------------------------------------------


def shift_of(row: ScheduleShift) -> ScheduledShift:
    return ScheduledShift(
        row.template,
        row.start_at,
        row.end_at,
        tuple(
            ScheduledBreak(
                datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"]), b["paid"]
            )
            for b in row.breaks
        ),
        row.paid_minutes,
    )


def _summary(row: Schedule, agents: int) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "created_at": row.created_at.isoformat(),
        "created_by": str(row.created_by) if row.created_by else None,
        "horizon": {
            "start": row.horizon_start.isoformat(),
            "days": row.days,
            "interval_minutes": row.interval_minutes,
        },
        "status": row.status,
        "objective": row.objective,
        "best_bound": row.best_bound,
        "wall_seconds": row.wall_seconds,
        "agents": agents,
        "under_minutes": row.summary.get("under_minutes"),
        "over_minutes": row.summary.get("over_minutes"),
    }


async def list_schedules(session: AsyncSession, by: Principal, limit: int) -> list[dict[str, Any]]:
    stmt = select(Schedule).order_by(Schedule.created_at.desc(), Schedule.id).limit(limit)
    if by.role is Role.AGENT:
        mine = select(ScheduleAgent.schedule_id).where(ScheduleAgent.user_id == by.user_id)
        stmt = stmt.where(Schedule.id.in_(mine))
    rows = (await session.scalars(stmt)).all()
    counts = dict(
        (
            await session.execute(
                select(ScheduleAgent.schedule_id, func.count())
                .where(ScheduleAgent.schedule_id.in_([r.id for r in rows]))
                .group_by(ScheduleAgent.schedule_id)
            )
        ).all()
    )
    return [_summary(r, counts.get(r.id, 0)) for r in rows]


async def _schedule(session: AsyncSession, by: Principal, schedule_id: uuid.UUID) -> Schedule:
    row = await session.scalar(select(Schedule).where(Schedule.id == schedule_id))
    if row is not None and by.role is Role.AGENT:
        member = await session.scalar(
            select(ScheduleAgent.user_id).where(
                ScheduleAgent.schedule_id == schedule_id, ScheduleAgent.user_id == by.user_id
            )
        )
        row = row if member is not None else None
    if row is None:
        raise NotFound(f"schedule {schedule_id} not found")
    return row


def _render(tz: ZoneInfo | None, shifts: Sequence[ScheduleShift]) -> list[dict[str, Any]]:
    return [shift_of(s).to_dict(tz) for s in sorted(shifts, key=lambda s: s.start_at)]


async def get_schedule(
    session: AsyncSession, by: Principal, schedule_id: uuid.UUID, *, local: bool
) -> dict[str, Any]:
    """The schedule as the caller may see it: admins everything, supervisors the agents they
    see, agents their own shifts only (and no coverage)."""
    row = await _schedule(session, by, schedule_id)
    members = (
        await session.scalars(select(ScheduleAgent).where(ScheduleAgent.schedule_id == row.id))
    ).all()
    visible = {u.id for u in await directory.list_users(session, by)}
    shifts = (
        await session.scalars(select(ScheduleShift).where(ScheduleShift.schedule_id == row.id))
    ).all()
    agents = []
    for m in sorted(members, key=lambda m: str(m.user_id)):
        if m.user_id not in visible:
            continue
        agents.append(
            {
                "user_id": str(m.user_id),
                "timezone": m.timezone,
                "skills": m.skills,
                "paid_minutes_by_week": m.paid_minutes_by_week,
                "target_minutes_by_week": m.target_minutes_by_week,
                "shifts": _render(
                    ZoneInfo(m.timezone) if local else None,
                    [s for s in shifts if s.user_id == m.user_id],
                ),
            }
        )
    view = {**_summary(row, len(members)), "summary": row.summary, "agents": agents}
    if by.role is not Role.AGENT:
        view["coverage"] = row.coverage
    return view


async def _member(
    session: AsyncSession, by: Principal, schedule: Schedule, user_id: uuid.UUID
) -> ScheduleAgent:
    await directory.get_user(session, by, user_id)
    member = await session.scalar(
        select(ScheduleAgent).where(
            ScheduleAgent.schedule_id == schedule.id, ScheduleAgent.user_id == user_id
        )
    )
    if member is None:
        raise NotFound(f"user {user_id} is not in schedule {schedule.id}")
    return member


async def _shifts_of(
    session: AsyncSession, schedule_id: uuid.UUID, user_id: uuid.UUID
) -> list[ScheduleShift]:
    rows = await session.scalars(
        select(ScheduleShift)
        .where(ScheduleShift.schedule_id == schedule_id, ScheduleShift.user_id == user_id)
        .order_by(ScheduleShift.start_at)
    )
    return list(rows.all())


async def agent_schedule(
    session: AsyncSession, by: Principal, schedule_id: uuid.UUID, user_id: uuid.UUID, tz: str
) -> dict[str, Any]:
    """One agent's shifts, in UTC (`utc`), their own zone (`local`) or any IANA zone."""
    row = await _schedule(session, by, schedule_id)
    member = await _member(session, by, row, user_id)
    if tz == "utc":
        name, zone_info = "UTC", None
    else:
        name = member.timezone if tz == "local" else tz
        try:
            zone_info = zone(name, "tz")
        except SchedulingInputError:
            raise Invalid(
                f"tz: use 'utc', 'local' or an IANA time zone name, not {tz!r}", field="tz"
            ) from None
    return {
        "schedule_id": str(row.id),
        "user_id": str(user_id),
        "timezone": name,
        "agent_timezone": member.timezone,
        "paid_minutes_by_week": member.paid_minutes_by_week,
        "target_minutes_by_week": member.target_minutes_by_week,
        "shifts": _render(zone_info, await _shifts_of(session, row.id, user_id)),
    }


# --- adherence ------------------------------------------------------------------------------


async def state_changes(
    session: AsyncSession, user_id: uuid.UUID, start: datetime, end: datetime
) -> list[StateChange]:
    mine = (
        EventRecord.type == STATE_EVENT,
        EventRecord.subject_type == "agent",
        EventRecord.subject_id == str(user_id),
    )
    before = await session.scalar(
        select(EventRecord)
        .where(*mine, EventRecord.occurred_at < start)
        .order_by(EventRecord.seq.desc())
        .limit(1)
    )
    during = await session.scalars(
        select(EventRecord)
        .where(*mine, EventRecord.occurred_at >= start, EventRecord.occurred_at < end + EVENT_SLACK)
        .order_by(EventRecord.seq)
    )
    rows = ([before] if before is not None else []) + list(during.all())
    return [
        StateChange(
            datetime.fromisoformat(r.payload["at"]), r.payload["state"], r.payload.get("reason")
        )
        for r in rows
    ]


async def adherence(
    session: AsyncSession,
    by: Principal,
    *,
    schedule_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    grace_seconds: float,
    now: datetime,
) -> dict[str, Any]:
    """Adherence of one user (default: the caller) against a schedule (default: the newest one
    they are in) over [start, end] (default: its horizon), never past `now`."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{name}: give a time zone, e.g. 2026-03-23T08:00:00Z", field=name)
    user_id = user_id or by.user_id
    await directory.get_user(session, by, user_id)
    if schedule_id is None:
        schedule_id = await session.scalar(
            select(Schedule.id)
            .join(ScheduleAgent, ScheduleAgent.schedule_id == Schedule.id)
            .where(ScheduleAgent.user_id == user_id)
            .order_by(Schedule.created_at.desc())
            .limit(1)
        )
        if schedule_id is None:
            return {"schedule_id": None, "user_id": str(user_id), "report": None}
    row = await _schedule(session, by, schedule_id)
    await _member(session, by, row, user_id)
    horizon_start = datetime(
        row.horizon_start.year, row.horizon_start.month, row.horizon_start.day, tzinfo=UTC
    )
    window_start = start or horizon_start
    window_end = min(end or horizon_start + timedelta(days=row.days), now)
    if window_end <= window_start:
        field = "end" if end is not None and end <= window_start else "start"
        raise Invalid(
            f"{field}: the window [{iso(window_start)}, {iso(window_end)}) is empty "
            f"(it is cut at the current time)",
            field=field,
        )
    shifts = [shift_of(s) for s in await _shifts_of(session, row.id, user_id)]
    changes = await state_changes(session, user_id, window_start, window_end)
    report = adherence_report(
        scheduled_spans(shifts),
        changes,
        window_start,
        window_end,
        grace=timedelta(seconds=grace_seconds),
    )
    return {"schedule_id": str(row.id), "user_id": str(user_id), "report": report.to_dict()}
