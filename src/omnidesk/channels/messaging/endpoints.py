"""Providers' webhooks. No user session: each request is authenticated by its signature with
the account's secret (401, nothing stored, when it does not match). A delivery is answered
only after every message in it is stored (and its round routed), so an acknowledged message
is never lost; a redelivery is answered the same and stores nothing twice."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ValidationError

from omnidesk.channels.conversations.adapter import Account, Inbound
from omnidesk.channels.conversations.service import ConversationService
from omnidesk.channels.messaging import signature, whatsapp
from omnidesk.channels.messaging.webhook import HEADER, WebhookDelivery, parse
from omnidesk.channels.messaging.whatsapp import WhatsAppNotification
from omnidesk.platform.errors import DomainError, Forbidden, Invalid, NotFound, Unauthenticated
from omnidesk.platform.logging import get_logger
from omnidesk.platform.openapi import body_schema, errors

log = get_logger(__name__)
router = APIRouter(prefix="/channels", tags=["channels"])
# The models bodies are documented as; the routes parse them only after the signature check.
BODY_MODELS = (WhatsAppNotification, WebhookDelivery)


class BadRequest(DomainError):
    status = 400
    code = "malformed_delivery"
    title = "Bad request"


class DeliveryOut(BaseModel):
    received: int
    duplicates: int
    statuses: int


def _service(request: Request) -> ConversationService:
    return request.app.state.conversations  # type: ignore[no-any-return]


async def _account(request: Request, account_id: uuid.UUID, kind: str) -> Account:
    account = await _service(request).account(account_id, kind)
    if account is None:
        raise NotFound("no such channel account")
    return account


async def _take(request: Request, account: Account, inbound: Inbound) -> dict[str, Any]:
    service = _service(request)
    received = duplicates = 0
    for message in inbound.messages:
        result = await service.receive(account, message)
        duplicates += result.duplicate
        received += not result.duplicate
    for update in inbound.statuses:
        await service.apply_status(account, update)
    return {"received": received, "duplicates": duplicates, "statuses": len(inbound.statuses)}


def _refuse_forged(account: Account, secret_key: str, raw: bytes, header: str | None) -> None:
    if not signature.valid(account.secret(secret_key), raw, header):
        log.warning("channels.signature_refused", account=str(account.id), kind=account.kind)
        raise Unauthenticated("the signature does not match the body")


@router.get(
    "/whatsapp/{account_id}/webhook",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **errors(403)},
)
async def whatsapp_verify(
    account_id: uuid.UUID,
    request: Request,
    mode: Annotated[str, Query(alias="hub.mode", max_length=50)],
    token: Annotated[str, Query(alias="hub.verify_token", max_length=200)],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=200)],
) -> PlainTextResponse:
    """Meta's verification handshake: the challenge back as plain text when the verify token
    is the account's."""
    account = await _account(request, account_id, "whatsapp")
    expected = account.secret("verify_token")
    if mode != "subscribe" or not signature.same(token, expected):
        raise Forbidden("hub.mode must be subscribe and hub.verify_token the account's")
    return PlainTextResponse(challenge)


@router.post(
    "/whatsapp/{account_id}/webhook",
    openapi_extra=body_schema(WhatsAppNotification),
    response_model=DeliveryOut,
    # 429: routing is overloaded and a message would open a new contact; deliver it again.
    responses=errors(401, 429),
)
async def whatsapp_webhook(account_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """Messages and statuses from the WhatsApp Cloud API, signed with X-Hub-Signature-256."""
    account = await _account(request, account_id, "whatsapp")
    raw = await request.body()
    _refuse_forged(account, "app_secret", raw, request.headers.get("x-hub-signature-256"))
    try:
        payload = json.loads(raw)
        inbound = whatsapp.parse(payload, account.config.get("phone_number_id"))
    except (ValueError, whatsapp.MalformedPayload) as exc:
        raise BadRequest(f"not a WhatsApp webhook delivery: {exc}") from None
    return await _take(request, account, inbound)


@router.post(
    "/webhook/{account_id}",
    openapi_extra=body_schema(WebhookDelivery),
    response_model=DeliveryOut,
    # 429: routing is overloaded and a message would open a new contact; deliver it again.
    responses=errors(401, 429),
)
async def generic_webhook(account_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """Messages and statuses of a generic provider, signed with X-Omnidesk-Signature
    (docs/channels.md has the format)."""
    account = await _account(request, account_id, "webhook")
    raw = await request.body()
    _refuse_forged(account, "secret", raw, request.headers.get(HEADER.lower()))
    try:
        delivery = WebhookDelivery.model_validate_json(raw)
        inbound = parse(delivery)
    except ValidationError as exc:
        raise Invalid(f"not a webhook delivery: {exc.errors()[0]['msg']}") from None
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return await _take(request, account, inbound)
