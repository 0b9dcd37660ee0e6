"""Forecasting contact volume and AHT per interval: methods, backtest, auto selection, reforecast.

Pure (numpy and statsforecast, no database, no HTTP). Methods:

  seasonal_naive  each interval as the same interval one week earlier (one day earlier with less
                  than a week of history), the last week repeated over the horizon.
  ets, theta      statsforecast AutoETS / AutoTheta on the daily totals with a weekly season,
                  each forecast day split into intervals by its weekday's intraday profile.
                  Why top-down: both models take one season of at most a few dozen points (ETS
                  refuses seasons over 24), while a week of 30-minute intervals is 336.
  mstl            statsforecast MSTL on the interval series with daily and weekly seasonality
                  (trend and remainder by AutoETS without season).
  auto            every method the history allows, backtested; the lowest WAPE wins.

Formulas and rules (holidays, AHT, WAPE/MAPE, reforecast): docs/wfm.md, "Forecasting".
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal, cast

import numpy as np
from numpy.typing import NDArray

from omnidesk.wfm.forecasting.holidaycal import (
    HolidayEffect,
    HolidaySpec,
    clean_history,
    day_mask,
    effect,
    holiday_dates,
)
from omnidesk.wfm.forecasting.series import FloatArray, ForecastInputError, Series

Method = Literal["seasonal_naive", "ets", "theta", "mstl"]
METHODS: Final[tuple[Method, ...]] = ("seasonal_naive", "ets", "theta", "mstl")
METHOD_CHOICES: Final = ("auto", *METHODS)
# Least whole days of history each method is fitted on. ets/theta: three weeks, because AutoTheta's
# seasonality test (autocorrelation at lag 7) cannot see a weekly pattern in two; mstl: two full
# weekly cycles, which STL needs.
MIN_DAYS: Final[dict[str, int]] = {"seasonal_naive": 1, "ets": 21, "theta": 21, "mstl": 14}
MAX_HORIZON_DAYS: Final = 92
MAX_BACKTEST_DAYS: Final = 56
# The intraday profile of ets/theta: the last eight weeks, so it follows a changing daily shape.
PROFILE_DAYS: Final = 56
# MSTL fits at most the last twelve weeks: STL on a long interval series costs seconds per fit.
MSTL_DAYS: Final = 84


# ---------------------------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------------------------


def wape(actual: FloatArray, forecast: FloatArray) -> float | None:
    """sum |A - F| / sum A over all intervals; None when nothing happened (sum A = 0)."""
    total = float(np.sum(actual))
    if total <= 0:
        return None
    return float(np.sum(np.abs(actual - forecast))) / total


def mape(actual: FloatArray, forecast: FloatArray) -> float | None:
    """mean of |A - F| / A over the intervals with A > 0 (zero actuals have no percentage error,
    so they are skipped); None when every actual is zero."""
    seen = actual > 0
    if not seen.any():
        return None
    return float(np.mean(np.abs(actual[seen] - forecast[seen]) / actual[seen]))


@dataclass(frozen=True)
class Score:
    wape: float | None
    mape: float | None
    intervals: int
    actual: float

    @property
    def accuracy(self) -> float | None:
        """Forecast accuracy as DESIGN.md defines it: 1 - WAPE."""
        return None if self.wape is None else 1.0 - self.wape

    @classmethod
    def of(cls, actual: FloatArray, forecast: FloatArray) -> Score:
        return cls(wape(actual, forecast), mape(actual, forecast), actual.size, float(actual.sum()))


@dataclass(frozen=True)
class Backtest:
    """Rolling origin: for each of the last `days` days, fit on everything before it and forecast
    up to `horizon` days ahead; `horizons[h-1]` scores every forecast made h days ahead."""

    method: Method
    days: int
    horizon: int
    overall: Score
    horizons: tuple[Score, ...]
    # Mean squared relative error of the one-day-ahead daily totals: the reforecast's prior.
    day_error_variance: float | None


# ---------------------------------------------------------------------------------------------
# Methods: (days, per_day) history -> (h, per_day) forecast
# ---------------------------------------------------------------------------------------------


def _statsforecast() -> Any:
    # Imported on first use: it takes seconds (numba), and seasonal_naive never needs it.
    return importlib.import_module("statsforecast.models")


def _seasonal_naive(history: FloatArray, h: int) -> FloatArray:
    period = 7 if history.shape[0] >= 7 else 1
    last = history[-period:]
    return last[np.arange(h) % period]


def _profiles(history: FloatArray, first: date) -> FloatArray:
    """(7, per_day): each weekday's share of its daily volume per interval, over the last
    PROFILE_DAYS days; a weekday without volume takes the all-days profile, and a history
    without any volume a flat one."""
    days, per_day = history.shape
    start = max(0, days - PROFILE_DAYS)
    recent = history[start:]
    weekday = np.array([(first + timedelta(days=d)).weekday() for d in range(start, days)])
    total = recent.sum()
    overall = recent.sum(axis=0) / total if total > 0 else np.full(per_day, 1.0 / per_day)
    out = np.empty((7, per_day))
    for w in range(7):
        rows = recent[weekday == w]
        volume = rows.sum()
        out[w] = rows.sum(axis=0) / volume if volume > 0 else overall
    return out


def _top_down(history: FloatArray, first: date, h: int, model: str) -> FloatArray:
    totals = history.sum(axis=1)
    models = _statsforecast()
    season = 7 if totals.size >= 14 else 1
    if model == "ets":
        fitted = models.AutoETS(season_length=season)
    else:
        fitted = models.AutoTheta(season_length=season)
    with warnings.catch_warnings():
        # statsforecast divides by zero-variance residuals on flat series and warns; the mean
        # forecast is still right.
        warnings.simplefilter("ignore")
        daily = np.asarray(fitted.forecast(y=totals, h=h)["mean"], dtype=np.float64)
    daily = np.maximum(np.nan_to_num(daily, nan=0.0), 0.0)
    profiles = _profiles(history, first)
    days = history.shape[0]
    weekday = [(first + timedelta(days=days + j)).weekday() for j in range(h)]
    return daily[:, None] * profiles[weekday]


def _mstl(history: FloatArray, h: int) -> FloatArray:
    """MSTL on log(1 + volume). Why the log: contact volume is multiplicative (a quiet Sunday has
    a smaller daily swing than a Monday, and the swing grows with the trend), while MSTL adds
    its components; on the log scale the product becomes a sum. The back-transformed forecast
    is the median rather than the mean of the log-scale model, a few per cent low for
    intervals with a handful of contacts."""
    per_day = history.shape[1]
    y = history[-MSTL_DAYS:].ravel()
    if np.all(y == y[0]):
        return np.full((h, per_day), float(y[0]))
    models = _statsforecast()
    seasons = [per_day, 7 * per_day] if per_day > 1 else [7]
    # Evaluate the trend and low-pass LOESS smoothers every `jump` points and interpolate, as R's
    # stl does by default (jump ~ window / 10; the daily STL's trend window is ~1.7 days'
    # intervals). statsmodels evaluates every point: 7x slower, same forecast to 1e-4 WAPE.
    jump = max(1, -(-per_day // 5))
    model = models.MSTL(
        season_length=seasons,
        trend_forecaster=models.AutoETS(model="ZZN"),
        stl_kwargs={"trend_jump": jump, "low_pass_jump": jump},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = model.forecast(y=np.log1p(y), h=h * per_day)["mean"]
    mean: FloatArray = np.expm1(np.asarray(fitted, dtype=np.float64))
    return np.maximum(np.nan_to_num(mean, nan=0.0), 0.0).reshape(h, per_day)


@dataclass(frozen=True)
class _Prediction:
    volume: FloatArray  # (h, per_day)
    holiday: NDArray[np.bool_]  # (h,) forecast days that are holidays
    effect: HolidayEffect


def _predict(
    history: FloatArray,
    first: date,
    holidays: frozenset[date],
    factor: float | None,
    method: Method,
    h: int,
) -> _Prediction:
    days = history.shape[0]
    is_holiday = day_mask(first, days, holidays)
    cleaned = clean_history(history, is_holiday) if is_holiday.any() else history
    fit = effect(history, cleaned, is_holiday, factor)
    if method == "seasonal_naive":
        volume = _seasonal_naive(cleaned, h)
    elif method == "mstl":
        volume = _mstl(cleaned, h)
    else:
        volume = _top_down(cleaned, first, h, method)
    ahead = day_mask(first + timedelta(days=days), h, holidays)
    volume = volume.copy()
    volume[ahead] *= fit.factor
    return _Prediction(volume, ahead, fit)


# ---------------------------------------------------------------------------------------------
# Backtest and forecast
# ---------------------------------------------------------------------------------------------


def _check_method(method: str, field: str = "method") -> None:
    if method not in METHOD_CHOICES:
        raise ForecastInputError(
            field, f"must be one of {', '.join(METHOD_CHOICES)}, got {method!r}"
        )


def _check_range(field: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ForecastInputError(
            field, f"must be a whole number from {low} to {high}, got {value!r}"
        )


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _need(method: str, backtest_days: int, days: int) -> None:
    need = MIN_DAYS[method] + backtest_days
    if days < need:
        extra = f" plus {backtest_days} backtest days" if backtest_days else ""
        raise ForecastInputError(
            "history",
            f"method {method} needs at least {_days(MIN_DAYS[method])} of history{extra} "
            f"({need} days); the series has {days}",
        )


def _backtest(
    matrix: FloatArray,
    first: date,
    holidays: frozenset[date],
    factor: float | None,
    method: Method,
    horizon_days: int,
    backtest_days: int,
) -> Backtest:
    days = matrix.shape[0]
    horizon = min(horizon_days, backtest_days)
    actual: list[list[FloatArray]] = [[] for _ in range(horizon)]
    predicted: list[list[FloatArray]] = [[] for _ in range(horizon)]
    day_errors: list[float] = []
    for origin in range(days - backtest_days, days):
        h = min(horizon, days - origin)
        prediction = _predict(matrix[:origin], first, holidays, factor, method, h)
        for k in range(h):
            actual[k].append(matrix[origin + k])
            predicted[k].append(prediction.volume[k])
        expected = float(prediction.volume[0].sum())
        if expected > 0:
            day_errors.append(((float(matrix[origin].sum()) - expected) / expected) ** 2)
    scores = tuple(
        Score.of(np.concatenate(a), np.concatenate(p))
        for a, p in zip(actual, predicted, strict=True)
    )
    overall = Score.of(
        np.concatenate([x for a in actual for x in a]),
        np.concatenate([x for p in predicted for x in p]),
    )
    variance = float(np.mean(day_errors)) if day_errors else None
    return Backtest(method, backtest_days, horizon, overall, scores, variance)


def backtest(
    series: Series,
    method: str,
    *,
    horizon_days: int = 7,
    backtest_days: int = 7,
    holidays: HolidaySpec | None = None,
) -> Backtest:
    """Rolling-origin backtest of one method over the last `backtest_days` days."""
    _check_method(method)
    if method == "auto":
        raise ForecastInputError("method", "backtest one method at a time, not auto")
    _check_range("horizon_days", horizon_days, 1, MAX_HORIZON_DAYS)
    _check_range("backtest_days", backtest_days, 1, MAX_BACKTEST_DAYS)
    spec = holidays or HolidaySpec()
    _need(method, backtest_days, series.days)
    dates = holiday_dates(spec, series.first_date, series.first_date + timedelta(days=series.days))
    return _backtest(
        series.matrix(),
        series.first_date,
        dates,
        spec.factor,
        cast(Method, method),
        horizon_days,
        backtest_days,
    )


def forecast_aht(series: Series, days: int) -> FloatArray:
    """AHT for `days` days after the series: per interval of the week, the volume-weighted mean
    of the history's AHT (sum volume x AHT / sum volume over the same weekday and time of day);
    an interval of the week without handled contacts takes the same time of day over all
    weekdays, then the overall mean."""
    per_day = series.per_day
    known = ~np.isnan(series.aht) & (series.aht > 0) & (series.volume > 0)
    weight = np.where(known, series.volume, 0.0)
    if weight.sum() <= 0:
        raise ForecastInputError(
            "aht", "no interval of the history has contacts with a handle time (aht > 0)"
        )
    work = np.where(known, series.aht, 0.0) * weight
    day = np.arange(series.volume.size) // per_day
    weekday = np.array(
        [(series.first_date + timedelta(days=int(d))).weekday() for d in range(series.days)]
    )
    slot_of_week = weekday[day] * per_day + np.arange(series.volume.size) % per_day
    slot_of_day = np.arange(series.volume.size) % per_day
    week_w = np.bincount(slot_of_week, weights=weight, minlength=7 * per_day)
    week_x = np.bincount(slot_of_week, weights=work, minlength=7 * per_day)
    day_w = np.bincount(slot_of_day, weights=weight, minlength=per_day)
    day_x = np.bincount(slot_of_day, weights=work, minlength=per_day)
    overall = work.sum() / weight.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        by_day = np.where(day_w > 0, day_x / day_w, overall)
        by_week = np.where(week_w > 0, week_x / week_w, np.tile(by_day, 7))
    ahead = [(series.first_date + timedelta(days=series.days + j)).weekday() for j in range(days)]
    return cast(FloatArray, by_week.reshape(7, per_day)[ahead].ravel())


@dataclass(frozen=True)
class Forecast:
    method: Method
    requested_method: str
    start: datetime
    interval_minutes: int
    volume: FloatArray
    aht: FloatArray
    holiday: NDArray[np.bool_]  # per interval
    holidays: HolidayEffect
    holiday_dates: tuple[date, ...]  # holidays in the forecast
    backtests: dict[str, Backtest]
    warnings: tuple[str, ...]

    @property
    def per_day(self) -> int:
        return 1440 // self.interval_minutes

    def starts(self) -> list[datetime]:
        step = timedelta(minutes=self.interval_minutes)
        return [self.start + i * step for i in range(self.volume.size)]


def _pick(backtests: dict[str, Backtest]) -> Method:
    """Lowest overall WAPE; ties (and WAPE-less backtests) go to the simpler method."""

    def key(method: Method) -> tuple[float, int]:
        score = backtests[method].overall.wape
        return (float("inf") if score is None else score, METHODS.index(method))

    return min((cast(Method, m) for m in backtests), key=key)


def forecast(
    series: Series,
    *,
    method: str = "auto",
    horizon_days: int = 14,
    backtest_days: int = 7,
    holidays: HolidaySpec | None = None,
) -> Forecast:
    """Forecast `horizon_days` whole days after the series, with backtests (see module doc)."""
    _check_method(method)
    _check_range("horizon_days", horizon_days, 1, MAX_HORIZON_DAYS)
    _check_range("backtest_days", backtest_days, 0, MAX_BACKTEST_DAYS)
    spec = holidays or HolidaySpec()
    days = series.days
    notes: list[str] = []
    aht = forecast_aht(series, horizon_days)  # first: a history without AHT fails fast
    if method == "auto":
        if backtest_days == 0:
            raise ForecastInputError("backtest_days", "method auto picks by backtest: give >= 1")
        candidates = [m for m in METHODS if days >= MIN_DAYS[m] + backtest_days]
        if not candidates:
            _need("seasonal_naive", backtest_days, days)
        skipped = [m for m in METHODS if m not in candidates]
        if skipped:
            notes.append(
                f"auto: not enough history to backtest {', '.join(skipped)} "
                f"({days} days; see the minimum per method)"
            )
    else:
        _need(method, backtest_days, days)
        candidates = [cast(Method, method)]
        if backtest_days and method != "seasonal_naive":
            # The baseline every method must beat, at no cost.
            candidates.append("seasonal_naive")
    first = series.first_date
    last = first + timedelta(days=days + horizon_days)
    dates = holiday_dates(spec, first, last)
    matrix = series.matrix()
    backtests: dict[str, Backtest] = {}
    if backtest_days:
        for m in candidates:
            backtests[m] = _backtest(
                matrix, first, dates, spec.factor, m, horizon_days, backtest_days
            )
    chosen = _pick(backtests) if method == "auto" else cast(Method, method)
    prediction = _predict(matrix, first, dates, spec.factor, chosen, horizon_days)
    if not spec.empty and prediction.effect.source == "none_observed" and prediction.holiday.any():
        notes.append(
            "no holiday with volume in the history: forecast holidays are flagged but not "
            "scaled; give holidays.factor to scale them"
        )
    per_day = series.per_day
    return Forecast(
        method=chosen,
        requested_method=method,
        start=series.end(),
        interval_minutes=series.interval_minutes,
        volume=prediction.volume.ravel(),
        aht=aht,
        holiday=np.repeat(prediction.holiday, per_day),
        holidays=prediction.effect,
        holiday_dates=tuple(
            series.end().date() + timedelta(days=int(d)) for d in np.flatnonzero(prediction.holiday)
        ),
        backtests=backtests,
        warnings=tuple(notes),
    )


# ---------------------------------------------------------------------------------------------
# Intraday reforecast
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reforecast:
    elapsed: int  # intervals with actuals
    forecast_so_far: float
    actual_so_far: float
    ratio: float | None  # actual / forecast so far; None when nothing was forecast yet
    weight: float  # how much of the ratio is applied (0..1)
    factor: float  # 1 + weight x (ratio - 1)
    volume: FloatArray  # the remaining intervals, adjusted


def reforecast(day: FloatArray, actuals: FloatArray, day_error: float) -> Reforecast:
    """Scale the rest of a day by what its first intervals showed, damped by credibility.

    Actual contacts so far are Poisson around ratio x forecast F, so the observed ratio A/F has
    variance ~1/F; before the day the true ratio varies around 1 with variance s^2 (the
    forecast's day-level error, `day_error` = s, a relative standard deviation). The linear Bayes
    (Buehlmann credibility) estimate of the ratio is then 1 + w (A/F - 1) with
    w = F s^2 / (F s^2 + 1): little volume so far or an accurate forecast keep the plan; much
    volume moves it all the way to the observed ratio.
    """
    if not (np.isfinite(day_error) and day_error >= 0):
        raise ForecastInputError("day_error", f"must be a number >= 0, got {day_error}")
    if actuals.size > day.size:
        raise ForecastInputError(
            "actuals", f"{actuals.size} intervals given, the day has {day.size}"
        )
    if not np.all(np.isfinite(actuals)) or np.any(actuals < 0):
        raise ForecastInputError("actuals", "volumes must be finite and >= 0")
    k = actuals.size
    expected = float(day[:k].sum())
    seen = float(actuals.sum())
    ratio = seen / expected if expected > 0 else None
    variance = day_error * day_error
    weight = expected * variance / (expected * variance + 1.0)
    factor = 1.0 if ratio is None else 1.0 + weight * (ratio - 1.0)
    return Reforecast(k, expected, seen, ratio, weight, factor, day[k:] * factor)


def day_error_of(backtests: dict[str, Backtest], method: str) -> float | None:
    """The reforecast prior s from a forecast's own backtest (sqrt of the day-error variance)."""
    bt = backtests.get(method)
    if bt is None or bt.day_error_variance is None:
        return None
    return float(np.sqrt(bt.day_error_variance))
