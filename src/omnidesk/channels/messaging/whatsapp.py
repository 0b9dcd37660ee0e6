"""A WhatsApp Cloud API-compatible channel: webhook payloads in, messages out.

Inbound: `object: whatsapp_business_account` → `entry[].changes[]` (field `messages`) → `value`
with `contacts[]` (profile names), `messages[]` (text, media by id, reactions, buttons, ...) and
`statuses[]` (sent, delivered, read, failed: in any order). Outbound through
`{api_base_url}/{api_version}/{phone_number_id}/messages` with the account's access token: text,
templates, and media uploaded first through `/{phone_number_id}/media`. Media announced in a
webhook is fetched by id (`GET /{version}/{media-id}` → a short-lived URL, then the bytes, both
with the bearer token). Free-form replies only within 24 hours of the customer's last message.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx2
from pydantic import BaseModel, Field

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

WINDOW_HOURS = 24.0
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
STATUSES = ("sent", "delivered", "read", "failed")


class MalformedPayload(ValueError):
    pass


class WhatsAppNotification(BaseModel):
    """What the Cloud API posts (documented shape; parsed leniently by `parse`, since Meta adds
    fields): `entry[].changes[].value` with `metadata`, `contacts`, `messages`, `statuses`."""

    object: str = Field(examples=["whatsapp_business_account"])
    entry: list[dict[str, Any]]


def parse(payload: Any, phone_number_id: str | None = None) -> Inbound:
    """Messages and statuses of a webhook delivery; MalformedPayload when it is not one.
    Changes for another phone number than the account's are skipped."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise MalformedPayload("not a whatsapp_business_account notification")
    inbound = Inbound()
    try:
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                if change.get("field") != "messages":
                    continue
                value = change.get("value") or {}
                number = (value.get("metadata") or {}).get("phone_number_id")
                if phone_number_id and number and str(number) != phone_number_id:
                    continue
                names = {
                    str(c.get("wa_id")): (c.get("profile") or {}).get("name")
                    for c in value.get("contacts") or []
                }
                for message in value.get("messages") or []:
                    inbound.messages.append(_message(message, names))
                for status in value.get("statuses") or []:
                    if status.get("status") in STATUSES:
                        inbound.statuses.append(_status(status))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload(f"unexpected shape: {type(exc).__name__}: {exc}") from exc
    return inbound


def _time(raw: Any) -> datetime:
    return datetime.fromtimestamp(int(raw), UTC)


def _message(m: dict[str, Any], names: dict[str, Any]) -> InboundMessage:
    kind = m["type"]
    sender = str(m["from"])
    text: str | None = None
    files: tuple[InboundAttachment, ...] = ()
    if kind == "text":
        text = str(m["text"]["body"])
    elif kind in MEDIA_TYPES:
        media = m[kind]
        text = media.get("caption")
        content_type = str(media.get("mime_type") or "application/octet-stream")
        name = media.get("filename") or f"{kind}-{media['id']}"
        files = (InboundAttachment(str(name), content_type, media_id=str(media["id"])),)
    elif kind == "reaction":
        text = str(m["reaction"].get("emoji") or "")
    elif kind == "button":
        text = str(m["button"].get("text") or "")
    elif kind == "interactive":
        reply = m["interactive"].get("button_reply") or m["interactive"].get("list_reply") or {}
        text = str(reply.get("title") or "")
    elif kind == "location":
        loc = m["location"]
        text = f"Location: {loc.get('latitude')}, {loc.get('longitude')} {loc.get('name') or ''}"
    else:
        # Kept, not dropped: the agent sees that something arrived they cannot show.
        text = f"[{kind} message]"
    return InboundMessage(
        external_id=str(m["id"]),
        peer_id=sender,
        peer_name=names.get(sender),
        text=text,
        sent_at=_time(m["timestamp"]) if m.get("timestamp") else None,
        attachments=files,
    )


def _status(s: dict[str, Any]) -> StatusUpdate:
    errors = s.get("errors")
    return StatusUpdate(
        external_id=str(s["id"]),
        status=s["status"],
        at=_time(s["timestamp"]) if s.get("timestamp") else datetime.now(UTC),
        error={"errors": errors} if errors else None,
    )


class WhatsAppAdapter(HttpChannel):
    kind = "whatsapp"

    def reply_window_hours(self, account: Account) -> float | None:
        return WINDOW_HOURS

    def _base(self, account: Account) -> str:
        base = str(account.config.get("api_base_url") or "https://graph.facebook.com")
        return f"{base.rstrip('/')}/{account.config.get('api_version') or 'v21.0'}"

    def _auth(self, account: Account) -> dict[str, str]:
        return {"Authorization": f"Bearer {account.secret('access_token')}"}

    async def send(self, account: Account, message: OutboundMessage) -> str | None:
        bodies: list[dict[str, Any]] = []
        caption_used = False
        for item in message.attachments:
            media_id = await self._upload(account, item.filename, item.content_type, item.path)
            kind = _media_kind(item.content_type)
            media: dict[str, Any] = {"id": media_id}
            if kind == "document":
                media["filename"] = item.filename
            if message.text and not caption_used and kind in ("image", "video", "document"):
                media["caption"] = message.text
                caption_used = True
            bodies.append({"type": kind, kind: media})
        if message.template is not None:
            bodies.insert(0, {"type": "template", "template": _template(message.template)})
        elif message.text and not caption_used:
            bodies.insert(0, {"type": "text", "text": {"body": message.text}})
        first: str | None = None
        for body in bodies:
            sent = await self._post_message(account, body, message.peer_id)
            first = first or sent
        return first

    async def _post_message(self, account: Account, body: dict[str, Any], to: str) -> str:
        url = f"{self._base(account)}/{account.config.get('phone_number_id')}/messages"
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        payload.update(body)
        try:
            response = await self.client.post(url, json=payload, headers=self._auth(account))
        except httpx2.HTTPError as exc:
            raise SendFailed(f"the WhatsApp API could not be reached: {exc}") from exc
        data = _json(response)
        if response.status_code >= 400:
            error = data.get("error") or {}
            raise SendFailed(
                str(error.get("message") or f"HTTP {response.status_code}"),
                code=error.get("code"),
                http_status=response.status_code,
            )
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise SendFailed("the WhatsApp API answered without a message id") from None

    async def _upload(self, account: Account, filename: str, content_type: str, path: Any) -> str:
        url = f"{self._base(account)}/{account.config.get('phone_number_id')}/media"
        try:
            response = await self.client.post(
                url,
                data={"messaging_product": "whatsapp", "type": content_type},
                files={"file": (filename, path.read_bytes(), content_type)},
                headers=self._auth(account),
            )
        except httpx2.HTTPError as exc:
            raise SendFailed(f"the media upload failed: {exc}") from exc
        data = _json(response)
        if response.status_code >= 400 or "id" not in data:
            error = data.get("error") or {}
            raise SendFailed(f"the media upload was refused: {error.get('message') or data}")
        return str(data["id"])

    async def fetch_media(self, account: Account, media_id: str) -> FetchedMedia:
        meta = await self.client.get(
            f"{self._base(account)}/{media_id}", headers=self._auth(account)
        )
        meta.raise_for_status()
        info = meta.json()
        content = await self.client.get(str(info["url"]), headers=self._auth(account))
        content.raise_for_status()
        data = content.content
        expected = info.get("sha256")
        if expected and hashlib.sha256(data).hexdigest() != str(expected).lower():
            raise ValueError("the media's SHA-256 differs from the one the API announced")
        return FetchedMedia(data, str(info.get("mime_type") or ""), expected)


def _json(response: httpx2.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _media_kind(content_type: str) -> str:
    major = content_type.split("/")[0]
    return major if major in ("image", "audio", "video") else "document"


def _template(template: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": template["name"], "language": {"code": template["language"]}}
    parameters = template.get("parameters") or []
    if parameters:
        body["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    return body
