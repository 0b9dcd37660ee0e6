"""The CP-SAT scheduler: hand-checked optima, every hard rule in answers, coverage, DST, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from omnidesk.wfm.scheduling import (
    AgentSpec,
    BreakRule,
    Horizon,
    Problem,
    Schedule,
    SchedulingInfeasible,
    SchedulingInputError,
    ShiftTemplate,
    SolverOptions,
    solve,
)
from omnidesk.wfm.scheduling.calendar import availability

H = 60
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FAST = SolverOptions(time_limit_seconds=4)


def hours(*pairs: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    return tuple((a * H, b * H) for a, b in pairs)


def day_profile(interval: int, windows: list[tuple[float, float, int]]) -> list[int]:
    """One day of requirement: `agents` from hour a to hour b (UTC)."""
    per_hour = 60 // interval
    values = [0] * (24 * per_hour)
    for a, b, agents in windows:
        for i in range(int(a * per_hour), int(b * per_hour)):
            values[i] = agents
    return values


def agent(agent_id: str, **kw: object) -> AgentSpec:
    defaults: dict[str, object] = {
        "skills": frozenset({"en"}),
        "min_hours_per_week": 0.0,
        "max_hours_per_week": 56.0,
        "target_hours_per_week": 56.0,  # 8 h a day: a one-day plan targets exactly 480 min
        "max_shifts_per_week": 7,
        "max_consecutive_days": 7,
    }
    defaults.update(kw)
    return AgentSpec(agent_id, **defaults)  # type: ignore[arg-type]


def eight_hours(
    *starts: int, breaks: tuple[BreakRule, ...] = (), tz: str | None = None
) -> ShiftTemplate:
    return ShiftTemplate("day", 8 * H, tuple(s * H for s in starts), breaks, tz)


def on_floor(schedule: Schedule, agent_id: str) -> list[tuple[datetime, datetime]]:
    spans = []
    for shift in schedule.agent(agent_id).shifts:
        cursor = shift.start
        for b in shift.breaks:
            spans.append((cursor, b.start))
            cursor = b.end
        spans.append((cursor, shift.end))
    return [(a, b) for a, b in spans if b > a]


def check_rules(problem: Problem, schedule: Schedule) -> None:
    """Every hard rule, checked on the answer independently of the model."""
    h = problem.horizon
    templates = {t.name: t for t in problem.templates}
    for spec in problem.agents:
        tz = ZoneInfo(spec.timezone)
        out = schedule.agent(spec.id)
        shifts = sorted(out.shifts, key=lambda s: s.start)
        local_days = [s.start.astimezone(tz).date() for s in shifts]
        assert len(local_days) == len(set(local_days)), "two shifts on one local day"
        for s in shifts:
            assert h.start_utc <= s.start < s.end <= h.end_utc
            template = templates[s.template]
            assert s.end - s.start == timedelta(minutes=template.length_minutes)
            local_start = s.start.astimezone(tz)
            # Availability in local wall-clock time, per date.
            if spec.availability is not None:
                windows = spec.availability.get(
                    ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local_start.weekday()], ()
                )
                minute = local_start.hour * 60 + local_start.minute
                local_end = s.end.astimezone(tz)
                end_minute = (local_end - local_start.replace(hour=0, minute=0)).total_seconds()
                assert any(a <= minute and end_minute / 60 <= b for a, b in windows), s
            assert local_start.date() not in spec.unavailable_dates
            # Breaks: inside their windows, in the shift, never overlapping.
            assert len(s.breaks) == len(template.breaks)
            for b, rule in zip(
                sorted(s.breaks, key=lambda b: b.start),
                sorted(template.breaks, key=lambda r: r.after_minutes),
                strict=True,
            ):
                assert b.end - b.start == timedelta(minutes=rule.minutes)
                assert s.start + timedelta(minutes=rule.after_minutes) <= b.start
                assert b.end <= s.start + timedelta(minutes=rule.before_minutes)
            ordered = sorted(s.breaks, key=lambda b: b.start)
            for b1, b2 in pairwise(ordered):
                assert b1.end <= b2.start
        for s1, s2 in pairwise(shifts):
            assert s2.start - s1.end >= timedelta(hours=spec.min_rest_hours), (s1, s2)
        # Weekly hours and shifts (one block here: the tests use horizons of at most 7 days).
        paid = sum(s.paid_minutes for s in shifts)
        assert paid == sum(out.paid_minutes_by_week)
        assert paid <= spec.max_hours_per_week * 60
        assert paid >= spec.min_hours_per_week * 60 * min(h.days, 7) / 7 - 1e-6
        assert len(shifts) <= spec.max_shifts_per_week
        worked = {(d - h.start).days for d in local_days}
        for first in range(-1, h.days + 1):
            run = range(first, first + spec.max_consecutive_days + 1)
            assert not all(d in worked for d in run), "too many consecutive days"


def check_coverage(problem: Problem, schedule: Schedule) -> None:
    """Per interval: the skills' scheduled minutes add up to the minutes on the floor of agents
    who have a required skill, and each agent's minutes go only to their own skills."""
    h = problem.horizon
    floor = [0] * h.intervals
    skilled = {a.id for a in problem.agents if a.skills & set(problem.requirement)}
    for spec in problem.agents:
        if spec.id not in skilled:
            continue
        for a, b in on_floor(schedule, spec.id):
            for i in range(h.intervals):
                lo = max(a, h.interval_start(i))
                hi = min(b, h.interval_start(i + 1))
                if hi > lo:
                    floor[i] += int((hi - lo).total_seconds() // 60)
    by_skill = {c.skill: c for c in schedule.coverage}
    for i in range(h.intervals):
        assert sum(c.scheduled_minutes[i] for c in schedule.coverage) == floor[i]
    for skill, c in by_skill.items():
        able = [a for a in problem.agents if skill in a.skills]
        for i in range(h.intervals):
            cap = sum(
                int((min(b, h.interval_start(i + 1)) - max(a, h.interval_start(i))).total_seconds())
                // 60
                for spec in able
                for a, b in on_floor(schedule, spec.id)
                if min(b, h.interval_start(i + 1)) > max(a, h.interval_start(i))
            )
            assert c.scheduled_minutes[i] <= cap
        assert c.gap == tuple(s - r for s, r in zip(c.scheduled, c.required, strict=True))


def check_objective(problem: Problem, schedule: Schedule) -> None:
    w = problem.weights
    deviation = sum(
        abs(p - t)
        for a in schedule.agents
        for p, t in zip(a.paid_minutes_by_week, a.target_minutes_by_week, strict=True)
    )
    assert schedule.objective == (
        w.under * schedule.under_minutes
        + w.over * schedule.over_minutes
        + w.hours_deviation * deviation
    )


def run(problem: Problem, options: SolverOptions = FAST) -> Schedule:
    schedule = solve(problem, options)
    check_rules(problem, schedule)
    check_coverage(problem, schedule)
    check_objective(problem, schedule)
    return schedule


ONE_DAY = Horizon(date(2026, 3, 23), 1, 60)


# --- hand-checked optima ------------------------------------------------------------------


def test_one_agent_lands_exactly_on_the_demand() -> None:
    problem = Problem(
        ONE_DAY,
        {"en": day_profile(60, [(8, 16, 1)])},
        (eight_hours(6, 7, 8, 9, 10),),
        (agent("ann"),),
    )
    schedule = run(problem)
    assert schedule.status == "OPTIMAL"
    [shift] = schedule.agent("ann").shifts
    assert shift.start == datetime(2026, 3, 23, 8, tzinfo=UTC)
    assert (schedule.under_minutes, schedule.over_minutes, schedule.objective) == (0, 0, 0)
    assert schedule.coverage[0].scheduled[8:16] == (1.0,) * 8


def test_demand_longer_than_a_shift_leaves_exactly_the_rest_short() -> None:
    # 10 hours of demand, one 8-hour shift: 120 minutes short at best, nothing over.
    problem = Problem(
        ONE_DAY,
        {"en": day_profile(60, [(8, 18, 1)])},
        (eight_hours(6, 7, 8, 9, 10, 11),),
        (agent("ann"),),
    )
    schedule = run(problem)
    assert schedule.status == "OPTIMAL"
    assert (schedule.under_minutes, schedule.over_minutes) == (120, 0)
    assert schedule.objective == 1000 * 120
    assert 8 <= schedule.agent("ann").shifts[0].start.hour <= 10


def test_an_agent_with_two_skills_counts_once_and_goes_where_needed() -> None:
    req = {"de": day_profile(60, [(8, 16, 1)]), "en": day_profile(60, [(8, 16, 1)])}
    tpl = (eight_hours(8),)
    both = agent("bilingual", skills=frozenset({"de", "en"}))
    en_only = agent("english", skills=frozenset({"en"}))
    alone = run(Problem(ONE_DAY, req, tpl, (both,)))
    assert alone.under_minutes == 480  # one person cannot be two
    pair = run(Problem(ONE_DAY, req, tpl, (both, en_only)))
    assert pair.status == "OPTIMAL"
    assert (pair.under_minutes, pair.over_minutes) == (0, 0)
    de = next(c for c in pair.coverage if c.skill == "de")
    assert de.scheduled[8:16] == (1.0,) * 8


@pytest.mark.parametrize("interval", [15, 60])
def test_breaks_are_staggered_so_two_agents_cover_each_other(interval: int) -> None:
    # With hourly intervals too: coverage is counted per 15-minute slot, so two agents on a
    # break at once would leave a gap even though the hour's average looks full.
    breaks = (BreakRule(30, 2 * H, 4 * H, paid=False), BreakRule(15, 5 * H, 7 * H))
    problem = Problem(
        Horizon(date(2026, 3, 23), 1, interval),
        {"en": day_profile(interval, [(8, 16, 1)])},
        (eight_hours(8, breaks=breaks),),
        (agent("ann"), agent("bob")),
    )
    schedule = run(problem)
    assert schedule.status == "OPTIMAL"
    assert schedule.under_minutes == 0
    assert schedule.over_minutes == 2 * (480 - 45) - 480
    for a in schedule.agents:
        assert a.shifts[0].paid_minutes == 450  # the 30-minute break is unpaid
    ann, bob = (schedule.agent(x).shifts[0].breaks for x in ("ann", "bob"))
    for b1 in ann:
        assert all(b1.end <= b2.start or b2.end <= b1.start for b2 in bob)


def test_one_agent_alone_takes_breaks_and_the_gap_shows_in_the_interval() -> None:
    breaks = (BreakRule(15, 2 * H, 3 * H),)
    problem = Problem(
        Horizon(date(2026, 3, 23), 1, 30),
        {"en": day_profile(30, [(8, 16, 1)])},
        (eight_hours(8, breaks=breaks),),
        (agent("ann"),),
    )
    schedule = run(problem)
    cov = schedule.coverage[0]
    assert schedule.under_minutes == 15
    # The interval holding the break is half covered: 15 of 30 agent-minutes.
    assert sorted(cov.scheduled[16:32]).count(0.5) == 1
    assert min(cov.gap[16:32]) == -0.5


def test_over_coverage_is_avoided_before_target_hours_are_chased() -> None:
    # The target asks for 8 hours but only 4 are needed: surplus costs more than the target.
    short = ShiftTemplate("short", 4 * H, (8 * H,))
    problem = Problem(
        ONE_DAY,
        {"en": day_profile(60, [(8, 12, 1)])},
        (eight_hours(8), short),
        (agent("ann"),),
    )
    schedule = run(problem)
    assert [s.template for s in schedule.agent("ann").shifts] == ["short"]
    assert schedule.objective == 480 - 240  # only the deviation from the 8-hour target


def test_the_same_input_gives_the_same_schedule() -> None:
    problem = Problem(
        Horizon(date(2026, 3, 23), 2, 60),
        {"en": day_profile(60, [(6, 20, 1), (9, 17, 2)]) * 2},
        (eight_hours(6, 8, 10, 12),),
        (agent("a"), agent("b"), agent("c", min_rest_hours=12)),
    )
    first, second = run(problem), run(problem)
    assert first.to_dict() | {"wall_seconds": 0} == second.to_dict() | {"wall_seconds": 0}


# --- hard rules ---------------------------------------------------------------------------


def test_a_week_keeps_every_rule() -> None:
    interval = 30
    day = day_profile(interval, [(0, 24, 1), (7, 19, 2)])
    problem = Problem(
        Horizon(date(2026, 3, 23), 7, interval),
        {"en": day * 7, "de": day_profile(interval, [(8, 16, 1)]) * 7},
        (
            ShiftTemplate(
                "early",
                8 * H,
                tuple(range(6 * H, 10 * H + 1, 60)),
                (BreakRule(30, 3 * H, 5 * H, paid=False),),
            ),
            ShiftTemplate("late", 6 * H, (12 * H, 14 * H), (BreakRule(30, 2 * H, 4 * H),)),
        ),
        (
            AgentSpec(
                "berlin",
                "Europe/Berlin",
                frozenset({"de", "en"}),
                availability={d: hours((7, 20)) for d in ("mon", "tue", "wed", "thu", "fri")},
                min_hours_per_week=22.5,
                max_hours_per_week=30,
                max_shifts_per_week=4,
                min_rest_hours=12,
                max_consecutive_days=3,
            ),
            AgentSpec(
                "newyork",
                "America/New_York",
                frozenset({"en"}),
                availability={d: hours((6, 22)) for d in ("mon", "tue", "wed", "sat", "sun")},
                unavailable_dates=frozenset({date(2026, 3, 24)}),
                min_hours_per_week=15,
                max_hours_per_week=32,
                max_shifts_per_week=5,
                max_consecutive_days=2,
                templates=frozenset({"late"}),
            ),
            AgentSpec(
                "manila",
                "Asia/Manila",
                frozenset({"en"}),
                availability={d: hours((6, 15)) for d in ("mon", "tue", "wed", "thu")},
                max_hours_per_week=24,
                min_rest_hours=11,
            ),
        ),
    )
    schedule = run(problem, SolverOptions(time_limit_seconds=4))
    assert schedule.status in ("OPTIMAL", "FEASIBLE")
    assert all(schedule.agent(a.id).shifts for a in problem.agents)
    # Only the late template for New York, never on their day off.
    assert {s.template for s in schedule.agent("newyork").shifts} == {"late"}


# --- infeasible models ----------------------------------------------------------------------


def test_minimum_hours_beyond_the_availability_names_the_agent() -> None:
    problem = Problem(
        Horizon(date(2026, 3, 23), 7, 60),
        {"en": day_profile(60, [(8, 16, 1)]) * 7},
        (eight_hours(8),),
        (
            agent("ok"),
            agent(
                "tight",
                availability={"mon": hours((8, 16)), "tue": hours((8, 16))},
                min_hours_per_week=24,
            ),
        ),
    )
    with pytest.raises(SchedulingInfeasible) as caught:
        solve(problem, FAST)
    assert caught.value.agent_id == "tight"
    assert caught.value.field == "agents.1.min_hours_per_week"
    assert "16 h" in caught.value.message and "24 h" in caught.value.message


def test_minimum_hours_blocked_by_the_rest_rule_names_the_rule() -> None:
    # Mon 16-24 and Tue 00-08 are the only windows: both shifts are needed but 0 h apart.
    problem = Problem(
        Horizon(date(2026, 3, 23), 2, 60),
        {"en": day_profile(60, [(0, 24, 1)]) * 2},
        (eight_hours(0, 16),),
        (
            agent(
                "nights",
                availability={"mon": hours((16, 24)), "tue": hours((0, 8))},
                min_hours_per_week=56,  # 16 h in a two-day plan
                min_rest_hours=11,
            ),
        ),
    )
    with pytest.raises(SchedulingInfeasible) as caught:
        solve(problem, FAST)
    assert caught.value.field == "agents.0.min_hours_per_week"
    assert "min_rest_hours=11" in caught.value.message
    relaxed = Problem(
        problem.horizon,
        problem.requirement,
        problem.templates,
        (
            agent(
                "nights",
                availability={"mon": hours((16, 24)), "tue": hours((0, 8))},
                min_hours_per_week=56,
                min_rest_hours=0,
            ),
        ),
    )
    assert len(run(relaxed).agent("nights").shifts) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"requirement": {"en": [1] * 23}}, "requirement.en"),
        ({"requirement": {"en": [-1] + [0] * 23}}, "requirement.en.0"),
        (
            {"templates": (ShiftTemplate("x", 8 * H, (8 * H,), (BreakRule(30, 7 * H, 9 * H),)),)},
            "shift_templates.0.breaks.0.before_minutes",
        ),
        (
            {"templates": (ShiftTemplate("x", 8 * H, (8 * H,), (BreakRule(90, 0, 60),)),)},
            "shift_templates.0.breaks.0.minutes",
        ),
        ({"templates": (ShiftTemplate("x", 8 * H, (487,)),)}, "shift_templates"),
        (
            {
                "templates": (
                    ShiftTemplate(
                        "x", 8 * H, (8 * H,), (BreakRule(60, 60, 120), BreakRule(30, 60, 120))
                    ),
                )
            },
            "shift_templates.0.breaks",
        ),
        ({"agents": (agent("a", timezone="Mars/Olympus"),)}, "agents.0.timezone"),
        (
            {"agents": (agent("a", min_hours_per_week=50, max_hours_per_week=40),)},
            "agents.0.min_hours_per_week",
        ),
        ({"agents": (agent("a", templates=frozenset({"nope"})),)}, "agents.0.templates"),
        ({"agents": (agent("a"), agent("a"))}, "agents.1.id"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "requirement": {"en": day_profile(60, [(8, 16, 1)])},
        "templates": (eight_hours(8),),
        "agents": (agent("a"),),
    }
    base.update(change)
    problem = Problem(ONE_DAY, base["requirement"], base["templates"], base["agents"])  # type: ignore[arg-type]
    with pytest.raises(SchedulingInputError) as caught:
        solve(problem, FAST)
    assert caught.value.field == field


# --- time zones and DST -----------------------------------------------------------------------


def test_berlin_week_over_the_spring_forward_keeps_local_start_times() -> None:
    # Europe/Berlin moves from UTC+1 to UTC+2 on Sunday 2026-03-29 at 01:00 UTC.
    week = Horizon(date(2026, 3, 23), 7, 60)
    problem = Problem(
        week,
        {"en": [1] * week.intervals},
        (eight_hours(9),),
        (
            agent(
                "berlin",
                timezone="Europe/Berlin",
                availability={d: hours((9, 17)) for d in WEEK},
            ),
        ),
    )
    schedule = run(problem)
    shifts = schedule.agent("berlin").shifts
    assert len(shifts) == 7
    utc_hours = {s.start.date(): s.start.hour for s in shifts}
    assert utc_hours[date(2026, 3, 28)] == 8 and utc_hours[date(2026, 3, 29)] == 7
    local = schedule.agent("berlin").to_dict(local=True)["shifts"]
    assert {s["start"][11:] for s in local} == {"09:00:00+01:00", "09:00:00+02:00"}
    assert local[-1]["start"] == "2026-03-29T09:00:00+02:00"


def test_new_york_week_over_the_us_change_and_a_utc_template() -> None:
    # America/New_York: UTC-5 until Sunday 2026-03-08 07:00 UTC, then UTC-4. A template in UTC
    # stays at 14:00 UTC, which is 09:00 local before and 10:00 local after.
    week = Horizon(date(2026, 3, 5), 5, 60)
    problem = Problem(
        week,
        {"en": [1] * week.intervals},
        (eight_hours(14, tz="UTC"),),
        (agent("ny", timezone="America/New_York"),),
    )
    shifts = run(problem).agent("ny").shifts
    assert {s.start.hour for s in shifts} == {14}
    local = [s.start.astimezone(ZoneInfo("America/New_York")).hour for s in shifts]
    assert local == [9, 9, 9, 10, 10]


def test_a_start_time_inside_the_spring_forward_gap_is_skipped() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29.
    horizon = Horizon(date(2026, 3, 28), 2, 30)
    template = ShiftTemplate("night", 4 * H, (2 * H + 30,))
    problem = Problem(
        horizon,
        {"en": [1] * horizon.intervals},
        (template,),
        (agent("b", timezone="Europe/Berlin", min_rest_hours=0),),
    )
    starts = [s.start for s in run(problem).agent("b").shifts]
    assert starts == [datetime(2026, 3, 28, 1, 30, tzinfo=UTC)]


def test_local_availability_is_converted_date_by_date() -> None:
    # 00:00-06:00 local is 6 real hours, but only 5 on the night the clocks go forward and 7
    # on the night they go back.
    spec = agent("b", timezone="Europe/Berlin", availability={"sun": hours((0, 6))})
    tz = ZoneInfo("Europe/Berlin")
    spring = availability(spec, tz, Horizon(date(2026, 3, 28), 2, 60))
    autumn = availability(spec, tz, Horizon(date(2026, 10, 24), 2, 60))
    assert spring == [(23 * 60, 28 * 60)]  # Sat 23:00 UTC .. Sun 04:00 UTC
    assert autumn == [(22 * 60, 29 * 60)]  # Sat 22:00 UTC .. Sun 05:00 UTC


def test_overnight_windows_and_unavailable_dates() -> None:
    tz = ZoneInfo("Asia/Manila")  # UTC+8, no DST
    spec = agent(
        "m",
        timezone="Asia/Manila",
        availability={"mon": hours((22, 6)), "tue": hours((22, 6))},
        unavailable_dates=frozenset({date(2026, 3, 25)}),
    )
    spans = availability(spec, tz, Horizon(date(2026, 3, 23), 3, 60))
    # Mon 22:00 local = Mon 14:00 UTC .. Tue 06:00 local = Mon 22:00 UTC; Tue's night window
    # is cut at Wed 00:00 local (Tue 16:00 UTC), the start of the unavailable date.
    assert spans == [(14 * 60, 22 * 60), (24 * 60 + 14 * 60, 24 * 60 + 16 * 60)]
