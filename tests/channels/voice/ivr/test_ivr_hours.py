from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from omnidesk.channels.voice.ivr.flow import Flow, Schedule, validate_flow
from omnidesk.channels.voice.ivr.hours import holiday_calendar, is_open
from omnidesk.channels.voice.ivr.interpreter import IvrSession

BERLIN = "Europe/Berlin"
WEEKDAYS_8_TO_18 = Schedule(**{d: ("08:00-18:00",) for d in ("mon", "tue", "wed", "thu", "fri")})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_local_opening_time_moves_in_utc_across_the_dst_change() -> None:
    # Europe/Berlin goes from UTC+1 to UTC+2 on Sunday 2026-03-29.
    assert not is_open(WEEKDAYS_8_TO_18, BERLIN, utc(2026, 3, 27, 6, 30))  # Fri 07:30 CET
    assert is_open(WEEKDAYS_8_TO_18, BERLIN, utc(2026, 3, 27, 7, 0))  # Fri 08:00 CET
    assert is_open(WEEKDAYS_8_TO_18, BERLIN, utc(2026, 3, 30, 6, 30))  # Mon 08:30 CEST
    assert not is_open(WEEKDAYS_8_TO_18, BERLIN, utc(2026, 3, 30, 5, 59))  # Mon 07:59 CEST
    assert is_open(WEEKDAYS_8_TO_18, BERLIN, utc(2026, 3, 30, 15, 59))  # Mon 17:59 CEST
    assert not is_open(WEEKDAYS_8_TO_18, BERLIN, utc(2026, 3, 30, 16, 0))  # Mon 18:00 CEST
    # And back on Sunday 2026-10-25.
    assert is_open(WEEKDAYS_8_TO_18, BERLIN, utc(2026, 10, 26, 7, 0))  # Mon 08:00 CET
    assert not is_open(WEEKDAYS_8_TO_18, BERLIN, utc(2026, 10, 23, 16, 0))  # Fri 18:00 CEST


def test_holidays_closed_dates_and_calendar() -> None:
    schedule = WEEKDAYS_8_TO_18.model_copy(
        update={
            "holidays": (date(2026, 12, 24),),
            "closed_dates": (date(2026, 12, 21), "2026-12-28..2026-12-30"),
            "holiday_calendar": "DE-BE",
        }
    )
    noon = [utc(2026, 12, d, 11) for d in (21, 22, 24, 25, 28, 30, 31)]
    assert [is_open(schedule, BERLIN, t) for t in noon] == [
        False,  # closed date
        True,
        False,  # holiday
        False,  # Christmas Day from the DE-BE calendar
        False,  # in the closed range
        False,
        True,
    ]
    assert date(2026, 3, 8) in holiday_calendar("DE-BE", 2026)  # Women's Day: Berlin only
    assert date(2026, 3, 8) not in holiday_calendar("DE-BY", 2026)


def test_intervals_past_midnight_belong_to_the_day_they_start() -> None:
    night = Schedule(fri=("22:00-02:00",), closed_dates=(date(2026, 3, 13),))
    assert is_open(night, "UTC", utc(2026, 3, 6, 23))  # Fri 23:00
    assert is_open(night, "UTC", utc(2026, 3, 7, 1, 59))  # Sat 01:59: Friday's shift
    assert not is_open(night, "UTC", utc(2026, 3, 7, 2))
    assert not is_open(night, "UTC", utc(2026, 3, 14, 1))  # Friday 13th was closed
    all_day = Schedule(sun=("00:00-24:00",))
    assert is_open(all_day, "UTC", utc(2026, 3, 8, 23, 59))
    assert not is_open(all_day, "UTC", utc(2026, 3, 9, 0, 0))


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError):
        is_open(WEEKDAYS_8_TO_18, BERLIN, datetime(2026, 3, 2, 9))


def hours_flow() -> Flow:
    flow = validate_flow(
        {
            "id": "h",
            "timezone": "America/New_York",
            "start": "main",
            "nodes": {
                "main": {
                    "type": "hours",
                    "schedule": {"mon": ["09:00-17:00"], "holidays": ["2026-11-09"]},
                    "open": "open",
                    "closed": "closed",
                },
                "open": {"type": "hangup"},
                "closed": {"type": "hangup"},
            },
        }
    )
    assert isinstance(flow, Flow)
    return flow


@pytest.mark.parametrize(
    ("instant", "branch"),
    [
        (utc(2026, 3, 2, 13, 30), "closed"),  # Mon 08:30 EST
        (utc(2026, 3, 2, 14, 30), "open"),  # Mon 09:30 EST
        (utc(2026, 3, 9, 13, 30), "open"),  # Mon 09:30 EDT: DST began on 2026-03-08
        (utc(2026, 11, 9, 15), "closed"),  # a Monday holiday
    ],
)
def test_hours_node_branches_in_the_flows_time_zone(instant: datetime, branch: str) -> None:
    session = IvrSession(hours_flow(), now=instant)
    session.start()
    assert session.trail.visited == ["main", branch]
