"""Report schedules: supervisors and admins keep them, the scheduler (scheduler.py) sends them.

A supervisor sees and changes the schedules they saved; an admin every schedule. A schedule
may only name what its author could export (a queue or agent of another team: 404, as the
export routes), and the report is built with the visibility of whoever saved it last (the
owner), checked again at each sending.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from omnidesk.analytics import mail_texts, schedules, service
from omnidesk.analytics import repository as repo
from omnidesk.analytics.models import ReportRun, ReportSchedule
from omnidesk.analytics.schemas import (
    Interval,
    KpiReportRunOut,
    KpiReportScheduleIn,
    KpiReportScheduleOut,
)
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork

MAX_SCHEDULES = 200


class ScheduleVersionConflict(Conflict):
    code = "version_conflict"


def timing_of(row: ReportSchedule) -> schedules.Timing:
    return schedules.Timing(
        row.cadence,  # type: ignore[arg-type]
        schedules.parse_at(row.at_time),
        row.weekday,
    )


def check(data: KpiReportScheduleIn) -> None:
    """What the schema cannot say: the filters the report takes, the weekday of a weekly one."""
    if data.report == "agents":
        for name in ("queue_id", "channel"):
            if getattr(data, name) is not None:
                raise Invalid(f"the agent report has no {name} filter", field=name)
    elif data.agent_id is not None:
        raise Invalid(f"the {data.report} report has no agent_id filter", field="agent_id")
    if data.cadence == "weekly" and data.weekday is None:
        raise Invalid("a weekly schedule names its weekday (0 = Monday)", field="weekday")
    if data.cadence != "weekly" and data.weekday is not None:
        raise Invalid("only a weekly schedule has a weekday", field="weekday")
    seen: set[str] = set()
    for index, address in enumerate(data.recipients):
        if address.lower() in seen:
            raise Invalid(f"{address} is named twice", field=f"recipients.{index}")
        seen.add(address.lower())


def check_visible(
    data: KpiReportScheduleIn, queues: frozenset[str] | None, agents: frozenset[str] | None
) -> None:
    """As the export routes: a queue or agent the author may not see is not found."""
    if queues is not None and data.queue_id is not None and data.queue_id not in queues:
        raise NotFound("no such queue", field="queue_id")
    if agents is not None and data.agent_id is not None and data.agent_id not in agents:
        raise NotFound("no such agent", field="agent_id")


def _filters(data: KpiReportScheduleIn) -> dict[str, str]:
    values = {
        "queue_id": data.queue_id,
        "channel": data.channel,
        "agent_id": data.agent_id,
        "interval": data.interval,
    }
    return {k: v for k, v in values.items() if v is not None}


def _apply(row: ReportSchedule, data: KpiReportScheduleIn, by: Principal, now: datetime) -> None:
    timing = (data.cadence, data.weekday, data.at)
    if (row.cadence, row.weekday, row.at_time) != timing:
        # A changed time starts afresh: a due time already past today is not sent again.
        row.active_from = now
    row.name = data.name
    row.report = data.report
    row.filters = _filters(data)
    row.period = data.period
    row.format = data.format
    row.cadence, row.weekday, row.at_time = timing
    row.recipients = list(data.recipients)
    row.sender_address = data.sender_address.lower()
    if data.language is not None:
        row.language = data.language
    elif row.language is None:
        # A new schedule (no tenant-wide language exists to default to): English. On a
        # change, a client that does not know the field keeps the language someone chose.
        row.language = mail_texts.DEFAULT
    row.owner_id = by.user_id
    row.updated_at = now


def run_out(run: ReportRun) -> KpiReportRunOut:
    return KpiReportRunOut(
        id=str(run.id),
        due_at=run.due_at,
        manual=run.manual,
        period_start=run.period_start,
        period_end=run.period_end,
        status=run.status,
        attempts=run.attempts,
        next_attempt_at=run.next_attempt_at,
        reason=run.reason,
        finished_at=run.finished_at,
    )


def out(row: ReportSchedule, zone: ZoneInfo, last: ReportRun | None) -> KpiReportScheduleOut:
    interval: Interval = row.filters.get("interval", "60m")
    return KpiReportScheduleOut(
        id=str(row.id),
        name=row.name,
        report=row.report,
        queue_id=row.filters.get("queue_id"),
        channel=row.filters.get("channel"),
        agent_id=row.filters.get("agent_id"),
        interval=interval,
        period=row.period,
        format=row.format,
        cadence=row.cadence,
        weekday=row.weekday,
        at=row.at_time,
        recipients=list(row.recipients),
        sender_address=row.sender_address,
        language=mail_texts.language_of(row.language),
        owner_id=str(row.owner_id),
        next_due_at=schedules.next_due(timing_of(row), max(utcnow(), row.active_from), zone),
        last_run=run_out(last) if last is not None else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


async def zone_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> ZoneInfo:
    return ZoneInfo((await repo.settings(uow.session, tenant_id)).timezone)


async def last_runs(uow: UnitOfWork, ids: list[uuid.UUID]) -> dict[uuid.UUID, ReportRun]:
    if not ids:
        return {}
    rows = await uow.session.scalars(
        select(ReportRun)
        .where(ReportRun.schedule_id.in_(ids))
        .order_by(ReportRun.created_at.desc(), ReportRun.id)
    )
    latest: dict[uuid.UUID, ReportRun] = {}
    for run in rows:
        latest.setdefault(run.schedule_id, run)
    return latest


async def list_for(uow: UnitOfWork, by: Principal) -> list[ReportSchedule]:
    service.require_reader(by)
    query = select(ReportSchedule).order_by(ReportSchedule.name, ReportSchedule.id)
    if not by.is_admin:
        query = query.where(ReportSchedule.owner_id == by.user_id)
    return list(await uow.session.scalars(query))


async def get(
    uow: UnitOfWork, by: Principal, schedule_id: uuid.UUID, *, lock: bool = False
) -> ReportSchedule:
    service.require_reader(by)
    row = await uow.session.get(ReportSchedule, schedule_id, with_for_update=lock)
    if row is None or not (by.is_admin or row.owner_id == by.user_id):
        raise NotFound("no such report schedule")
    return row


def _check_version(row: ReportSchedule, expected: int) -> None:
    if expected != row.version:
        raise ScheduleVersionConflict(
            f"the report schedule {row.name!r} was changed by someone else (version "
            f"{row.version}, this was decided on version {expected}): reload it and try again",
            field="version",
            version=row.version,
        )


async def create(uow: UnitOfWork, by: Principal, data: KpiReportScheduleIn) -> ReportSchedule:
    service.require_reader(by)
    count = await uow.session.scalar(select(func.count()).select_from(ReportSchedule))
    if (count or 0) >= MAX_SCHEDULES:
        raise Invalid(f"at most {MAX_SCHEDULES} report schedules per tenant", field="name")
    now = utcnow()
    row = ReportSchedule(id=uuid.uuid4(), created_at=now, active_from=now, version=1)
    _apply(row, data, by, now)
    uow.session.add(row)
    await uow.session.flush()
    audit(uow, by, "report_schedule.create", "report_schedule", row.id, name=row.name)
    return row


async def update(
    uow: UnitOfWork, by: Principal, schedule_id: uuid.UUID, data: KpiReportScheduleIn
) -> ReportSchedule:
    row = await get(uow, by, schedule_id, lock=True)
    if data.version is None:
        raise Invalid("a change names the version it was made on", field="version")
    _check_version(row, data.version)
    _apply(row, data, by, utcnow())
    row.version += 1
    await uow.session.flush()
    audit(uow, by, "report_schedule.update", "report_schedule", row.id, name=row.name)
    return row


async def delete(
    uow: UnitOfWork, by: Principal, schedule_id: uuid.UUID, version: int | None
) -> None:
    """Its runs go with it."""
    row = await get(uow, by, schedule_id, lock=True)
    if version is not None:
        _check_version(row, version)
    name = row.name
    await uow.session.delete(row)
    await uow.session.flush()
    audit(uow, by, "report_schedule.delete", "report_schedule", schedule_id, name=name)


async def runs(uow: UnitOfWork, by: Principal, schedule_id: uuid.UUID) -> list[ReportRun]:
    await get(uow, by, schedule_id)
    return list(
        await uow.session.scalars(
            select(ReportRun)
            .where(ReportRun.schedule_id == schedule_id)
            .order_by(ReportRun.created_at.desc(), ReportRun.id)
            .limit(100)
        )
    )


async def send_now(uow: UnitOfWork, by: Principal, schedule_id: uuid.UUID) -> ReportRun:
    """A run of the latest whole period, now, besides the schedule's own."""
    row = await get(uow, by, schedule_id)
    zone = await zone_of(uow, by.tenant_id)
    now = utcnow()
    start, end = schedules.period_before(row.period, now, zone)  # type: ignore[arg-type]
    run = ReportRun(
        id=uuid.uuid4(),
        schedule_id=row.id,
        due_at=now,
        manual=True,
        period_start=start,
        period_end=end,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    uow.session.add(run)
    await uow.session.flush()
    audit(uow, by, "report_schedule.send_now", "report_schedule", row.id, name=row.name)
    return run
