"""Platform endpoints: health, readiness, metrics, the audit log, event replay, realtime."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AfterValidator, BaseModel, BeforeValidator
from sqlalchemy import text

from omnidesk.platform import eventlog, migrate, realtime
from omnidesk.platform.audit import AuditFilter, audit_query
from omnidesk.platform.errors import Forbidden, Invalid
from omnidesk.platform.fields import as_utc
from omnidesk.platform.http import Ctx, services_of

probes = APIRouter(tags=["operations"])
api = APIRouter(tags=["platform"])
# Ids are 64-bit in the database; a bigger number must be a 422, not a driver overflow.
MAX_ID = 2**63 - 1


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    migration: str | None = None
    detail: str | None = None


@probes.get("/healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@probes.get(
    "/readyz",
    response_model=None,
    responses={200: {"model": Readiness}, 503: {"model": Readiness, "description": "Not ready"}},
)
async def readyz(request: Request) -> JSONResponse:
    db = services_of(request).db
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await conn.run_sync(migrate.current_revision_sync)
    except Exception as exc:  # any failure to reach the database means not ready
        return JSONResponse(
            {"status": "unavailable", "detail": f"database: {exc.__class__.__name__}"}, 503
        )
    head = migrate.head_revision()
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "detail": f"migrations at {current}, code expects {head}"},
            503,
        )
    return JSONResponse({"status": "ready", "migration": current})


@probes.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    registry = services_of(request).metrics.registry
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_user_id: uuid.UUID | None
    actor_token_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]


def _aware_instant(value: object) -> object:
    """An ISO 8601 date-time with its offset: the audit log is searched by admins in many zones,
    so a time without one would be a guess."""
    _iso_instant(value)
    if isinstance(value, str) and not re.search(
        r"(Z|[+-]\d{2}:?\d{2})$", value.strip(), re.IGNORECASE
    ):
        raise ValueError("a date and time with a time zone, e.g. 2026-11-23T00:00:00Z")
    return value


# _aware_instant refuses a time without an offset, so as_utc only converts (or refuses).
Instant = Annotated[datetime | None, BeforeValidator(_aware_instant), AfterValidator(as_utc)]


@api.get(
    "/audit-log",
    response_model=list[AuditOut],
    responses={
        403: {"description": "Not an admin"},
        422: {"description": "A filter is malformed, or `since` is not before `until`"},
    },
)
async def audit_log(
    ctx: Ctx,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="entries older than this id (paging)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[
        str | None,
        Query(
            max_length=101,
            pattern=r"^[a-z][a-z0-9_.]*\*?$",
            description="exact action (`api_token.create`), or a prefix ending in `*`"
            " (`api_token.*`)",
        ),
    ] = None,
    target_type: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    target_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    actor_user_id: Annotated[uuid.UUID | None, Query(description="who acted")] = None,
    actor_token_id: Annotated[
        uuid.UUID | None, Query(description="through which API token")
    ] = None,
    since: Annotated[Instant, Query(description="entries at or after this instant")] = None,
    until: Annotated[Instant, Query(description="entries before this instant")] = None,
) -> list[AuditOut]:
    """The audit log, newest first; the filters given must all match."""
    if not ctx.principal.is_admin:
        raise Forbidden("the audit log is for admins")
    if since is not None and until is not None and since >= until:
        raise Invalid("`since` must be before `until`", field="since")
    wanted = AuditFilter(
        action=action,
        target_type=target_type,
        target_id=target_id,
        actor_user_id=actor_user_id,
        actor_token_id=actor_token_id,
        since=since,
        until=until,
    )
    async with ctx.uow:
        rows = (
            await ctx.uow.session.scalars(audit_query(wanted, before=before, limit=limit))
        ).all()
        return [AuditOut.model_validate(r, from_attributes=True) for r in rows]


def _iso_instant(value: object) -> object:
    """An ISO 8601 date-time, as the schema says (pydantic alone would also take a number of
    seconds since 1970)."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value):
        raise ValueError("an ISO 8601 date and time, e.g. 2026-11-23T00:00:00Z")
    return value


class EventPage(BaseModel):
    events: list[dict[str, Any]]
    last_event_id: int


@api.get("/events", response_model=EventPage)
async def events(
    ctx: Ctx,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    since: Annotated[
        datetime | None,
        BeforeValidator(_iso_instant),
        AfterValidator(as_utc),
        Query(description="start at the first event at or after this instant (instead of after)"),
    ] = None,
) -> EventPage:
    """The events the caller may see after `after` (or from `since` on), oldest first (the
    log, over HTTP)."""
    async with ctx.uow:
        if since is not None:
            after = await eventlog.seq_before(ctx.uow.session, ctx.principal.tenant_id, since)
        rows = await eventlog.read_after(ctx.uow.session, after, limit=limit)
    # The cursor moves past events the caller may not see, so paging never stalls on them.
    published = [r.to_published() for r in rows]
    cursor = published[-1].seq if published else after
    return EventPage(
        events=[e.to_wire() for e in published if ctx.principal.sees(e.audience)],
        last_event_id=cursor,
    )


@api.websocket("/realtime")
async def realtime_socket(websocket: WebSocket) -> None:
    await realtime.serve(websocket)
