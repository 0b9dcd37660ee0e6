"""A generic signed-webhook channel, for providers without an adapter of their own (SMS
gateways, bots, a partner's system). Its JSON format is documented in docs/channels.md.

Inbound: `POST /api/v1/channels/webhook/{account id}` with `X-Omnidesk-Signature: sha256=<hex
HMAC-SHA256 of the raw body with the account's secret>`; a body of `messages` and/or `statuses`.
Outbound: the agent's reply is POSTed to the account's `outbound_url`, signed the same way; the
provider answers 2xx, optionally with `{"id": "<its message id>"}` (its later statuses name it).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Literal

import httpx2
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from omnidesk.channels.conversations.adapter import (
    Account,
    FetchedMedia,
    Inbound,
    InboundAttachment,
    InboundMessage,
    OutboundMessage,
    SendFailed,
    StatusUpdate,
)
from omnidesk.channels.messaging.client import HttpChannel
from omnidesk.channels.messaging.signature import sign

HEADER = "X-Omnidesk-Signature"
Id = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookAttachment(_Strict):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(pattern=r"^[\w.+\-]+/[\w.+\-]+$")]
    data: str  # base64


class WebhookMessage(_Strict):
    id: Id
    # The sender's address at the provider (a phone number, a bot user id): the CRM identity.
    sender: Id = Field(alias="from")
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    text: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    html: Annotated[str, StringConstraints(max_length=1_000_000)] | None = None
    language: (
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Za-z0-9]{1,8})?$")] | None
    ) = None
    timestamp: datetime | None = None
    attachments: list[WebhookAttachment] = Field(default_factory=list, max_length=20)


class WebhookStatus(_Strict):
    id: Id
    status: Literal["sent", "delivered", "read", "failed"]
    timestamp: datetime | None = None
    error: Annotated[str, StringConstraints(max_length=1000)] | None = None


class WebhookDelivery(_Strict):
    messages: list[WebhookMessage] = Field(default_factory=list, max_length=100)
    statuses: list[WebhookStatus] = Field(default_factory=list, max_length=1000)


def parse(delivery: WebhookDelivery) -> Inbound:
    inbound = Inbound()
    for m in delivery.messages:
        files = []
        for a in m.attachments:
            try:
                data = base64.b64decode(a.data, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"attachment {a.filename!r} is not valid base64") from None
            files.append(InboundAttachment(a.filename, a.content_type, data=data))
        inbound.messages.append(
            InboundMessage(
                external_id=m.id,
                peer_id=m.sender,
                peer_name=m.name,
                text=m.text,
                html=m.html,
                language=m.language,
                sent_at=m.timestamp,
                attachments=tuple(files),
            )
        )
    for s in delivery.statuses:
        inbound.statuses.append(
            StatusUpdate(
                external_id=s.id,
                status=s.status,
                at=s.timestamp or datetime.now(UTC),
                error={"detail": s.error} if s.error else None,
            )
        )
    return inbound


class WebhookAdapter(HttpChannel):
    kind = "webhook"

    def reply_window_hours(self, account: Account) -> float | None:
        return None

    async def send(self, account: Account, message: OutboundMessage) -> str | None:
        body = {
            "id": str(message.message_id),
            "conversation_id": str(message.conversation_id),
            "to": message.peer_id,
            "text": message.text,
            "html": message.html,
            "template": message.template,
            "attachments": [
                {
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "data": base64.b64encode(f.path.read_bytes()).decode(),
                }
                for f in message.attachments
            ],
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", HEADER: sign(account.secret("secret"), raw)}
        try:
            response = await self.client.post(
                str(account.config["outbound_url"]), content=raw, headers=headers
            )
        except httpx2.HTTPError as exc:
            raise SendFailed(f"the provider could not be reached: {exc}") from exc
        if response.status_code >= 300:
            raise SendFailed(
                f"the provider answered HTTP {response.status_code}",
                http_status=response.status_code,
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("id"), str) and answer["id"]:
            return str(answer["id"])[:200]
        return str(message.message_id)

    async def fetch_media(self, account: Account, media_id: str) -> FetchedMedia:
        raise ValueError("the generic webhook sends files inline; there is nothing to fetch")
