"""A regular interval series of contact volume and AHT: whole days of equal intervals.

Pure (numpy, no I/O). Built from timestamped points by `regular_series`, which checks the grid and
names the offending row in every error.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

MIN_INTERVAL_MINUTES: Final = 5
# About three years of 15-minute intervals: beyond this a fit takes minutes, not seconds.
MAX_INTERVALS: Final = 110_000


class ForecastInputError(ValueError):
    """Bad input to forecasting; `field` names the parameter (or CSV column) at fault.

    Raised by the pure code so that the CLI (exit 2) and the HTTP API (422) render it alike.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _midnight(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Series:
    """`start` is a midnight; `volume` and `aht` hold whole days of `interval_minutes` intervals.

    `aht` is NaN where no handle time is known (no handled contacts in the interval).
    """

    start: datetime
    interval_minutes: int
    volume: FloatArray
    aht: FloatArray

    def __post_init__(self) -> None:
        check_interval(self.interval_minutes)
        if self.start != _midnight(self.start):
            raise ForecastInputError("start", f"a series starts at midnight, not {self.start}")
        if self.volume.ndim != 1 or self.volume.shape != self.aht.shape:
            raise ForecastInputError("volume", "volume and aht must be 1-D arrays of one length")
        if self.volume.size == 0 or self.volume.size % self.per_day:
            raise ForecastInputError("volume", f"must cover whole days of {self.per_day} intervals")
        if not np.all(np.isfinite(self.volume)) or np.any(self.volume < 0):
            raise ForecastInputError("volume", "must be finite and >= 0")
        known = ~np.isnan(self.aht)
        if np.any(~np.isfinite(self.aht[known])) or np.any(self.aht[known] < 0):
            raise ForecastInputError("aht", "must be finite and >= 0 (NaN where unknown)")

    @property
    def per_day(self) -> int:
        return 1440 // self.interval_minutes

    @property
    def days(self) -> int:
        return self.volume.size // self.per_day

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.interval_minutes)

    @property
    def first_date(self) -> date:
        return self.start.date()

    def matrix(self) -> FloatArray:
        """Volume as (days, intervals per day)."""
        return self.volume.reshape(self.days, self.per_day)

    def end(self) -> datetime:
        """The midnight after the last day (exclusive end)."""
        return self.start + timedelta(days=self.days)


def check_interval(minutes: int) -> None:
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or minutes < MIN_INTERVAL_MINUTES
        or 1440 % minutes
    ):
        raise ForecastInputError(
            "interval_minutes",
            f"must be a whole number of minutes >= {MIN_INTERVAL_MINUTES} that divides a day "
            f"(5, 10, 15, 20, 30, 60, ..., 1440), got {minutes!r}",
        )


def regular_series(
    starts: Sequence[datetime],
    volume: Sequence[float],
    aht: Sequence[float],
    *,
    interval_minutes: int | None = None,
    labels: Sequence[str] | None = None,
) -> tuple[Series, list[str]]:
    """Points on a grid -> a Series over whole calendar days, plus warnings.

    Rules (docs/wfm.md): all starts naive or all with an offset (converted to UTC); each start a
    whole number of intervals after its midnight; no start twice. The interval is given or the
    smallest gap between starts. The series runs from the first row's day to the last row's day;
    intervals without a row had no contacts (exports often skip empty intervals).
    """
    n = len(starts)
    names = list(labels) if labels is not None else [f"row {i + 1}" for i in range(n)]
    if n == 0:
        raise ForecastInputError("interval_start", "no data rows")
    if not len(volume) == len(aht) == n:
        raise ForecastInputError("volume", "starts, volume and aht must have one length")
    aware = [s.tzinfo is not None for s in starts]
    if any(aware) and not all(aware):
        bad = aware.index(not aware[0])
        raise ForecastInputError(
            "interval_start",
            f"{names[bad]}: {starts[bad].isoformat()} mixes timestamps with and without a "
            "UTC offset; use one kind throughout",
        )
    times = [s.astimezone(UTC) if s.tzinfo is not None else s for s in starts]
    order = sorted(range(n), key=lambda i: times[i])
    for a, b in itertools.pairwise(order):
        if times[a] == times[b]:
            raise ForecastInputError(
                "interval_start",
                f"{names[b]}: interval {starts[b].isoformat()} appears twice (also {names[a]})",
            )
    if interval_minutes is None:
        interval_minutes = _usual_gap(times, order, starts, names)
    check_interval(interval_minutes)
    step_s = interval_minutes * 60
    for i in order:
        offset = (times[i] - _midnight(times[i])).total_seconds()
        if offset % step_s:
            raise ForecastInputError(
                "interval_start",
                f"{names[i]}: {starts[i].isoformat()} is not on the {interval_minutes}-minute "
                f"grid (interval starts must be multiples of {interval_minutes} minutes after "
                "midnight); the intervals are irregular",
            )
    first_day = _midnight(times[order[0]])
    last_day = _midnight(times[order[-1]])
    days = (last_day - first_day).days + 1
    per_day = 1440 // interval_minutes
    size = days * per_day
    if size > MAX_INTERVALS:
        raise ForecastInputError(
            "interval_start",
            f"{days} days of {interval_minutes}-minute intervals is {size:,} intervals; "
            f"the limit is {MAX_INTERVALS:,} (shorten the history or use longer intervals)",
        )
    vol = np.zeros(size)
    handle = np.full(size, np.nan)
    index = np.empty(n, dtype=np.int64)
    for i in range(n):
        index[i] = int((times[i] - first_day).total_seconds()) // step_s
    vol[index] = np.asarray(volume, dtype=np.float64)
    handle[index] = np.asarray(aht, dtype=np.float64)
    warnings = _edge_warnings(index, per_day, days, interval_minutes)
    return Series(first_day, interval_minutes, vol, handle), warnings


def _usual_gap(
    times: list[datetime], order: list[int], starts: Sequence[datetime], names: list[str]
) -> int:
    """The interval length when none is given: the most common gap between consecutive rows
    (the smallest of equally common ones). Why not the smallest gap: one stray row at :20 in an
    hourly export would make the whole series a 20-minute grid instead of naming that row."""
    gaps = [(times[b] - times[a]).total_seconds() for a, b in itertools.pairwise(order)]
    if not gaps:
        raise ForecastInputError(
            "interval_minutes", "one row is not enough to tell the interval length; give it"
        )
    values, counts = np.unique(np.asarray(gaps), return_counts=True)
    usual = float(values[np.flatnonzero(counts == counts.max())[0]])
    if usual % 60:
        first = order[1 + gaps.index(usual)]
        raise ForecastInputError(
            "interval_start",
            f"{names[first]}: {starts[first].isoformat()} is {usual:g} s after the previous "
            "interval; intervals must be whole minutes",
        )
    return int(usual // 60)


def _edge_warnings(index: NDArray[np.int64], per_day: int, days: int, minutes: int) -> list[str]:
    """Warn when the first or last day looks cut off: rows there start later (end earlier) than
    on the other days, so a partial export would read as a quiet day."""
    slot = index % per_day
    day = index // per_day
    out: list[str] = []
    if days < 2:
        return out
    inner_first = int(slot[day > 0].min()) if np.any(day > 0) else 0
    inner_last = int(slot[day < days - 1].max()) if np.any(day < days - 1) else per_day - 1
    first_min = int(slot[day == 0].min())
    last_max = int(slot[day == days - 1].max())
    if first_min > inner_first:
        at = timedelta(minutes=first_min * minutes)
        out.append(
            f"the first day has no rows before {_clock(at)} although other days do; if the "
            "export starts mid-day, drop that day (missing intervals count as zero contacts)"
        )
    if last_max < inner_last:
        at = timedelta(minutes=(last_max + 1) * minutes)
        out.append(
            f"the last day has no rows after {_clock(at)} although other days do; if the "
            "export ends mid-day, drop that day (missing intervals count as zero contacts)"
        )
    return out


def _clock(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
