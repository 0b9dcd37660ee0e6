"""The reports as files (CSV, XLSX) and the per-contact report: thin, as endpoints.py.

The JSON routes of endpoints.py keep their response models; these answer with a file whose
media type is documented per format, and the same visibility: supervisors see their teams'
queues and agents only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from omnidesk.analytics import contacts, exports, service
from omnidesk.analytics.endpoints import (
    AgentId,
    Channel,
    End,
    QueueId,
    Start,
    readable_agents,
    readable_queues,
)
from omnidesk.analytics.schemas import Interval, KpiContactVisits
from omnidesk.analytics.tables import MEDIA_TYPES, Format, Table, render
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.errors import Invalid
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors
from omnidesk.routing.api import Routing

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
    """Queue and agent names by id, asked of routing before any unit of work opens."""
    routing: Routing = request.app.state.routing

    def read(r: Any) -> tuple[dict[str, str], dict[str, str]]:
        return (
            {q: str(d.get("name") or "") for q, d in r.queues().items()},
            {a: str(d.get("name") or "") for a, d in r.agents().items()},
        )

    result: tuple[dict[str, str], dict[str, str]] = await routing.read(principal.tenant_id, read)
    return result


def _file(table: Table, fmt: Format, name: str, start: datetime, end: datetime) -> Response:
    zone: ZoneInfo = table.zone
    first = start.astimezone(zone).date().isoformat()
    last = end.astimezone(zone).date().isoformat()
    filename = f"omnidesk-{name}-{first}-{last}.{fmt}"
    return Response(
        render(table, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
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
        zone, reports = await service.queue_reports(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            queue_id=queue_id,
            channel=channel,
            queues=visible,
        )
    table = exports.queue_table(reports, names, zone)
    first, last = _range(reports, start, end, zone)
    return _file(table, fmt, "queues", first, last)


def _range(
    reports: list[Any], start: datetime | None, end: datetime | None, zone: str
) -> tuple[datetime, datetime]:
    """The report's range for the file name (with no report, as the request named it)."""
    if reports:
        return reports[0].start, reports[0].end
    return service.check_range(start, end, "day", ZoneInfo(zone))


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
        report = await service.agent_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            agent_id=agent_id,
            agents=visible,
        )
    table = exports.agent_table(report.agents, names, report.timezone)
    if len(table.rows) > service.MAX_EXPORT_ROWS:
        raise Invalid(
            f"{len(table.rows)} rows, more than the {service.MAX_EXPORT_ROWS} an export holds: "
            "choose a coarser interval, a shorter range or one agent",
            field="interval",
        )
    return _file(table, fmt, "agents", report.start, report.end)


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
        return await contacts.contact_visits(
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
    return _file(exports.contact_table(report), fmt, "contacts", report.start, report.end)
