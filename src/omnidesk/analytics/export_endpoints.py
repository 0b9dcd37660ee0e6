"""The reports as files (CSV, XLSX) and the per-contact report: thin, as endpoints.py.

The JSON routes of endpoints.py keep their response models; these answer with a file whose
media type is documented per format, and the same visibility: supervisors see their teams'
queues and agents only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from omnidesk.analytics import dimensions, exports, report_files
from omnidesk.analytics.endpoints import (
    AgentId,
    Channel,
    End,
    QueueId,
    Start,
    TeamId,
    readable_agents,
    readable_queues,
    readable_teams,
)
from omnidesk.analytics.journeys import JourneyBy, journey_report
from omnidesk.analytics.schemas import Interval, KpiContactVisits
from omnidesk.analytics.tables import MEDIA_TYPES, Format
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors

router = APIRouter(prefix="/analytics", tags=["analytics"])

FormatQuery = Annotated[Format, Query(alias="format", description="csv or xlsx")]

FILE: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The report as a file (attachment; its name in Content-Disposition).",
        "content": {
            MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
            MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **errors(403, 404),
}


async def _names(request: Request, principal: Principal) -> tuple[dict[str, str], dict[str, str]]:
    return await report_files.names(request.app.state.routing, principal.tenant_id)


def _response(file: report_files.ReportFile) -> Response:
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


@router.get("/queues/export", response_class=Response, responses=FILE)
async def export_queues(
    request: Request,
    ctx: Ctx,
    fmt: FormatQuery,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    queue_id: QueueId = None,
    channel: Channel = None,
) -> Response:
    """The queue report as a file: one row per queue and interval, then each queue's total
    over the range (docs/kpis.md, "Exports"). Without `queue_id`: every queue with figures in
    the range (a supervisor's: their teams' queues)."""
    visible = await readable_queues(request, ctx, queue_id)
    names, _ = await _names(request, ctx.principal)
    async with ctx.uow:
        file = await report_files.queues_file(
            ctx.uow.session,
            ctx.principal.tenant_id,
            fmt,
            start=start,
            end=end,
            interval=interval,
            queue_id=queue_id,
            channel=channel,
            queues=visible,
            names=names,
        )
    return _response(file)


@router.get("/agents/export", response_class=Response, responses=FILE)
async def export_agents(
    request: Request,
    ctx: Ctx,
    fmt: FormatQuery,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    agent_id: AgentId = None,
) -> Response:
    """The agent report as a file: one row per agent and interval, then each agent's total;
    one column per state (away per reason) any of them was in."""
    visible = await readable_agents(request, ctx, agent_id)
    _, names = await _names(request, ctx.principal)
    async with ctx.uow:
        file = await report_files.agents_file(
            ctx.uow.session,
            ctx.principal.tenant_id,
            fmt,
            start=start,
            end=end,
            interval=interval,
            agent_id=agent_id,
            agents=visible,
            names=names,
        )
    return _response(file)


@router.get("/teams/export", response_class=Response, responses=FILE)
async def export_teams(
    ctx: Ctx,
    fmt: FormatQuery,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    team_id: TeamId = None,
) -> Response:
    """The team report as a file: one row per team and interval, then each team's total."""
    visible = readable_teams(ctx.principal, team_id)
    async with ctx.uow:
        report = await dimensions.team_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            team_id=team_id,
            teams=visible,
        )
    return _response(
        report_files.as_file(exports.team_table(report), fmt, "teams", report.start, report.end)
    )


@router.get("/dispositions/export", response_class=Response, responses=FILE)
async def export_dispositions(
    request: Request,
    ctx: Ctx,
    fmt: FormatQuery,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    queue_id: QueueId = None,
) -> Response:
    """The disposition report as a file: one row per disposition and interval, each
    disposition's total, then the total over all of them."""
    visible = await readable_queues(request, ctx, queue_id)
    async with ctx.uow:
        report = await dimensions.disposition_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            queue_id=queue_id,
            queues=visible,
        )
    table = exports.disposition_table(report)
    return _response(report_files.as_file(table, fmt, "dispositions", report.start, report.end))


async def _contacts(
    request: Request,
    ctx: Ctx,
    start: datetime | None,
    end: datetime | None,
    queue_id: str | None,
    channel: str | None,
) -> KpiContactVisits:
    visible = await readable_queues(request, ctx, queue_id)
    queue_names, agent_names = await _names(request, ctx.principal)
    async with ctx.uow:
        return await report_files.contact_visits(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            queue_id=queue_id,
            channel=channel,
            queues=visible,
            queue_names=queue_names,
            agent_names=agent_names,
        )


@router.get("/contacts", response_model=KpiContactVisits, responses=errors(403, 404))
async def contact_report(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    queue_id: QueueId = None,
    channel: Channel = None,
) -> KpiContactVisits:
    """One row per queue visit of the contacts that arrived in the range (a transfer or an
    overflow is a second visit): times, wait, talk, hold, wrap-up, outcome, customer and
    disposition. At most 20,000 contacts (more: 422, choose a shorter range). Supervisors see
    the visits of their teams' queues only."""
    return await _contacts(request, ctx, start, end, queue_id, channel)


@router.get("/contacts/export", response_class=Response, responses=FILE)
async def export_contacts(
    request: Request,
    ctx: Ctx,
    fmt: FormatQuery,
    start: Start = None,
    end: End = None,
    queue_id: QueueId = None,
    channel: Channel = None,
) -> Response:
    """The per-contact report (as GET /analytics/contacts) as a file."""
    report = await _contacts(request, ctx, start, end, queue_id, channel)
    return _response(report_files.contacts_file(report, fmt))


@router.get("/journeys/export", response_class=Response, responses=FILE)
async def export_journeys(
    request: Request,
    ctx: Ctx,
    fmt: FormatQuery,
    start: Start = None,
    end: End = None,
    by: JourneyBy = "total",
    queue_id: QueueId = None,
    channel: Channel = None,
) -> Response:
    """The customer-journey report (as GET /analytics/journeys) as a file: one row per queue or
    channel, the total, then one row per channel switch pair."""
    visible = await readable_queues(request, ctx, queue_id)
    names, _ = await _names(request, ctx.principal)
    async with ctx.uow:
        report = await journey_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            by=by,
            queue_id=queue_id,
            channel=channel,
            queues=visible,
        )
    return _response(
        report_files.as_file(
            exports.journey_table(report, names), fmt, "journeys", report.start, report.end
        )
    )
