"""API shapes of forecasting: history, forecast creation and views, reforecast, staffing."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from omnidesk.platform.fields import Channel, Id
from omnidesk.wfm.forecasting.model import MAX_BACKTEST_DAYS, MAX_HORIZON_DAYS
from omnidesk.wfm.schemas import Input, Targets

MethodName = Literal["auto", "seasonal_naive", "ets", "theta", "mstl"]
MAX_CSV_CHARS = 900_000


class HistoryInterval(BaseModel):
    interval_start: datetime
    volume: int
    handled: int
    aht: float | None = Field(description="mean handle time of the handled contacts, seconds")


class HistoryOut(BaseModel):
    queue_id: str | None
    channel: str | None
    interval_minutes: int
    start: datetime
    end: datetime
    definition: str
    volume: int
    handled: int
    aht: float | None
    intervals: list[HistoryInterval]


class HolidaysIn(Input):
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2,3}$", examples=["DE"])
    subdivision: str | None = Field(None, min_length=1, max_length=20, examples=["BY"])
    dates: list[date] = Field(default_factory=list, max_length=2000)
    factor: float | None = Field(
        None, ge=0, description="scale forecast holidays by this instead of the observed ratio"
    )


class ForecastCreate(Input):
    """`source` history: the queue's own contacts from the event log, `history_start` (default
    `history_end` - 56 days) to `history_end` (exclusive; default today, UTC). `source` csv:
    the `csv` text (interval_start,queue_id,channel,volume,aht); queue_id/channel pick one pair
    when it holds several. The forecast starts at the midnight after the history."""

    source: Literal["history", "csv"] = "history"
    queue_id: Id | None = None
    channel: Channel | None = None
    csv: str | None = Field(None, min_length=1, max_length=MAX_CSV_CHARS)
    interval_minutes: int | None = Field(
        None, description="history: default 30; csv: default the smallest gap between rows"
    )
    history_start: date | None = None
    history_end: date | None = None
    method: MethodName = "auto"
    horizon_days: int = Field(14, ge=1, le=MAX_HORIZON_DAYS)
    backtest_days: int = Field(7, ge=0, le=MAX_BACKTEST_DAYS)
    holidays: HolidaysIn | None = None

    @model_validator(mode="after")
    def _source_fields(self) -> ForecastCreate:
        if self.source == "history":
            if self.csv is not None:
                raise ValueError("csv is only read with source 'csv'")
            if self.queue_id is None or self.channel is None:
                raise ValueError("source 'history' needs queue_id and channel")
        else:
            if self.csv is None:
                raise ValueError("source 'csv' needs the csv text")
            if self.history_start is not None or self.history_end is not None:
                raise ValueError("history_start/history_end only apply to source 'history'")
        return self


class ScoreOut(BaseModel):
    wape: float | None
    mape: float | None
    accuracy: float | None = Field(description="1 - WAPE")
    intervals: int
    actual: float


class HorizonOut(ScoreOut):
    day_ahead: int


class BacktestOut(BaseModel):
    method: str
    days: int
    horizon: int
    overall: ScoreOut
    horizons: list[HorizonOut]
    day_error: float | None = Field(
        description="relative std of the one-day-ahead daily totals (the reforecast prior)"
    )


class HolidaysOut(BaseModel):
    country: str | None
    subdivision: str | None
    dates: list[date]
    factor: float
    factor_source: Literal["given", "observed", "none_observed"]
    history_days: int
    forecast_days: list[date]


class IntervalOut(BaseModel):
    interval_start: datetime
    volume: float
    aht: float
    holiday: bool


class ForecastSummary(BaseModel):
    id: uuid.UUID
    queue_id: str
    channel: str
    method: str
    requested_method: str
    interval_minutes: int
    start: datetime
    end: datetime
    horizon_days: int
    source: str
    history_start: datetime
    history_end: datetime
    created_at: datetime
    created_by: uuid.UUID | None
    accuracy: float | None = Field(description="1 - WAPE of the chosen method's backtest")


class ForecastOut(ForecastSummary):
    holidays: HolidaysOut
    backtest: dict[str, BacktestOut]
    warnings: list[str]
    intervals: list[IntervalOut]


class ActualIn(Input):
    interval_start: datetime
    volume: float = Field(ge=0)


class ReforecastIn(Input):
    """Actuals come from the body, or else from the event log up to `as_of` (default now).
    The day is the forecast day the actuals fall on (or `day`, or the day of `as_of`)."""

    day: date | None = None
    as_of: datetime | None = None
    actuals: list[ActualIn] | None = Field(None, max_length=1440)
    day_error: float | None = Field(
        None, ge=0, description="prior relative std of the day's volume; default: the backtest's"
    )

    @model_validator(mode="after")
    def _one_source(self) -> ReforecastIn:
        if self.actuals is not None and self.as_of is not None:
            raise ValueError("give actuals or as_of, not both")
        return self


class ElapsedOut(BaseModel):
    interval_start: datetime
    forecast: float
    actual: float


class ReforecastOut(BaseModel):
    forecast_id: uuid.UUID
    day: date
    source: Literal["body", "event_log"]
    elapsed: list[ElapsedOut]
    forecast_so_far: float
    actual_so_far: float
    ratio: float | None
    day_error: float
    day_error_source: Literal["given", "backtest"]
    weight: float
    factor: float
    intervals: list[IntervalOut] = Field(description="the rest of the day, adjusted")


class ForecastStaffingIn(Targets):
    """Targets for a staffing table of the forecast's intervals (all, or start..end)."""

    start: datetime | None = None
    end: datetime | None = None


class AccuracyInterval(BaseModel):
    interval_start: datetime
    forecast_volume: float
    actual_volume: int = Field(description="contacts offered (the history's volume)")
    forecast_aht: float
    actual_aht: float | None = Field(description="null: no contact handled in the interval")
    handled: int


class AccuracyTotal(BaseModel):
    forecast_volume: float
    actual_volume: int
    wape: float | None = Field(
        description="sum |actual - forecast| / sum actual; null when nothing was offered"
    )
    accuracy: float | None = Field(description="1 - wape")
    mape: float | None = Field(description="mean |A - F| / A over the intervals with A > 0")
    bias: float = Field(description="sum (forecast - actual): > 0 forecast too many contacts")
    bias_ratio: float | None = Field(description="bias / sum actual; null when that is 0")
    forecast_aht: float | None = Field(description="forecast AHT weighted by forecast volume")
    actual_aht: float | None
    handled: int
    aht_bias: float | None = Field(description="forecast_aht - actual_aht, seconds")
    aht_wape: float | None = Field(
        description="sum over intervals of handled x |actual AHT - forecast AHT| / actual "
        "handle time; null without handled contacts"
    )


class ForecastAccuracyOut(BaseModel):
    forecast_id: uuid.UUID
    queue_id: str
    channel: str
    interval_minutes: int
    start: datetime
    end: datetime
    definition: str
    intervals: list[AccuracyInterval]
    total: AccuracyTotal
