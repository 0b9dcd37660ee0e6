"""Opening hours: is a queue open at an instant, in its own time zone, holidays excluded; and
when does it next close (for queues whose waiting contacts overflow at closing time)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from omnidesk.core.routing.clock import from_us, to_us
from omnidesk.core.routing.model import WEEKDAYS, Hours, UnknownCalendar, WeeklyHours

# How far ahead `next_closing` looks; a queue closed (or open) for longer is looked at again
# then (a long holiday, a queue open around the clock).
HORIZON_DAYS = 14


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def within_weekly(weekly: WeeklyHours, local: datetime) -> bool:
    weekday = local.weekday()
    minute = local.hour * 60 + local.minute
    for start_text, end_text in weekly.get(WEEKDAYS[weekday], ()):
        start, end = _minutes(start_text), _minutes(end_text)
        if (start <= minute < end) if start < end else minute >= start:
            return True
    # Yesterday's intervals that run past midnight.
    for start_text, end_text in weekly.get(WEEKDAYS[(weekday - 1) % 7], ()):
        start, end = _minutes(start_text), _minutes(end_text)
        if end < start and minute < end:
            return True
    return False


@lru_cache(maxsize=512)
def country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[str]:
    """A country's (and subdivision's) public holidays of one year as YYYY-MM-DD: a pure
    function of its arguments (the package's calendars are rules, not a lookup), cached
    because the hours check runs on every arrival and timer."""
    # Imported here: the package takes a tenth of a second to import, which every user of the
    # core (CLI, simulator, benchmarks) would pay whether or not a queue names a country.
    import holidays as holidays_lib

    code = country.upper()
    try:
        calendar = holidays_lib.country_holidays(code, subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        if code in holidays_lib.list_supported_countries():
            raise UnknownCalendar("holiday_subdivision", str(exc)) from None
        raise UnknownCalendar("holiday_country", f"no holiday calendar for {country!r}") from None
    return frozenset(day.isoformat() for day in calendar)


def is_holiday(hours: Hours, local: datetime) -> bool:
    day = local.date().isoformat()
    if day in hours.holidays:
        return True
    if hours.holiday_country is None:
        return False
    return day in country_holidays(hours.holiday_country, hours.holiday_subdivision, local.year)


def is_open(hours: Hours | None, instant: datetime) -> bool:
    if hours is None:
        return True
    # ZoneInfo caches instances per key, so this is a dict lookup after the first call.
    local = instant.astimezone(ZoneInfo(hours.timezone))
    if is_holiday(hours, local):
        return False
    return within_weekly(hours.weekly, local)


def _open_us(hours: Hours, us: int) -> bool:
    return is_open(hours, from_us(us))


def next_closing(hours: Hours, after_us: int) -> int | None:
    """The first instant after `after_us` at which the queue is closed having been open just
    before (in microseconds), or None if there is none within HORIZON_DAYS.

    Why samples and a bisection instead of converting each interval end: local times that do
    not exist or exist twice on a daylight-saving day shift a boundary by an hour. Sampling
    every boundary time on every local day (both readings of an ambiguous time) and bisecting
    between an open and a closed sample finds the exact instant whatever the zone does.
    """
    zone = ZoneInfo(hours.timezone)
    marks = {time(0, 0)}
    for intervals in hours.weekly.values():
        for interval in intervals:
            for text in interval:
                minutes = _minutes(text) % (24 * 60)  # 24:00 is the next day's midnight
                marks.add(time(minutes // 60, minutes % 60))
    first_day = from_us(after_us).astimezone(zone).date() - timedelta(days=1)
    samples = {after_us}
    for offset in range(HORIZON_DAYS + 2):
        day = first_day + timedelta(days=offset)
        for mark in marks:
            for fold in (0, 1):
                local = datetime.combine(day, mark, tzinfo=zone).replace(fold=fold)
                us = to_us(local)
                if after_us < us <= after_us + HORIZON_DAYS * 86_400_000_000:
                    samples.add(us)
    ordered = sorted(samples)
    was_open = _open_us(hours, ordered[0])
    for lo, hi in pairwise(ordered):
        now_open = _open_us(hours, hi)
        if was_open and not now_open:
            while hi - lo > 1:  # open at lo, closed at hi
                mid = (lo + hi) // 2
                if _open_us(hours, mid):
                    lo = mid
                else:
                    hi = mid
            return hi
        was_open = now_open
    return None
