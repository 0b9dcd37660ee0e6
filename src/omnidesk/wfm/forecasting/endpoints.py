"""Forecasting over HTTP (supervisors and admins): history, forecasts, reforecast, staffing,
accuracy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from starlette.concurrency import run_in_threadpool

from omnidesk.platform.database import utcnow
from omnidesk.platform.http import Ctx
from omnidesk.wfm.forecasting import accuracy, service
from omnidesk.wfm.forecasting.schemas import (
    ForecastAccuracyOut,
    ForecastCreate,
    ForecastOut,
    ForecastStaffingIn,
    ForecastSummary,
    HistoryOut,
    ReforecastIn,
    ReforecastOut,
)
from omnidesk.wfm.schemas import StaffingOut
from omnidesk.wfm.service import require_planner

router = APIRouter(prefix="/wfm", tags=["wfm"])

QueueFilter = Annotated[str | None, Query(min_length=1, max_length=100)]
ChannelFilter = Annotated[str | None, Query(min_length=1, max_length=50)]


async def rollups_current(request: Request, ctx: Ctx) -> None:
    """History comes from the KPI rollups: bring them up to the tenant's log first (the
    background ingester may be a wake-up behind, or events were written without one). Outside
    any unit of work: the catch-up writes in transactions of its own."""
    await request.app.state.analytics.catch_up(ctx.principal.tenant_id)


@router.get("/history", response_model=HistoryOut)
async def get_history(
    request: Request,
    ctx: Ctx,
    queue_id: QueueFilter = None,
    channel: ChannelFilter = None,
    interval_minutes: int = 30,
    start: datetime | None = None,
    end: datetime | None = None,
) -> HistoryOut:
    """Contacts offered and AHT per interval from the KPI rollups (all queues/channels unless
    filtered; default: the 28 days up to the end of today, UTC)."""
    require_planner(ctx.principal)
    await rollups_current(request, ctx)
    async with ctx.uow:
        return await service.history_view(
            ctx.uow.session,
            queue_id=queue_id,
            channel=channel,
            interval_minutes=interval_minutes,
            start=start,
            end=end,
            now=utcnow(),
        )


@router.post("/forecasts", response_model=ForecastOut, status_code=status.HTTP_201_CREATED)
async def create_forecast(body: ForecastCreate, request: Request, ctx: Ctx) -> ForecastOut:
    require_planner(ctx.principal)
    if body.source == "history":
        await rollups_current(request, ctx)
    async with ctx.uow:
        data = await service.load_series(ctx.uow.session, body, today=utcnow().date())
    # Seconds of CPU with statsforecast: off the event loop, and outside any transaction.
    result = await run_in_threadpool(service.compute, data, body)
    async with ctx.uow:
        row = await service.store_forecast(ctx.uow, ctx.principal, body, data, result)
        intervals = await service.intervals_of(ctx.uow.session, row.id)
    return service.full(row, intervals)


@router.get("/forecasts", response_model=list[ForecastSummary])
async def list_forecasts(
    ctx: Ctx,
    queue_id: QueueFilter = None,
    channel: ChannelFilter = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ForecastSummary]:
    require_planner(ctx.principal)
    async with ctx.uow:
        rows = await service.list_forecasts(
            ctx.uow.session, queue_id=queue_id, channel=channel, limit=limit
        )
    return [service.summary(r) for r in rows]


@router.get("/forecasts/{forecast_id}", response_model=ForecastOut)
async def get_forecast(forecast_id: uuid.UUID, ctx: Ctx) -> ForecastOut:
    require_planner(ctx.principal)
    async with ctx.uow:
        row = await service.get_forecast(ctx.uow.session, forecast_id)
        intervals = await service.intervals_of(ctx.uow.session, forecast_id)
    return service.full(row, intervals)


@router.post("/forecasts/{forecast_id}/reforecast", response_model=ReforecastOut)
async def reforecast(forecast_id: uuid.UUID, body: ReforecastIn, ctx: Ctx) -> ReforecastOut:
    """Adjust the rest of a forecast day by the actuals so far (body, or the event log)."""
    require_planner(ctx.principal)
    async with ctx.uow:
        row = await service.get_forecast(ctx.uow.session, forecast_id)
        return await service.reforecast(ctx.uow.session, row, body, now=utcnow())


@router.post(
    "/forecasts/{forecast_id}/staffing",
    response_model=StaffingOut,
    response_model_exclude_none=True,
)
async def forecast_staffing(
    forecast_id: uuid.UUID, body: ForecastStaffingIn, ctx: Ctx
) -> StaffingOut:
    """A staffing table for the forecast's intervals (all, or start..end) and these targets."""
    require_planner(ctx.principal)
    async with ctx.uow:
        row = await service.get_forecast(ctx.uow.session, forecast_id)
        intervals = await service.intervals_of(ctx.uow.session, forecast_id)
    return await run_in_threadpool(service.staffing, row, intervals, body)


@router.get("/forecasts/{forecast_id}/accuracy", response_model=ForecastAccuracyOut)
async def forecast_accuracy(
    forecast_id: uuid.UUID,
    request: Request,
    ctx: Ctx,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ForecastAccuracyOut:
    """The forecast beside the actuals (KPI rollups) per interval, and the range's WAPE, MAPE
    and bias of volume and AHT (default: from the forecast's start to its last ended interval)."""
    require_planner(ctx.principal)
    await rollups_current(request, ctx)
    async with ctx.uow:
        row = await service.get_forecast(ctx.uow.session, forecast_id)
        return await accuracy.accuracy(ctx.uow.session, row, start=start, end=end, now=utcnow())
