"""Web chat over HTTP and WebSocket.

Public (the visitor's browser on any site; no agent session, CORS by chat/cors.py):
`/api/v1/chat/widget/{key}` ... where the key is the chat account's id. The visitor is named by
headers: `X-Omnidesk-Visitor` (the token from `POST .../visitors`) or `X-Omnidesk-User` with
`X-Omnidesk-User-Hash` (the site's signature of its user id). Agents: typing to the visitor.
Admins: the widget's configuration and secret.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from omnidesk.channels.chat import hub as visitor_hub
from omnidesk.channels.chat.config import ChatWidgetIn, ChatWidgetOut
from omnidesk.channels.chat.identity import Visitor, new_token, visitor_of
from omnidesk.channels.chat.views import (
    ChatHistoryOut,
    ChatOfflineOut,
    ChatSentOut,
    ChatTranscriptOut,
    ChatVisitorOut,
)
from omnidesk.channels.chat.widget import (
    ChatMessageIn,
    ChatOfflineIn,
    ChatStartIn,
    ChatTranscriptIn,
    ClientId,
    WidgetService,
)
from omnidesk.channels.conversations import admin, store
from omnidesk.channels.conversations.adapter import Account
from omnidesk.channels.conversations.desk import Desk
from omnidesk.channels.conversations.schemas import AccountOut
from omnidesk.platform.audit import audit
from omnidesk.platform.errors import (
    DomainError,
    Invalid,
    NotFound,
    UnsupportedMediaType,
)
from omnidesk.platform.http import Ctx, read_body
from omnidesk.platform.openapi import documented, errors
from omnidesk.platform.schemas import Input

router = APIRouter(prefix="/chat", tags=["chat"])
admin_router = APIRouter(prefix="/channels", tags=["channels"])
REGISTER_TIMEOUT = 15.0
UPLOAD_HARD_LIMIT = 100_000_000
FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}
VisitorHeader = Annotated[str | None, Header(alias="X-Omnidesk-Visitor", max_length=200)]
UserHeader = Annotated[str | None, Header(alias="X-Omnidesk-User", max_length=200)]
HashHeader = Annotated[str | None, Header(alias="X-Omnidesk-User-Hash", max_length=200)]


def _widgets(request: Request | WebSocket) -> WidgetService:
    return request.app.state.chat_widgets  # type: ignore[no-any-return]


def _hub(request: Request | WebSocket) -> visitor_hub.VisitorHub:
    return request.app.state.chat_hub  # type: ignore[no-any-return]


async def _account(request: Request, key: uuid.UUID) -> Account:
    return await _widgets(request).account(key, request.headers.get("origin"))


def _visitor(
    account: Account, token: str | None, user: str | None, user_hash: str | None
) -> Visitor:
    return visitor_of(
        account.secret("secret"),
        token=token,
        user_id=user,
        user_hash=user_hash,
        require_identity=bool(account.config.get("require_identity")),
    )


# --- the visitor's browser -------------------------------------------------------------------


@router.get("/widget/{key}", **documented(ChatWidgetOut, 200, 403))
async def widget_config(key: uuid.UUID, request: Request) -> dict[str, Any]:
    """What the widget shows: title, greeting, colours, the pre-chat form, languages, whether
    it is within business hours now (`online`), the offline form's text, file limits."""
    return await _widgets(request).config(await _account(request, key))


@router.post("/widget/{key}/visitors", **documented(ChatVisitorOut, 201, 403))
async def new_visitor(key: uuid.UUID, request: Request) -> dict[str, Any]:
    """A new anonymous visitor's token: the widget keeps it in the browser's localStorage and
    sends it as `X-Omnidesk-Visitor`. Signed-in users of the site need none."""
    account = await _account(request, key)
    if account.config.get("require_identity"):
        _visitor(account, None, None, None)  # 403: signed users only
    return {"visitor_token": new_token()}


@router.get("/widget/{key}/conversation", **documented(ChatHistoryOut, 200, 401, 403))
async def history(
    key: uuid.UUID,
    request: Request,
    visitor: VisitorHeader = None,
    user: UserHeader = None,
    user_hash: HashHeader = None,
) -> dict[str, Any]:
    """The visitor's conversation and its messages (none yet: `conversation` null)."""
    account = await _account(request, key)
    return await _widgets(request).history(account, _visitor(account, visitor, user, user_hash))


@router.post("/widget/{key}/conversation", **documented(ChatHistoryOut, 200, 401, 403, 429))
async def start(
    key: uuid.UUID,
    body: ChatStartIn,
    request: Request,
    visitor: VisitorHeader = None,
    user: UserHeader = None,
    user_hash: HashHeader = None,
) -> dict[str, Any]:
    """Start the visitor's conversation with the pre-chat form's answers (they become its
    first message and it is routed), or resume the one that is open."""
    account = await _account(request, key)
    who = _visitor(account, visitor, user, user_hash)
    return await _widgets(request).start(account, who, body)


@router.post("/widget/{key}/conversation/messages", **documented(ChatSentOut, 201, 401, 403, 429))
async def send(
    key: uuid.UUID,
    body: ChatMessageIn,
    request: Request,
    visitor: VisitorHeader = None,
    user: UserHeader = None,
    user_hash: HashHeader = None,
) -> dict[str, Any]:
    """A message from the visitor: answered once it is stored (and routed); the same
    `client_id` again is answered with the stored message (`duplicate`: true)."""
    account = await _account(request, key)
    who = _visitor(account, visitor, user, user_hash)
    return await _widgets(request).send(account, who, body)


@router.post(
    "/widget/{key}/conversation/files",
    openapi_extra=FILE_BODY,
    **documented(ChatSentOut, 201, 401, 403, 413, 415, 429),
)
async def upload(
    key: uuid.UUID,
    request: Request,
    client_id: Annotated[ClientId, Query()],
    filename: Annotated[str, Query(min_length=1, max_length=200)] = "file",
    visitor: VisitorHeader = None,
    user: UserHeader = None,
    user_hash: HashHeader = None,
) -> dict[str, Any]:
    """A file from the visitor (the raw body with its Content-Type), as a message of its own;
    within the tenant's attachment limits."""
    account = await _account(request, key)
    who = _visitor(account, visitor, user, user_hash)
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not kind or "/" not in kind:
        raise UnsupportedMediaType("send the file as the body with its Content-Type")
    data = await read_body(
        request, UPLOAD_HARD_LIMIT, f"files are limited to {UPLOAD_HARD_LIMIT} bytes"
    )
    return await _widgets(request).upload(account, who, client_id, filename, kind, data)


@router.get(
    "/widget/{key}/conversation/files/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}},
        **errors(401, 403),
    },
)
async def download(
    key: uuid.UUID,
    attachment_id: uuid.UUID,
    request: Request,
    visitor: VisitorHeader = None,
    user: UserHeader = None,
    user_hash: HashHeader = None,
) -> Response:
    """A file of the visitor's own conversation (theirs or an agent's)."""
    account = await _account(request, key)
    who = _visitor(account, visitor, user, user_hash)
    row, data = await _widgets(request).download(account, who, attachment_id)
    return Response(
        content=data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{row.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/widget/{key}/offline", **documented(ChatOfflineOut, 201, 401, 403, 429))
async def offline(
    key: uuid.UUID,
    body: ChatOfflineIn,
    request: Request,
    visitor: VisitorHeader = None,
    user: UserHeader = None,
    user_hash: HashHeader = None,
) -> dict[str, Any]:
    """The offline form (outside business hours). With the widget's email account: an email
    conversation of the given address, routed as an `email` contact (`delivery` `email`);
    without: stored in the visitor's chat conversation and routed as a `chat` contact marked
    `offline` (`delivery` `chat`)."""
    account = await _account(request, key)
    who = _visitor(account, visitor, user, user_hash)
    return await _widgets(request).offline(account, who, body)


@router.post(
    "/widget/{key}/transcript", **documented(ChatTranscriptOut, 200, 401, 403, 404, 409, 429, 502)
)
async def transcript(
    key: uuid.UUID,
    body: ChatTranscriptIn,
    request: Request,
    visitor: VisitorHeader = None,
    user: UserHeader = None,
    user_hash: HashHeader = None,
) -> dict[str, Any]:
    """Mail the visitor's own conversation (pre-chat answers included) to `email` through
    the widget's email account (409 without one); a few per conversation an hour (429)."""
    account = await _account(request, key)
    who = _visitor(account, visitor, user, user_hash)
    return await _widgets(request).transcript(account, who, body)


@router.websocket("/widget/{key}/socket")
async def socket(websocket: WebSocket, key: uuid.UUID) -> None:
    """The visitor's live conversation (docs/channels.md, "The widget's socket")."""
    await websocket.accept()
    try:
        try:
            account = await _widgets(websocket).account(key, websocket.headers.get("origin"))
            raw = await asyncio.wait_for(websocket.receive_text(), REGISTER_TIMEOUT)
            last, who = _register(account, raw)
            conv = await _widgets(websocket).conversation(account, who)
            if conv is None:
                raise NotFound("no conversation yet: start one first")
        except TimeoutError:
            raise _Refused(408, "no register message received") from None
        except DomainError as exc:
            raise _Refused(exc.status, exc.detail) from exc
        connection = visitor_hub.VisitorSocket(
            _hub(websocket), websocket, account, conv.id, conv.contact_id
        )
        await visitor_hub.run(connection, last)
    except _Refused as refused:
        try:
            await websocket.send_text(
                json.dumps({"type": "error", "status": refused.status, "detail": refused.detail})
            )
            await websocket.close(code=4000 + refused.status, reason=refused.detail[:120])
        except (WebSocketDisconnect, RuntimeError):
            return
    except (WebSocketDisconnect, RuntimeError):
        return


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _register(account: Account, raw: str) -> tuple[int | None, Visitor]:
    try:
        message = json.loads(raw)
    except ValueError:
        raise Invalid("messages must be JSON") from None
    if not isinstance(message, dict) or message.get("type") != "register":
        raise Invalid('the first message must be {"type": "register", "last_event_id": ...}')
    extra = set(message) - {"type", "last_event_id", "visitor_token", "user_id", "user_hash"}
    if extra:
        raise Invalid(f"unknown fields in register: {sorted(extra)}")
    last = message.get("last_event_id")
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 0):
        raise Invalid("last_event_id must be null or a non-negative integer")
    strings = {k: message.get(k) for k in ("visitor_token", "user_id", "user_hash")}
    if any(v is not None and not isinstance(v, str) for v in strings.values()):
        raise Invalid("visitor_token, user_id and user_hash are strings")
    return last, _visitor(
        account, strings["visitor_token"], strings["user_id"], strings["user_hash"]
    )


# --- agents ----------------------------------------------------------------------------------


class ChatTypingIn(Input):
    active: bool


class ChatTypingOut(BaseModel):
    # Whether the visitor is typing now (their widget says so every few seconds).
    visitor_typing: bool
    # How many of the visitor's sockets the agent's indicator reached.
    delivered_to: int


@router.post("/conversations/{conversation_id}/typing", **documented(ChatTypingOut))
async def agent_typing(
    conversation_id: uuid.UUID, body: ChatTypingIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """The agent is typing (or stopped): shown in the visitor's widget; the answer says
    whether the visitor is typing. Whoever may read the conversation may."""
    desk: Desk = request.app.state.conversation_desk
    await desk.get(ctx.principal, conversation_id)  # 404 unless they may read it
    hub = _hub(request)
    reached = hub.push(conversation_id, {"type": "typing", "from": "agent", "active": body.active})
    return {"visitor_typing": hub.is_typing(conversation_id), "delivered_to": reached}


@router.get("/conversations/{conversation_id}/typing", **documented(ChatTypingOut))
async def visitor_typing(conversation_id: uuid.UUID, request: Request, ctx: Ctx) -> dict[str, Any]:
    """Whether the visitor is typing now."""
    desk: Desk = request.app.state.conversation_desk
    await desk.get(ctx.principal, conversation_id)
    return {"visitor_typing": _hub(request).is_typing(conversation_id), "delivered_to": 0}


# --- administration --------------------------------------------------------------------------


class ChatWidgetUpdateIn(ChatWidgetIn):
    """The widget's whole configuration (replaced); `secret` rotates the signing secret (the
    site must sign with the new one from then on)."""

    secret: str | None = None


@admin_router.put("/accounts/{account_id}/widget", **documented(AccountOut, 200, 404))
async def update_widget(
    account_id: uuid.UUID, body: ChatWidgetUpdateIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """Change a chat account's widget (admins); other kinds of account have none (404)."""
    if body.secret is not None and not 16 <= len(body.secret) <= 200:
        raise Invalid("the secret is 16-200 characters", field="secret")
    async with ctx.uow:
        row = await admin.get_account(ctx.uow, ctx.principal, account_id)
        if row.kind != "chat":
            raise NotFound("not a chat account: it has no widget")
        await admin.check_widget_email(ctx.uow, body.email_account_id)
        row.config = body.model_dump(mode="json", exclude={"secret"})
        if body.secret is not None:
            key = request.app.state.conversations.sealing_key
            row.secrets = {
                **(row.secrets or {}),
                **store.seal_secrets(key, {"secret": body.secret}),
            }
        # A save like PUT /accounts/{id}: a later edit made on the old version is refused.
        row.version += 1
        audit(
            ctx.uow,
            ctx.principal,
            "channel.account.update",
            "channel_account",
            row.id,
            changed=["config"],
            secrets_changed=["secret"] if body.secret is not None else [],
            version=row.version,
        )
        return admin.account_view(row)
