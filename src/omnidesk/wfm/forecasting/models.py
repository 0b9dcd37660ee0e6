"""Stored forecasts: one row per forecast (with its backtest) and one per forecast interval."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow


class Forecast(TenantScoped, Base):
    __tablename__ = "wfm_forecasts"
    __table_args__ = (
        Index("ix_wfm_forecasts_queue", "tenant_id", "queue_id", "channel", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    queue_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(50))
    method: Mapped[str] = mapped_column(String(32))
    requested_method: Mapped[str] = mapped_column(String(32))
    interval_minutes: Mapped[int] = mapped_column(Integer)
    # First forecast interval and the exclusive end (midnights, UTC).
    start: Mapped[datetime]
    end: Mapped[datetime]
    horizon_days: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # "history" | "csv"
    history_start: Mapped[datetime]
    history_end: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None]
    # {"country", "subdivision", "dates", "factor", "factor_source", "history_days", "forecast"}
    holidays: Mapped[dict[str, Any]]
    # {method: {"days", "horizon", "overall": {...}, "horizons": [...], "day_error_variance"}}
    backtest: Mapped[dict[str, Any]]
    warnings: Mapped[dict[str, Any]]  # {"items": [...]} (JSON object, like every JSON column)


class ForecastInterval(TenantScoped, Base):
    """Read with service.intervals_of; written in bulk by service.store_forecast."""

    __tablename__ = "wfm_forecast_intervals"

    forecast_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wfm_forecasts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    interval_start: Mapped[datetime]
    volume: Mapped[float] = mapped_column(Float)
    aht: Mapped[float] = mapped_column(Float)
    holiday: Mapped[bool]
