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
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors

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


@router.get("/queues", response_model=KpiQueueReport, responses=errors(403))
async def queue_report(
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    queue_id: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
) -> KpiQueueReport:
    """Queue figures per interval of arrival: sums and service level, ASA, AHT, abandon rate
    (docs/kpis.md). Supervisors and admins."""
    service.require_reader(ctx.principal)
    async with ctx.uow:
        return await service.queue_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            queue_id=queue_id,
            channel=channel,
        )


@router.get("/agents", response_model=KpiAgentsReport, responses=errors(403))
async def agent_report(
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
) -> KpiAgentsReport:
    """Agent figures per interval: handled, talk, hold, wrap-up, AHT, state time, occupancy."""
    service.require_reader(ctx.principal)
    async with ctx.uow:
        return await service.agent_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            agent_id=agent_id,
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
