"""Definitions an administrator writes: queues, their workflows, agents, and engine settings.

All are frozen dataclasses that round-trip through JSON (`to_dict` / `from_dict`), so the service
layer stores them as they are and a snapshot restores them exactly. `validate_*` reports the
first problem as an `InvalidDefinition` (422) naming the field; rule texts are compiled by the
engine, which knows the rule compiler.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnidesk.core.routing.codec import from_jsonable, normalize_json, to_jsonable
from omnidesk.core.routing.errors import InvalidDefinition

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIN_SKILL_LEVEL = 1
MAX_SKILL_LEVEL = 5
# The one grammar of every id a user chooses through the API (queues, contacts, consults; the
# API uses it for its other ids too): every character is safe in a URL path segment as it is,
# and 64 fit every column that stores an id (the event log's subject, the audit log's target).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,63}$"
ID_RULE = "ids are 1-64 characters: an ASCII letter or digit, then letters, digits and _.:@+-"
# What the engine itself takes is wider ("/", 128 characters) only so that logs and snapshots
# written before the API refused those still restore (no route could reach such an id).
_STORED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,127}")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")

Interval = tuple[str, str]
WeeklyHours = Mapping[str, tuple[Interval, ...]]


class Selection(StrEnum):
    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    LEAST_OCCUPIED = "least_occupied"
    ROUND_ROBIN = "round_robin"


class OverflowKind(StrEnum):
    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    DISCONNECT = "disconnect"


@dataclass(frozen=True, slots=True)
class OverflowAction:
    """What happens to a contact that cannot wait here. Only `queue` is carried out by the
    engine (the contact moves on); the others end the contact in routing with an event the
    service layer acts on (record a voicemail, offer a callback, play the message and hang up)."""

    kind: OverflowKind
    queue_id: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a queue's workflow.

    `target` is a rule over contact and agent (None: any member of the queue). The step applies
    until the contact has waited the sum of the timeouts up to and including this step; then the
    next, usually wider, step applies. A step with `overflow` set is terminal: reaching it
    overflows the contact.
    """

    target: str | None = None
    timeout_seconds: float | None = None
    overflow: OverflowAction | None = None


@dataclass(frozen=True, slots=True)
class Hours:
    """Weekly opening hours in a time zone, minus holidays (whole local days): the listed
    dates, and the public holidays of `holiday_country` ("DE"; with `holiday_subdivision`
    "BY", Bavaria's too) from the `holidays` package's calendars."""

    timezone: str
    weekly: WeeklyHours = field(default_factory=dict)
    holidays: tuple[str, ...] = ()
    holiday_country: str | None = None
    holiday_subdivision: str | None = None


@dataclass(frozen=True, slots=True)
class QueueDef:
    id: str
    channels: tuple[str, ...]
    name: str = ""
    # Added to every contact's priority here; higher is served first (as are all priorities).
    priority: int = 0
    service_level_seconds: float = 20.0
    service_level_target: float = 0.8
    hours: Hours | None = None
    on_closed: OverflowAction | None = None
    max_wait_seconds: float | None = None
    on_max_wait: OverflowAction | None = None
    max_size: int | None = None
    on_full: OverflowAction | None = None
    steps: tuple[Step, ...] = (Step(),)
    # Effective priority = contact priority + queue priority + aging_per_minute * minutes waited.
    aging_per_minute: float = 0.0
    selection: Selection = Selection.LONGEST_IDLE
    offer_timeout_seconds: float = 30.0
    # None: wrap-up lasts until the agent ends it; 0: no wrap-up; > 0: ends automatically.
    wrap_up_seconds: float | None = None
    wrap_up_extension_seconds: float | None = None  # default: wrap_up_seconds again
    # Used for the estimated wait time until the queue has handled contacts of its own.
    default_handle_seconds: float = 180.0
    # When the queue closes (its hours end, or an update makes it closed), contacts already
    # waiting overflow with `on_closed` (reason "closed"), as does a contact that comes back
    # to line while it is closed. False: they keep waiting; only arrivals overflow.
    overflow_waiting_on_close: bool = False
    # An agent ending a wrap-up of this queue's contact must give a disposition (ending it
    # by its timer, a logout or a disconnect still ends it without one).
    disposition_required: bool = False

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueueDef:
        return from_jsonable(cls, data, "queue")


@dataclass(frozen=True, slots=True)
class AgentDef:
    id: str
    name: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    teams: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    timezone: str = "UTC"
    working_hours: WeeklyHours = field(default_factory=dict)
    # Contacts of each channel held at once; a channel not listed is never offered.
    capacity: Mapping[str, int] = field(default_factory=dict)
    # blending[held] = channels that may still be offered while a contact of `held` is held
    # (offered, active or in wrap-up). A held channel not listed blocks nothing. Example:
    # {"voice": ()} means no chat or email is offered while on a call.
    blending: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Queue membership: queue id -> membership priority (higher: served first when free).
    queues: Mapping[str, int] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentDef:
        return from_jsonable(cls, data, "agent")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine behaves: one object, one set of defaults, for the server and the digital
    twin. The defaults are what production runs with; the server takes each field from its
    `routing_<field>` setting (README, "Settings"), a twin scenario from its `engine:` section,
    and both start from these, so a simulation behaves like the server unless it says not to.
    """

    # Where an agent goes after rejecting or missing an offer: away with `missed_reason`, or
    # stay available (the contact is then not offered to that agent again).
    missed_state: Literal["away", "available"] = "away"
    missed_reason: str = "missed"
    # Queue-to-queue overflows one contact may take before it is disconnected (loop guard).
    max_overflow_hops: int = 5
    # On Tick, retry waiting contacts against ready agents: needed only for rules that read the
    # time of day (working hours); a no-op otherwise.
    rescan_on_tick: bool = True
    # Weight of the newest handle time in the per-queue moving average used for wait estimates.
    handle_time_smoothing: float = 0.2
    # Wrap-up after an agent's own contact started without a queue (StartAgentContact), as a
    # queue's `wrap_up_seconds`: None until the agent ends it, 0 none, > 0 ends by itself.
    agent_contact_wrap_up_seconds: float | None = None
    # How often whoever drives the engine (the server's timer loop, the twin's event loop)
    # sends a Tick when no timer is due sooner. The engine does not read it; it is here so that
    # both retry rules that read the clock equally often.
    tick_seconds: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineSettings:
        return from_jsonable(cls, data, "settings")


def canonical(definition: Any, cls: type[Any], path: str) -> Any:
    """The definition as it reads back from JSON (lists become tuples, ints in float fields
    become floats), so a live and a restored engine hold equal definitions."""
    if not isinstance(definition, cls):
        raise InvalidDefinition(f"{path}: expected a {cls.__name__}", field=path)
    try:
        data = to_jsonable(definition)
    except TypeError as exc:
        raise InvalidDefinition(f"{path}: {exc}", field=path) from exc
    return from_jsonable(cls, data, path)


# --- validation ----------------------------------------------------------------------------


def _bad(path: str, message: str) -> InvalidDefinition:
    return InvalidDefinition(f"{path}: {message}", field=path)


def validate_id(value: str, path: str) -> None:
    if type(value) is str and len(value) <= 128 and value.isascii() and value.isalnum():
        return  # the usual id (ASCII letters and digits), without the cost of the regex
    if not isinstance(value, str) or not _STORED_ID.fullmatch(value):
        raise _bad(path, ID_RULE)


def _validate_name(value: str, path: str) -> None:
    if not isinstance(value, str) or not value or len(value) > 128 or value != value.strip():
        raise _bad(path, "must be a non-empty name without surrounding spaces")


def _validate_seconds(value: float | None, path: str, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _bad(path, "must be a number of seconds")
    if value < 0 or (value == 0 and not allow_zero) or value > 366 * 86400:
        raise _bad(path, "out of range")


def validate_timezone(name: str, path: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise _bad(path, f"unknown time zone {name!r}") from None


def validate_holiday_calendar(hours: Hours, path: str) -> None:
    # Imported here: the hours module imports this one (for Hours), and the calendars are
    # only loaded for a queue that names a country.
    from omnidesk.core.routing.hours import country_holidays

    if hours.holiday_country is None:
        if hours.holiday_subdivision is not None:
            raise _bad(f"{path}.holiday_subdivision", "needs holiday_country")
        return
    try:
        country_holidays(hours.holiday_country, hours.holiday_subdivision, 2000)
    except UnknownCalendar as exc:
        raise _bad(f"{path}.{exc.field}", exc.reason) from None


class UnknownCalendar(ValueError):
    """A country or subdivision the `holidays` package has no calendar for."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _minutes(hhmm: str, path: str) -> int:
    if not isinstance(hhmm, str) or not _HHMM.fullmatch(hhmm):
        raise _bad(path, f"expected HH:MM, got {hhmm!r}")
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def validate_weekly(weekly: WeeklyHours, path: str) -> None:
    """Intervals are [start, end) in local time; one that ends before it starts runs past
    midnight into the next day (the rule language reads working hours the same way)."""
    for day, intervals in weekly.items():
        if day not in WEEKDAYS:
            raise _bad(f"{path}.{day}", f"weekday must be one of {list(WEEKDAYS)}")
        for i, interval in enumerate(intervals):
            where = f"{path}.{day}[{i}]"
            if len(interval) != 2:
                raise _bad(where, "an interval is [start, end]")
            if _minutes(interval[0], where) == _minutes(interval[1], where):
                raise _bad(where, "an interval must not be empty")


def _validate_action(action: OverflowAction, path: str, queue_ids: Mapping[str, Any]) -> None:
    if action.kind is OverflowKind.QUEUE:
        if action.queue_id is None:
            raise _bad(f"{path}.queue_id", "required for a queue overflow")
        if action.queue_id not in queue_ids:
            raise _bad(f"{path}.queue_id", f"unknown queue {action.queue_id!r}")
    elif action.queue_id is not None:
        raise _bad(f"{path}.queue_id", f"only a queue overflow names a queue, not {action.kind}")


def validate_queue(queue: QueueDef, queue_ids: Mapping[str, Any]) -> None:
    """Structural checks; `queue_ids` are the queues that exist (overflow targets)."""
    validate_id(queue.id, "queue.id")
    if not queue.channels:
        raise _bad("queue.channels", "at least one channel")
    for i, channel in enumerate(queue.channels):
        _validate_name(channel, f"queue.channels[{i}]")
    if len(set(queue.channels)) != len(queue.channels):
        raise _bad("queue.channels", "duplicate channel")
    if isinstance(queue.priority, bool) or not isinstance(queue.priority, int):
        raise _bad("queue.priority", "must be an integer")
    _validate_seconds(queue.service_level_seconds, "queue.service_level_seconds")
    if not 0 < queue.service_level_target <= 1:
        raise _bad("queue.service_level_target", "a fraction in (0, 1]")
    if queue.hours is not None:
        validate_timezone(queue.hours.timezone, "queue.hours.timezone")
        validate_weekly(queue.hours.weekly, "queue.hours.weekly")
        for i, day in enumerate(queue.hours.holidays):
            try:
                date.fromisoformat(day)
            except (TypeError, ValueError):
                raise _bad(f"queue.hours.holidays[{i}]", "expected YYYY-MM-DD") from None
        validate_holiday_calendar(queue.hours, "queue.hours")
        if queue.on_closed is None:
            raise _bad("queue.on_closed", "required when the queue has hours")
    if not isinstance(queue.overflow_waiting_on_close, bool):
        raise _bad("queue.overflow_waiting_on_close", "must be true or false")
    if queue.overflow_waiting_on_close and queue.hours is None:
        raise _bad("queue.overflow_waiting_on_close", "requires hours")
    _validate_seconds(queue.max_wait_seconds, "queue.max_wait_seconds")
    if queue.max_wait_seconds is not None and queue.on_max_wait is None:
        raise _bad("queue.on_max_wait", "required with max_wait_seconds")
    if queue.max_size is not None and (
        isinstance(queue.max_size, bool)
        or not isinstance(queue.max_size, int)
        or queue.max_size < 1
    ):
        raise _bad("queue.max_size", "a positive integer")
    if queue.max_size is not None and queue.on_full is None:
        raise _bad("queue.on_full", "required with max_size")
    for name in ("on_closed", "on_max_wait", "on_full"):
        action = getattr(queue, name)
        if action is not None:
            _validate_action(action, f"queue.{name}", queue_ids)
    _validate_steps(queue, queue_ids)
    if queue.aging_per_minute < 0 or queue.aging_per_minute > 1_000_000:
        raise _bad("queue.aging_per_minute", "out of range")
    _validate_seconds(queue.offer_timeout_seconds, "queue.offer_timeout_seconds")
    _validate_seconds(queue.wrap_up_seconds, "queue.wrap_up_seconds", allow_zero=True)
    _validate_seconds(queue.wrap_up_extension_seconds, "queue.wrap_up_extension_seconds")
    _validate_seconds(queue.default_handle_seconds, "queue.default_handle_seconds")


def _validate_steps(queue: QueueDef, queue_ids: Mapping[str, Any]) -> None:
    if not queue.steps:
        raise _bad("queue.steps", "at least one step")
    if queue.steps[0].overflow is not None:
        raise _bad("queue.steps[0]", "the first step must target agents")
    last = len(queue.steps) - 1
    for i, step in enumerate(queue.steps):
        path = f"queue.steps[{i}]"
        _validate_seconds(step.timeout_seconds, f"{path}.timeout_seconds")
        if step.overflow is not None:
            if i != last:
                raise _bad(path, "an overflow step must be the last step")
            if step.target is not None or step.timeout_seconds is not None:
                raise _bad(path, "an overflow step has no target and no timeout")
            _validate_action(step.overflow, f"{path}.overflow", queue_ids)
            continue
        if step.target is not None and (not isinstance(step.target, str) or not step.target):
            raise _bad(f"{path}.target", "a rule text, or null for any member")
        if step.timeout_seconds is None and i != last:
            raise _bad(f"{path}.timeout_seconds", "required on every step but the last")
        if step.timeout_seconds is not None and i == last:
            raise _bad(
                f"{path}.timeout_seconds", "the last step waits forever (or add an overflow step)"
            )


def validate_agent(agent: AgentDef, queue_ids: Mapping[str, Any]) -> None:
    validate_id(agent.id, "agent.id")
    for skill, level in agent.skills.items():
        _validate_name(skill, f"agent.skills.{skill}")
        if isinstance(level, bool) or not isinstance(level, int):
            raise _bad(f"agent.skills.{skill}", "a level must be an integer")
        if not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
            raise _bad(f"agent.skills.{skill}", f"level {MIN_SKILL_LEVEL}-{MAX_SKILL_LEVEL}")
    for i, team in enumerate(agent.teams):
        _validate_name(team, f"agent.teams[{i}]")
    for i, language in enumerate(agent.languages):
        _validate_name(language, f"agent.languages[{i}]")
    validate_timezone(agent.timezone, "agent.timezone")
    validate_weekly(agent.working_hours, "agent.working_hours")
    for channel, slots in agent.capacity.items():
        _validate_name(channel, f"agent.capacity.{channel}")
        if isinstance(slots, bool) or not isinstance(slots, int) or not 0 <= slots <= 1000:
            raise _bad(f"agent.capacity.{channel}", "an integer 0-1000")
    for held, allowed in agent.blending.items():
        _validate_name(held, f"agent.blending.{held}")
        for i, channel in enumerate(allowed):
            _validate_name(channel, f"agent.blending.{held}[{i}]")
    for queue_id, priority in agent.queues.items():
        if queue_id not in queue_ids:
            raise _bad(f"agent.queues.{queue_id}", f"unknown queue {queue_id!r}")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise _bad(f"agent.queues.{queue_id}", "membership priority must be an integer")
    normalize_json(dict(agent.attributes), "agent.attributes")


def validate_settings(settings: EngineSettings) -> None:
    if settings.missed_state not in ("away", "available"):
        raise _bad("settings.missed_state", "away or available")
    _validate_name(settings.missed_reason, "settings.missed_reason")
    hops = settings.max_overflow_hops
    if isinstance(hops, bool) or not isinstance(hops, int) or not 0 <= hops <= 100:
        raise _bad("settings.max_overflow_hops", "an integer 0-100")
    if not isinstance(settings.rescan_on_tick, bool):
        raise _bad("settings.rescan_on_tick", "must be true or false")
    if not 0 < settings.handle_time_smoothing <= 1:
        raise _bad("settings.handle_time_smoothing", "a fraction in (0, 1]")
    _validate_seconds(
        settings.agent_contact_wrap_up_seconds,
        "settings.agent_contact_wrap_up_seconds",
        allow_zero=True,
    )
    _validate_seconds(settings.tick_seconds, "settings.tick_seconds")
