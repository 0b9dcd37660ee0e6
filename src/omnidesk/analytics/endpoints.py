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
from omnidesk.platform.auth.principal import Principal
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


async def visible_queues(request: Request, principal: Principal) -> frozenset[str] | None:
    """The queues a user's reports may show (`routing.api.queues_visible_to`)."""
    return await queues_visible_to(request.app.state.routing, principal)


async def visible_agents(request: Request, principal: Principal) -> frozenset[str] | None:
    """The agents a user's reports may show (`routing.api.agents_visible_to`)."""
    return await agents_visible_to(request.app.state.routing, principal)


@router.get("/queues", response_model=KpiQueueReport, responses=errors(403, 404))
async def queue_report(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    queue_id: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
) -> KpiQueueReport:
    """Queue figures per interval of arrival: sums and service level, ASA, AHT, abandon rate
    (docs/kpis.md). Admins see every queue; supervisors the queues of their teams (another
    queue is 404, and without `queue_id` the sums are over their queues only)."""
    service.require_reader(ctx.principal)
    visible = await visible_queues(request, ctx.principal)
    if visible is not None and queue_id is not None and queue_id not in visible:
        raise NotFound("no such queue")
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
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
) -> KpiAgentsReport:
    """Agent figures per interval: handled, talk, hold, wrap-up, AHT, state time, occupancy.
    Admins see every agent; supervisors the agents of their teams (another is 404)."""
    service.require_reader(ctx.principal)
    visible = await visible_agents(request, ctx.principal)
    if visible is not None and agent_id is not None and agent_id not in visible:
        raise NotFound("no such agent")
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
