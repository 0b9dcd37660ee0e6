"""Runtime value semantics: kinds, strict equality, ordering, membership, paths, skill levels.

Every function here is total: for any input it returns a value and never raises, because a
rule is evaluated against attribute data the rule's author does not control. The rules:

- A missing key is null. Null equals only null; every other comparison with null is false.
- Values of different kinds never compare: 1 == "1" is false, and so is 1 != "1".
- Numbers are int, float and Decimal (not bool): 1 == 1.0. Booleans are not numbers.
- A time of day (from local_time()) compares with another time or with an "HH:MM" string.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, cast

NULL: Final = 0
BOOL: Final = 1
NUM: Final = 2
STR: Final = 3
LIST: Final = 4
MAP: Final = 5
TIME: Final = 6
OTHER: Final = 7

KIND_NAMES = ("null", "boolean", "number", "string", "list", "mapping", "time of day", "value")
_MAX_DEPTH = 32  # recursion bound for comparing nested lists/mappings (cycles end here)


class TimeOfDay:
    """Seconds since local midnight, 0..86400 (86400 is "24:00", the end of a day)."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeOfDay) and other.seconds == self.seconds

    def __hash__(self) -> int:
        return hash((TimeOfDay, self.seconds))

    def __str__(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")

    def __repr__(self) -> str:
        return f"TimeOfDay({str(self)!r})"


_FAST_KINDS: dict[type, int] = {
    type(None): NULL,
    bool: BOOL,
    int: NUM,
    float: NUM,
    Decimal: NUM,
    str: STR,
    list: LIST,
    tuple: LIST,
    set: LIST,
    frozenset: LIST,
    dict: MAP,
    TimeOfDay: TIME,
}


def kind_of(value: object) -> int:
    kind = _FAST_KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, (int, float, Decimal)):  # IntEnum, subclasses
        return NUM
    if isinstance(value, str):  # StrEnum
        return STR
    if isinstance(value, Mapping):
        return MAP
    if isinstance(value, (list, tuple, set, frozenset)):
        return LIST
    return OTHER


_TIME_TEXT = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


@lru_cache(maxsize=4096)
def parse_time(text: str) -> int | None:
    """ "HH:MM" or "HH:MM:SS" (00:00 to 24:00) to seconds since midnight, or None."""
    m = _TIME_TEXT.fullmatch(text)
    if m is None:
        return None
    hours, minutes, seconds = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        return None
    return hours * 3600 + minutes * 60 + seconds


def _as_seconds(value: object) -> int | None:
    if type(value) is TimeOfDay:
        return value.seconds
    if isinstance(value, str):
        return parse_time(str(value))
    return None


def equal(a: object, b: object, depth: int = 0) -> bool:
    """Strict equality: same kind and same value; null == null."""
    ka, kb = kind_of(a), kind_of(b)
    if ka != kb:
        if (ka == TIME and kb == STR) or (ka == STR and kb == TIME):
            sa, sb = _as_seconds(a), _as_seconds(b)
            return sa is not None and sa == sb
        return False
    if ka == NULL:
        return True
    if ka in (NUM, STR, BOOL, TIME):
        try:
            return bool(a == b)
        except ArithmeticError:  # Decimal("sNaN")
            return False
    if depth >= _MAX_DEPTH:
        return False
    if ka == LIST:
        return _lists_equal(a, b, depth + 1)
    if ka == MAP:
        return _maps_equal(a, b, depth + 1)
    return False


def _lists_equal(a: Any, b: Any, depth: int) -> bool:
    if len(a) != len(b):
        return False
    if isinstance(a, (set, frozenset)) or isinstance(b, (set, frozenset)):
        return all(any(equal(x, y, depth) for y in b) for x in a) and all(
            any(equal(x, y, depth) for x in a) for y in b
        )
    return all(equal(x, y, depth) for x, y in zip(a, b, strict=True))


def _maps_equal(a: Any, b: Any, depth: int) -> bool:
    if len(a) != len(b):
        return False
    for key, value in a.items():
        other = b.get(key, _MISSING)
        if other is _MISSING or not equal(value, other, depth):
            return False
    return True


def not_equal(a: object, b: object) -> bool:
    """`!=`: both sides present and of the same kind, and different. null != null is false."""
    ka, kb = kind_of(a), kind_of(b)
    if ka in (NULL, OTHER) or kb in (NULL, OTHER):
        return False
    if ka != kb and not ((ka == TIME and kb == STR) or (ka == STR and kb == TIME)):
        return False
    if ka != kb:
        sa, sb = _as_seconds(a), _as_seconds(b)
        return sa is not None and sb is not None and sa != sb
    return not equal(a, b)


def order(a: object, b: object) -> int | None:
    """-1, 0 or 1 for two numbers, two strings or two times of day; None otherwise."""
    ka, kb = kind_of(a), kind_of(b)
    if ka == TIME or kb == TIME:
        sa, sb = _as_seconds(a), _as_seconds(b)
        if sa is None or sb is None:
            return None
        return (sa > sb) - (sa < sb)
    if ka != kb or (ka != NUM and ka != STR):
        return None
    try:
        if a < b:  # type: ignore[operator]
            return -1
        if a > b:  # type: ignore[operator]
            return 1
        if a == b:
            return 0
    except (ArithmeticError, TypeError):
        pass
    return None  # NaN


def _ordered(test: Callable[[int], bool]) -> Callable[[object, object], bool]:
    def compare(a: object, b: object) -> bool:
        result = order(a, b)
        return result is not None and test(result)

    return compare


ORDERINGS: dict[str, Callable[[object, object], bool]] = {
    "<": _ordered(lambda r: r < 0),
    "<=": _ordered(lambda r: r <= 0),
    ">": _ordered(lambda r: r > 0),
    ">=": _ordered(lambda r: r >= 0),
}
FAST_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def between(value: object, low: object, high: object) -> bool:
    """Numbers and strings: low <= value <= high. Times of day: low <= value < high, and a
    range whose end is before its start runs over midnight ("22:00" to "06:00")."""
    if type(value) is TimeOfDay or type(low) is TimeOfDay or type(high) is TimeOfDay:
        return time_between(_as_seconds(value), _as_seconds(low), _as_seconds(high))
    lo, hi = order(low, value), order(value, high)
    return lo is not None and hi is not None and lo <= 0 and hi <= 0


def time_between(value: int | None, low: int | None, high: int | None) -> bool:
    if value is None or low is None or high is None:
        return False
    if low <= high:
        return low <= value < high
    return value >= low or value < high


def comparable_for_between(value: object, low: object, high: object) -> bool:
    if type(value) is TimeOfDay or type(low) is TimeOfDay or type(high) is TimeOfDay:
        return None not in (_as_seconds(value), _as_seconds(low), _as_seconds(high))
    return order(low, value) is not None and order(value, high) is not None


# -- membership -----------------------------------------------------------------------------


def list_contains(items: Any, needle: object) -> bool:
    return any(equal(item, needle) for item in items)


def is_in(needle: object, container: object) -> bool:
    """`x IN list`."""
    return kind_of(container) == LIST and list_contains(container, needle)


def has(container: object, needle: object) -> bool:
    """`list HAS x` (an equal item) or `mapping HAS "key"` (the key with a non-null value)."""
    kind = kind_of(container)
    if kind == LIST:
        return list_contains(container, needle)
    if kind == MAP and isinstance(needle, str):
        return container.get(needle) is not None  # type: ignore[attr-defined]
    return False


def contains(container: object, needle: object) -> bool:
    """`string CONTAINS "sub"` (substring) or `list CONTAINS x` (an equal item)."""
    kind = kind_of(container)
    if kind == STR:
        return isinstance(needle, str) and needle in container  # type: ignore[operator]
    if kind == LIST:
        return list_contains(container, needle)
    return False


def membership_applies(op: str, left: object, right: object) -> bool:
    """Whether the operands have the shape the operator needs; the NOT forms require it."""
    kl, kr = kind_of(left), kind_of(right)
    if op == "IN":
        return kr == LIST and kl != NULL and kl != OTHER
    if op == "HAS":
        return kl == LIST or (kl == MAP and kr == STR)
    return kl == LIST or (kl == STR and kr == STR)  # CONTAINS


MEMBERSHIP: dict[str, Callable[[object, object], bool]] = {
    "IN": is_in,
    "HAS": has,
    "CONTAINS": contains,
}


class MemberSet:
    """A constant list, indexed by kind for O(1) membership with strict equality."""

    __slots__ = ("bools", "has_null", "nums", "others", "strs", "times")

    def __init__(self, items: list[object]) -> None:
        self.strs: set[str] = set()
        self.nums: set[object] = set()
        self.bools: set[bool] = set()
        self.times: set[int] = set()
        self.has_null = False
        self.others: list[object] = []
        for item in items:
            kind = kind_of(item)
            if kind == STR:
                self.strs.add(str(item))
            elif kind == NUM:
                self.nums.add(item)
            elif kind == BOOL:
                self.bools.add(bool(item))
            elif kind == TIME:
                assert isinstance(item, TimeOfDay)
                self.times.add(item.seconds)
            elif kind == NULL:
                self.has_null = True
            else:
                self.others.append(item)

    def __contains__(self, value: object) -> bool:
        kind = kind_of(value)
        if kind == STR:
            return value in self.strs or (bool(self.times) and parse_time(str(value)) in self.times)
        if kind == NUM:
            try:
                return value in self.nums
            except (TypeError, ArithmeticError):  # hash(Decimal("sNaN"))
                return False
        if kind == BOOL:
            return value in self.bools
        if kind == NULL:
            return self.has_null
        if kind == TIME:
            assert isinstance(value, TimeOfDay)
            return value.seconds in self.times or any(
                parse_time(text) == value.seconds for text in self.strs
            )
        return any(equal(value, other) for other in self.others)


# -- paths and skills -----------------------------------------------------------------------

_MISSING: Final[Any] = object()
Key = str | int
# For each position in a path, the keys to try in order and the position each one leads to:
# first the segment itself, then (for ".name" segments) it joined by dots with the next ones,
# so agent.skills.lang.de finds a key "lang.de" when there is no nested "lang" mapping.
Steps = tuple[tuple[tuple[Key, int], ...], ...]
MAX_JOINED = 8


def plan_path(keys: tuple[Key, ...], dotted: tuple[bool, ...]) -> Steps:
    steps: list[tuple[tuple[Key, int], ...]] = []
    for i, key in enumerate(keys):
        options: list[tuple[Key, int]] = [(key, i + 1)]
        if dotted[i]:
            joined = str(key)
            j = i + 1
            while j < len(keys) and dotted[j] and j - i < MAX_JOINED:
                joined += "." + str(keys[j])
                options.append((joined, j + 1))
                j += 1
        steps.append(tuple(options))
    return tuple(steps)


def step(value: object, key: Key) -> object:
    if type(value) is dict:
        return value.get(key, _MISSING) if type(key) is str else _MISSING
    if type(key) is str:
        if isinstance(value, Mapping):
            return value.get(key, _MISSING)
        return _MISSING
    if (
        isinstance(value, (list, tuple))
        and isinstance(key, int)
        and -len(value) <= key < len(value)
    ):
        return value[key]
    return _MISSING


def resolve(value: object, steps: Steps) -> object:
    """Follow a path; a missing key (or a step into a non-container) gives None."""
    i = 0
    n = len(steps)
    while i < n:
        for key, nxt in steps[i]:
            found = step(value, key)
            if found is not _MISSING:
                value = found
                i = nxt
                break
        else:
            return None
    return value


def skill_level(agent: object, name: str) -> int | float:
    """The agent's level in a skill: agent.skills is {name: level} (or a list of names, each
    level 1). A skill the agent lacks, or a level that is not a number, is 0; true is 1."""
    skills = agent.get("skills") if type(agent) is dict else step(agent, "skills")
    if type(skills) is dict or isinstance(skills, Mapping):
        level = skills.get(name)
    elif isinstance(skills, (list, tuple, set, frozenset)):
        try:
            return 1 if name in skills else 0
        except TypeError:
            return 0
    else:
        return 0
    kind = type(level)
    if kind is int or kind is float:
        return cast(int | float, level)
    if level is True:
        return 1
    if isinstance(level, (int, float)) and not isinstance(level, bool):
        return float(level) if isinstance(level, float) else int(level)
    if isinstance(level, Decimal):
        return float("nan") if level.is_nan() else float(level)
    return 0
