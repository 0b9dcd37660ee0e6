"""Staffing over HTTP: a whole staffing table in one request, single Erlang figures, and the
what-if of a queue change through the digital twin.

Supervisors and admins only. One vectorised `staff()` call covers every interval of a table;
ErlangInputError becomes a 422 naming the field (and the interval, by index and start).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from omnidesk.analytics import repository as analytics_repo
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Forbidden, Invalid
from omnidesk.platform.http import Ctx
from omnidesk.routing.api import Routing
from omnidesk.wfm import erlang as erl
from omnidesk.wfm import whatif
from omnidesk.wfm.forecasting import service as forecast_service
from omnidesk.wfm.forecasting.service import utc
from omnidesk.wfm.schemas import (
    ErlangIn,
    ErlangOut,
    StaffingIn,
    StaffingOut,
    WhatIfForecastIn,
    WhatIfIn,
    WhatIfOut,
    WhatIfSourcesOut,
)
from omnidesk.wfm.service import finite, invalid, require_planner, staffing_table
from omnidesk.wfm.twin.errors import ScenarioError

router = APIRouter(prefix="/wfm", tags=["wfm"])


@router.post("/staffing", response_model=StaffingOut, response_model_exclude_none=True)
async def staffing(body: StaffingIn, ctx: Ctx) -> StaffingOut:
    require_planner(ctx.principal)
    # Up to ~1 s of CPU for 20,000 Erlang A intervals with an ASA target: off the event loop.
    return await run_in_threadpool(
        partial(
            staffing_table,
            body,
            interval_seconds=body.interval_seconds,
            starts=[i.start for i in body.intervals],
            calls=np.array([i.calls for i in body.intervals], dtype=np.float64),
            aht=np.array([i.aht for i in body.intervals], dtype=np.float64),
            intervals=body.intervals,
        )
    )


def _required(body: ErlangIn, *names: str) -> list[Any]:
    values = [getattr(body, n) for n in names]
    for name, value in zip(names, values, strict=True):
        if value is None:
            raise Invalid(f"{name}: is required for model {body.model}", field=name)
    return values


# exclude_unset: each model reports its own measures; an infinite ASA stays as an explicit null.
@router.post("/erlang", response_model=ErlangOut, response_model_exclude_unset=True)
async def erlang(body: ErlangIn, ctx: Ctx) -> ErlangOut:
    require_planner(ctx.principal)
    try:
        if body.model == "b":
            load, lines = _required(body, "load", "lines")
            return ErlangOut(model="b", blocking=erl.erlang_b_value(load, lines))
        calls, seconds, aht, agents, answer = _required(
            body, "calls", "interval_seconds", "aht", "agents", "answer_time"
        )
        if body.model == "c":
            c = erl.erlang_c_point(
                calls=calls, interval_seconds=seconds, aht=aht, agents=agents, answer_time=answer
            )
            return ErlangOut(
                model="c",
                offered_load=c.offered_load,
                p_wait=c.p_wait,
                service_level=c.service_level,
                asa=finite(c.asa),
                occupancy=c.occupancy,
                mean_queue=finite(c.mean_queue),
            )
        (patience,) = _required(body, "patience")
        a = erl.erlang_a_point(
            calls=calls,
            interval_seconds=seconds,
            aht=aht,
            agents=agents,
            answer_time=answer,
            patience=patience,
        )
        return ErlangOut(
            model="a",
            offered_load=a.offered_load,
            p_wait=a.p_wait,
            service_level=a.service_level,
            asa=a.asa,
            occupancy=a.occupancy,
            p_abandon=a.p_abandon,
            mean_wait=a.mean_wait,
            mean_queue=a.mean_queue,
        )
    except erl.ErlangInputError as exc:
        raise invalid(exc) from None


def _variant_path(path: str) -> str:
    # The change is the twin's one variant: its issues point into the request's `queues`.
    prefix = "variants[0]."
    return path[len(prefix) :] if path.startswith(prefix) else path


def _refused(issues: list[tuple[str, str]]) -> Invalid:
    path, message = issues[0]
    return Invalid(
        f"{path}: {message}" if path else message,
        field=path or "queues",
        errors=[{"field": p, "message": m} for p, m in issues],
    )


def _one_source(body: WhatIfIn) -> None:
    if body.day is not None and body.forecast is not None:
        raise Invalid(
            "forecast: give a recorded day or a forecast as the source of volumes, not both",
            field="forecast",
        )
    if body.day is None and body.forecast is None:
        raise Invalid(
            "day: give a recorded day (day) or a forecast (forecast) as the source of volumes",
            field="day",
        )


async def _forecast_day(
    session: AsyncSession,
    tenant: Any,
    body: WhatIfForecastIn,
    queues: dict[str, dict[str, Any]],
) -> tuple[whatif.Day, date, Literal["given", "same_weekday"]]:
    """The forecast's day, with patience, wrap-up share and presence from the reference day."""
    # Tenant-scoped: another tenant's forecast is "not found", like an unknown id.
    row = await forecast_service.get_forecast(session, body.id)
    timezone = (await analytics_repo.settings(session, tenant)).timezone
    covered = whatif.covered_days(utc(row.start), utc(row.end), timezone)
    if covered is None or not covered[0] <= body.day <= covered[1]:
        span = f"{covered[0]} to {covered[1]}" if covered else "no whole day"
        raise Invalid(
            f"forecast.day: {body.day} is outside the forecast (whole days in {timezone}: {span})",
            field="forecast.day",
        )
    served = queues.get(row.queue_id, {}).get("channels") or []
    if row.channel not in served:
        raise Invalid(
            f"forecast.id: the forecast is for {row.queue_id}/{row.channel}, which no queue of "
            "routing serves now",
            field="forecast.id",
        )
    chosen: Literal["given", "same_weekday"] = "given"
    reference = body.reference_day
    if reference is None:
        chosen = "same_weekday"
        today = utcnow().astimezone(ZoneInfo(timezone)).date()
        reference = await whatif.reference_day(
            session,
            queue_id=row.queue_id,
            channel=row.channel,
            day=body.day,
            today=today,
            timezone=timezone,
        )
        if reference is None:
            raise Invalid(
                f"forecast.reference_day: no contacts in {row.queue_id}/{row.channel} on a "
                f"{body.day:%A} in the last {whatif.REFERENCE_WEEKS} weeks to take patience, "
                "wrap-up and presence from; give reference_day",
                field="forecast.reference_day",
            )
    recorded = await whatif.read_day(session, tenant, reference)
    start, end = whatif.day_bounds(body.day, timezone)
    cells = [
        whatif.ForecastCell(utc(i.interval_start), row.interval_minutes, i.volume, i.aht)
        for i in await forecast_service.intervals_of(session, row.id)
        if start - timedelta(minutes=row.interval_minutes) < utc(i.interval_start) < end
    ]
    day = whatif.forecast_day(
        recorded, day=body.day, queue_id=row.queue_id, channel=row.channel, cells=cells
    )
    return day, reference, chosen


@router.post("/what-if", response_model=WhatIfOut)
async def what_if(body: WhatIfIn, request: Request, ctx: Ctx) -> WhatIfOut:
    """Run a change of queues through the digital twin on a day of the tenant's own traffic
    (a recorded day, or a day of a stored forecast), beside routing as it is now, on the same
    simulated customers: service level, wait and abandons before and after, with confidence
    intervals (docs/wfm.md). Changes nothing. Admins only (they are the ones who change
    queues)."""
    if not ctx.principal.is_admin:
        raise Forbidden("a what-if of queue changes is run by admins")
    _one_source(body)
    unknown = whatif.unknown_fields(body.queues)
    if unknown:
        raise _refused(unknown)
    routing: Routing = request.app.state.routing
    tenant = ctx.principal.tenant_id
    # Routing first: a routing read must never wait inside a unit of work.
    queues, agents = await routing.read(tenant, lambda r: (r.queues(), r.agents()))
    # The day's sums and presence come from the KPI rollups: up to the log first.
    await request.app.state.analytics.catch_up(tenant)
    if body.forecast is not None:
        async with ctx.uow:
            day, reference, chosen = await _forecast_day(
                ctx.uow.session, tenant, body.forecast, queues
            )
        sources = WhatIfSourcesOut(
            volumes="forecast",
            handle="forecast",
            wrap_up="forecast",
            patience="recorded_day",
            agents="recorded_day",
            reference_day=reference,
            reference_chosen=chosen,
            forecast_id=body.forecast.id,
        )
    else:
        assert body.day is not None  # _one_source
        async with ctx.uow:
            day = await whatif.read_day(ctx.uow.session, tenant, body.day)
        if not any(s.queue_id in queues for s in day.streams):
            raise Invalid(f"no contacts arrived in today's queues on {body.day}", field="day")
        sources = WhatIfSourcesOut(
            volumes="recorded_day",
            handle="recorded_day",
            wrap_up="recorded_day",
            patience="recorded_day",
            agents="recorded_day",
            reference_day=body.day,
            reference_chosen="day",
        )
    data = whatif.scenario(
        day, queues, agents, body.queues, replications=body.replications, seed=body.seed
    )
    try:
        # Seconds of CPU for a busy day: off the event loop.
        study = await run_in_threadpool(whatif.run, data)
    except ScenarioError as exc:
        raise _refused([(_variant_path(p), m) for p, m in exc.issues]) from None
    return WhatIfOut(
        day=day.start.date(),
        timezone=day.timezone,
        agents=len(data["agents"]),
        sources=sources,
        streams=[whatif.stream_out(s) for s in day.streams if s.queue_id in queues],
        study=study,
    )
