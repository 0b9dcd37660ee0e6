"""HTTP endpoints of quality: thin, the rules live in scorecards.py and evaluations.py.

Routing is asked who the caller may see (and who follows an agent) before a unit of work
opens: a routing read must never wait inside one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import Invalid
from omnidesk.platform.events import Audience
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors
from omnidesk.qa import evaluations, scorecards
from omnidesk.qa.evaluations import Visible
from omnidesk.qa.schemas import (
    QualityEvaluationIn,
    QualityEvaluationOut,
    QualityScorecardIn,
    QualityScorecardOut,
)
from omnidesk.routing.api import agents_visible_to

router = APIRouter(prefix="/quality", tags=["quality"])


async def _visible(request: Request, by: Principal) -> Visible:
    if by.role is Role.AGENT:
        return frozenset()  # their own only (evaluations.py)
    return await agents_visible_to(request.app.state.routing, by)


def _audience(request: Request, by: Principal, agent_id: str) -> Audience:
    return request.app.state.routing.agent_audience(  # type: ignore[no-any-return]
        by.tenant_id, agent_id
    )


# --- scorecards ----------------------------------------------------------------------------


@router.get("/scorecards", response_model=list[QualityScorecardOut], responses=errors(403))
async def list_scorecards(ctx: Ctx) -> list[QualityScorecardOut]:
    """Supervisors and admins."""
    async with ctx.uow:
        return [scorecards.out(r) for r in await scorecards.list_all(ctx.uow, ctx.principal)]


@router.post(
    "/scorecards",
    response_model=QualityScorecardOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(403),
)
async def create_scorecard(body: QualityScorecardIn, ctx: Ctx) -> QualityScorecardOut:
    """Admins. Criteria: points (0 to max_points) or yes/no, each with a weight; a yes/no one
    may be auto-fail (answered no, the evaluation scores 0)."""
    async with ctx.uow:
        return scorecards.out(await scorecards.create(ctx.uow, ctx.principal, body))


@router.get(
    "/scorecards/{scorecard_id}", response_model=QualityScorecardOut, responses=errors(403, 404)
)
async def get_scorecard(scorecard_id: uuid.UUID, ctx: Ctx) -> QualityScorecardOut:
    async with ctx.uow:
        return scorecards.out(await scorecards.get(ctx.uow, ctx.principal, scorecard_id))


@router.put(
    "/scorecards/{scorecard_id}",
    response_model=QualityScorecardOut,
    responses=errors(403, 404, 409),
)
async def update_scorecard(
    scorecard_id: uuid.UUID, body: QualityScorecardIn, ctx: Ctx
) -> QualityScorecardOut:
    """Change a scorecard, naming the `version` it was made on (stale: 409
    `version_conflict`). Evaluations graded already keep the criteria they were graded on."""
    async with ctx.uow:
        return scorecards.out(await scorecards.update(ctx.uow, ctx.principal, scorecard_id, body))


@router.delete(
    "/scorecards/{scorecard_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(403, 404, 409),
)
async def delete_scorecard(
    scorecard_id: uuid.UUID,
    ctx: Ctx,
    version: Annotated[
        int | None, Query(ge=1, description="The version the delete was decided on")
    ] = None,
) -> Response:
    """Evaluations graded with it keep their criteria and score; with `version`, a delete
    decided on an older version is refused with 409 `version_conflict`."""
    async with ctx.uow:
        await scorecards.delete(ctx.uow, ctx.principal, scorecard_id, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- evaluations ---------------------------------------------------------------------------


@router.post(
    "/evaluations",
    response_model=QualityEvaluationOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(403, 404, 409),
)
async def create_evaluation(
    body: QualityEvaluationIn, request: Request, ctx: Ctx
) -> QualityEvaluationOut:
    """Grade an agent's work on an ended contact they handled. Supervisors grade the agents
    of their teams (another is 404), admins every agent; nobody themselves (403). Every
    criterion is answered; a second grade of the same by the same evaluator is 409."""
    visible = await _visible(request, ctx.principal)
    audience = _audience(request, ctx.principal, body.agent_id)
    async with ctx.uow:
        row = await evaluations.create(
            ctx.uow, ctx.principal, body, visible=visible, audience=audience
        )
        return evaluations.out(row)


@router.get("/evaluations", response_model=list[QualityEvaluationOut], responses=errors(403, 422))
async def list_evaluations(
    request: Request,
    ctx: Ctx,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    contact_id: Annotated[str | None, Query(max_length=128)] = None,
    start: Annotated[
        datetime | None, Query(description="Contacts that ended from (inclusive)")
    ] = None,
    end: Annotated[datetime | None, Query(description="... until (exclusive)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QualityEvaluationOut]:
    """Newest contacts first. Agents: their own; supervisors: their teams' agents' (and their
    own); admins: all."""
    if start is not None and end is not None and end <= start:
        raise Invalid("the end must be after the start", field="end")
    visible = await _visible(request, ctx.principal)
    async with ctx.uow:
        rows = await evaluations.list_some(
            ctx.uow, ctx.principal, visible=visible, agent_id=agent_id,
            contact_id=contact_id, start=start, end=end, limit=limit,
        )  # fmt: skip
        return [evaluations.out(r) for r in rows]


@router.get(
    "/evaluations/{evaluation_id}", response_model=QualityEvaluationOut, responses=errors(404)
)
async def get_evaluation(
    evaluation_id: uuid.UUID, request: Request, ctx: Ctx
) -> QualityEvaluationOut:
    visible = await _visible(request, ctx.principal)
    async with ctx.uow:
        row = await evaluations.get(ctx.uow, ctx.principal, evaluation_id, visible=visible)
        return evaluations.out(row)


@router.post(
    "/evaluations/{evaluation_id}/acknowledge",
    response_model=QualityEvaluationOut,
    responses=errors(403, 404),
)
async def acknowledge_evaluation(
    evaluation_id: uuid.UUID, request: Request, ctx: Ctx
) -> QualityEvaluationOut:
    """The graded agent says they have read it (again: no change)."""
    visible = await _visible(request, ctx.principal)
    audience = _audience(request, ctx.principal, str(ctx.principal.user_id))
    async with ctx.uow:
        row = await evaluations.acknowledge(
            ctx.uow, ctx.principal, evaluation_id, visible=visible, audience=audience
        )
        return evaluations.out(row)
