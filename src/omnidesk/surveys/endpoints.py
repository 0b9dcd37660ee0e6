"""HTTP endpoints of surveys: thin, the rules live in the modules they call.

Admins: survey definitions. Supervisors and admins: results and the record of surveys sent or
not. Public (no login, the token is the credential): the survey's questions and the answer,
`/api/v1/surveys/responses/{token}`, and the page `/s/{token}` (page_router, outside /api/v1).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from omnidesk.branding import service as branding
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import DomainError, Invalid
from omnidesk.platform.http import Ctx, services_of
from omnidesk.platform.openapi import errors
from omnidesk.routing.api import queues_visible_to
from omnidesk.surveys import answers, definitions, page, texts
from omnidesk.surveys.models import SurveySend
from omnidesk.surveys.results import results
from omnidesk.surveys.schemas import (
    SCALES,
    SurveyChannel,
    SurveyFormOut,
    SurveyIn,
    SurveyOut,
    SurveyResponseIn,
    SurveyResponseOut,
    SurveyResultsOut,
    SurveySendOut,
)

router = APIRouter(prefix="/surveys", tags=["surveys"])
public_router = APIRouter(prefix="/surveys", tags=["surveys"])
page_router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=1, max_length=200)]
MAX_RANGE_DAYS = 3660
# The page's address is the credential: never cached, never sent on as a Referer.
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)


async def _visible(request: Request, by: Principal) -> Callable[[str | None], bool] | None:
    """Admins see every queue's surveys; a supervisor those of the queues routing shows them
    (`routing.api.queues_visible_to`)."""
    queues = await queues_visible_to(request.app.state.routing, by)
    if queues is None:
        return None
    return lambda queue: queue is not None and queue in queues


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- results and sends --------------------------------------------------------------


@router.get("/results", response_model=SurveyResultsOut)
async def survey_results(
    request: Request,
    ctx: Ctx,
    start: Annotated[
        datetime | None, Query(description="From (inclusive); default 30 days ago")
    ] = None,
    end: Annotated[datetime | None, Query(description="Until (exclusive); default now")] = None,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    queue_id: Annotated[str | None, Query(max_length=64)] = None,
    channel: SurveyChannel | None = None,
    group_by: Literal["agent", "queue", "channel"] | None = None,
) -> SurveyResultsOut:
    """Counts, CSAT, NPS, CES and free-text answers of the contacts that ended in the range."""
    definitions.require_reader(ctx.principal)
    until = _aware(end) if end else utcnow()
    since = _aware(start) if start else until - timedelta(days=30)
    if until <= since:
        raise Invalid("the end must be after the start", field="end")
    if until - since > timedelta(days=MAX_RANGE_DAYS):
        raise Invalid(f"a range of at most {MAX_RANGE_DAYS} days", field="start")
    # Routing is asked before the transaction starts (its read may wait for routing's commit,
    # which on SQLite needs the write lock).
    visible = await _visible(request, ctx.principal)
    async with ctx.uow:
        return await results(
            ctx.uow.session,
            since,
            until,
            agent_id=agent_id,
            queue_id=queue_id,
            channel=channel,
            group_by=group_by,
            visible=visible,
        )


@router.get("/sends", response_model=list[SurveySendOut])
async def survey_sends(
    request: Request,
    ctx: Ctx,
    contact_id: Annotated[str | None, Query(max_length=64)] = None,
    status_: Annotated[
        Literal["pending", "sent", "not_sent", "answered"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SurveySendOut]:
    """Surveys sent, answered or not sent (with the reason), newest first."""
    definitions.require_reader(ctx.principal)
    query = select(SurveySend).order_by(SurveySend.ended_at.desc(), SurveySend.id).limit(limit)
    if contact_id is not None:
        query = query.where(SurveySend.contact_id == contact_id)
    if status_ is not None:
        query = query.where(SurveySend.status == status_)
    visible = await _visible(request, ctx.principal)
    async with ctx.uow:
        rows = list(await ctx.uow.session.scalars(query))
        rows = [r for r in rows if visible is None or visible(r.queue_id)]
        return [SurveySendOut.model_validate(r, from_attributes=True) for r in rows]


# --- definitions ----------------------------------------------------------------------------


@router.get("/definitions", response_model=list[SurveyOut], responses=errors(403))
async def list_surveys(ctx: Ctx) -> list[SurveyOut]:
    async with ctx.uow:
        return [definitions.out(r) for r in await definitions.list_all(ctx.uow, ctx.principal)]


@router.post(
    "/definitions",
    response_model=SurveyOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(403),
)
async def create_survey(body: SurveyIn, ctx: Ctx) -> SurveyOut:
    async with ctx.uow:
        row = await definitions.create(ctx.uow, ctx.principal, body)
        out = definitions.out(row)
    return out


@router.get("/definitions/{survey_id}", response_model=SurveyOut, responses=errors(403))
async def get_survey(survey_id: uuid.UUID, ctx: Ctx) -> SurveyOut:
    async with ctx.uow:
        return definitions.out(await definitions.get(ctx.uow, ctx.principal, survey_id))


@router.put("/definitions/{survey_id}", response_model=SurveyOut, responses=errors(403))
async def update_survey(survey_id: uuid.UUID, body: SurveyIn, ctx: Ctx) -> SurveyOut:
    async with ctx.uow:
        row = await definitions.update(ctx.uow, ctx.principal, survey_id, body)
        out = definitions.out(row)
    return out


@router.delete(
    "/definitions/{survey_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403)
)
async def delete_survey(survey_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await definitions.delete(ctx.uow, ctx.principal, survey_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- answering (public) ------------------------------------------------------------------------


@public_router.get(
    "/responses/{token}", response_model=SurveyFormOut, responses=errors(404, 409, 410)
)
async def survey_form(token: Token, request: Request) -> SurveyFormOut:
    """The questions of a sent survey (what a client such as the chat widget shows)."""
    return answers.form(await answers.find(services_of(request).db, token))


@public_router.post(
    "/responses/{token}",
    response_model=SurveyResponseOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(404, 409, 410),
)
async def answer_survey(
    token: Token, body: SurveyResponseIn, request: Request
) -> SurveyResponseOut:
    """Answer once: a second answer is 409, an unknown token 404, an expired survey 410."""
    services = services_of(request)
    count = await answers.answer(services.db, services.bus, token, body.answers)
    return SurveyResponseOut(answered=True, answers=count)


# --- the page ------------------------------------------------------------------------------------


def _language(request: Request, fallback: str | None) -> str:
    wanted = request.query_params.get("lang")
    return texts.language_of(wanted if wanted in texts.LANGUAGES else fallback)


def _refusal_page(request: Request, error: DomainError) -> HTMLResponse:
    key = {404: "unknown", 409: "answered", 410: "expired"}.get(error.status, "unknown")
    return _html(page.message(_language(request, None), key), error.status)


@page_router.get("/s/{token}", response_class=HTMLResponse)
async def survey_page(token: Token, request: Request) -> HTMLResponse:
    try:
        found = await answers.find(services_of(request).db, token)
    except DomainError as error:
        return _refusal_page(request, error)
    shown = answers.form(found).model_copy(
        update={"language": _language(request, found.send.language)}
    )
    look = await branding.look(services_of(request).db, found.send.tenant_id)
    return _html(page.survey_form(shown, str(request.url.path), look=look))


@page_router.post("/s/{token}", response_class=HTMLResponse)
async def survey_page_answer(token: Token, request: Request) -> HTMLResponse:
    """The page's form, posted as `application/x-www-form-urlencoded` (no script needed)."""
    services = services_of(request)
    raw = (await request.body()).decode("utf-8", errors="replace")
    fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    try:
        found = await answers.find(services.db, token)
    except DomainError as error:
        return _refusal_page(request, error)
    language = _language(request, found.send.language)
    kinds = {q["id"]: q["kind"] for q in found.survey.questions}
    given: dict[str, int | str] = {}
    for key, value in fields.items():
        if kinds.get(key) in SCALES and value.strip().lstrip("-").isdigit():
            given[key] = int(value)
        elif value.strip():
            given[key] = value
    try:
        await answers.answer(services.db, services.bus, token, given)
    except Invalid as error:
        shown = answers.form(found).model_copy(update={"language": language})
        look = await branding.look(services.db, found.send.tenant_id)
        path = str(request.url.path)
        body = page.survey_form(shown, path, error=error.detail, given=given, look=look)
        return _html(body, 422)
    except DomainError as error:
        return _refusal_page(request, error)
    return _html(page.message(language, "thanks"))
