"""When a report schedule is due and which period it reports: pure, in the tenant's zone.

A due time is a local wall time (daily; weekly on a weekday; monthly on the 1st) turned into
an instant with zoneinfo: in a spring-forward gap it is the instant the clock would have shown
it (02:30 in a missing hour is sent at 03:30 new time), in a fall-back overlap the first of the
two. Each local day has exactly one due instant, so "once per due time" is once per day, week
or month whatever DST does. The period is the previous day, week (Monday to Monday) or month
before the due time's local date, from midnight to midnight in the zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

Cadence = Literal["daily", "weekly", "monthly"]
Period = Literal["previous_day", "previous_week", "previous_month"]

# Going back this many local days always finds the last due time of any cadence.
_LOOKBACK_DAYS: Final = 32


@dataclass(frozen=True)
class Timing:
    cadence: Cadence
    at: time  # local wall time
    weekday: int | None = None  # 0 = Monday, weekly only


def parse_at(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, at, tzinfo=zone)
    # Normalise through UTC: a wall time in a gap becomes the instant after it.
    return local.astimezone(UTC)


def _is_due_day(timing: Timing, day: date) -> bool:
    if timing.cadence == "daily":
        return True
    if timing.cadence == "weekly":
        return day.weekday() == timing.weekday
    return day.day == 1


def last_due(timing: Timing, now: datetime, zone: ZoneInfo) -> datetime:
    """The latest due instant at or before `now` (UTC)."""
    today = now.astimezone(zone).date()
    for back in range(_LOOKBACK_DAYS + 1):
        day = today - timedelta(days=back)
        if _is_due_day(timing, day):
            instant = _instant(day, timing.at, zone)
            if instant <= now:
                return instant
    raise AssertionError("a due day within 32 days always exists")


def next_due(timing: Timing, now: datetime, zone: ZoneInfo) -> datetime:
    """The first due instant after `now` (UTC)."""
    today = now.astimezone(zone).date()
    for ahead in range(_LOOKBACK_DAYS + 1):
        day = today + timedelta(days=ahead)
        if _is_due_day(timing, day):
            instant = _instant(day, timing.at, zone)
            if instant > now:
                return instant
    raise AssertionError("a due day within 32 days always exists")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def period_before(period: Period, due: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the whole local day, week or month before the due time's date."""
    day = due.astimezone(zone).date()
    if period == "previous_day":
        first, last = day - timedelta(days=1), day
    elif period == "previous_week":
        monday = day - timedelta(days=day.weekday())
        first, last = monday - timedelta(days=7), monday
    else:
        last = day.replace(day=1)
        first = (last - timedelta(days=1)).replace(day=1)
    return _midnight(first, zone), _midnight(last, zone)
