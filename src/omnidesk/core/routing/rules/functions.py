"""Built-in functions, static types, and the clock helpers behind the time functions.

Each function checks its arguments at compile time where it can (a literal zone name must be
a known IANA zone) and returns null at runtime where it cannot (a zone name read from agent
data that does not exist).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, cast
from zoneinfo import ZoneInfo, available_timezones

from omnidesk.core.routing.rules.context import EvaluationContext
from omnidesk.core.routing.rules.errors import RuleSyntaxError
from omnidesk.core.routing.rules.nodes import Call, Expr
from omnidesk.core.routing.rules.values import TimeOfDay, parse_time, skill_level

ValueFn = Callable[[EvaluationContext], object]

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Type(enum.Enum):
    """What the compiler knows about a value before evaluation."""

    ANY = "a value"
    NULL = "null"
    BOOL = "a boolean"
    NUMBER = "a number"
    STRING = "a string"
    TIME = "a time of day"
    WEEKDAY = "a weekday"  # a string "mon".."sun"
    DATE = "a date"  # a string "YYYY-MM-DD"
    LIST = "a list"
    MAP = "a mapping"

    @property
    def category(self) -> Type:
        return Type.STRING if self in (Type.WEEKDAY, Type.DATE) else self


@dataclass(frozen=True, slots=True)
class Operand:
    node: Expr
    fn: ValueFn
    type: Type
    const: bool = False
    value: object = None
    always_number: bool = False  # fn returns an int or float, never null (skill levels)


def error_at(node: Expr | Call, message: str) -> RuleSyntaxError:
    return RuleSyntaxError(message, node.pos.line, node.pos.column)


# -- zones and clocks -----------------------------------------------------------------------

_MISS: Final[Any] = object()
_ZONES: dict[str, ZoneInfo | None] = {}


def load_zone(name: object) -> ZoneInfo | None:
    """An IANA zone by name, or None. Remembers failures too, so a bad zone name in agent data
    does not probe the tz database on every evaluation."""
    if not isinstance(name, str):
        return None
    zone = _ZONES.get(name, _MISS)
    if zone is _MISS:
        zone = None
        # "localtime" is the host's zone: a rule must not mean different things on each node.
        if 0 < len(name) <= 64 and name != "localtime":
            try:
                zone = ZoneInfo(name)
            except Exception:  # ValueError, ZoneInfoNotFoundError, OSError for odd keys
                zone = None
        if len(_ZONES) >= 1024:
            _ZONES.clear()
        _ZONES[name] = zone
    return zone  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def suggest_zone(name: str) -> str:
    matches = difflib.get_close_matches(name, _zone_names(), n=1, cutoff=0.75)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


class InstantMemo:
    """Remembers values computed for the last `now` seen. The engine evaluates one rule for
    many agents at the same instant, so converting `now` to a zone once per instant and zone
    is enough. The state is replaced, never mutated across instants, so concurrent callers
    with different instants can only lose a cached value, never read a wrong one."""

    __slots__ = ("_compute", "_state")

    def __init__(self, compute: Callable[[datetime, ZoneInfo], object]) -> None:
        self._compute = compute
        self._state: tuple[datetime | None, dict[object, object]] = (None, {})

    def get(self, now: datetime, zone_key: object) -> object:
        state = self._state
        if state[0] is not now and state[0] != now:
            state = (now, {})
            self._state = state
        memo = state[1]
        try:
            value = memo.get(zone_key, _MISS)
        except TypeError:  # an unhashable zone value in the data
            return None
        if value is _MISS:
            zone = zone_key if isinstance(zone_key, ZoneInfo) else load_zone(zone_key)
            value = None if zone is None else self._compute(now, zone)
            if len(memo) < 512:
                memo[zone_key] = value
        return value


def _local_time(now: datetime, zone: ZoneInfo) -> object:
    local = now.astimezone(zone)
    return TimeOfDay(local.hour * 3600 + local.minute * 60 + local.second)


def _weekday(now: datetime, zone: ZoneInfo) -> object:
    return DAYS[now.astimezone(zone).weekday()]


def _local_date(now: datetime, zone: ZoneInfo) -> object:
    return now.astimezone(zone).date().isoformat()


def _weekday_and_seconds(now: datetime, zone: ZoneInfo) -> object:
    local = now.astimezone(zone)
    return (local.weekday(), local.hour * 3600 + local.minute * 60 + local.second)


def _pair(start: object, end: object) -> tuple[int, int] | None:
    if isinstance(start, str) and isinstance(end, str):
        s, e = parse_time(start), parse_time(end)
        if s is not None and e is not None:
            return (s, e)
    return None


def _intervals(hours: Mapping[Any, Any], weekday: int) -> list[tuple[int, int]]:
    spec = hours.get(DAYS[weekday])
    if spec is None:
        spec = hours.get(FULL_DAYS[weekday])
    if type(spec) is list and len(spec) == 2 and type(spec[0]) is str:  # the usual shape
        pair = _pair(spec[0], spec[1])
        return [pair] if pair else []
    if not isinstance(spec, (list, tuple)) or not spec:
        return []
    pairs = [spec] if len(spec) == 2 and all(isinstance(x, str) for x in spec) else spec
    out: list[tuple[int, int]] = []
    for item in pairs:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            pair = _pair(item[0], item[1])
            if pair:
                out.append(pair)
    return out


def within_working_hours(person: object, now: datetime, memo: InstantMemo) -> bool:
    """Whether `now` falls inside the person's working hours, in their own time zone.

    person.timezone is an IANA name; person.working_hours maps "mon".."sun" (or "monday"..)
    to ["HH:MM", "HH:MM"] or a list of such pairs. A range is start-inclusive and
    end-exclusive; a range ending before it starts runs past midnight into the next day.
    Anything missing or malformed means "not working".
    """
    if type(person) is not dict and not isinstance(person, Mapping):
        return False
    hours = person.get("working_hours")
    if type(hours) is not dict and not isinstance(hours, Mapping):
        return False
    local = memo.get(now, person.get("timezone"))
    if local is None:
        return False
    weekday, t = cast(tuple[int, int], local)
    for start, end in _intervals(hours, weekday):
        if (start <= t < end) if start < end else (end < start and t >= start):
            return True
    # Yesterday's overnight range (e.g. Friday 22:00-06:00 on Saturday morning).
    return any(end < start and t < end for start, end in _intervals(hours, (weekday - 1) % 7))


# -- the registry ---------------------------------------------------------------------------

Builder = Callable[[Call, tuple[Operand, ...]], tuple[ValueFn, Type, bool]]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    min_args: int
    max_args: int | None
    usage: str
    build: Builder


def _skill(call: Call, args: tuple[Operand, ...]) -> tuple[ValueFn, Type, bool]:
    (arg,) = args
    if arg.const:
        name = arg.value
        if not isinstance(name, str) or not name:
            raise error_at(arg.node, 'skill() takes a skill name, as in skill("lang.de")')
        return (lambda ctx: skill_level(ctx.agent, name)), Type.NUMBER, True
    get = arg.fn

    def dynamic_skill(ctx: EvaluationContext) -> object:
        name = get(ctx)
        return skill_level(ctx.agent, name) if isinstance(name, str) else 0

    return dynamic_skill, Type.NUMBER, True


def _zoned(compute: Callable[[datetime, ZoneInfo], object], result: Type) -> Builder:
    def build(call: Call, args: tuple[Operand, ...]) -> tuple[ValueFn, Type, bool]:
        (arg,) = args
        memo = InstantMemo(compute)
        if arg.const:
            name = arg.value
            if not isinstance(name, str):
                raise error_at(
                    arg.node, f'{call.name}() takes a time zone name, as in "Europe/Berlin"'
                )
            zone = load_zone(name)
            if zone is None:
                raise error_at(arg.node, f"unknown time zone '{name}'{suggest_zone(name)}")
            return (lambda ctx: memo.get(ctx.now, zone)), result, False
        get = arg.fn
        return (lambda ctx: memo.get(ctx.now, get(ctx))), result, False

    return build


def _within_working_hours(call: Call, args: tuple[Operand, ...]) -> tuple[ValueFn, Type, bool]:
    (arg,) = args
    if arg.const:
        raise error_at(
            arg.node,
            "within_working_hours() takes agent (or a mapping with timezone and working_hours)",
        )
    memo = InstantMemo(_weekday_and_seconds)
    get = arg.fn
    return (lambda ctx: within_working_hours(get(ctx), ctx.now, memo)), Type.BOOL, False


def _string_fn(method: Callable[[str], str]) -> Builder:
    def build(call: Call, args: tuple[Operand, ...]) -> tuple[ValueFn, Type, bool]:
        get = args[0].fn

        def apply(ctx: EvaluationContext) -> object:
            value = get(ctx)
            return method(value) if isinstance(value, str) else None

        return apply, Type.STRING, False

    return build


def _len(call: Call, args: tuple[Operand, ...]) -> tuple[ValueFn, Type, bool]:
    get = args[0].fn

    def length(ctx: EvaluationContext) -> object:
        value = get(ctx)
        if isinstance(value, (str, list, tuple, set, frozenset, Mapping)):
            return len(value)
        return None

    return length, Type.NUMBER, False


def _coalesce(call: Call, args: tuple[Operand, ...]) -> tuple[ValueFn, Type, bool]:
    getters = tuple(arg.fn for arg in args)
    types = {arg.type for arg in args if arg.type is not Type.NULL}
    result = types.pop() if len(types) == 1 else Type.ANY

    def first_present(ctx: EvaluationContext) -> object:
        for get in getters:
            value = get(ctx)
            if value is not None:
                return value
        return None

    return first_present, result, False


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("skill", 1, 1, 'skill("lang.de")', _skill),
        Function("local_time", 1, 1, 'local_time("Europe/Berlin")', _zoned(_local_time, Type.TIME)),
        Function("weekday", 1, 1, 'weekday("Europe/Berlin")', _zoned(_weekday, Type.WEEKDAY)),
        Function("local_date", 1, 1, 'local_date("Europe/Berlin")', _zoned(_local_date, Type.DATE)),
        Function(
            "within_working_hours", 1, 1, "within_working_hours(agent)", _within_working_hours
        ),
        Function("lower", 1, 1, "lower(contact.email)", _string_fn(str.lower)),
        Function("upper", 1, 1, "upper(contact.country)", _string_fn(str.upper)),
        Function("len", 1, 1, "len(contact.attributes.tags)", _len),
        Function("coalesce", 2, None, "coalesce(contact.priority, 3)", _coalesce),
    )
}
FUNCTION_NAMES: frozenset[str] = frozenset(FUNCTIONS)
CLOCK_FUNCTIONS: frozenset[str] = frozenset(
    {"local_time", "weekday", "local_date", "within_working_hours"}
)
