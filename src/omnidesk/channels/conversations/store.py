"""Rows of the conversation store: settings, accounts, conversations, messages, and the rules
that hold for every channel (sanitised HTML, delivery statuses that never go back)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import nh3
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.conversations.adapter import Account
from omnidesk.channels.conversations.attachments import Limits
from omnidesk.channels.conversations.events import MessageAdded
from omnidesk.channels.conversations.models import (
    Attachment,
    ChannelAccount,
    ChannelSettings,
    Conversation,
    Message,
)
from omnidesk.crm.models import Interaction
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Invalid
from omnidesk.platform.sealing import Sealer

# HTML beyond this is refused rather than cut: cutting would drop content silently.
MAX_HTML_CHARS = 1_000_000
MAX_TEXT_CHARS = 100_000
# Outbound statuses only move forward; "failed" ends a message that was never delivered.
RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


def round_contact_id(conversation_id: uuid.UUID, round_: int) -> str:
    """The routing contact of a conversation's round (1, 2, ...)."""
    return f"cv-{conversation_id.hex[:16]}-{round_}"


async def handled_by(session: AsyncSession, conv: Conversation) -> list[str]:
    """Agents who handled any round of the conversation, oldest first, from the CRM's
    interaction records (projected from routing's events: durable, whoever did the reading)."""
    contacts = [round_contact_id(conv.id, n) for n in range(1, conv.rounds + 1)]
    if not contacts:
        return []
    rows = await session.execute(
        select(Interaction.contact_id, Interaction.agent_ids).where(
            Interaction.contact_id.in_(contacts)
        )
    )
    by_contact = {contact: list(agents or []) for contact, agents in rows.all()}
    agents: list[str] = []
    for contact in contacts:
        agents.extend(a for a in by_contact.get(contact, []) if a not in agents)
    return agents


def sanitise_html(html: str | None) -> str | None:
    if html is None:
        return None
    if len(html) > MAX_HTML_CHARS:
        raise Invalid(f"HTML is limited to {MAX_HTML_CHARS} characters", field="html")
    return nh3.clean(html)


def text_of_html(html: str) -> str:
    """Plain text of (sanitised) HTML, for language detection and previews."""
    return " ".join(nh3.clean(html, tags=set()).split())


def advance_status(
    row: Message, status: str, at: datetime, error: dict[str, Any] | None = None
) -> bool:
    """Apply a delivery status whatever order statuses arrive in: each one's time is kept, and
    the message's status is the furthest reached ("read" before "delivered" stays "read").
    True when the status changed."""
    times = dict(row.status_times or {})
    times.setdefault(status, at.isoformat())
    row.status_times = times
    if status == "failed":
        if row.status in ("queued", "sent"):
            row.status, row.error = "failed", error or {"detail": "the provider reported failure"}
            return True
        return False
    if row.status == "failed" or status not in RANK:
        return False
    if RANK[status] > RANK.get(row.status, -1):
        row.status = status
        return True
    return False


async def settings_of(session: AsyncSession, tenant_id: uuid.UUID) -> ChannelSettings:
    row = await session.scalar(
        select(ChannelSettings).where(ChannelSettings.tenant_id == tenant_id)
    )
    if row is None:
        row = ChannelSettings(tenant_id=tenant_id)
        # Defaults without writing: a tenant that never changed them has no row.
        row.languages = ["en", "de", "es", "lv"]
        row.attachment_max_bytes = 10_000_000
        row.attachment_types = ["image/*", "audio/*", "video/*", "application/pdf", "text/plain"]
    return row


def limits_of(settings: ChannelSettings) -> Limits:
    return Limits(settings.attachment_max_bytes, tuple(settings.attachment_types))


# Channel accounts' secrets (app secrets, access tokens) are stored sealed (platform/sealing.py).
SEALER = Sealer("channels")


def seal_secrets(key: bytes, secrets: dict[str, str]) -> dict[str, str]:
    return {name: SEALER.seal(key, value) for name, value in secrets.items()}


def account_of(row: ChannelAccount, key: bytes) -> Account:
    return Account(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=row.kind,
        name=row.name,
        provider=row.provider,
        queue_id=row.queue_id,
        config=dict(row.config or {}),
        secrets={name: SEALER.unseal(key, value) for name, value in (row.secrets or {}).items()},
    )


async def attachments_of(
    session: AsyncSession, message_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Attachment]]:
    found: dict[uuid.UUID, list[Attachment]] = {m: [] for m in message_ids}
    if not message_ids:
        return found
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.message_id.in_(message_ids))
        .order_by(Attachment.created_at, Attachment.id)
    )
    for row in rows:
        assert row.message_id is not None
        found[row.message_id].append(row)
    return found


def attachment_view(row: Attachment) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "message_id": str(row.message_id) if row.message_id else None,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "state": row.state,
        "reason": row.reason,
        "url": f"/api/v1/conversations/{row.conversation_id}/attachments/{row.id}"
        if row.state == "stored"
        else None,
    }


def message_view(row: Message, attachments: list[Attachment]) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "conversation_id": str(row.conversation_id),
        "kind": row.kind,
        "direction": row.direction,
        "sender_type": row.sender_type,
        "sender_id": row.sender_id,
        "text": row.text,
        "html": row.html,
        "subject": row.subject,
        "template": row.template,
        "event": row.event,
        "whisper_to": row.whisper_to,
        "external_id": row.external_id,
        "status": row.status,
        "status_times": dict(row.status_times or {}),
        "error": row.error,
        "created_at": row.created_at.isoformat(),
        "attachments": [attachment_view(a) for a in attachments],
    }


def conversation_view(
    row: Conversation, account: ChannelAccount, window_hours: float | None
) -> dict[str, Any]:
    expires = None
    if window_hours is not None and row.last_inbound_at is not None:
        expires = row.last_inbound_at + timedelta(hours=window_hours)
    templates_only = window_hours is not None and (expires is None or expires <= utcnow())
    return {
        "id": str(row.id),
        "account_id": str(row.account_id),
        "account_kind": account.kind,
        "channel": row.channel,
        "peer_id": row.peer_id,
        "peer_name": row.peer_name,
        "customer_id": str(row.customer_id) if row.customer_id else None,
        "status": row.status,
        "contact_id": row.contact_id,
        "rounds": row.rounds,
        "language": row.language,
        "language_source": row.language_source,
        "last_agent_id": row.last_agent_id,
        "last_inbound_at": row.last_inbound_at.isoformat() if row.last_inbound_at else None,
        "last_message_at": row.last_message_at.isoformat() if row.last_message_at else None,
        "created_at": row.created_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "reply_window": {
            "applies": window_hours is not None,
            "expires_at": expires.isoformat() if expires else None,
            "templates_only": templates_only,
            "templates": list((account.config or {}).get("templates", []))
            if window_hours is not None
            else [],
        },
    }


def added(conv: Conversation, row: Message, attachments: int = 0) -> MessageAdded:
    """The event of a message, note or system message stored in `conv`."""
    return MessageAdded(
        conversation_id=conv.id,
        message_id=row.id,
        contact_id=conv.contact_id,
        kind=row.kind,
        direction=row.direction,
        status=row.status,
        attachments=attachments,
    )


def note_message(
    conv: Conversation, author: uuid.UUID, text: str, *, whisper_to: str | None = None
) -> Message:
    """An internal note by a user (an agent's note, or a supervisor's whisper to `whisper_to`):
    never sent to the customer."""
    return Message(
        id=uuid.uuid4(),
        conversation_id=conv.id,
        account_id=conv.account_id,
        kind="note",
        direction="internal",
        sender_type="agent",
        sender_id=str(author),
        text=text,
        whisper_to=whisper_to,
        status="stored",
        status_times={},
        created_at=utcnow(),
    )


def system_message(conv: Conversation, event: str, text: str) -> Message:
    return Message(
        id=uuid.uuid4(),
        tenant_id=conv.tenant_id,
        conversation_id=conv.id,
        account_id=conv.account_id,
        kind="system",
        direction="internal",
        sender_type="system",
        event=event,
        text=text,
        status="stored",
        status_times={},
        created_at=utcnow(),
    )
