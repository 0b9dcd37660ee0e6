"""Report schedules over HTTP (report_schedules.py; the sending in scheduler.py): thin."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response

from omnidesk.analytics import report_schedules as schedules
from omnidesk.analytics import service
from omnidesk.analytics.models import ReportSchedule
from omnidesk.analytics.ports import ReportMail
from omnidesk.analytics.schemas import KpiReportRunOut, KpiReportScheduleIn, KpiReportScheduleOut
from omnidesk.platform.errors import Invalid
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors
from omnidesk.routing.api import agents_visible_to, queues_visible_to

router = APIRouter(prefix="/analytics/report-schedules", tags=["analytics"])


async def _checked(request: Request, ctx: Ctx, body: KpiReportScheduleIn) -> None:
    """The body's rules, what its author may read, and its sender account: asked of routing
    and the email channel before the unit of work opens."""
    service.require_reader(ctx.principal)
    schedules.check(body)
    routing = request.app.state.routing
    schedules.check_visible(
        body,
        await queues_visible_to(routing, ctx.principal) if body.queue_id else None,
        await agents_visible_to(routing, ctx.principal) if body.agent_id else None,
    )
    mail: ReportMail = request.app.state.report_mail
    problem = await mail.sender_problem(ctx.principal.tenant_id, body.sender_address)
    if problem is not None:
        raise Invalid(problem, field="sender_address")


def _wake(request: Request) -> None:
    scheduler = getattr(request.app.state, "report_scheduler", None)
    if scheduler is not None:
        scheduler.wake()


async def _out(ctx: Ctx, rows: list[ReportSchedule]) -> list[KpiReportScheduleOut]:
    zone = await schedules.zone_of(ctx.uow, ctx.principal.tenant_id)
    last = await schedules.last_runs(ctx.uow, [row.id for row in rows])
    return [schedules.out(row, zone, last.get(row.id)) for row in rows]


@router.get("", response_model=list[KpiReportScheduleOut], responses=errors(403))
async def list_schedules(ctx: Ctx) -> list[KpiReportScheduleOut]:
    """Supervisors: the schedules they saved; admins: every schedule. Each with its next due
    time and its latest run."""
    async with ctx.uow:
        return await _out(ctx, await schedules.list_for(ctx.uow, ctx.principal))


@router.post(
    "",
    response_model=KpiReportScheduleOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(403, 404),
)
async def create_schedule(
    body: KpiReportScheduleIn, request: Request, ctx: Ctx
) -> KpiReportScheduleOut:
    """A report mailed on a cadence (docs/kpis.md, "Scheduled report emails"). A queue or
    agent the caller may not read is 404 (as the exports); a `sender_address` that is not an
    email account of the tenant with SMTP settings is 422."""
    await _checked(request, ctx, body)
    async with ctx.uow:
        row = await schedules.create(ctx.uow, ctx.principal, body)
        (result,) = await _out(ctx, [row])
    _wake(request)
    return result


@router.get("/{schedule_id}", response_model=KpiReportScheduleOut, responses=errors(403, 404))
async def get_schedule(schedule_id: uuid.UUID, ctx: Ctx) -> KpiReportScheduleOut:
    async with ctx.uow:
        (result,) = await _out(ctx, [await schedules.get(ctx.uow, ctx.principal, schedule_id)])
        return result


@router.put("/{schedule_id}", response_model=KpiReportScheduleOut, responses=errors(403, 404, 409))
async def update_schedule(
    schedule_id: uuid.UUID, body: KpiReportScheduleIn, request: Request, ctx: Ctx
) -> KpiReportScheduleOut:
    """Change a schedule, naming the `version` it was made on (stale: 409 `version_conflict`).
    The saver becomes its owner: the report is built with their visibility."""
    async with ctx.uow:  # one they cannot see is 404 before anything of the body is judged
        await schedules.get(ctx.uow, ctx.principal, schedule_id)
    await _checked(request, ctx, body)
    async with ctx.uow:
        row = await schedules.update(ctx.uow, ctx.principal, schedule_id, body)
        (result,) = await _out(ctx, [row])
    _wake(request)
    return result


@router.delete(
    "/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404, 409)
)
async def delete_schedule(
    schedule_id: uuid.UUID,
    ctx: Ctx,
    version: Annotated[
        int | None, Query(ge=1, description="The version the delete was decided on")
    ] = None,
) -> Response:
    """Delete a schedule and its runs; with `version`, a delete decided on an older version
    (someone changed it since) is refused with 409 `version_conflict`."""
    async with ctx.uow:
        await schedules.delete(ctx.uow, ctx.principal, schedule_id, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{schedule_id}/runs", response_model=list[KpiReportRunOut], responses=errors(403, 404))
async def list_runs(schedule_id: uuid.UUID, ctx: Ctx) -> list[KpiReportRunOut]:
    """The schedule's latest 100 runs, newest first: due time, period, status, attempts and,
    when one failed or is being retried, the reason."""
    async with ctx.uow:
        return [
            schedules.run_out(run)
            for run in await schedules.runs(ctx.uow, ctx.principal, schedule_id)
        ]


@router.post(
    "/{schedule_id}/send-now",
    response_model=KpiReportRunOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(403, 404),
)
async def send_now(schedule_id: uuid.UUID, request: Request, ctx: Ctx) -> KpiReportRunOut:
    """Send the latest whole period now (a run marked `manual`), besides the schedule's own
    runs; the run is pending until the scheduler has mailed it."""
    async with ctx.uow:
        run = await schedules.send_now(ctx.uow, ctx.principal, schedule_id)
        result = schedules.run_out(run)
    _wake(request)
    return result
