"""Tables of scheduling: agents' scheduling profiles and published schedules with their shifts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class AgentProfile(TenantScoped, Base):
    """Contract and availability of one user for scheduling (docs/wfm.md, Schedules)."""

    __tablename__ = "wfm_agent_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", name="uq_wfm_agent_profiles_user"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Used only when the user has no routing profile (which then decides skills and zone).
    timezone: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[list[str] | None] = mapped_column(JSON)
    # The RulesIn fields (availability, hours, rest, ...), as the API takes them.
    rules: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class Schedule(TenantScoped, Base):
    __tablename__ = "wfm_schedules"
    __table_args__ = (Index("ix_wfm_schedules_created", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    horizon_start: Mapped[date] = mapped_column(Date)
    days: Mapped[int]
    interval_minutes: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # OPTIMAL or FEASIBLE
    objective: Mapped[float] = mapped_column(Float)
    best_bound: Mapped[float | None] = mapped_column(Float)
    wall_seconds: Mapped[float] = mapped_column(Float)
    summary: Mapped[dict[str, Any]]
    # Per skill: required, scheduled and gap per interval (Schedule.coverage_dict()).
    coverage: Mapped[dict[str, Any]]
    # The solver's input as given (requirement per interval, templates, weights, limits).
    inputs: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None]


class ScheduleAgent(TenantScoped, Base):
    """One agent in a schedule, with the zone and skills the solver used."""

    __tablename__ = "wfm_schedule_agents"
    __table_args__ = (Index("ix_wfm_schedule_agents_user", "tenant_id", "user_id"),)

    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wfm_schedules.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    skills: Mapped[list[str]] = mapped_column(JSON)
    paid_minutes_by_week: Mapped[list[int]] = mapped_column(JSON)
    target_minutes_by_week: Mapped[list[int]] = mapped_column(JSON)


class ScheduleShift(TenantScoped, Base):
    __tablename__ = "wfm_schedule_shifts"
    __table_args__ = (
        Index("ix_wfm_schedule_shifts_agent", "tenant_id", "schedule_id", "user_id"),
        Index("ix_wfm_schedule_shifts_user_start", "tenant_id", "user_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wfm_schedules.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    template: Mapped[str] = mapped_column(String(100))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    # [{"start": iso, "end": iso, "paid": bool}] in UTC
    breaks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    paid_minutes: Mapped[int]
