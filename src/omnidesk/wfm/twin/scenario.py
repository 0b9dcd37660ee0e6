"""The scenario file: pydantic models (extra="forbid") and the YAML reader.

A scenario says when (start, intervals), what routes (queues exactly as the engine's QueueDef,
agents as AgentDef plus count and shifts), who calls (arrival streams per queue and channel,
or a forecast CSV), how customers behave (handle time, patience, answer delay, wrap-up and
contact attributes) and which what-if variants to compare. docs/wfm.md, "Digital twin", is the
reference; `load_scenario` turns a file into a checked `Scenario` or a `ScenarioError` naming
every bad field by its path.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from omnidesk.core.routing.model import EngineSettings
from omnidesk.core.routing.rules import RuleSyntaxError, compile_rule
from omnidesk.wfm.twin.distributions import KINDS, Distribution, PatienceDistribution
from omnidesk.wfm.twin.errors import Issue, ScenarioError, fail, path_text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


def _check_hhmm(text: str) -> str:
    if not _HHMM.fullmatch(text):
        raise ValueError(f"expected a time of day HH:MM, got {text!r}")
    return text


def hhmm_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


# --- routing: queues exactly as the engine's QueueDef ------------------------------------------


class OverflowSpec(_Model):
    kind: Literal["queue", "voicemail", "callback", "disconnect"]
    queue_id: str | None = None
    message: str | None = None


class StepSpec(_Model):
    target: str | None = None
    timeout_seconds: PositiveSeconds | None = None
    overflow: OverflowSpec | None = None

    @field_validator("target")
    @classmethod
    def _compiles(cls, text: str | None) -> str | None:
        if text is not None:
            try:
                compile_rule(text)
            except RuleSyntaxError as exc:
                # str(exc) carries the line and column: "... (line 1, column 21)".
                raise ValueError(str(exc)) from None
        return text


class HoursSpec(_Model):
    timezone: str
    weekly: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    holidays: list[str] = Field(default_factory=list)
    # A country's public holidays close the queue too (checked by the engine: known codes).
    holiday_country: str | None = None
    holiday_subdivision: str | None = None

    _zone = field_validator("timezone")(_check_zone)


class QueueSpec(_Model):
    """Field for field the engine's QueueDef (same names, same defaults)."""

    id: str
    channels: list[str] = Field(min_length=1)
    name: str = ""
    priority: int = 0
    service_level_seconds: PositiveSeconds = 20.0
    service_level_target: float = Field(default=0.8, gt=0, le=1)
    hours: HoursSpec | None = None
    on_closed: OverflowSpec | None = None
    max_wait_seconds: PositiveSeconds | None = None
    on_max_wait: OverflowSpec | None = None
    max_size: int | None = Field(default=None, ge=1)
    on_full: OverflowSpec | None = None
    steps: list[StepSpec] = Field(default_factory=lambda: [StepSpec()], min_length=1)
    aging_per_minute: float = Field(default=0.0, ge=0)
    selection: Literal["longest_idle", "most_skilled", "least_occupied", "round_robin"] = (
        "longest_idle"
    )
    offer_timeout_seconds: PositiveSeconds = 30.0
    wrap_up_seconds: Seconds | None = None
    wrap_up_extension_seconds: PositiveSeconds | None = None
    default_handle_seconds: PositiveSeconds = 180.0
    overflow_waiting_on_close: bool = False


# --- staffing ------------------------------------------------------------------------------


class BreakSpec(_Model):
    start: str  # HH:MM in the agent's time zone, on the shift's day (or after, over midnight)
    minutes: float = Field(gt=0, le=24 * 60)
    # The group's agents start their breaks spread evenly over this many minutes.
    spread_minutes: float = Field(default=0.0, ge=0, le=24 * 60)

    _hhmm = field_validator("start")(_check_hhmm)


class ShiftSpec(_Model):
    """Daily `start`-`end` in the agent's time zone (end before start: over midnight), on
    `days` (default every day); or one absolute shift with ISO 8601 instants."""

    start: str | datetime
    end: str | datetime
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None
    breaks: list[BreakSpec] = Field(default_factory=list)

    @field_validator("start", "end")
    @classmethod
    def _when(cls, value: str | datetime) -> str | datetime:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("an instant needs a UTC offset, e.g. 2025-01-06T08:00:00+01:00")
            return value
        if _HHMM.fullmatch(value):
            return value
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected HH:MM or an ISO 8601 instant, got {value!r}") from None
        if instant.tzinfo is None:
            raise ValueError("an instant needs a UTC offset, e.g. 2025-01-06T08:00:00+01:00")
        return instant

    @model_validator(mode="after")
    def _same_form(self) -> ShiftSpec:
        daily = isinstance(self.start, str), isinstance(self.end, str)
        if daily[0] != daily[1]:
            raise ValueError("start and end are both HH:MM (daily) or both instants")
        if not daily[0]:
            assert isinstance(self.start, datetime) and isinstance(self.end, datetime)
            if self.end <= self.start:
                raise ValueError("end must be after start")
            if self.days is not None:
                raise ValueError("days only applies to daily (HH:MM) shifts")
        elif self.start == self.end:
            raise ValueError("a shift must not be empty")
        return self


class AgentSpec(_Model):
    """AgentDef's fields, plus `count` identical agents (ids `<id>-1` … when count > 1) and
    their `shifts` (none: logged in for the whole run)."""

    id: str
    count: int = Field(default=1, ge=1, le=100_000)
    name: str = ""
    skills: dict[str, int] = Field(default_factory=dict)
    teams: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    timezone: str | None = None  # default: the scenario's time zone
    working_hours: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    capacity: dict[str, int] = Field(min_length=1)
    blending: dict[str, list[str]] = Field(default_factory=dict)
    queues: dict[str, int] = Field(min_length=1)
    attributes: dict[str, Any] = Field(default_factory=dict)
    shifts: list[ShiftSpec] | None = None

    @field_validator("queues", mode="before")
    @classmethod
    def _queue_list(cls, value: Any) -> Any:
        # A plain list of queue ids is membership priority 0 in each.
        return {q: 0 for q in value} if isinstance(value, list) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)


# --- customers -----------------------------------------------------------------------------


class ProfileSpec(_Model):
    """How the customers of a stream behave; fields left out come from `defaults`."""

    handle: Distribution | None = None
    patience: PatienceDistribution | None = None
    answer_delay: Distribution | None = None
    wrap_up: Distribution | None = None  # only for queues whose wrap_up_seconds is null
    attributes: dict[str, dict[str | int | float | bool, Share]] | None = None
    priority: dict[int, Share] | None = None

    @field_validator("attributes")
    @classmethod
    def _attribute_shares(
        cls, value: dict[str, dict[Any, float]] | None
    ) -> dict[str, dict[Any, float]] | None:
        for name, shares in (value or {}).items():
            _check_shares(shares, f"{name}: ")
        return value

    @field_validator("priority")
    @classmethod
    def _priority_shares(cls, value: dict[int, float] | None) -> dict[int, float] | None:
        if value is not None:
            _check_shares(value, "")
        return value


def _check_shares(shares: dict[Any, float], prefix: str) -> None:
    if not shares:
        raise ValueError(f"{prefix}at least one value with its share")
    total = sum(shares.values())
    if total <= 0:
        raise ValueError(f"{prefix}the shares must add up to more than 0")


class StreamSpec(ProfileSpec):
    """Contacts arriving at one queue on one channel: `rates` (contacts per interval: one
    number for every interval, or a list with one per interval) or `hourly` (contacts per hour
    from each local time of day on), or neither when a forecast gives the volumes."""

    queue: str
    channel: str
    rates: float | list[float] | None = None
    hourly: dict[str, float] | None = None

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, value: Any) -> Any:
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0:
                where = f" (interval {i})" if isinstance(value, list) else ""
                raise ValueError(f"contacts per interval must be numbers >= 0{where}")
        return value

    @field_validator("hourly")
    @classmethod
    def _hourly(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            if not value:
                raise ValueError("at least one time of day")
            for key, volume in value.items():
                _check_hhmm(key)
                if not volume >= 0:
                    raise ValueError(f"{key}: contacts per hour must be >= 0")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> StreamSpec:
        if self.rates is not None and self.hourly is not None:
            raise ValueError("give rates or hourly, not both")
        return self


class ForecastSpec(_Model):
    """A forecast CSV (interval_start,queue_id,channel,volume[,aht]); `path` is relative to
    the scenario file. use_aht: scale handle times so their mean is the row's aht."""

    path: str
    use_aht: bool = True


# The server's defaults: a scenario runs like production unless its `engine:` says otherwise.
_SERVER = EngineSettings()


class EngineSpec(_Model):
    """The routing engine's settings (EngineSettings, field for field, with its defaults,
    which the server uses). Ranges are checked by the engine itself when the plan is built."""

    missed_state: Literal["away", "available"] = _SERVER.missed_state
    missed_reason: str = _SERVER.missed_reason
    max_overflow_hops: int = _SERVER.max_overflow_hops
    rescan_on_tick: bool = _SERVER.rescan_on_tick
    handle_time_smoothing: float = _SERVER.handle_time_smoothing
    agent_contact_wrap_up_seconds: float | None = _SERVER.agent_contact_wrap_up_seconds
    # How often a Tick retries rules that read the clock (only sent when a step's rule does).
    tick_seconds: float = _SERVER.tick_seconds

    def settings(self) -> EngineSettings:
        return EngineSettings(**self.model_dump())


class VariantSpec(_Model):
    """A what-if: queues and agent groups merged by id into the baseline (the fields given
    replace the baseline's; a new id adds one; `remove: true` drops an agent group), and
    engine settings. Customers are not changed, so every variant sees the same ones."""

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    queues: list[dict[str, Any]] = Field(default_factory=list)
    agents: list[dict[str, Any]] = Field(default_factory=list)
    engine: dict[str, Any] | None = None

    @field_validator("queues", "agents")
    @classmethod
    def _ids(cls, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, item in enumerate(items):
            if not isinstance(item.get("id"), str):
                raise ValueError(f"item {i}: every entry names the id it changes or adds")
        return items


class Scenario(_Model):
    name: str = "scenario"
    description: str = ""
    start: datetime
    timezone: str = "UTC"
    interval_minutes: int = Field(default=30, ge=1, le=24 * 60)
    intervals: int | None = Field(default=None, ge=1, le=100_000)
    duration_hours: float | None = Field(default=None, gt=0, le=24 * 366)
    warmup_minutes: float = Field(default=0.0, ge=0)
    # After the last interval, contacts still in routing are followed this long (answered,
    # abandoned) before the run stops; those left then count as unanswered.
    drain_minutes: float = Field(default=240.0, ge=0)
    short_abandon_seconds: Seconds = 5.0
    # How the simulated agents behave, not the engine: after a missed offer sent an agent away
    # (engine.missed_state "away"), the twin makes it available again after this long, as a
    # person at a desk would.
    missed_away_seconds: PositiveSeconds = 30.0
    seed: int = Field(default=0, ge=0)
    replications: int = Field(default=10, ge=1, le=10_000)
    engine: EngineSpec = Field(default_factory=EngineSpec)
    queues: list[QueueSpec] = Field(min_length=1)
    agents: list[AgentSpec] = Field(default_factory=list)
    defaults: ProfileSpec = Field(default_factory=ProfileSpec)
    contacts: list[StreamSpec] = Field(default_factory=list)
    forecast: ForecastSpec | None = None
    variants: list[VariantSpec] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("needs a UTC offset, e.g. 2025-01-06T06:00:00+01:00")
        return value

    _zone = field_validator("timezone")(_check_zone)

    @model_validator(mode="after")
    def _one_length(self) -> Scenario:
        if (self.intervals is None) == (self.duration_hours is None):
            raise ValueError("give intervals (a count) or duration_hours, exactly one")
        return self

    @property
    def interval_count(self) -> int:
        if self.intervals is not None:
            return self.intervals
        assert self.duration_hours is not None
        count = self.duration_hours * 60 / self.interval_minutes
        return max(1, round(count))


# --- reading ---------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML with the YAML 1.2 core scalars: `12:30` stays text (YAML 1.1 reads it as the
    number 750) and `no`/`on` stay text (a Norwegian language code, not false)."""


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (
        "timestamp",
        r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}"
        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
        r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$",
        "0123456789",
    ),
):
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


def read_yaml(text: str, source: str = "scenario") -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise fail(source, f"{where}not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise fail(source, "the scenario must be a mapping of fields")
    return data


_DIST_FIELDS = frozenset({"handle", "patience", "answer_delay", "wrap_up"})


def _strip_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # A discriminated union adds the tag to the error location ("handle.lognormal.sd");
    # the file has no such level, so leave it out.
    return tuple(
        p for i, p in enumerate(loc) if not (i and p in KINDS and loc[i - 1] in _DIST_FIELDS)
    )


def _issues(exc: ValidationError, prefix: str = "") -> list[Issue]:
    issues: list[Issue] = []
    for error in exc.errors():
        loc = _strip_tags(tuple(error["loc"]))
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "required"
        path = path_text(loc)
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        issues.append((path, message))
    return issues


def validate_scenario(data: dict[str, Any], prefix: str = "") -> Scenario:
    """The pydantic model for the raw mapping, or a ScenarioError listing every bad field."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_issues(exc, prefix)) from None


def load_scenario_data(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(str(path), f"cannot read the scenario: {exc.strerror or exc}") from None
    return read_yaml(text, str(path))
