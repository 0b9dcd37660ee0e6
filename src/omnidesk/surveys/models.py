"""Survey tables: a tenant's survey definitions, every survey sent (or not, with why) for an
ended contact, and the answers given through a sent survey's token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow


class Survey(TenantScoped, Base):
    """`questions`: [{"id", "kind": csat|nps|ces|text, "text", "required"}]; `channels` the
    channels it is sent on; `queue_ids` empty: every queue."""

    __tablename__ = "surveys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    queue_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The invitation's words (None: the built-in text in the customer's language).
    intro: Mapped[str | None] = mapped_column(Text)
    expires_after_days: Mapped[int] = mapped_column(default=7)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveySend(TenantScoped, Base):
    """One per ended contact that an agent handled on a digital channel: sent (with a token)
    or not sent (with the reason). Who handled it is kept here, so results per agent, queue
    and channel need no other store."""

    __tablename__ = "survey_sends"
    __table_args__ = (
        # One survey per contact, however often its end is announced.
        UniqueConstraint("tenant_id", "contact_id", name="uq_survey_sends_contact"),
        Index("ix_survey_sends_customer", "tenant_id", "customer_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    survey_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("surveys.id", ondelete="SET NULL")
    )
    contact_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    queue_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID | None]
    conversation_id: Mapped[uuid.UUID | None]
    language: Mapped[str | None] = mapped_column(String(16))
    # pending -> sent -> answered, or not_sent (with `reason`).
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(300))
    # SHA-256 of the token (the token itself is only in the link): a leaked table opens nothing.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ended_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]


class SurveyAnswer(TenantScoped, Base):
    """One answer to one question; `score` for csat/nps/ces, `text` for text (None once
    erased)."""

    __tablename__ = "survey_answers"
    __table_args__ = (Index("ix_survey_answers_send", "send_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    send_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_sends.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyCursor(TenantScoped, Base):
    """The last event-log sequence number the dispatcher has read contact ends up to."""

    __tablename__ = "survey_cursors"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_survey_cursors_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
