"""Forecast accuracy: a stored forecast's intervals beside what happened (docs/wfm.md,
"Forecast accuracy").

Actuals are the forecasting history (`history.read_history`: the KPI rollups' offered contacts
and AHT), so a forecast is judged by the same measure it was made from.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.errors import Invalid
from omnidesk.wfm.forecasting import history, model
from omnidesk.wfm.forecasting.models import Forecast, ForecastInterval
from omnidesk.wfm.forecasting.schemas import (
    AccuracyInterval,
    AccuracyTotal,
    ForecastAccuracyOut,
)
from omnidesk.wfm.forecasting.series import FloatArray
from omnidesk.wfm.forecasting.service import intervals_of, utc


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def check_range(
    row: Forecast, start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) on the forecast's grid, inside it, and ended by `now`; defaults: the
    forecast's start, and its end or the last interval that has ended. 422 naming the field."""
    if row.interval_minutes % history.ROLLUP_MINUTES:
        raise Invalid(
            f"interval_minutes: the forecast's {row.interval_minutes}-minute intervals cannot be "
            f"compared with the KPI rollups' {history.ROLLUP_MINUTES}-minute ones",
            field="interval_minutes",
        )
    step = timedelta(minutes=row.interval_minutes)
    ended = row.start + max(0, (now - row.start) // step) * step  # the last boundary passed
    begin = utc(start) if start is not None else row.start
    stop = utc(end) if end is not None else min(row.end, ended)
    for field, value in (("start", begin), ("end", stop)):
        if (value - row.start) % step:
            raise Invalid(
                f"{field}: {value.isoformat()} is not on the forecast's "
                f"{row.interval_minutes}-minute grid",
                field=field,
            )
        if not row.start <= value <= row.end:
            raise Invalid(
                f"{field}: {value.isoformat()} is outside the forecast "
                f"({row.start.isoformat()} to {row.end.isoformat()})",
                field=field,
            )
    if stop > ended:
        raise Invalid(
            f"end: {stop.isoformat()} has not come yet: actuals are complete up to "
            f"{ended.isoformat()}",
            field="end",
        )
    if stop <= begin:
        raise Invalid(
            f"end: must be after start ({begin.isoformat()}); a forecast is compared once its "
            "first interval has ended",
            field="end",
        )
    return begin, stop


def totals(
    forecast: FloatArray,
    forecast_aht: FloatArray,
    actual: FloatArray,
    handled: FloatArray,
    handle_seconds: FloatArray,
) -> AccuracyTotal:
    """The range's figures (pure). Volume: WAPE, MAPE, bias; AHT: the handled-weighted error."""
    score = model.Score.of(actual, forecast)
    offered = float(actual.sum())
    planned = float(forecast.sum())
    bias = planned - offered
    actual_aht = _ratio(float(handle_seconds.sum()), float(handled.sum()))
    forecast_mean = _ratio(float(np.sum(forecast * forecast_aht)), planned)
    # Handle time the forecast's AHT gives the contacts that were handled, against theirs.
    aht_error = float(np.sum(np.abs(handle_seconds - handled * forecast_aht)))
    return AccuracyTotal(
        forecast_volume=planned,
        actual_volume=round(offered),
        wape=score.wape,
        accuracy=score.accuracy,
        mape=score.mape,
        bias=bias,
        bias_ratio=_ratio(bias, offered),
        forecast_aht=forecast_mean,
        actual_aht=actual_aht,
        handled=round(float(handled.sum())),
        aht_bias=None
        if forecast_mean is None or actual_aht is None
        else forecast_mean - actual_aht,
        aht_wape=_ratio(aht_error, float(handle_seconds.sum())),
    )


async def accuracy(
    session: AsyncSession,
    row: Forecast,
    *,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> ForecastAccuracyOut:
    begin, stop = check_range(row, start, end, now=now)
    chosen: list[ForecastInterval] = [
        i for i in await intervals_of(session, row.id) if begin <= i.interval_start < stop
    ]
    found = await history.read_history(
        session,
        queue_id=row.queue_id,
        channel=row.channel,
        start=begin,
        end=stop,
        interval_minutes=row.interval_minutes,
    )
    aht = found.aht
    return ForecastAccuracyOut(
        forecast_id=row.id,
        queue_id=row.queue_id,
        channel=row.channel,
        interval_minutes=row.interval_minutes,
        start=begin,
        end=stop,
        definition=history.DEFINITION,
        intervals=[
            AccuracyInterval(
                interval_start=i.interval_start,
                forecast_volume=i.volume,
                actual_volume=int(found.volume[k]),
                forecast_aht=i.aht,
                actual_aht=None if np.isnan(aht[k]) else float(aht[k]),
                handled=int(found.handled[k]),
            )
            for k, i in enumerate(chosen)
        ],
        total=totals(
            np.array([i.volume for i in chosen], dtype=np.float64),
            np.array([i.aht for i in chosen], dtype=np.float64),
            found.volume.astype(np.float64),
            found.handled.astype(np.float64),
            found.handle_seconds,
        ),
    )
