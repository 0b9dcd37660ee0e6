"""Sending the report schedules (report_schedules.py) when they come due.

Each pass (every `poll_seconds`, and when woken by a change or a send-now):
1. For every schedule, its latest due time at or before now (schedules.py) that is not before
   the schedule took effect gets one run row, committed before anything is sent: the unique
   (schedule, due time) key makes a restart, a second pass or a second node find it instead of
   sending again. Only the latest due time is looked at, so after downtime the latest missed
   period is caught up and older ones are not.
2. Every pending run whose attempt is due is claimed (its next attempt moved a lease ahead in
   one conditional update, so one node takes it), its file built with the export code and the
   owner's visibility (report_files.py), and mailed through the sender account (ports.py).
   A mail the relay does not take is tried again after RETRY_DELAYS, then recorded failed with
   the relay's words; a report that cannot be built (the owner gone, a queue no longer theirs,
   too many rows) is failed at once with the reason.

A crash after the relay took a mail but before the run was marked sent sends it again on the
next start (at least once: a lost report is worse than a duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from omnidesk.analytics import mail_texts, report_files, schedules
from omnidesk.analytics.models import KpiSettings, ReportRun, ReportSchedule
from omnidesk.analytics.ports import MailFailed, ReportMail
from omnidesk.analytics.report_files import ReportFile
from omnidesk.analytics.report_schedules import timing_of
from omnidesk.analytics.tables import Format
from omnidesk.platform.auth.identity import IdentityStore
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import SYSTEM, Database, utcnow
from omnidesk.platform.errors import DomainError
from omnidesk.platform.logging import get_logger
from omnidesk.platform.tenancy import Tenant
from omnidesk.routing.api import Routing, agents_visible_to, queues_visible_to

log = get_logger(__name__)

POLL_SECONDS: Final = 30.0
# After the first attempt: 1, 5 and 15 minutes, then failed (four attempts in all).
RETRY_DELAYS: Final = (60.0, 300.0, 900.0)
# A claimed run not finished by then (the node died mid-send) is taken again.
LEASE_SECONDS: Final = 600.0
REASON_MAX: Final = 500


class BuildFailed(Exception):
    """The report cannot be built: retrying would not help."""


@dataclass(frozen=True)
class Due:
    schedule_id: uuid.UUID
    tenant_id: uuid.UUID
    at: datetime
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True)
class Job:
    run_id: uuid.UUID
    tenant_id: uuid.UUID
    schedule: ReportSchedule
    period_start: datetime
    period_end: datetime
    attempts: int  # including the one being made
    zone: str = "UTC"  # the tenant's report time zone (KPI settings): the mail's dates are in it


class ReportScheduler:
    def __init__(
        self,
        db: Database,
        routing: Routing,
        identities: IdentityStore,
        mail: ReportMail,
        *,
        clock: Callable[[], datetime] = utcnow,
        poll_seconds: float = POLL_SECONDS,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self.db = db
        self.routing = routing
        self.identities = identities
        self.mail = mail
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.retry_delays = tuple(retry_delays)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="report-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """A schedule changed or a send-now was asked: look now, not at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("report_schedule.pass_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def tick(self) -> None:
        """One pass: record the runs that came due, then attempt those whose time it is."""
        now = self.clock()
        await self._record_due(now)
        for run_id, tenant_id in await self._pending(now):
            await self._attempt(run_id, tenant_id, now)

    # -- 1. due runs ----------------------------------------------------------------------

    async def _record_due(self, now: datetime) -> None:
        async with self.db.read_session(SYSTEM) as session:
            active = select(Tenant.id).where(Tenant.active)
            rows = await session.scalars(
                select(ReportSchedule).where(ReportSchedule.tenant_id.in_(active))
            )
            zones = {
                tenant: ZoneInfo(zone)
                for tenant, zone in await session.execute(
                    select(KpiSettings.tenant_id, KpiSettings.timezone)
                )
            }
            due: list[Due] = []
            for row in rows:
                zone = zones.get(row.tenant_id, ZoneInfo("UTC"))
                last = schedules.last_due(timing_of(row), now, zone)
                if last >= row.active_from:
                    start, end = schedules.period_before(row.period, last, zone)  # type: ignore[arg-type]
                    due.append(Due(row.id, row.tenant_id, last, start, end))
            if not due:
                return
            seen = set(
                await session.execute(
                    select(ReportRun.schedule_id, ReportRun.due_at).where(
                        ReportRun.schedule_id.in_([d.schedule_id for d in due]),
                        ReportRun.due_at >= min(d.at for d in due),
                    )
                )
            )
        for item in due:
            if (item.schedule_id, item.at) not in seen:
                await self._insert_run(item, now)

    async def _insert_run(self, due: Due, now: datetime) -> None:
        session = self.db.session(due.tenant_id)
        try:
            session.add(
                ReportRun(
                    id=uuid.uuid4(),
                    schedule_id=due.schedule_id,
                    due_at=due.at,
                    manual=False,
                    period_start=due.period_start,
                    period_end=due.period_end,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            await session.commit()
        except IntegrityError:
            # Another pass or node recorded it first (or the schedule was just deleted).
            await session.rollback()
        finally:
            await session.close()

    # -- 2. attempts ----------------------------------------------------------------------

    async def _pending(self, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
        async with self.db.read_session(SYSTEM) as session:
            result = await session.execute(
                select(ReportRun.id, ReportRun.tenant_id)
                .where(ReportRun.status == "pending", ReportRun.next_attempt_at <= now)
                .order_by(ReportRun.next_attempt_at, ReportRun.id)
            )
            return [(run_id, tenant_id) for run_id, tenant_id in result]

    async def _claim(self, run_id: uuid.UUID, tenant_id: uuid.UUID, now: datetime) -> Job | None:
        session = self.db.session(tenant_id)
        try:
            run = await session.get(ReportRun, run_id)
            if run is None or run.status != "pending" or run.next_attempt_at is None:
                return None
            claimed = await session.execute(
                update(ReportRun)
                .where(
                    ReportRun.id == run_id,
                    ReportRun.status == "pending",
                    ReportRun.next_attempt_at == run.next_attempt_at,
                )
                .values(
                    next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
                    attempts=ReportRun.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return None
            schedule = await session.get(ReportSchedule, run.schedule_id)
            if schedule is not None:
                # Kept as read: the commit below would expire it.
                session.expunge(schedule)
            zone = await session.scalar(select(KpiSettings.timezone))
            job = (
                Job(
                    run_id,
                    tenant_id,
                    schedule,
                    run.period_start,
                    run.period_end,
                    run.attempts + 1,
                    zone or "UTC",
                )
                if schedule is not None
                else None
            )
            await session.commit()
            return job
        finally:
            await session.close()

    async def _attempt(self, run_id: uuid.UUID, tenant_id: uuid.UUID, now: datetime) -> None:
        job = await self._claim(run_id, tenant_id, now)
        if job is None:
            return
        try:
            file = await self._build(job)
            await self.mail.send(tenant_id, job.schedule.sender_address, _compose(job, file))
        except BuildFailed as exc:
            await self._finish(job, "failed", str(exc), now)
        except MailFailed as exc:
            await self._attempt_failed(job, exc.detail, now)
        except Exception as exc:
            # A fault of ours (the database away): tried again like a refused mail, then
            # failed, so a run never stays claimed and counting forever.
            log.exception("report_schedule.attempt_error", run=str(job.run_id))
            await self._attempt_failed(job, f"internal error: {exc}", now)
        else:
            await self._finish(job, "sent", None, now)

    async def _attempt_failed(self, job: Job, detail: str, now: datetime) -> None:
        if job.attempts > len(self.retry_delays):
            await self._finish(job, "failed", detail, now)
        else:
            delay = self.retry_delays[job.attempts - 1]
            await self._retry_later(job, detail, now + timedelta(seconds=delay))

    async def _owner(self, job: Job) -> Principal:
        async with self.db.read_session(job.tenant_id) as session:
            identity = await self.identities.by_id(session, job.schedule.owner_id)
        if identity is None or not identity.active or identity.role is Role.AGENT:
            raise BuildFailed("the schedule's owner can no longer read reports")
        return Principal.of(identity)

    async def _build(self, job: Job) -> ReportFile:
        owner = await self._owner(job)
        schedule = job.schedule
        filters = schedule.filters
        queue_id, agent_id = filters.get("queue_id"), filters.get("agent_id")
        # Routing first, outside any session (a routing read never waits inside one).
        queues = await queues_visible_to(self.routing, owner)
        agents = await agents_visible_to(self.routing, owner)
        if queues is not None and queue_id is not None and queue_id not in queues:
            raise BuildFailed(f"the queue {queue_id} is no longer visible to the owner")
        if agents is not None and agent_id is not None and agent_id not in agents:
            raise BuildFailed(f"the agent {agent_id} is no longer visible to the owner")
        queue_names, agent_names = await report_files.names(self.routing, job.tenant_id)
        fmt: Format = "xlsx" if schedule.format == "xlsx" else "csv"
        interval = str(filters.get("interval", "60m"))
        start, end = job.period_start, job.period_end
        try:
            async with self.db.read_session(job.tenant_id) as session:
                if schedule.report == "queues":
                    return await report_files.queues_file(
                        session,
                        job.tenant_id,
                        fmt,
                        start=start,
                        end=end,
                        interval=interval,
                        queue_id=queue_id,
                        channel=filters.get("channel"),
                        queues=queues,
                        names=queue_names,
                    )
                if schedule.report == "agents":
                    return await report_files.agents_file(
                        session,
                        job.tenant_id,
                        fmt,
                        start=start,
                        end=end,
                        interval=interval,
                        agent_id=agent_id,
                        agents=agents,
                        names=agent_names,
                    )
                visits = await report_files.contact_visits(
                    session,
                    job.tenant_id,
                    start=start,
                    end=end,
                    queue_id=queue_id,
                    channel=filters.get("channel"),
                    queues=queues,
                    queue_names=queue_names,
                    agent_names=agent_names,
                )
                return report_files.contacts_file(visits, fmt)
        except DomainError as exc:  # too many rows or intervals: 422 on the route
            raise BuildFailed(exc.detail) from exc

    async def _retry_later(self, job: Job, reason: str, at: datetime) -> None:
        await self._write(job, next_attempt_at=at, reason=reason[:REASON_MAX])
        log.info("report_schedule.retry", run=str(job.run_id), attempts=job.attempts)

    async def _finish(self, job: Job, status: str, reason: str | None, now: datetime) -> None:
        await self._write(
            job,
            status=status,
            next_attempt_at=None,
            reason=reason[:REASON_MAX] if reason else None,
            finished_at=now,
        )
        log.info("report_schedule." + status, run=str(job.run_id), attempts=job.attempts)

    async def _write(self, job: Job, **values: object) -> None:
        session = self.db.session(job.tenant_id)
        try:
            await session.execute(
                update(ReportRun)
                .where(ReportRun.id == job.run_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        finally:
            await session.close()


def _compose(job: Job, file: ReportFile) -> EmailMessage:
    """The mail in the schedule's language; its period as local dates of the report zone."""
    schedule = job.schedule
    language = mail_texts.language_of(schedule.language)
    words = mail_texts.TEXTS[language]
    what = words.get(schedule.report, schedule.report)
    mail = EmailMessage()
    mail["To"] = ", ".join(schedule.recipients)
    mail["Subject"] = f"{schedule.name}: {what} ({file.filename})"
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    # Mail sent on a schedule is automatic (RFC 3834): nobody's out-of-office answers it.
    mail["Auto-Submitted"] = "auto-generated"
    body = mail_texts.text(
        language,
        "body",
        report=what,
        period=_period(job, language),
        zone=job.zone,
        name=schedule.name,
    )
    attached = mail_texts.text(language, "attached", filename=file.filename)
    mail.set_content(f"{body}\n{attached}\n")
    # The text's language (RFC 3282), for readers and filters: after set_content, which clears
    # Content-* headers; the attachment below moves it onto the text part, the one it describes.
    mail["Content-Language"] = language
    kind, _, charset = file.media_type.partition("; charset=")
    major, _, minor = kind.partition("/")
    params = {"charset": charset} if charset else {}
    mail.add_attachment(
        file.content, maintype=major, subtype=minor, filename=file.filename, params=params
    )
    return mail


def _period(job: Job, language: str) -> str:
    """A whole local day, week or month as its first and last date (a reader counts days
    inclusively: the previous day is one date, not "the 7th to the 8th"). A period not on local
    midnights (the tenant's zone changed after the run was recorded) keeps its times."""
    zone = ZoneInfo(job.zone)
    start, end = job.period_start.astimezone(zone), job.period_end.astimezone(zone)
    if start.time() == end.time() == time(0):
        first, last = start.date(), end.date() - timedelta(days=1)
        if first == last:
            return mail_texts.text(language, "day", day=first.isoformat())
        return mail_texts.text(language, "days", first=first.isoformat(), last=last.isoformat())
    shown = "%Y-%m-%d %H:%M"
    return mail_texts.text(language, "span", start=start.strftime(shown), end=end.strftime(shown))
