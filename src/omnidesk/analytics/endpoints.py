"""HTTP endpoints of analytics: thin, the rules live in the service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from omnidesk.analytics import repository as repo
from omnidesk.analytics import service
from omnidesk.analytics.schemas import (
    Interval,
    KpiAgentsReport,
    KpiQueueReport,
    KpiSettingsIn,
    KpiSettingsOut,
)
from omnidesk.platform.errors import NotFound
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors
from omnidesk.routing.api import agents_visible_to, queues_visible_to

router = APIRouter(prefix="/analytics", tags=["analytics"])

Start = Annotated[
    datetime | None,
    Query(
        description="First instant, on a 15-minute boundary; without an offset it is in the "
        "tenant's zone. Default: today's midnight in the tenant's zone."
    ),
]
End = Annotated[
    datetime | None,
    Query(description="End of the range, exclusive (as start). Default: the midnight after start."),
]


QueueId = Annotated[str | None, Query(max_length=64)]
AgentId = Annotated[str | None, Query(max_length=64)]
Channel = Annotated[str | None, Query(max_length=32)]


async def readable_queues(
    request: Request, ctx: Ctx, queue_id: str | None
) -> frozenset[str] | None:
    """The queues the caller's report may show (`routing.api.queues_visible_to`: None for an
    admin, all of them); a named queue they may not see is 404. Asked of routing before the
    report's unit of work opens (never wait on routing inside one)."""
    service.require_reader(ctx.principal)
    visible = await queues_visible_to(request.app.state.routing, ctx.principal)
    if visible is not None and queue_id is not None and queue_id not in visible:
        raise NotFound("no such queue")
    return visible


async def readable_agents(
    request: Request, ctx: Ctx, agent_id: str | None
) -> frozenset[str] | None:
    """As `readable_queues`, for agents (`routing.api.agents_visible_to`)."""
    service.require_reader(ctx.principal)
    visible = await agents_visible_to(request.app.state.routing, ctx.principal)
    if visible is not None and agent_id is not None and agent_id not in visible:
        raise NotFound("no such agent")
    return visible


@router.get("/queues", response_model=KpiQueueReport, responses=errors(403, 404))
async def queue_report(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    queue_id: QueueId = None,
    channel: Channel = None,
) -> KpiQueueReport:
    """Queue figures per interval of arrival: sums and service level, ASA, AHT, abandon rate
    (docs/kpis.md). Admins see every queue; supervisors the queues of their teams (another
    queue is 404, and without `queue_id` the sums are over their queues only)."""
    visible = await readable_queues(request, ctx, queue_id)
    async with ctx.uow:
        return await service.queue_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            queue_id=queue_id,
            channel=channel,
            queues=visible,
        )


@router.get("/agents", response_model=KpiAgentsReport, responses=errors(403, 404))
async def agent_report(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    agent_id: AgentId = None,
) -> KpiAgentsReport:
    """Agent figures per interval: handled, talk, hold, wrap-up, AHT, state time, occupancy.
    Admins see every agent; supervisors the agents of their teams (another is 404)."""
    visible = await readable_agents(request, ctx, agent_id)
    async with ctx.uow:
        return await service.agent_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            agent_id=agent_id,
            agents=visible,
        )


@router.get("/settings", response_model=KpiSettingsOut, responses=errors(403))
async def get_settings(ctx: Ctx) -> KpiSettingsOut:
    service.require_reader(ctx.principal)
    async with ctx.uow:
        return service.settings_out(await repo.settings(ctx.uow.session, ctx.principal.tenant_id))


@router.put("/settings", response_model=KpiSettingsOut, responses=errors(403))
async def put_settings(body: KpiSettingsIn, ctx: Ctx, request: Request) -> KpiSettingsOut:
    """Admins. A changed short-abandon threshold rebuilds the tenant's rollups from the log."""
    async with ctx.uow:
        out = await service.update_settings(ctx.uow, ctx.principal, body)
    ingester = getattr(request.app.state, "analytics", None)
    if out.rebuilding and ingester is not None:
        ingester.note(ctx.principal.tenant_id)
    return out
