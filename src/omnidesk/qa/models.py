"""Quality tables: a tenant's scorecards and the evaluations graded with them.

An evaluation keeps a copy of the criteria it was graded on (`criteria`, with the scorecard's
version): a scorecard edited or deleted later changes neither its answers' meaning nor its
score (docs/supervisor-guide.md, "Quality evaluations")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow


class Scorecard(TenantScoped, Base):
    """`criteria`: [{"id", "text", "kind": points|yes_no, "weight", "max_points",
    "auto_fail"}]; `version` grows with each change (a stale save is a 409)."""

    __tablename__ = "quality_scorecards"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Evaluation(TenantScoped, Base):
    """One grade of one agent's work on one contact, by one evaluator (a second grade of the
    same by the same evaluator is a 409). `contact_ended_at` places it in a report's range, as
    CSAT is placed by the contact's end."""

    __tablename__ = "quality_evaluations"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "contact_id", "agent_id", "evaluator_id", name="uq_quality_evaluations_key"
        ),
        Index("ix_quality_evaluations_agent", "tenant_id", "agent_id", "contact_ended_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    scorecard_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("quality_scorecards.id", ondelete="SET NULL")
    )
    scorecard_name: Mapped[str] = mapped_column(String(200))
    scorecard_version: Mapped[int]
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    contact_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(64))
    queue_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(64))
    evaluator_id: Mapped[uuid.UUID]
    # Criterion id → points (int), "yes", "no" or "na".
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)  # percent, 2 decimals
    auto_failed: Mapped[bool] = mapped_column(default=False)
    contact_ended_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
