"""Schedules over HTTP: agent scheduling profiles, publishing (CP-SAT), reading, adherence."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, FastAPI, Query, Request

from omnidesk.platform.database import utcnow
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import documented
from omnidesk.routing.api import Routing
from omnidesk.wfm.scheduling import service
from omnidesk.wfm.scheduling.errors import SchedulingError
from omnidesk.wfm.scheduling.inputs import SolverOptions
from omnidesk.wfm.scheduling.result import Schedule as Solved
from omnidesk.wfm.scheduling.schemas import (
    AdherenceOut,
    AgentScheduleOut,
    ProfileIn,
    ProfileOut,
    ScheduleIn,
    ScheduleOut,
    ScheduleSummaryOut,
)
from omnidesk.wfm.scheduling.search import solve

router = APIRouter(prefix="/wfm", tags=["wfm"])
# Solves at once per process; more requests wait their turn (each is bounded by its time limit).
CONCURRENT_SOLVES = 2


async def _routing_agents(request: Request, ctx: Ctx) -> dict[str, dict[str, Any]]:
    """Routing agent definitions (skills, time zone) as committed, by user id."""
    routing: Routing = request.app.state.routing
    return await routing.read(ctx.principal.tenant_id, lambda r: r.agents())


def _limiter(app: FastAPI) -> anyio.CapacityLimiter:
    limiter: anyio.CapacityLimiter | None = getattr(app.state, "wfm_solve_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(CONCURRENT_SOLVES)
        app.state.wfm_solve_limiter = limiter
    return limiter


@router.get("/agents/{user_id}/profile", **documented(ProfileOut))
async def get_profile(user_id: uuid.UUID, request: Request, ctx: Ctx) -> dict[str, Any]:
    routing = await _routing_agents(request, ctx)
    async with ctx.uow:
        return await service.get_profile(ctx.uow.session, ctx.principal, user_id, routing)


@router.put("/agents/{user_id}/profile", **documented(ProfileOut))
async def put_profile(
    user_id: uuid.UUID, body: ProfileIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    service.require_staff(ctx.principal)
    routing = await _routing_agents(request, ctx)
    async with ctx.uow:
        return await service.put_profile(ctx.uow, ctx.principal, user_id, body, routing)


@router.post("/schedules", **documented(ScheduleOut, 201, 404))
async def create_schedule(body: ScheduleIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    """Solve and publish. The inputs are read in one short transaction and the result written
    in another, so no database lock is held while the solver runs (off the event loop)."""
    service.require_staff(ctx.principal)
    routing = await _routing_agents(request, ctx)
    async with ctx.uow:
        planned = await service.plan(ctx.uow.session, ctx.principal, body, routing)
    options = SolverOptions(time_limit_seconds=body.time_limit_seconds)
    run = functools.partial(solve, planned.problem, options)
    try:
        solved: Solved = await anyio.to_thread.run_sync(run, limiter=_limiter(request.app))
    except SchedulingError as exc:
        raise service.domain_error(exc, planned.users) from None
    async with ctx.uow:
        row = await service.publish(ctx.uow, ctx.principal, body, planned, solved)
        schedule_id = row.id
    async with ctx.uow:
        return await service.get_schedule(ctx.uow.session, ctx.principal, schedule_id, local=False)


@router.get("/schedules", **documented(list[ScheduleSummaryOut]))
async def list_schedules(
    ctx: Ctx, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    async with ctx.uow:
        return await service.list_schedules(ctx.uow.session, ctx.principal, limit)


@router.get("/schedules/{schedule_id}", **documented(ScheduleOut))
async def get_schedule(
    schedule_id: uuid.UUID,
    ctx: Ctx,
    tz: Annotated[str, Query(pattern="^(utc|local)$")] = "utc",
) -> dict[str, Any]:
    async with ctx.uow:
        return await service.get_schedule(
            ctx.uow.session, ctx.principal, schedule_id, local=tz == "local"
        )


@router.get("/schedules/{schedule_id}/agents/{user_id}", **documented(AgentScheduleOut))
async def get_agent_schedule(
    schedule_id: uuid.UUID,
    user_id: uuid.UUID,
    ctx: Ctx,
    tz: Annotated[str, Query(min_length=1, max_length=64)] = "utc",
) -> dict[str, Any]:
    async with ctx.uow:
        return await service.agent_schedule(
            ctx.uow.session, ctx.principal, schedule_id, user_id, tz
        )


@router.get("/adherence", **documented(AdherenceOut, 200, 404))
async def get_adherence(
    ctx: Ctx,
    schedule_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    grace_seconds: Annotated[float, Query(ge=0, le=3600)] = 60.0,
) -> dict[str, Any]:
    async with ctx.uow:
        return await service.adherence(
            ctx.uow.session,
            ctx.principal,
            schedule_id=schedule_id,
            user_id=user_id,
            start=start,
            end=end,
            grace_seconds=grace_seconds,
            now=utcnow(),
        )
