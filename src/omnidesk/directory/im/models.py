"""Threads, their messages, read markers and raised hands."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow


class ImThread(TenantScoped, Base):
    """A conversation: `direct` between two users, `team` of one team, or `all` (the tenant's
    broadcasts). `key` makes each one unique per tenant, so a first message opens it once."""

    __tablename__ = "im_threads"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_im_threads_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(100))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_a: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_b: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The number of the thread's last message (messages are numbered 1, 2, ... per thread).
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImMessage(TenantScoped, Base):
    __tablename__ = "im_messages"
    __table_args__ = (UniqueConstraint("thread_id", "number", name="uq_im_messages_thread_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("im_threads.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    broadcast: Mapped[bool] = mapped_column(default=False)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImRead(TenantScoped, Base):
    """How far a user has read a thread (a message number); their own posts count as read."""

    __tablename__ = "im_reads"

    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("im_threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_read: Mapped[int] = mapped_column(Integer, default=0)


class ImHand(TenantScoped, Base):
    """A raised hand: the user asks their supervisors for help. Lowered = deleted."""

    __tablename__ = "im_hands"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    note: Mapped[str | None] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
