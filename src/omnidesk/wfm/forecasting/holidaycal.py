"""Holidays for forecasting: which days are holidays, how the history is cleaned of them, and the
factor that scales forecast holidays.

The rule (docs/wfm.md, "Holidays"): a holiday in the history is replaced, for fitting, by the mean
of the nearest ordinary same-weekday days before and after it; the holiday factor is the observed
ratio actual / replaced volume over all history holidays; with no holiday in the history, the
forecast's holidays are flagged but not scaled (factor 1) unless a factor is given.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from omnidesk.wfm.forecasting.series import FloatArray, ForecastInputError

FactorSource = Literal["given", "observed", "none_observed"]


@dataclass(frozen=True)
class HolidaySpec:
    """Country (ISO 3166 code, e.g. "DE") and subdivision ("BY") for the `holidays` package,
    and/or explicit dates. `factor`: scale forecast holidays by this instead of the observed
    ratio."""

    country: str | None = None
    subdivision: str | None = None
    dates: tuple[date, ...] = ()
    factor: float | None = None

    @property
    def empty(self) -> bool:
        return self.country is None and not self.dates


@dataclass(frozen=True)
class HolidayEffect:
    factor: float
    source: FactorSource
    history_days: int  # holidays observed in the history (the factor's evidence)


def holiday_dates(spec: HolidaySpec, first: date, last: date) -> frozenset[date]:
    """Holidays between `first` and `last` (inclusive)."""
    if spec.factor is not None and not (spec.factor >= 0 and np.isfinite(spec.factor)):
        raise ForecastInputError("holidays.factor", f"must be a number >= 0, got {spec.factor}")
    found = {d for d in spec.dates if first <= d <= last}
    if spec.country is None:
        if spec.subdivision is not None:
            raise ForecastInputError("holidays.subdivision", "needs holidays.country")
        return frozenset(found)
    # Imported lazily: the package loads every country's calendar module on first use.
    package: Any = importlib.import_module("holidays")
    years = list(range(first.year, last.year + 1))
    try:
        calendar = package.country_holidays(
            spec.country.upper(), subdiv=spec.subdivision, years=years
        )
    except NotImplementedError as exc:
        field = "holidays.country"
        if spec.country.upper() in package.list_supported_countries():
            field = "holidays.subdivision"
        raise ForecastInputError(field, str(exc)) from None
    found.update(d for d in calendar if first <= d <= last)
    return frozenset(found)


def day_mask(first: date, days: int, holidays: Iterable[date]) -> NDArray[np.bool_]:
    wanted = set(holidays)
    return np.array([first + timedelta(days=d) in wanted for d in range(days)], dtype=bool)


def clean_history(matrix: FloatArray, is_holiday: NDArray[np.bool_]) -> FloatArray:
    """Holiday rows replaced by the mean of the nearest ordinary same-weekday rows before and after
    (either side alone at the ends); with no such day, the nearest ordinary day of any weekday."""
    out = matrix.copy()
    days = matrix.shape[0]
    ordinary = ~is_holiday
    if not ordinary.any():
        raise ForecastInputError(
            "holidays", "every day of the history is a holiday: nothing ordinary to fit"
        )
    for d in np.flatnonzero(is_holiday):
        before = next((k for k in range(d - 7, -1, -7) if ordinary[k]), None)
        after = next((k for k in range(d + 7, days, 7) if ordinary[k]), None)
        picks = [k for k in (before, after) if k is not None]
        if not picks:
            candidates = np.flatnonzero(ordinary)
            picks = [int(candidates[np.argmin(np.abs(candidates - d))])]
        out[d] = matrix[picks].mean(axis=0)
    return out


def effect(
    matrix: FloatArray, cleaned: FloatArray, is_holiday: NDArray[np.bool_], given: float | None
) -> HolidayEffect:
    observed = int(is_holiday.sum())
    if given is not None:
        return HolidayEffect(float(given), "given", observed)
    expected = float(cleaned[is_holiday].sum())
    if observed == 0 or expected <= 0:
        return HolidayEffect(1.0, "none_observed", observed)
    return HolidayEffect(float(matrix[is_holiday].sum()) / expected, "observed", observed)
