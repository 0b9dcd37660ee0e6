"""Due times and periods of report schedules in a zone with DST (Europe/Riga: EET/EEST)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from omnidesk.analytics.schedules import Timing, last_due, next_due, period_before

RIGA = ZoneInfo("Europe/Riga")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_due_times_follow_the_local_clock_across_dst() -> None:
    daily = Timing("daily", time(6, 0))
    # 06:00 local: 04:00 UTC in winter, 03:00 UTC in summer (DST began 29 March 2026).
    assert next_due(daily, utc(2026, 3, 28, 12), RIGA) == utc(2026, 3, 29, 3)
    assert last_due(daily, utc(2026, 3, 29, 2, 59), RIGA) == utc(2026, 3, 28, 4)
    assert last_due(daily, utc(2026, 3, 29, 3), RIGA) == utc(2026, 3, 29, 3)
    # 03:30 does not exist on 29 March (03:00 -> 04:00): sent an hour later, 04:30 EEST.
    gap = Timing("daily", time(3, 30))
    assert next_due(gap, utc(2026, 3, 28, 12), RIGA) == utc(2026, 3, 29, 1, 30)
    # 03:30 happens twice on 25 October: once, the first time.
    twice = Timing("daily", time(3, 30))
    assert next_due(twice, utc(2026, 10, 24, 12), RIGA) == utc(2026, 10, 25, 0, 30)
    assert next_due(twice, utc(2026, 10, 25, 0, 30), RIGA) == utc(2026, 10, 26, 1, 30)


def test_weekly_and_monthly_due_times() -> None:
    monday = Timing("weekly", time(7, 15), weekday=0)
    assert next_due(monday, utc(2026, 12, 2, 12), RIGA) == utc(2026, 12, 7, 5, 15)
    assert last_due(monday, utc(2026, 12, 7, 5, 14), RIGA) == utc(2026, 11, 30, 5, 15)
    monthly = Timing("monthly", time(0, 30))
    # 1 January 00:30 in Riga is still 31 December in UTC.
    assert next_due(monthly, utc(2026, 12, 15), RIGA) == utc(2026, 12, 31, 22, 30)
    assert last_due(monthly, utc(2026, 12, 15), RIGA) == utc(2026, 11, 30, 22, 30)


def test_periods_are_whole_local_days_weeks_and_months() -> None:
    due = utc(2026, 3, 30, 3)  # Monday 30 March 06:00 EEST
    # The day before: 29 March, 23 hours long (the DST day).
    assert period_before("previous_day", due, RIGA) == (utc(2026, 3, 28, 22), utc(2026, 3, 29, 21))
    # The week before: Monday 23 to Monday 30 March.
    assert period_before("previous_week", due, RIGA) == (
        utc(2026, 3, 22, 22),
        utc(2026, 3, 29, 21),
    )
    # The month before: March, from 1 March 00:00 EET to 1 April 00:00 EEST.
    april = utc(2026, 4, 1, 3)
    assert period_before("previous_month", april, RIGA) == (
        utc(2026, 2, 28, 22),
        utc(2026, 3, 31, 21),
    )
    # January's report on 1 January: December of the year before.
    assert period_before("previous_month", utc(2027, 1, 1, 5), RIGA) == (
        utc(2026, 11, 30, 22),
        utc(2026, 12, 31, 22),
    )
