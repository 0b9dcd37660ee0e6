"""Analytics tables: the 15-minute rollups, the ingester's cursor and state, the settings,
the report schedules and their runs.

Durations are integer microseconds (BigInteger): sums of integers are exact in any order, so
incremental rollups and a rebuild agree to the last digit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
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


class TeamInterval(TenantScoped, Base):
    """The queue sums of the visits answered by a team's agents (their teams when they
    accepted), per 15-minute interval of arrival and team; only the answered side is read."""

    __tablename__ = "analytics_team_intervals"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "interval_start", "team_id", name="uq_analytics_team_intervals_key"
        ),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    interval_start: Mapped[datetime]
    team_id: Mapped[str] = mapped_column(String(64))
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


class DispositionInterval(TenantScoped, Base):
    """Answered visits per 15-minute interval of arrival, queue, channel and disposition
    ("" for none): handled, talk, hold, wrap-up."""

    __tablename__ = "analytics_disposition_intervals"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "interval_start",
            "queue_id",
            "channel",
            "disposition",
            name="uq_analytics_disposition_intervals_key",
        ),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    interval_start: Mapped[datetime]
    queue_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    disposition: Mapped[str] = mapped_column(String(128))
    handled: Mapped[int] = _count()
    talk_us: Mapped[int] = _count()
    hold_us: Mapped[int] = _count()
    wrap_us: Mapped[int] = _count()


class TeamMembership(TenantScoped, Base):
    """An agent's teams from the membership event logged at `seq` on (the ingester's state)."""

    __tablename__ = "analytics_team_memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "agent_id", "seq", name="uq_analytics_team_memberships_key"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    teams: Mapped[list[str]] = mapped_column(JSON)


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


class ReportSchedule(TenantScoped, Base):
    """A report mailed on a cadence (schedules.py): what, for which period, when, to whom.

    `owner_id` is the supervisor or admin who made or last changed it: the report is built with
    their visibility at send time (a supervisor moved off a team no longer mails its queues)."""

    __tablename__ = "analytics_report_schedules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    report: Mapped[str] = mapped_column(String(16))  # queues | agents | contacts
    # The export routes' filters: queue_id, channel, agent_id, interval (absent: not given).
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    period: Mapped[str] = mapped_column(String(16))  # previous_day | previous_week | ...
    format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    cadence: Mapped[str] = mapped_column(String(16))  # daily | weekly | monthly
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday (weekly only)
    at_time: Mapped[str] = mapped_column(String(5))  # HH:MM, local in the tenant's zone
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    sender_address: Mapped[str] = mapped_column(String(254))
    # The mail's words: en | de | es | lv (mail_texts.py).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    owner_id: Mapped[uuid.UUID]
    # Due times before this are not sent (a new schedule does not mail the past).
    active_from: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")


class ReportRun(TenantScoped, Base):
    """One sending of a schedule for one due time: the unique key makes "once per due time"
    hold across restarts and nodes (the row is committed before the mail goes out)."""

    __tablename__ = "analytics_report_runs"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at", name="uq_analytics_report_runs_due"),
        Index("ix_analytics_report_runs_pending", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("analytics_report_schedules.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime]  # the due time (send-now: the moment asked)
    manual: Mapped[bool] = mapped_column(default=False)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
