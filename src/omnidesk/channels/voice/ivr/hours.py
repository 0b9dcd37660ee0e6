"""Is a schedule open at an instant: local wall time in the schedule's zone, so daylight-saving
changes need no special handling (08:00 local is 07:00 UTC in winter and 06:00 in summer)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays as holidays_lib

if TYPE_CHECKING:
    from omnidesk.channels.voice.ivr.flow import Schedule


@lru_cache(maxsize=256)
def holiday_calendar(code: str, year: int) -> frozenset[date]:
    """Public holidays of "DE", "DE-BY" (country-subdivision) for one year."""
    country, _, subdivision = code.partition("-")
    try:
        found = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)
    except (NotImplementedError, KeyError):
        raise ValueError(f"unknown holiday calendar {code!r}") from None
    return frozenset(found.keys())


def is_closed_date(schedule: Schedule, day: date) -> bool:
    from omnidesk.channels.voice.ivr.flow import parse_date_range

    if day in schedule.holidays:
        return True
    for item in schedule.closed_dates:
        if isinstance(item, date):
            if item == day:
                return True
        else:
            first, last = parse_date_range(item)
            if first <= day <= last:
                return True
    return schedule.holiday_calendar is not None and day in holiday_calendar(
        schedule.holiday_calendar, day.year
    )


def is_open(schedule: Schedule, timezone: str, instant: datetime) -> bool:
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(ZoneInfo(timezone))
    minute = local.hour * 60 + local.minute
    weekday = local.weekday()
    if not is_closed_date(schedule, local.date()):
        for start, end in schedule.intervals(weekday):
            if (start <= minute < end) if start < end else minute >= start:
                return True
    # Yesterday's intervals that run past midnight belong to yesterday's date: a closed date
    # closes the night shift that starts on it, not the one that ends on it.
    yesterday = date.fromordinal(local.date().toordinal() - 1)
    if not is_closed_date(schedule, yesterday):
        for start, end in schedule.intervals((weekday - 1) % 7):
            if end < start and minute < end:
                return True
    return False
