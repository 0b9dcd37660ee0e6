"""HTTP endpoints of team communication: thin, the rules live in the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from omnidesk.directory.im import service
from omnidesk.directory.im.schemas import (
    Contacts,
    HandIn,
    HandOut,
    ImMessageOut,
    MessageIn,
    Posted,
    ReadIn,
    ReadOut,
    ThreadOut,
)
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors

router = APIRouter(prefix="/im", tags=["messages"])


@router.get("/threads", response_model=list[ThreadOut])
async def list_threads(ctx: Ctx) -> list[ThreadOut]:
    """Your threads that have messages, with how far you have read each."""
    async with ctx.uow:
        return await service.list_threads(ctx.uow.session, ctx.principal)


@router.get(
    "/threads/{thread_id}/messages", response_model=list[ImMessageOut], responses=errors(404)
)
async def list_messages(
    thread_id: uuid.UUID,
    ctx: Ctx,
    before: Annotated[int | None, Query(ge=1, description="Messages numbered below this")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = service.PAGE,
) -> list[ImMessageOut]:
    """A page of a thread's messages, oldest first (the latest page without `before`)."""
    async with ctx.uow:
        return await service.messages(
            ctx.uow.session, ctx.principal, thread_id, before=before, limit=limit
        )


@router.post(
    "/messages",
    response_model=Posted,
    status_code=status.HTTP_201_CREATED,
    responses=errors(403, 404),
)
async def post_message(body: MessageIn, ctx: Ctx) -> Posted:
    """Write to a thread, a user, a team or (supervisors and admins, as a broadcast) everyone."""
    async with ctx.uow:
        return await service.post(ctx.uow, ctx.principal, body)


@router.post("/threads/{thread_id}/read", response_model=ReadOut, responses=errors(404))
async def mark_read(thread_id: uuid.UUID, body: ReadIn, ctx: Ctx) -> ReadOut:
    """You have read the thread up to message `up_to` (a marker only moves forward)."""
    async with ctx.uow:
        return await service.mark_read(ctx.uow, ctx.principal, thread_id, body.up_to)


@router.get("/contacts", response_model=Contacts)
async def contacts(ctx: Ctx) -> Contacts:
    """The teams and users you may write to."""
    async with ctx.uow:
        return await service.contacts(ctx.uow.session, ctx.principal)


@router.get("/hands", response_model=list[HandOut])
async def list_hands(ctx: Ctx) -> list[HandOut]:
    """Raised hands you see: your own; a supervisor those of their teams; admins all."""
    async with ctx.uow:
        return await service.list_hands(ctx.uow.session, ctx.principal)


@router.post("/hand", response_model=HandOut)
async def raise_hand(body: HandIn, ctx: Ctx) -> HandOut:
    """Raise your hand: your teams' supervisors see it at once. Raising it again changes
    nothing."""
    async with ctx.uow:
        return await service.raise_hand(ctx.uow, ctx.principal, body)


@router.delete("/hands/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
async def lower_hand(user_id: uuid.UUID, ctx: Ctx) -> Response:
    """Lower a raised hand: your own, or (supervisors) one of your teams' agents'."""
    async with ctx.uow:
        await service.lower_hand(ctx.uow, ctx.principal, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
