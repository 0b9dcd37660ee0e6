"""Time functions over an injected clock: time of day, weekday and date in an IANA zone,
agents' working hours, half-open and overnight ranges, and daylight-saving transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.core.routing.rules import EvaluationContext, compile_rule

BERLIN = 'local_time("Europe/Berlin")'
NINE_TO_FIVE = {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def ev(source: str, now: datetime, agent: Any = None, contact: Any = None) -> bool:
    ctx = EvaluationContext(contact or {}, agent or {}, now)
    return compile_rule(source).matches(ctx)


LOCAL_TIME = [
    # Business hours, half-open: 08:00 is inside, 18:00 is not.
    (f'{BERLIN} BETWEEN "08:00" AND "18:00"', at(2024, 1, 15, 7, 0), True),  # 08:00 CET
    (f'{BERLIN} BETWEEN "08:00" AND "18:00"', at(2024, 1, 15, 6, 59, 59), False),
    (f'{BERLIN} BETWEEN "08:00" AND "18:00"', at(2024, 1, 15, 16, 59, 59), True),
    (f'{BERLIN} BETWEEN "08:00" AND "18:00"', at(2024, 1, 15, 17, 0), False),  # 18:00 CET
    # The same UTC instant is a different local hour in summer.
    (f'{BERLIN} BETWEEN "08:00" AND "18:00"', at(2024, 7, 15, 6, 30), True),  # 08:30 CEST
    (f'{BERLIN} BETWEEN "08:00" AND "18:00"', at(2024, 1, 15, 6, 30), False),  # 07:30 CET
    (f'{BERLIN} BETWEEN "08:00" AND "18:00"', at(2024, 7, 15, 16, 30), False),  # 18:30 CEST
    # Overnight ranges run past midnight.
    (f'{BERLIN} BETWEEN "22:00" AND "06:00"', at(2024, 1, 15, 22, 0), True),  # 23:00
    (f'{BERLIN} BETWEEN "22:00" AND "06:00"', at(2024, 1, 15, 4, 59), True),  # 05:59
    (f'{BERLIN} BETWEEN "22:00" AND "06:00"', at(2024, 1, 15, 5, 0), False),  # 06:00
    (f'{BERLIN} BETWEEN "22:00" AND "06:00"', at(2024, 1, 15, 11, 0), False),
    (f'{BERLIN} NOT BETWEEN "22:00" AND "06:00"', at(2024, 1, 15, 11, 0), True),
    (f'{BERLIN} BETWEEN "00:00" AND "24:00"', at(2024, 1, 15, 22, 59, 59), True),
    (f'{BERLIN} BETWEEN "09:00" AND "09:00"', at(2024, 1, 15, 8, 0), False),  # empty range
    # Plain comparisons, seconds, and single-digit hours.
    (f'{BERLIN} >= "08:00"', at(2024, 1, 15, 7, 0), True),
    (f'{BERLIN} < "08:00"', at(2024, 1, 15, 7, 0), False),
    (f'{BERLIN} == "08:00"', at(2024, 1, 15, 7, 0), True),
    (f'{BERLIN} == "08:00"', at(2024, 1, 15, 7, 0, 1), False),
    (f'{BERLIN} == "08:00:01"', at(2024, 1, 15, 7, 0, 1), True),
    (f'{BERLIN} > "8:00"', at(2024, 1, 15, 7, 0, 1), True),
    (f'{BERLIN} != "08:00"', at(2024, 1, 15, 7, 0, 1), True),
    (f'{BERLIN} IN ["08:00", "09:00"]', at(2024, 1, 15, 8, 0), True),
    (f'"08:00" <= {BERLIN}', at(2024, 1, 15, 7, 0), True),
    # Against times in the data (read as "HH:MM"; anything else never matches).
    (f"{BERLIN} >= contact.opens", at(2024, 1, 15, 7, 0), True),
    (f"{BERLIN} BETWEEN contact.opens AND contact.closes", at(2024, 1, 15, 7, 0), True),
    (f"{BERLIN} BETWEEN contact.opens AND contact.bad", at(2024, 1, 15, 7, 0), False),
    (f"{BERLIN} == contact.bad", at(2024, 1, 15, 7, 0), False),
    (f"{BERLIN} != contact.bad", at(2024, 1, 15, 7, 0), False),
    (f"{BERLIN} > contact.missing", at(2024, 1, 15, 7, 0), False),
    ('local_time("UTC") == "00:00"', at(2024, 1, 15), True),
    ('local_time("Asia/Kolkata") == "05:30"', at(2024, 1, 15), True),
    ('local_time("America/St_Johns") == "20:30"', at(2024, 1, 15), True),
]


@pytest.mark.parametrize(("source", "now", "expected"), LOCAL_TIME)
def test_local_time(source: str, now: datetime, expected: bool) -> None:
    contact = {"opens": "08:00", "closes": "18:00", "bad": "8 o'clock"}
    assert ev(source, now, contact=contact) is expected


def test_spring_forward_in_berlin() -> None:
    # 2024-03-31 01:00 UTC: clocks jump from 02:00 CET to 03:00 CEST.
    assert ev(f'{BERLIN} == "01:59:59"', at(2024, 3, 31, 0, 59, 59))
    assert ev(f'{BERLIN} == "03:00"', at(2024, 3, 31, 1, 0))
    gap = compile_rule(f'{BERLIN} BETWEEN "02:00" AND "03:00"')
    minute = at(2024, 3, 30, 22)
    for _ in range(6 * 60):  # no instant of the night has a local time in the skipped hour
        assert not gap.matches(EvaluationContext({}, {}, minute))
        minute += timedelta(minutes=1)


def test_fall_back_in_berlin() -> None:
    # 2024-10-27 01:00 UTC: clocks go back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
    assert ev(f'{BERLIN} == "02:30"', at(2024, 10, 27, 0, 30))
    assert ev(f'{BERLIN} == "02:30"', at(2024, 10, 27, 1, 30))
    repeated = compile_rule(f'{BERLIN} BETWEEN "02:00" AND "03:00"')
    minute, inside = at(2024, 10, 26, 22), 0
    for _ in range(6 * 60):
        inside += repeated.matches(EvaluationContext({}, {}, minute))
        minute += timedelta(minutes=1)
    assert inside == 120


def test_new_york_spring_forward() -> None:
    # 2024-03-10 07:00 UTC: 02:00 EST becomes 03:00 EDT.
    ny = 'local_time("America/New_York")'
    assert ev(f'{ny} == "01:59"', at(2024, 3, 10, 6, 59))
    assert ev(f'{ny} == "03:00"', at(2024, 3, 10, 7, 0))
    assert ev(f'{ny} BETWEEN "09:00" AND "17:00"', at(2024, 3, 11, 13, 30))  # 09:30 EDT
    assert not ev(f'{ny} BETWEEN "09:00" AND "17:00"', at(2024, 3, 8, 13, 30))  # 08:30 EST


WEEKDAY_AND_DATE = [
    # Monday 2024-03-04 23:30 UTC is already Tuesday in Berlin and still Monday in Los Angeles.
    ('weekday("UTC") == "mon"', at(2024, 3, 4, 23, 30), True),
    ('weekday("Europe/Berlin") == "tue"', at(2024, 3, 4, 23, 30), True),
    ('weekday("America/Los_Angeles") == "mon"', at(2024, 3, 4, 23, 30), True),
    ('weekday("Europe/Berlin") IN ["mon", "tue"]', at(2024, 3, 4, 23, 30), True),
    ('weekday("Europe/Berlin") IN ["sat", "sun"]', at(2024, 3, 4, 23, 30), False),
    ('weekday("Europe/Berlin") NOT IN ["sat", "sun"]', at(2024, 3, 4, 23, 30), True),
    ('weekday("Europe/Berlin") == "Tuesday"', at(2024, 3, 4, 23, 30), True),  # normalised
    ('weekday("Europe/Berlin") IN ["MON", "TUE"]', at(2024, 3, 4, 23, 30), True),
    ('weekday("Asia/Tokyo") == "sat"', at(2024, 3, 8, 15, 0), True),  # Fri 15:00 UTC
    ('weekday(agent.timezone) == "tue"', at(2024, 3, 4, 23, 30), True),
    ('local_date("Europe/Berlin") == "2025-01-01"', at(2024, 12, 31, 23, 30), True),
    ('local_date("UTC") == "2024-12-31"', at(2024, 12, 31, 23, 30), True),
    ('local_date("Europe/Berlin") IN ["2024-12-25", "2025-01-01"]', at(2024, 12, 31, 23, 30), True),
    ('local_date("Europe/Berlin") >= "2025-01-01"', at(2024, 12, 31, 23, 30), True),
    (
        'local_date("Europe/Berlin") NOT IN ["2024-12-25", "2024-12-26"] '
        'AND weekday("Europe/Berlin") NOT IN ["sat", "sun"] '
        'AND local_time("Europe/Berlin") BETWEEN "08:00" AND "18:00"',
        at(2024, 12, 27, 9, 0),
        True,
    ),
    (
        'local_date("Europe/Berlin") NOT IN ["2024-12-25", "2024-12-26"] '
        'AND local_time("Europe/Berlin") BETWEEN "08:00" AND "18:00"',
        at(2024, 12, 25, 9, 0),
        False,
    ),
]


@pytest.mark.parametrize(("source", "now", "expected"), WEEKDAY_AND_DATE)
def test_weekday_and_date(source: str, now: datetime, expected: bool) -> None:
    assert ev(source, now, agent={"timezone": "Europe/Berlin"}) is expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Tokyo", True),  # 09:00 JST
        ("Europe/Berlin", False),
        ("Not/AZone", False),
        ("", False),
        ("localtime", False),
        (None, False),
        (42, False),
        (["Asia/Tokyo"], False),
        ({"zone": 1}, False),
    ],
)
def test_zones_from_data(zone: object, expected: bool) -> None:
    rule = 'local_time(agent.timezone) BETWEEN "08:00" AND "17:00"'
    assert ev(rule, at(2024, 3, 5, 0, 0), agent={"timezone": zone}) is expected


def agent(zone: object = "Europe/Berlin", hours: object = NINE_TO_FIVE) -> dict[str, object]:
    return {"timezone": zone, "working_hours": hours}


WORKING_HOURS = [
    # Monday 2024-03-04, Berlin is UTC+1.
    (agent(), at(2024, 3, 4, 8, 0), True),  # 09:00, start is inside
    (agent(), at(2024, 3, 4, 7, 59, 59), False),
    (agent(), at(2024, 3, 4, 15, 59), True),
    (agent(), at(2024, 3, 4, 16, 0), False),  # 17:00, end is outside
    (agent(), at(2024, 3, 2, 10, 0), False),  # Saturday
    # After the spring-forward Berlin is UTC+2: the same local hours are an hour earlier in UTC.
    (agent(), at(2024, 4, 1, 7, 0), True),  # 09:00 CEST
    (agent(), at(2024, 4, 1, 15, 0), False),  # 17:00 CEST
    (agent(), at(2024, 3, 29, 7, 0), False),  # Friday before: 08:00 CET
    # Several ranges a day, full day names, overnight shifts.
    (agent(hours={"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}), at(2024, 3, 4, 11, 30), False),
    (agent(hours={"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}), at(2024, 3, 4, 12, 30), True),
    (agent(hours={"monday": ["08:00", "17:00"]}), at(2024, 3, 4, 10, 0), True),
    (agent(hours={"fri": ["22:00", "06:00"]}), at(2024, 3, 8, 22, 0), True),  # Fri 23:00
    (agent(hours={"fri": ["22:00", "06:00"]}), at(2024, 3, 9, 4, 0), True),  # Sat 05:00
    (agent(hours={"fri": ["22:00", "06:00"]}), at(2024, 3, 9, 5, 0), False),  # Sat 06:00
    (agent(hours={"fri": ["22:00", "06:00"]}), at(2024, 3, 8, 20, 59), False),  # Fri 21:59
    (agent(hours={"fri": ["22:00", "06:00"]}), at(2024, 3, 7, 23, 0), False),  # Fri 00:00
    (agent(hours={"sun": ["00:00", "24:00"]}), at(2024, 3, 10, 22, 59, 59), True),
    (agent(hours={"sun": ["00:00", "24:00"]}), at(2024, 3, 10, 23, 0), False),  # Monday
    # Missing or malformed data means "not working", never an error.
    (agent(zone=None), at(2024, 3, 4, 10, 0), False),
    (agent(zone="Nowhere/Special"), at(2024, 3, 4, 10, 0), False),
    (agent(hours=None), at(2024, 3, 4, 10, 0), False),
    (agent(hours=["09:00", "17:00"]), at(2024, 3, 4, 10, 0), False),
    (agent(hours={"mon": "09:00-17:00"}), at(2024, 3, 4, 10, 0), False),
    (agent(hours={"mon": ["9am", "5pm"]}), at(2024, 3, 4, 10, 0), False),
    (agent(hours={"mon": ["09:00"]}), at(2024, 3, 4, 10, 0), False),
    (agent(hours={"mon": [["09:00", "17:00"], "junk", [1, 2]]}), at(2024, 3, 4, 10, 0), True),
    (agent(hours={"mon": []}), at(2024, 3, 4, 10, 0), False),
]


@pytest.mark.parametrize(("person", "now", "expected"), WORKING_HOURS)
def test_within_working_hours(person: dict[str, object], now: datetime, expected: bool) -> None:
    assert ev("within_working_hours(agent)", now, agent=person) is expected


def test_within_working_hours_of_other_values() -> None:
    now = at(2024, 3, 4, 10, 0)
    contact = {"account": agent()}
    assert ev("within_working_hours(contact.account)", now, contact=contact)
    assert not ev("within_working_hours(agent.team)", now, agent={"team": "core"})
    assert not ev("within_working_hours(contact)", now, contact={"x": 1})


def test_follow_the_sun() -> None:
    rule = compile_rule("within_working_hours(agent) AND skills.support >= 2")
    team = {
        "berlin": {**agent("Europe/Berlin"), "skills": {"support": 3}},
        "new_york": {**agent("America/New_York"), "skills": {"support": 2}},
        "tokyo": {**agent("Asia/Tokyo"), "skills": {"support": 4}},
        "tokyo_junior": {**agent("Asia/Tokyo"), "skills": {"support": 1}},
    }

    def on_duty(now: datetime) -> list[str]:
        return sorted(n for n, a in team.items() if rule.matches(EvaluationContext({}, a, now)))

    assert on_duty(at(2024, 3, 5, 1, 0)) == ["tokyo"]  # Tue 10:00 in Tokyo
    assert on_duty(at(2024, 3, 5, 10, 0)) == ["berlin"]  # 11:00 in Berlin
    assert on_duty(at(2024, 3, 5, 15, 0)) == ["berlin", "new_york"]  # 16:00 / 10:00
    assert on_duty(at(2024, 3, 5, 23, 0)) == []  # 18:00 NY, 08:00 Wed Tokyo
    # After the US switched to daylight time (Mar 10) and before Europe did (Mar 31),
    # New York starts an hour earlier in UTC while Berlin does not move.
    assert on_duty(at(2024, 3, 12, 13, 0)) == ["berlin", "new_york"]  # 14:00 / 09:00 EDT
    assert on_duty(at(2024, 3, 5, 13, 0)) == ["berlin"]  # 08:00 EST


def test_the_clock_is_only_the_injected_one() -> None:
    rule = compile_rule(f'{BERLIN} BETWEEN "08:00" AND "18:00" AND within_working_hours(agent)')
    person = agent()
    inside, outside = at(2024, 3, 4, 9, 0), at(2024, 3, 4, 20, 0)
    for _ in range(3):  # results follow `now` both ways, whatever was evaluated before
        assert rule.matches(EvaluationContext({}, person, inside))
        assert not rule.matches(EvaluationContext({}, person, outside))
    # Equal instants given as distinct objects, and a non-UTC aware `now`, agree.
    from zoneinfo import ZoneInfo

    same = inside.astimezone(ZoneInfo("America/Chicago"))
    assert rule.matches(EvaluationContext({}, person, same))


def test_dynamic_zones_are_remembered_per_instant_and_zone() -> None:
    rule = compile_rule('local_time(agent.timezone) BETWEEN "09:00" AND "17:00"')
    now = at(2024, 3, 4, 8, 30)
    assert rule.matches(EvaluationContext({}, {"timezone": "Europe/Berlin"}, now))  # 09:30
    assert not rule.matches(EvaluationContext({}, {"timezone": "America/New_York"}, now))
    assert rule.matches(EvaluationContext({}, {"timezone": "Europe/Berlin"}, now))
    assert not rule.matches(
        EvaluationContext({}, {"timezone": "Europe/Berlin"}, now.replace(hour=20))
    )


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EvaluationContext({}, {}, datetime(2024, 1, 1))
