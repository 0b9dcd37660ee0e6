"""The conversation store shared by every digital channel (docs/adr/0017-conversation-store.md).

A **channel account** is one configured entry point (a WhatsApp number, a generic webhook, later
a mailbox or a chat widget) with the queue its conversations are routed to. A **conversation** is
the one thread between the business and one peer on one account; it is reopened rather than
duplicated, and each time it needs an agent it becomes a new routing contact (`contact_id`).
**Messages** are everything in it: customer and agent messages, internal notes and system events.
Attachments are files in the data directory; their rows say where and whether they are stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow

DEFAULT_LANGUAGES = ["en", "de", "es", "lv"]
DEFAULT_ATTACHMENT_TYPES = [
    "image/*",
    "audio/*",
    "video/*",
    "application/pdf",
    "text/plain",
]


class ChannelSettings(TenantScoped, Base):
    """One row per tenant, created on first use: what every digital channel of it shares."""

    __tablename__ = "channel_settings"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_channel_settings_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # ISO 639-1 codes language detection chooses among (never a language outside the list).
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_LANGUAGES))
    attachment_max_bytes: Mapped[int] = mapped_column(BigInteger, default=10_000_000)
    # MIME types, exact or "type/*".
    attachment_types: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_ATTACHMENT_TYPES)
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelAccount(TenantScoped, Base):
    __tablename__ = "channel_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # whatsapp | webhook
    name: Mapped[str] = mapped_column(String(200))
    # The CRM identity provider of its peers ("whatsapp", "sms-gw", ...).
    provider: Mapped[str] = mapped_column(String(64))
    queue_id: Mapped[str] = mapped_column(String(64))
    # Non-secret settings of the kind (API base URL, phone number id, templates, outbound URL).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Secrets (app secret, verify token, access token): write-only over the API.
    secrets: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Counts saves (edits, secret rotations): an edit names the version it was made on.
    version: Mapped[int] = mapped_column(default=1, server_default="1")


class Conversation(TenantScoped, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("account_id", "peer_id", name="uq_conversations_peer"),
        Index("ix_conversations_contact", "tenant_id", "contact_id"),
        Index("ix_conversations_customer", "tenant_id", "customer_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(32))  # the routing channel: messaging, email, chat
    peer_id: Mapped[str] = mapped_column(String(200))  # the customer's address on the channel
    peer_name: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[uuid.UUID | None]
    identity_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    # The routing contact of the current round (a new one after each close or routing end).
    contact_id: Mapped[str | None] = mapped_column(String(64))
    rounds: Mapped[int] = mapped_column(default=0)
    # True while a round's contact has been stored but not yet accepted by routing.
    routing_pending: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str | None] = mapped_column(String(16))
    language_source: Mapped[str | None] = mapped_column(String(16))  # explicit | crm | detected
    # Every agent who was offered or handled it: they may read it afterwards.
    agent_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_agent_id: Mapped[str | None] = mapped_column(String(64))
    last_inbound_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class Message(TenantScoped, Base):
    __tablename__ = "conversation_messages"
    __table_args__ = (
        # At-least-once webhooks: one row per provider message id and account.
        UniqueConstraint("account_id", "external_id", name="uq_conversation_messages_external"),
        Index("ix_conversation_messages_conversation", "conversation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))  # message | note | system
    direction: Mapped[str] = mapped_column(String(16))  # inbound | outbound | internal
    sender_type: Mapped[str] = mapped_column(String(16))  # customer | agent | system
    sender_id: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)  # sanitised (nh3) before it is stored
    subject: Mapped[str | None] = mapped_column(String(300))  # email's subject line
    template: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    event: Mapped[str | None] = mapped_column(String(32))  # a system message's event name
    # A supervisor's whisper (a note, kind "note"): the agent it was meant for. Like every note
    # it is read by the agent and the supervisors only and never reaches the channel.
    whisper_to: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    # received (inbound); outbound: queued -> sent -> delivered -> read, or failed.
    status: Mapped[str] = mapped_column(String(16))
    # When each status was reported (ISO), kept even when it came after a later status.
    status_times: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(TenantScoped, Base):
    __tablename__ = "conversation_attachments"
    __table_args__ = (Index("ix_conversation_attachments_message", "message_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    # None: uploaded by an agent, not yet sent.
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # stored | pending (to fetch from the provider) | refused (limits) | failed (fetch gave up)
    state: Mapped[str] = mapped_column(String(16))
    provider_media_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    uploaded_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedResponse(TenantScoped, Base):
    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("tenant_id", "shortcut", name="uq_canned_responses_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    shortcut: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
