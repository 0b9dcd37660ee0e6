"""Conversations over HTTP (agents) and channel administration (admins). Thin: the use cases
are in desk.py and admin.py. Providers' webhooks are in the channels' own endpoint modules."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status

from omnidesk.channels.conversations import admin
from omnidesk.channels.conversations.desk import Desk
from omnidesk.channels.conversations.schemas import (
    AccountIn,
    AccountOut,
    AccountUpdate,
    AttachmentOut,
    CannedIn,
    CannedOut,
    CannedUpdate,
    ChannelSettingsIn,
    ChannelSettingsOut,
    ConversationOut,
    ConversationTakeoverOut,
    ConversationViewerOut,
    MessageOut,
    NoteIn,
    ReplyIn,
    SecretRotatedOut,
    WhisperIn,
)
from omnidesk.channels.conversations.supervision import Supervision
from omnidesk.platform.errors import Conflict, UnsupportedMediaType
from omnidesk.platform.http import Ctx, read_body
from omnidesk.platform.openapi import documented, errors
from omnidesk.routing.api import Routing

router = APIRouter(prefix="/conversations", tags=["conversations"])
admin_router = APIRouter(prefix="/channels", tags=["channels"])
# The file is the raw body (any type the tenant allows), its name in `?filename=`.
FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}
UPLOAD_HARD_LIMIT = 100_000_000


def _desk(request: Request) -> Desk:
    return request.app.state.conversation_desk  # type: ignore[no-any-return]


def _supervision(request: Request) -> Supervision:
    return request.app.state.conversation_supervision  # type: ignore[no-any-return]


@router.get("", **documented(list[ConversationOut]))
async def list_conversations(
    request: Request,
    ctx: Ctx,
    status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    customer_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Newest first; `contact_id`: the conversation that routing contact is (or was) a round
    of; `customer_id`: the customer's. Admins see all; supervisors the conversations of their
    teams' queues; agents those offered to them or that they handle or handled."""
    return await _desk(request).conversations(
        ctx.principal, status_, limit, contact_id=contact_id, customer_id=customer_id
    )


@router.get("/{conversation_id}", **documented(ConversationOut))
async def get_conversation(
    conversation_id: uuid.UUID, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """The conversation, with its reply window (WhatsApp: 24 hours after the customer's last
    message; outside it only the listed templates can be sent)."""
    return await _desk(request).get(ctx.principal, conversation_id)


@router.get("/{conversation_id}/messages", **documented(list[MessageOut]))
async def list_messages(
    conversation_id: uuid.UUID,
    request: Request,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Messages, internal notes and system events, oldest first."""
    return await _desk(request).messages(ctx.principal, conversation_id, limit)


@router.post("/{conversation_id}/messages", **documented(MessageOut, 201, 409))
async def reply(
    conversation_id: uuid.UUID, body: ReplyIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """Send a reply to the customer on the conversation's channel. The answer says whether the
    provider took it (`sent`) or refused it (`failed`, with `error`); later delivery statuses
    come as events. 409 `outside_service_window`: only a template may be sent now."""
    return await _desk(request).reply(ctx.principal, conversation_id, body)


@router.post("/{conversation_id}/notes", **documented(MessageOut, 201))
async def add_note(
    conversation_id: uuid.UUID, body: NoteIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """An internal note: never sent to the customer."""
    return await _desk(request).note(ctx.principal, conversation_id, body.text)


@router.post(
    "/{conversation_id}/attachments",
    openapi_extra=FILE_BODY,
    **documented(AttachmentOut, 201, 415),
)
async def upload_attachment(
    conversation_id: uuid.UUID,
    request: Request,
    ctx: Ctx,
    filename: Annotated[str, Query(min_length=1, max_length=200)] = "attachment",
) -> dict[str, Any]:
    """A file for a reply (then named in the reply's `attachment_ids`); within the tenant's
    size and type limits."""
    await _desk(request).get(ctx.principal, conversation_id)  # 404 before reading a byte
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not kind or "/" not in kind:
        raise UnsupportedMediaType("send the file as the body with its Content-Type")
    refusal = f"attachments are limited to {UPLOAD_HARD_LIMIT} bytes"
    data = await read_body(request, UPLOAD_HARD_LIMIT, refusal)
    return await _desk(request).upload(ctx.principal, conversation_id, filename, kind, data)


@router.get(
    "/{conversation_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}},
)
async def download_attachment(
    conversation_id: uuid.UUID, attachment_id: uuid.UUID, request: Request, ctx: Ctx
) -> Response:
    """The file, to whoever may read the conversation."""
    row, data = await _desk(request).download(ctx.principal, conversation_id, attachment_id)
    return Response(
        content=data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{row.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/{conversation_id}/close", **documented(ConversationOut, 200, 409))
async def close(conversation_id: uuid.UUID, request: Request, ctx: Ctx) -> dict[str, Any]:
    """Close it (its contact ends: the agent goes to wrap-up). The customer's next message
    reopens it and routes it again, preferring the last agent."""
    return await _desk(request).close(ctx.principal, conversation_id)


# --- supervision -----------------------------------------------------------------------------


@router.post("/{conversation_id}/whispers", **documented(MessageOut, 201, 403, 409))
async def whisper(
    conversation_id: uuid.UUID, body: WhisperIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """A supervisor's private note to the agent handling the conversation (supervisors of its
    queue's teams, admins): stored as an internal note with `whisper_to`, seen by the agent and
    the supervisors, never sent to the customer."""
    return await _supervision(request).whisper(ctx.principal, conversation_id, body.text)


@router.post("/{conversation_id}/takeover", **documented(ConversationTakeoverOut, 200, 403, 409))
async def take_over(conversation_id: uuid.UUID, request: Request, ctx: Ctx) -> dict[str, Any]:
    """The supervisor takes the conversation: routing transfers its contact to the
    supervisor's own agent profile and accepts it for them; the agent goes to wrap-up and is
    told (`conversation.taken_over`). 409 `no_agent_profile`: the supervisor has no agent
    profile to hold a contact; 409 `supervisor_not_ready`: not available, or no room."""
    return await _supervision(request).take_over(ctx.principal, conversation_id)


@router.get("/{conversation_id}/viewers", **documented(list[ConversationViewerOut]))
async def list_viewers(conversation_id: uuid.UUID, request: Request, ctx: Ctx) -> list[Any]:
    """Who has the conversation open now (agents in their tab, supervisors monitoring it).
    Changes come as `conversation.viewing_started` / `viewing_stopped` events."""
    return await _supervision(request).viewers(ctx.principal, conversation_id)


@router.put("/{conversation_id}/viewing", **documented(list[ConversationViewerOut]))
async def start_viewing(conversation_id: uuid.UUID, request: Request, ctx: Ctx) -> list[Any]:
    """I have it open (idempotent; say it again after a realtime snapshot). Ends with DELETE
    or when your last realtime socket closes. Answers who is viewing now."""
    return await _supervision(request).start_viewing(ctx.principal, conversation_id)


@router.delete("/{conversation_id}/viewing", status_code=status.HTTP_204_NO_CONTENT)
async def stop_viewing(conversation_id: uuid.UUID, request: Request, ctx: Ctx) -> Response:
    """I closed it."""
    await _supervision(request).stop_viewing(ctx.principal, conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- administration --------------------------------------------------------------------------


@admin_router.get("/settings", **documented(ChannelSettingsOut))
async def get_settings(ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await admin.get_settings(ctx.uow)


@admin_router.put("/settings", **documented(ChannelSettingsOut))
async def put_settings(body: ChannelSettingsIn, ctx: Ctx) -> dict[str, Any]:
    """Languages detection chooses among; attachment size and type limits (admins)."""
    async with ctx.uow:
        return await admin.put_settings(ctx.uow, ctx.principal, body)


@admin_router.post("/accounts", **documented(AccountOut, 201, 404))
async def create_account(body: AccountIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    """A channel account (admins): a WhatsApp Cloud API number, a generic signed webhook or a
    mailbox, and the routing queue its conversations go to. Secrets are never shown again."""
    routing: Routing = request.app.state.routing
    queues = await routing.read(ctx.principal.tenant_id, lambda r: set(r.queues()))
    email = getattr(request.app.state, "email", None)
    address = getattr(body.root, "address", None)
    if email is not None and address is not None:
        admin.require_admin(ctx.principal)
        # The listener finds the account by its address, across tenants: one account each.
        email.accounts_changed()
        if await email.inbound.account_for(address) is not None:
            raise Conflict("another email account receives at this address", field="address")
    async with ctx.uow:
        created = await admin.create_account(
            ctx.uow, ctx.principal, body, queues, request.app.state.conversations.sealing_key
        )
    if email is not None:
        email.accounts_changed()
    return created


@admin_router.get("/accounts", **documented(list[AccountOut]))
async def list_accounts(ctx: Ctx) -> list[dict[str, Any]]:
    async with ctx.uow:
        return await admin.list_accounts(ctx.uow, ctx.principal)


@admin_router.get("/accounts/{account_id}", **documented(AccountOut))
async def get_account(account_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return admin.account_view(await admin.get_account(ctx.uow, ctx.principal, account_id))


@admin_router.put("/accounts/{account_id}", **documented(AccountOut, 200, 404, 409))
async def update_account(
    account_id: uuid.UUID, body: AccountUpdate, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """Change an account's settings (admins): the whole of them, its `kind` as it is; secrets
    left out are kept. With `version` (AccountOut.version) a save on a stale view is refused
    with 409 `version_conflict`. `active: true` brings a deactivated account back."""
    routing: Routing = request.app.state.routing
    queues = await routing.read(ctx.principal.tenant_id, lambda r: set(r.queues()))
    email = getattr(request.app.state, "email", None)
    address = getattr(body.root, "address", None)
    if email is not None and address is not None:
        admin.require_admin(ctx.principal)
        email.accounts_changed()
        other = await email.inbound.account_for(address)
        if other is not None and other.id != account_id:
            raise Conflict("another email account receives at this address", field="address")
    async with ctx.uow:
        updated = await admin.update_account(
            ctx.uow,
            ctx.principal,
            account_id,
            body,
            queues,
            request.app.state.conversations.sealing_key,
        )
    if email is not None:
        email.accounts_changed()
    return updated


@admin_router.post("/accounts/{account_id}/rotate-secret", **documented(SecretRotatedOut, 200, 404))
async def rotate_secret(account_id: uuid.UUID, request: Request, ctx: Ctx) -> dict[str, Any]:
    """A new random secret (admins) for a webhook or chat widget account (`secret`) or a
    WhatsApp number (`verify_token`), returned this once; the old one is refused from now on."""
    async with ctx.uow:
        return await admin.rotate_secret(
            ctx.uow, ctx.principal, account_id, request.app.state.conversations.sealing_key
        )


@admin_router.delete("/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_account(account_id: uuid.UUID, request: Request, ctx: Ctx) -> Response:
    """Deactivate: its webhooks answer 404 (an email address: 550) from now on; its
    conversations stay."""
    async with ctx.uow:
        await admin.deactivate_account(ctx.uow, ctx.principal, account_id)
    email = getattr(request.app.state, "email", None)
    if email is not None:
        email.accounts_changed()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get("/canned-responses", **documented(list[CannedOut]))
async def list_canned(ctx: Ctx) -> list[dict[str, Any]]:
    async with ctx.uow:
        return await admin.list_canned(ctx.uow)


@admin_router.post("/canned-responses", **documented(CannedOut, 201, 409))
async def create_canned(body: CannedIn, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await admin.create_canned(ctx.uow, ctx.principal, body)


@admin_router.put("/canned-responses/{canned_id}", **documented(CannedOut, 200, 404, 409))
async def update_canned(canned_id: uuid.UUID, body: CannedUpdate, ctx: Ctx) -> dict[str, Any]:
    """Change a canned response (supervisors, admins); with `version`, a stale save is
    refused with 409 `version_conflict`."""
    async with ctx.uow:
        return await admin.update_canned(ctx.uow, ctx.principal, canned_id, body)


@admin_router.delete(
    "/canned-responses/{canned_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(404, 409),
)
async def delete_canned(
    canned_id: uuid.UUID,
    ctx: Ctx,
    version: Annotated[
        int | None, Query(ge=1, description="The version the delete was decided on")
    ] = None,
) -> Response:
    async with ctx.uow:
        await admin.delete_canned(ctx.uow, ctx.principal, canned_id, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
