"""What the scheduler is given: horizon, requirement, shift templates, agents (docs/wfm.md).

Plain frozen dataclasses; times of day are minutes after local midnight (0..1440), durations are
minutes. `validate` reports the first problem as a SchedulingInputError naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from omnidesk.wfm.scheduling.errors import SchedulingInputError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 24 * 60
MAX_DAYS = 31
MIN_SLOT_MINUTES = 5

# Local (start, end) minutes of a day; end <= start runs past midnight into the next day.
Window = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Horizon:
    """Whole UTC days from `start` 00:00 UTC, cut into intervals of `interval_minutes`."""

    start: date
    days: int
    interval_minutes: int = 30

    @property
    def start_utc(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + timedelta(days=self.days)

    @property
    def minutes(self) -> int:
        return self.days * DAY

    @property
    def intervals(self) -> int:
        return self.minutes // self.interval_minutes

    def interval_start(self, index: int) -> datetime:
        return self.start_utc + timedelta(minutes=index * self.interval_minutes)


@dataclass(frozen=True, slots=True)
class BreakRule:
    """A break of `minutes` lying wholly inside [shift start + after, shift start + before]."""

    minutes: int
    after_minutes: int
    before_minutes: int
    paid: bool = True


@dataclass(frozen=True, slots=True)
class ShiftTemplate:
    name: str
    length_minutes: int
    # Wall-clock start times in `timezone`, or in each agent's own zone when it is None.
    start_times: tuple[int, ...]
    breaks: tuple[BreakRule, ...] = ()
    timezone: str | None = None

    @property
    def unpaid_minutes(self) -> int:
        return sum(b.minutes for b in self.breaks if not b.paid)

    @property
    def paid_minutes(self) -> int:
        return self.length_minutes - self.unpaid_minutes


@dataclass(frozen=True, slots=True)
class AgentSpec:
    id: str
    timezone: str = "UTC"
    skills: frozenset[str] = frozenset()
    # Weekday -> local windows when the agent may work; None: any time. A weekday missing from
    # the mapping is a day off.
    availability: Mapping[str, tuple[Window, ...]] | None = None
    # Whole local days the agent cannot work (holidays, leave).
    unavailable_dates: frozenset[date] = frozenset()
    min_hours_per_week: float = 0.0
    max_hours_per_week: float = 40.0
    # The hours the contract aims at (small cost per minute away from it); None: the maximum.
    target_hours_per_week: float | None = None
    max_shifts_per_week: int = 5
    min_rest_hours: float = 11.0
    max_consecutive_days: int = 5
    # Names of the templates this agent may work; None: all of them.
    templates: frozenset[str] | None = None

    @property
    def target(self) -> float:
        return (
            self.max_hours_per_week
            if self.target_hours_per_week is None
            else (self.target_hours_per_week)
        )


@dataclass(frozen=True, slots=True)
class Weights:
    """Objective cost per agent-minute short, per agent-minute over, per minute off target hours.

    The defaults are far enough apart that the solver first closes gaps, then trims surplus,
    and only then moves hours towards each contract's target."""

    under: int = 1000
    over: int = 10
    hours_deviation: int = 1


@dataclass(frozen=True, slots=True)
class SolverOptions:
    time_limit_seconds: float = 10.0
    # One worker and a fixed seed make a solve repeatable (given the same stopping point).
    num_workers: int = 1
    random_seed: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    horizon: Horizon
    # Skill group -> agents required in each interval of the horizon.
    requirement: Mapping[str, Sequence[int]]
    templates: tuple[ShiftTemplate, ...]
    agents: tuple[AgentSpec, ...]
    weights: Weights = field(default_factory=Weights)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str, path: str) -> ZoneInfo:
    if name not in _zones():
        raise SchedulingInputError(path, f"unknown time zone {name!r} (use an IANA name)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but unloadable
        raise SchedulingInputError(path, f"cannot load time zone {name!r}") from exc


def _bad(path: str, message: str) -> SchedulingInputError:
    return SchedulingInputError(path, message)


def _validate_horizon(h: Horizon) -> None:
    if not 1 <= h.days <= MAX_DAYS:
        raise _bad("horizon.days", f"must be 1..{MAX_DAYS}, got {h.days}")
    if not MIN_SLOT_MINUTES <= h.interval_minutes <= DAY or DAY % h.interval_minutes:
        raise _bad(
            "horizon.interval_minutes",
            f"must divide a day (1440) and be >= {MIN_SLOT_MINUTES}, got {h.interval_minutes}",
        )


def _validate_requirement(p: Problem) -> None:
    if not p.requirement:
        raise _bad("requirement", "name at least one skill group")
    n = p.horizon.intervals
    for skill, values in p.requirement.items():
        path = f"requirement.{skill}"
        if not skill or not skill.strip():
            raise _bad("requirement", "skill group names must not be empty")
        if len(values) != n:
            raise _bad(path, f"needs {n} values (one per interval), got {len(values)}")
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _bad(f"{path}.{i}", f"must be a whole number of agents >= 0, got {value!r}")


def _validate_template(t: ShiftTemplate, i: int) -> None:
    path = f"shift_templates.{i}"
    if not t.name:
        raise _bad(f"{path}.name", "must not be empty")
    if not 0 < t.length_minutes <= DAY:
        raise _bad(f"{path}.length_minutes", f"must be 1..{DAY}, got {t.length_minutes}")
    if not t.start_times:
        raise _bad(f"{path}.start_times", "give at least one start time")
    for start in t.start_times:
        if not 0 <= start < DAY:
            raise _bad(f"{path}.start_times", f"times of day are 00:00..23:59, got {start}")
    if t.timezone is not None:
        zone(t.timezone, f"{path}.timezone")
    for j, b in enumerate(t.breaks):
        bpath = f"{path}.breaks.{j}"
        if b.minutes <= 0:
            raise _bad(f"{bpath}.minutes", f"must be > 0, got {b.minutes}")
        if not 0 <= b.after_minutes < b.before_minutes <= t.length_minutes:
            raise _bad(
                f"{bpath}.before_minutes",
                f"the window [{b.after_minutes}, {b.before_minutes}] min must lie inside the "
                f"{t.length_minutes}-minute shift and not be empty",
            )
        if b.minutes > b.before_minutes - b.after_minutes:
            raise _bad(
                f"{bpath}.minutes",
                f"a {b.minutes}-minute break does not fit its "
                f"{b.before_minutes - b.after_minutes}-minute window",
            )
    if t.unpaid_minutes >= t.length_minutes:
        raise _bad(f"{path}.breaks", "unpaid breaks take the whole shift")


def _validate_hours(a: AgentSpec, path: str) -> None:
    for name in ("min_hours_per_week", "max_hours_per_week", "min_rest_hours"):
        value = getattr(a, name)
        if not math.isfinite(value) or value < 0:
            raise _bad(f"{path}.{name}", f"must be a number >= 0, got {value}")
    if a.max_hours_per_week > 7 * 24:
        raise _bad(f"{path}.max_hours_per_week", "a week has 168 hours")
    if a.min_hours_per_week > a.max_hours_per_week:
        raise _bad(
            f"{path}.min_hours_per_week",
            f"{a.min_hours_per_week} is above max_hours_per_week {a.max_hours_per_week}",
        )
    target = a.target_hours_per_week
    if target is not None and not (
        math.isfinite(target) and a.min_hours_per_week <= target <= a.max_hours_per_week
    ):
        raise _bad(
            f"{path}.target_hours_per_week",
            f"must lie between min_hours_per_week and max_hours_per_week, got {target}",
        )
    if a.min_rest_hours > 48:
        raise _bad(f"{path}.min_rest_hours", "must be at most 48 hours")
    if not 0 <= a.max_shifts_per_week <= 7:
        raise _bad(f"{path}.max_shifts_per_week", f"must be 0..7, got {a.max_shifts_per_week}")
    if a.max_consecutive_days < 1:
        raise _bad(f"{path}.max_consecutive_days", f"must be >= 1, got {a.max_consecutive_days}")


def _validate_agent(a: AgentSpec, i: int, template_names: set[str]) -> None:
    path = f"agents.{i}"
    if not a.id:
        raise _bad(f"{path}.id", "must not be empty")
    zone(a.timezone, f"{path}.timezone")
    _validate_hours(a, path)
    if a.availability is not None:
        for weekday, windows in a.availability.items():
            if weekday not in WEEKDAYS:
                raise _bad(f"{path}.availability", f"unknown weekday {weekday!r} (use mon..sun)")
            for start, end in windows:
                if not (0 <= start < DAY and 0 < end <= DAY) or start == end:
                    raise _bad(
                        f"{path}.availability.{weekday}",
                        "windows are HH:MM-HH:MM with different start and end",
                    )
    if a.templates is not None:
        unknown = sorted(a.templates - template_names)
        if unknown:
            raise _bad(f"{path}.templates", f"unknown shift templates {unknown}")


def validate(p: Problem) -> None:
    _validate_horizon(p.horizon)
    _validate_requirement(p)
    if not p.templates:
        raise _bad("shift_templates", "give at least one shift template")
    names: set[str] = set()
    for i, t in enumerate(p.templates):
        _validate_template(t, i)
        if t.name in names:
            raise _bad(f"shift_templates.{i}.name", f"{t.name!r} is used twice")
        names.add(t.name)
    if not p.agents:
        raise _bad("agents", "give at least one agent")
    ids: set[str] = set()
    for i, a in enumerate(p.agents):
        _validate_agent(a, i, names)
        if a.id in ids:
            raise _bad(f"agents.{i}.id", f"{a.id!r} is listed twice")
        ids.add(a.id)
    w = p.weights
    for name in ("under", "over", "hours_deviation"):
        value = getattr(w, name)
        if not 0 <= value <= 1_000_000:
            raise _bad(f"weights.{name}", f"must be 0..1000000, got {value}")


def parse_hhmm(text: str, path: str, *, allow_24: bool = False) -> int:
    """'07:30' -> 450; '24:00' only where allowed (the end of a window)."""
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise _bad(path, f"expected HH:MM, got {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > DAY or (value == DAY and not allow_24):
        raise _bad(path, f"{text!r} is not a time of day")
    return value


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def weekday_name(day: date) -> str:
    return WEEKDAYS[day.weekday()]
