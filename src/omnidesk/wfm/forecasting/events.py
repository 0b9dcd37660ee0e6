"""Events of forecasting."""

from __future__ import annotations

import uuid
from datetime import datetime

from omnidesk.platform.events import DomainEvent, event_type


@event_type("wfm.forecast_created", subject="forecast")
class ForecastCreated(DomainEvent):
    forecast_id: uuid.UUID
    queue_id: str
    channel: str
    method: str
    interval_minutes: int
    start: datetime
    end: datetime
    # 1 - WAPE of the chosen method's backtest; None without a backtest.
    accuracy: float | None

    def subject_id(self) -> str:
        return str(self.forecast_id)
