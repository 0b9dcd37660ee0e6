"""Analytics tables: the 15-minute rollups, the ingester's cursor and state, the settings.

Durations are integer microseconds (BigInteger): sums of integers are exact in any order, so
incremental rollups and a rebuild agree to the last digit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


def _count() -> Mapped[int]:
    return mapped_column(BigInteger, default=0)


class QueueInterval(TenantScoped, Base):
    """Per 15-minute interval of arrival, queue, channel and answering agent ("" for none)."""

    __tablename__ = "analytics_queue_intervals"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "interval_start",
            "queue_id",
            "channel",
            "agent_id",
            name="uq_analytics_queue_intervals_key",
        ),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    interval_start: Mapped[datetime]
    queue_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[str] = mapped_column(String(64))
    offered: Mapped[int] = _count()
    answered: Mapped[int] = _count()
    answered_in_sl: Mapped[int] = _count()
    abandoned: Mapped[int] = _count()
    short_abandoned: Mapped[int] = _count()
    abandoned_in_sl: Mapped[int] = _count()
    overflowed: Mapped[int] = _count()
    transferred: Mapped[int] = _count()
    wait_answered_us: Mapped[int] = _count()
    wait_abandoned_us: Mapped[int] = _count()
    talk_us: Mapped[int] = _count()
    hold_us: Mapped[int] = _count()
    wrap_us: Mapped[int] = _count()


class AgentStateInterval(TenantScoped, Base):
    """Microseconds an agent spent in a state (away: per reason) within a 15-minute interval."""

    __tablename__ = "analytics_agent_state_intervals"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "interval_start",
            "agent_id",
            "state",
            "reason",
            name="uq_analytics_agent_state_intervals_key",
        ),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    interval_start: Mapped[datetime]
    agent_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    us: Mapped[int] = _count()


class IngestCursor(TenantScoped, Base):
    """The last event-log seq whose contributions are in the rollups."""

    __tablename__ = "analytics_cursors"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_analytics_cursors_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class PendingContactRow(TenantScoped, Base):
    """The events so far of a contact that may still change a figure (processing.py)."""

    __tablename__ = "analytics_pending_contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "contact_id", name="uq_analytics_pending_contacts_key"),
        Index("ix_analytics_pending_contacts_quiet", "tenant_id", "quiet_us"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(String(64))
    events: Mapped[list[Any]] = mapped_column(JSON)
    quiet_us: Mapped[int | None] = mapped_column(BigInteger)


class AgentOpenState(TenantScoped, Base):
    __tablename__ = "analytics_agent_open_states"
    __table_args__ = (
        UniqueConstraint("tenant_id", "agent_id", name="uq_analytics_agent_open_states_key"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    since_us: Mapped[int] = mapped_column(BigInteger)


class QueueThreshold(TenantScoped, Base):
    """A queue's service-level threshold from the definition logged at `seq` on."""

    __tablename__ = "analytics_queue_thresholds"
    __table_args__ = (
        UniqueConstraint("tenant_id", "queue_id", "seq", name="uq_analytics_queue_thresholds_key"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    queue_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    us: Mapped[int] = mapped_column(BigInteger)


class KpiSettings(TenantScoped, Base):
    __tablename__ = "analytics_settings"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_analytics_settings_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    short_abandon_seconds: Mapped[float] = mapped_column(Float, default=5.0)
    abandons_in_sl: Mapped[str] = mapped_column(String(8), default="missed")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
