"""Forecasting use cases: history, creating and storing forecasts, reforecast, staffing.

Services never commit. Creating a forecast has three steps the endpoint runs in order: read the
input (`load_series`, a short read transaction), compute (`compute`, pure and CPU-bound, run off
the event loop and outside any transaction so SQLite's write lock is not held for seconds), and
store (`store_forecast`, the write transaction with event and audit entry).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.errors import Invalid, NotFound
from omnidesk.platform.events import Audience
from omnidesk.platform.uow import UnitOfWork
from omnidesk.wfm.forecasting import csvio, history, model
from omnidesk.wfm.forecasting.events import ForecastCreated
from omnidesk.wfm.forecasting.holidaycal import HolidaySpec
from omnidesk.wfm.forecasting.models import Forecast, ForecastInterval
from omnidesk.wfm.forecasting.schemas import (
    BacktestOut,
    ElapsedOut,
    ForecastCreate,
    ForecastOut,
    ForecastStaffingIn,
    ForecastSummary,
    HistoryInterval,
    HistoryOut,
    HolidaysOut,
    HorizonOut,
    IntervalOut,
    ReforecastIn,
    ReforecastOut,
    ScoreOut,
)
from omnidesk.wfm.forecasting.series import (
    MAX_INTERVALS,
    FloatArray,
    ForecastInputError,
    Series,
)
from omnidesk.wfm.forecasting.series import check_interval as _check_interval
from omnidesk.wfm.schemas import StaffingOut
from omnidesk.wfm.service import staffing_table

DEFAULT_INTERVAL_MINUTES = 30
DEFAULT_HISTORY_DAYS = 56


def invalid(exc: ForecastInputError) -> Invalid:
    return Invalid(f"{exc.field}: {exc.message}", field=exc.field)


def utc(value: datetime) -> datetime:
    """Times without an offset are UTC (the server's clock for forecasts)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def check_interval(minutes: int) -> None:
    try:
        _check_interval(minutes)
    except ForecastInputError as exc:
        raise invalid(exc) from None


def check_history_interval(minutes: int) -> None:
    """History comes from the KPI rollups' 15-minute rows: an interval is a whole number of them
    (a 5- or 10-minute series needs a CSV)."""
    check_interval(minutes)
    if minutes % history.ROLLUP_MINUTES:
        raise Invalid(
            f"interval_minutes: history comes from the KPI rollups' {history.ROLLUP_MINUTES}-"
            f"minute intervals, so it must be a multiple of {history.ROLLUP_MINUTES} (got "
            f"{minutes}); give a CSV for shorter intervals",
            field="interval_minutes",
        )


def _on_grid(field: str, value: datetime, minutes: int) -> None:
    since = value - value.replace(hour=0, minute=0, second=0, microsecond=0)
    if since.total_seconds() % (minutes * 60):
        raise Invalid(
            f"{field}: {value.isoformat()} is not on the {minutes}-minute grid "
            "(a multiple of the interval after midnight UTC)",
            field=field,
        )


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------


async def history_view(
    session: AsyncSession,
    *,
    queue_id: str | None,
    channel: str | None,
    interval_minutes: int,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> HistoryOut:
    """Defaults: the 28 days up to the end of today (UTC)."""
    check_history_interval(interval_minutes)
    stop = utc(end) if end is not None else midnight(now.date() + timedelta(days=1))
    begin = utc(start) if start is not None else stop - timedelta(days=28)
    _on_grid("start", begin, interval_minutes)
    _on_grid("end", stop, interval_minutes)
    if begin >= stop:
        raise Invalid("end: must be after start", field="end")
    size = (stop - begin) / timedelta(minutes=interval_minutes)
    if size > MAX_INTERVALS:
        raise Invalid(
            f"end: {size:,.0f} intervals requested, the limit is {MAX_INTERVALS:,}", field="end"
        )
    found = await history.read_history(
        session,
        queue_id=queue_id,
        channel=channel,
        start=begin,
        end=stop,
        interval_minutes=interval_minutes,
    )
    aht = found.aht
    handled = int(found.handled.sum())
    return HistoryOut(
        queue_id=queue_id,
        channel=channel,
        interval_minutes=interval_minutes,
        start=begin,
        end=stop,
        definition=history.DEFINITION,
        volume=int(found.volume.sum()),
        handled=handled,
        aht=float(found.handle_seconds.sum()) / handled if handled else None,
        intervals=[
            HistoryInterval(
                interval_start=t,
                volume=int(found.volume[i]),
                handled=int(found.handled[i]),
                aht=None if np.isnan(aht[i]) else float(aht[i]),
            )
            for i, t in enumerate(found.starts())
        ],
    )


# ---------------------------------------------------------------------------------------------
# Creating a forecast
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesInput:
    series: Series
    queue_id: str
    channel: str
    source: str
    warnings: list[str]


async def load_series(session: AsyncSession, body: ForecastCreate, *, today: date) -> SeriesInput:
    if body.source == "csv":
        assert body.csv is not None
        try:
            rows = csvio.read_rows(body.csv)
            queue_id, channel, chosen = csvio.select(rows, body.queue_id, body.channel)
            series, notes = csvio.to_series(
                chosen, interval_minutes=body.interval_minutes, naive_as_utc=True
            )
        except ForecastInputError as exc:
            raise invalid(exc) from None
        return SeriesInput(series, queue_id, channel, "csv", notes)
    assert body.queue_id is not None and body.channel is not None
    minutes = body.interval_minutes or DEFAULT_INTERVAL_MINUTES
    check_history_interval(minutes)
    end = body.history_end or today
    start = body.history_start or end - timedelta(days=DEFAULT_HISTORY_DAYS)
    if start >= end:
        raise Invalid("history_start: must be before history_end", field="history_start")
    if (end - start).days * (1440 // minutes) > MAX_INTERVALS:
        raise Invalid(
            f"history_start: {(end - start).days} days of {minutes}-minute intervals exceed "
            f"{MAX_INTERVALS:,} intervals",
            field="history_start",
        )
    found = await history.read_history(
        session,
        queue_id=body.queue_id,
        channel=body.channel,
        start=midnight(start),
        end=midnight(end),
        interval_minutes=minutes,
    )
    if int(found.volume.sum()) == 0:
        raise Invalid(
            f"queue_id: no contacts of queue {body.queue_id!r} on channel {body.channel!r} in "
            f"the KPI rollups from {start} to {end} (history_start/history_end)",
            field="queue_id",
        )
    series = Series(midnight(start), minutes, found.volume.astype(np.float64), found.aht)
    return SeriesInput(series, body.queue_id, body.channel, "history", [])


def holiday_spec(body: ForecastCreate) -> HolidaySpec:
    given = body.holidays
    if given is None:
        return HolidaySpec()
    return HolidaySpec(
        country=given.country,
        subdivision=given.subdivision,
        dates=tuple(given.dates),
        factor=given.factor,
    )


def compute(data: SeriesInput, body: ForecastCreate) -> model.Forecast:
    """Pure and CPU-bound (seconds with statsforecast): run it in a worker thread."""
    try:
        return model.forecast(
            data.series,
            method=body.method,
            horizon_days=body.horizon_days,
            backtest_days=body.backtest_days,
            holidays=holiday_spec(body),
        )
    except ForecastInputError as exc:
        raise invalid(exc) from None


def _score(s: model.Score) -> dict[str, Any]:
    return ScoreOut(
        wape=s.wape, mape=s.mape, accuracy=s.accuracy, intervals=s.intervals, actual=s.actual
    ).model_dump(mode="json")


def _backtest_json(bt: model.Backtest) -> dict[str, Any]:
    variance = bt.day_error_variance
    return BacktestOut(
        method=bt.method,
        days=bt.days,
        horizon=bt.horizon,
        overall=ScoreOut.model_validate(_score(bt.overall)),
        horizons=[HorizonOut(day_ahead=k + 1, **_score(s)) for k, s in enumerate(bt.horizons)],
        day_error=None if variance is None else float(np.sqrt(variance)),
    ).model_dump(mode="json")


def accuracy_of(row: Forecast) -> float | None:
    chosen = row.backtest.get(row.method)
    if not chosen:
        return None
    value = chosen["overall"]["accuracy"]
    return None if value is None else float(value)


async def store_forecast(
    uow: UnitOfWork,
    by: Principal,
    body: ForecastCreate,
    data: SeriesInput,
    result: model.Forecast,
) -> Forecast:
    spec = holiday_spec(body)
    starts = result.starts()
    row = Forecast(
        id=uuid.uuid4(),
        queue_id=data.queue_id,
        channel=data.channel,
        method=result.method,
        requested_method=result.requested_method,
        interval_minutes=result.interval_minutes,
        start=result.start,
        end=result.start + timedelta(days=body.horizon_days),
        horizon_days=body.horizon_days,
        source=data.source,
        history_start=data.series.start,
        history_end=data.series.end(),
        created_by=by.user_id,
        holidays=HolidaysOut(
            country=spec.country.upper() if spec.country else None,
            subdivision=spec.subdivision,
            dates=list(spec.dates),
            factor=result.holidays.factor,
            factor_source=result.holidays.source,
            history_days=result.holidays.history_days,
            forecast_days=list(result.holiday_dates),
        ).model_dump(mode="json"),
        backtest={m: _backtest_json(bt) for m, bt in result.backtests.items()},
        warnings={"items": [*data.warnings, *result.warnings]},
    )
    uow.session.add(row)
    await uow.session.flush()
    # A Core bulk insert: tens of thousands of ORM objects would cost seconds. It bypasses the
    # flush-time tenant stamping, so the tenant is set here.
    await uow.session.execute(
        insert(ForecastInterval),
        [
            {
                "tenant_id": uow.tenant_id,
                "forecast_id": row.id,
                "position": i,
                "interval_start": starts[i],
                "volume": float(result.volume[i]),
                "aht": float(result.aht[i]),
                "holiday": bool(result.holiday[i]),
            }
            for i in range(len(starts))
        ],
    )
    uow.record(
        ForecastCreated(
            forecast_id=row.id,
            queue_id=row.queue_id,
            channel=row.channel,
            method=row.method,
            interval_minutes=row.interval_minutes,
            start=row.start,
            end=row.end,
            accuracy=accuracy_of(row),
        ),
        Audience.of(users=[by.user_id]),
    )
    audit(
        uow,
        by,
        "wfm.forecast.create",
        "forecast",
        row.id,
        queue_id=row.queue_id,
        channel=row.channel,
        method=row.method,
        source=row.source,
        horizon_days=row.horizon_days,
    )
    return row


# ---------------------------------------------------------------------------------------------
# Reading forecasts
# ---------------------------------------------------------------------------------------------


def summary(row: Forecast) -> ForecastSummary:
    return ForecastSummary(
        id=row.id,
        queue_id=row.queue_id,
        channel=row.channel,
        method=row.method,
        requested_method=row.requested_method,
        interval_minutes=row.interval_minutes,
        start=row.start,
        end=row.end,
        horizon_days=row.horizon_days,
        source=row.source,
        history_start=row.history_start,
        history_end=row.history_end,
        created_at=row.created_at,
        created_by=row.created_by,
        accuracy=accuracy_of(row),
    )


def interval_out(i: ForecastInterval) -> IntervalOut:
    return IntervalOut(
        interval_start=i.interval_start, volume=i.volume, aht=i.aht, holiday=i.holiday
    )


def full(row: Forecast, intervals: list[ForecastInterval]) -> ForecastOut:
    return ForecastOut(
        **summary(row).model_dump(),
        holidays=HolidaysOut.model_validate(row.holidays),
        backtest={m: BacktestOut.model_validate(b) for m, b in row.backtest.items()},
        warnings=list(row.warnings.get("items", [])),
        intervals=[interval_out(i) for i in intervals],
    )


async def list_forecasts(
    session: AsyncSession, *, queue_id: str | None, channel: str | None, limit: int
) -> list[Forecast]:
    stmt = select(Forecast)
    if queue_id is not None:
        stmt = stmt.where(Forecast.queue_id == queue_id)
    if channel is not None:
        stmt = stmt.where(Forecast.channel == channel)
    rows = await session.scalars(
        stmt.order_by(Forecast.created_at.desc(), Forecast.id).limit(limit)
    )
    return list(rows.all())


async def get_forecast(session: AsyncSession, forecast_id: uuid.UUID) -> Forecast:
    # Tenant-scoped like every query: another tenant's id is simply not found.
    row = await session.scalar(select(Forecast).where(Forecast.id == forecast_id))
    if row is None:
        raise NotFound(f"forecast {forecast_id} not found")
    return row


async def intervals_of(session: AsyncSession, forecast_id: uuid.UUID) -> list[ForecastInterval]:
    rows = await session.scalars(
        select(ForecastInterval)
        .where(ForecastInterval.forecast_id == forecast_id)
        .order_by(ForecastInterval.position)
    )
    return list(rows.all())


# ---------------------------------------------------------------------------------------------
# Reforecast and staffing
# ---------------------------------------------------------------------------------------------


def _day_slice(row: Forecast, day: date, field: str) -> tuple[int, int]:
    first = row.start.date()
    last = row.end.date() - timedelta(days=1)
    if not first <= day <= last:
        raise Invalid(f"{field}: {day} is outside the forecast ({first} to {last})", field=field)
    per_day = 1440 // row.interval_minutes
    offset = (day - first).days * per_day
    return offset, offset + per_day


def _body_actuals(row: Forecast, body: ReforecastIn) -> tuple[date, FloatArray]:
    """The day and its actuals from midnight to the last given interval (missing ones: 0)."""
    assert body.actuals is not None
    if not body.actuals:
        raise Invalid("actuals: give at least one interval (or omit it to read the log)")
    times = [utc(a.interval_start) for a in body.actuals]
    day = body.day or times[0].date()
    step = timedelta(minutes=row.interval_minutes)
    start = midnight(day)
    slots: dict[int, float] = {}
    for k, (t, actual) in enumerate(zip(times, body.actuals, strict=True)):
        offset = (t - start) / step
        if t.date() != day or offset != int(offset):
            raise Invalid(
                f"actuals[{k}].interval_start: {t.isoformat()} is not a "
                f"{row.interval_minutes}-minute interval of {day}",
                field="actuals",
            )
        if int(offset) in slots:
            raise Invalid(f"actuals[{k}].interval_start: {t.isoformat()} given twice")
        slots[int(offset)] = actual.volume
    values = np.zeros(max(slots) + 1)
    for index, volume in slots.items():
        values[index] = volume
    return day, values


async def reforecast(
    session: AsyncSession, row: Forecast, body: ReforecastIn, *, now: datetime
) -> ReforecastOut:
    intervals = await intervals_of(session, row.id)
    if body.actuals is not None:
        day, actuals = _body_actuals(row, body)
        source: Literal["body", "event_log"] = "body"
    else:
        as_of = utc(body.as_of) if body.as_of is not None else now
        day = body.day or as_of.date()
        source = "event_log"
    begin, stop = _day_slice(row, day, "day")
    today = intervals[begin:stop]
    if body.actuals is None:
        step = timedelta(minutes=row.interval_minutes)
        elapsed = int(np.clip((as_of - midnight(day)) // step, 0, len(today)))
        # Arrivals from the log, not the rollups' offered: the contacts of the last intervals
        # are still waiting or talking, and the rollups count a contact once it has left.
        arrived = await history.arrival_volumes(
            session,
            start=midnight(day),
            end=midnight(day) + elapsed * step,
            interval_minutes=row.interval_minutes,
        )
        actuals = arrived.get((row.queue_id, row.channel), np.zeros(elapsed)).astype(np.float64)
    error_source: Literal["given", "backtest"] = "given"
    if body.day_error is not None:
        day_error = body.day_error
    else:
        stored = row.backtest.get(row.method, {}).get("day_error")
        if stored is None:
            raise Invalid(
                "day_error: this forecast has no backtest to take the day-level error from; "
                "give day_error (relative std of a day's volume, e.g. 0.1)",
                field="day_error",
            )
        day_error, error_source = float(stored), "backtest"
    planned = np.array([i.volume for i in today], dtype=np.float64)
    try:
        result = model.reforecast(planned, actuals, day_error)
    except ForecastInputError as exc:
        raise invalid(exc) from None
    k = result.elapsed
    return ReforecastOut(
        forecast_id=row.id,
        day=day,
        source=source,
        elapsed=[
            ElapsedOut(interval_start=i.interval_start, forecast=i.volume, actual=float(a))
            for i, a in zip(today[:k], actuals, strict=True)
        ],
        forecast_so_far=result.forecast_so_far,
        actual_so_far=result.actual_so_far,
        ratio=result.ratio,
        day_error=day_error,
        day_error_source=error_source,
        weight=result.weight,
        factor=result.factor,
        intervals=[
            IntervalOut(
                interval_start=i.interval_start,
                volume=float(v),
                aht=i.aht,
                holiday=i.holiday,
            )
            for i, v in zip(today[k:], result.volume, strict=True)
        ],
    )


def staffing(
    row: Forecast, intervals: list[ForecastInterval], body: ForecastStaffingIn
) -> StaffingOut:
    begin = utc(body.start) if body.start is not None else row.start
    stop = utc(body.end) if body.end is not None else row.end
    chosen = [i for i in intervals if begin <= i.interval_start < stop]
    if not chosen:
        raise Invalid(
            f"start: no forecast interval in [{begin.isoformat()}, {stop.isoformat()}); the "
            f"forecast covers {row.start.isoformat()} to {row.end.isoformat()}",
            field="start",
        )
    return staffing_table(
        body,
        interval_seconds=row.interval_minutes * 60.0,
        starts=[i.interval_start for i in chosen],
        calls=np.array([i.volume for i in chosen], dtype=np.float64),
        aht=np.array([i.aht for i in chosen], dtype=np.float64),
    )
