"""Opening hours: is a queue open at an instant, in its own time zone, holidays excluded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from omnidesk.core.routing.model import WEEKDAYS, Hours, WeeklyHours


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


def is_open(hours: Hours | None, instant: datetime) -> bool:
    if hours is None:
        return True
    # ZoneInfo caches instances per key, so this is a dict lookup after the first call.
    local = instant.astimezone(ZoneInfo(hours.timezone))
    if local.date().isoformat() in hours.holidays:
        return False
    return within_weekly(hours.weekly, local)
