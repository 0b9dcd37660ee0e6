"""The routing log and engine snapshots: how routing state survives a restart (ADR 0006)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, utcnow

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class RoutingLogEntry(TenantScoped, Base):
    """One engine step that changed something: `advance` to an instant, or a `command` at one."""

    __tablename__ = "routing_log"
    __table_args__ = (
        UniqueConstraint("tenant_id", "position", name="uq_routing_log_position"),
        # Compaction finds the last entry older than its retention window by instant.
        Index("ix_routing_log_at", "tenant_id", "at_us"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    # Microseconds since the epoch, exactly as the engine counts, so replay sees the same instants.
    at_us: Mapped[int] = mapped_column(BigInteger)
    command: Mapped[dict[str, Any] | None]


class RoutingSnapshot(TenantScoped, Base):
    __tablename__ = "routing_snapshots"
    __table_args__ = (Index("ix_routing_snapshots_position", "tenant_id", "position"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    # The log position the snapshot includes (entries after it are replayed on restore).
    position: Mapped[int] = mapped_column(BigInteger)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[dict[str, Any]]
