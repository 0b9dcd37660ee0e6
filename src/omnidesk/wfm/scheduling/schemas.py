"""API and scenario shapes of scheduling (pydantic, unknown fields refused), and their conversion
into the scheduler's plain inputs. The CLI's YAML scenario uses the same shapes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from omnidesk.platform.fields import NAME_PATTERN, Id, ShortName
from omnidesk.platform.schemas import Input
from omnidesk.wfm.erlang import ErlangInputError
from omnidesk.wfm.scheduling.errors import SchedulingInputError
from omnidesk.wfm.scheduling.inputs import (
    DAY,
    AgentSpec,
    BreakRule,
    Horizon,
    ShiftTemplate,
    Weights,
    parse_hhmm,
    zone,
)
from omnidesk.wfm.staffing import staff

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]
# Names as everywhere in the API (not blank, no surrounding spaces); skills as routing has them.
Name = ShortName
SkillName = Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]
MAX_API_TIME_LIMIT = 60.0


def _zone_name(value: str | None) -> str | None:
    if value is not None:
        try:
            zone(value, "timezone")
        except SchedulingInputError as exc:
            raise ValueError(exc.message) from None
    return value


class HorizonIn(Input):
    start: date
    days: Annotated[int, Field(ge=1, le=31)]
    interval_minutes: Annotated[int, Field(ge=5, le=1440)] = 30


class BreakRuleIn(Input):
    """A break of `minutes` lying wholly between `after_minutes` and `before_minutes` after the
    shift starts."""

    minutes: Annotated[int, Field(gt=0, le=DAY)]
    after_minutes: Annotated[int, Field(ge=0, le=DAY)]
    before_minutes: Annotated[int, Field(gt=0, le=DAY)]
    paid: bool = True


class StartRangeIn(Input):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    first: HHMM = Field(alias="from")
    last: HHMM = Field(alias="to")
    every_minutes: Annotated[int, Field(ge=5, le=DAY)] = 30


class ShiftTemplateIn(Input):
    name: Name
    length_minutes: Annotated[int, Field(gt=0, le=DAY)]
    start_times: Annotated[list[HHMM], Field(min_length=1, max_length=288)] | StartRangeIn
    breaks: Annotated[list[BreakRuleIn], Field(max_length=8)] = Field(default_factory=list)
    # None: each agent's own time zone.
    timezone: str | None = None

    _zone = field_validator("timezone")(_zone_name)


class StaffingIn(Input):
    """Agents required per interval from contacts and handle time (omnidesk.wfm.staffing)."""

    model: Literal["c", "a"] = "c"
    calls: Annotated[list[Annotated[float, Field(ge=0)]], Field(min_length=1)]
    aht: (
        Annotated[float, Field(gt=0)]
        | Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]
    )
    answer_time: Annotated[float, Field(ge=0)] = 20.0
    target_sl: Annotated[float, Field(gt=0, lt=1)] | None = 0.8
    target_asa: Annotated[float, Field(gt=0)] | None = None
    max_occupancy: Annotated[float, Field(gt=0, le=1)] | None = None
    max_abandon: Annotated[float, Field(gt=0, lt=1)] | None = None
    patience: Annotated[float, Field(gt=0)] | None = None
    shrinkage: Annotated[float, Field(ge=0, lt=1)] = 0.0


Requirement = dict[SkillName, list[Annotated[int, Field(ge=0, le=100_000)]] | StaffingIn]


class WeightsIn(Input):
    under: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    over: Annotated[int, Field(ge=0, le=1_000_000)] = 10
    hours_deviation: Annotated[int, Field(ge=0, le=1_000_000)] = 1


class RulesIn(Input):
    """An agent's scheduling rules (contract, availability in local time, rest)."""

    # Weekday -> local [start, end] windows ("22:00"-"06:00" runs overnight); None: any time.
    availability: dict[Weekday, list[tuple[HHMM, HHMM]]] | None = None
    unavailable_dates: Annotated[list[date], Field(max_length=366)] = Field(default_factory=list)
    min_hours_per_week: Annotated[float, Field(ge=0, le=168)] = 0.0
    # Checked against the minimum even when left at the default.
    max_hours_per_week: Annotated[float, Field(ge=0, le=168, validate_default=True)] = 40.0
    target_hours_per_week: Annotated[float, Field(ge=0, le=168)] | None = None
    max_shifts_per_week: Annotated[int, Field(ge=0, le=7)] = 5
    min_rest_hours: Annotated[float, Field(ge=0, le=48)] = 11.0
    max_consecutive_days: Annotated[int, Field(ge=1, le=31)] = 5
    # Names of the shift templates this agent may work; None: all.
    shift_templates: list[Name] | None = None

    @field_validator("max_hours_per_week")
    @classmethod
    def _max_above_min(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min_hours_per_week")
        if low is not None and value < low:
            raise ValueError(f"must be >= min_hours_per_week ({low:g})")
        return value

    @field_validator("target_hours_per_week")
    @classmethod
    def _target_inside(cls, value: float | None, info: ValidationInfo) -> float | None:
        low, high = info.data.get("min_hours_per_week"), info.data.get("max_hours_per_week")
        if value is not None and low is not None and high is not None and not low <= value <= high:
            raise ValueError("must lie between min_hours_per_week and max_hours_per_week")
        return value


class ProfileIn(RulesIn):
    """Stored per user. Skills and time zone come from the routing profile when it exists."""

    timezone: str | None = None
    skills: list[SkillName] | None = None

    _zone = field_validator("timezone")(_zone_name)


class ScenarioAgentIn(RulesIn):
    id: Id
    timezone: str = "UTC"
    skills: list[SkillName] = Field(default_factory=list)

    _zone = field_validator("timezone")(_zone_name)


class ScheduleIn(Input):
    name: Annotated[str, Field(max_length=200)] = ""
    horizon: HorizonIn
    requirement: Requirement
    shift_templates: Annotated[list[ShiftTemplateIn], Field(min_length=1, max_length=50)]
    # Users to schedule; None: everyone with a scheduling profile whom the caller may see.
    agents: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)] | None = None
    weights: WeightsIn = Field(default_factory=WeightsIn)
    time_limit_seconds: Annotated[float, Field(gt=0, le=MAX_API_TIME_LIMIT)] = 10.0


class ScenarioIn(Input):
    """A whole problem in one document (the CLI's YAML)."""

    horizon: HorizonIn
    requirement: Requirement
    shift_templates: Annotated[list[ShiftTemplateIn], Field(min_length=1)]
    agents: Annotated[list[ScenarioAgentIn], Field(min_length=1)]
    weights: WeightsIn = Field(default_factory=WeightsIn)


# --- conversion -----------------------------------------------------------------------------


def horizon_of(h: HorizonIn) -> Horizon:
    horizon = Horizon(h.start, h.days, h.interval_minutes)
    if DAY % h.interval_minutes:
        raise SchedulingInputError("horizon.interval_minutes", "must divide a day (1440)")
    return horizon


def _per_interval(values: Sequence[float], horizon: Horizon, path: str) -> list[float]:
    """A full horizon of values, or one day's worth repeated every day."""
    per_day = DAY // horizon.interval_minutes
    if len(values) == horizon.intervals:
        return list(values)
    if len(values) == per_day:
        return list(values) * horizon.days
    daily = f" or {per_day} (one day, repeated)" if horizon.days > 1 else ""
    raise SchedulingInputError(
        path, f"give {horizon.intervals} values (one per interval){daily}; got {len(values)}"
    )


def _staffed(s: StaffingIn, horizon: Horizon, path: str) -> list[int]:
    calls = _per_interval(s.calls, horizon, f"{path}.calls")
    aht = s.aht if isinstance(s.aht, float) else _per_interval(s.aht, horizon, f"{path}.aht")
    try:
        result = staff(
            s.model,
            calls=calls,
            interval_seconds=horizon.interval_minutes * 60,
            aht=aht,
            answer_time=s.answer_time,
            target_sl=s.target_sl,
            target_asa=s.target_asa,
            max_abandon=s.max_abandon,
            max_occupancy=s.max_occupancy,
            shrinkage=s.shrinkage,
            patience=s.patience,
            allow_zero_calls=True,
        )
    except ErlangInputError as exc:
        raise SchedulingInputError(f"{path}.{exc.field}", exc.message) from None
    return [int(n) for n in result.agents_with_shrinkage]


def requirement_of(req: Requirement, horizon: Horizon) -> dict[str, list[int]]:
    result: dict[str, list[int]] = {}
    for skill, value in req.items():
        path = f"requirement.{skill}"
        if isinstance(value, StaffingIn):
            result[skill] = _staffed(value, horizon, path)
        else:
            result[skill] = [int(v) for v in _per_interval(value, horizon, path)]
    return result


def template_of(t: ShiftTemplateIn, index: int) -> ShiftTemplate:
    path = f"shift_templates.{index}.start_times"
    if isinstance(t.start_times, StartRangeIn):
        first = parse_hhmm(t.start_times.first, f"{path}.from")
        last = parse_hhmm(t.start_times.last, f"{path}.to")
        if last < first:
            raise SchedulingInputError(f"{path}.to", "must not be before 'from'")
        starts = tuple(range(first, last + 1, t.start_times.every_minutes))
    else:
        starts = tuple(parse_hhmm(s, f"{path}.{i}") for i, s in enumerate(t.start_times))
    breaks = tuple(
        BreakRule(b.minutes, b.after_minutes, b.before_minutes, b.paid) for b in t.breaks
    )
    return ShiftTemplate(t.name, t.length_minutes, starts, breaks, t.timezone)


def templates_of(templates: Sequence[ShiftTemplateIn]) -> tuple[ShiftTemplate, ...]:
    return tuple(template_of(t, i) for i, t in enumerate(templates))


def agent_of(
    agent_id: str, timezone: str, skills: Sequence[str], rules: RulesIn, path: str
) -> AgentSpec:
    availability: dict[str, tuple[tuple[int, int], ...]] | None = None
    if rules.availability is not None:
        availability = {
            day: tuple(
                (
                    parse_hhmm(a, f"{path}.availability.{day}.{i}"),
                    parse_hhmm(b, f"{path}.availability.{day}.{i}", allow_24=True),
                )
                for i, (a, b) in enumerate(windows)
            )
            for day, windows in rules.availability.items()
        }
    return AgentSpec(
        id=agent_id,
        timezone=timezone,
        skills=frozenset(skills),
        availability=availability,
        unavailable_dates=frozenset(rules.unavailable_dates),
        min_hours_per_week=rules.min_hours_per_week,
        max_hours_per_week=rules.max_hours_per_week,
        target_hours_per_week=rules.target_hours_per_week,
        max_shifts_per_week=rules.max_shifts_per_week,
        min_rest_hours=rules.min_rest_hours,
        max_consecutive_days=rules.max_consecutive_days,
        templates=None if rules.shift_templates is None else frozenset(rules.shift_templates),
    )


def weights_of(w: WeightsIn) -> Weights:
    return Weights(w.under, w.over, w.hours_deviation)


def rules_dict(rules: RulesIn) -> dict[str, object]:
    """The rules as stored (JSON-ready)."""
    return {
        name: value
        for name, value in rules.model_dump(mode="json").items()
        if name in RulesIn.model_fields
    }


def split_field(field: str) -> tuple[int, str] | None:
    """'agents.3.min_hours_per_week' -> (3, 'min_hours_per_week')."""
    parts = field.split(".", 2)
    if len(parts) == 3 and parts[0] == "agents" and parts[1].isdigit():
        return int(parts[1]), parts[2]
    return None


# --- what the routes answer (declared in /openapi.json; the service builds the JSON) ---------


class EffectiveProfileOut(BaseModel):
    timezone: str
    timezone_from: str
    skills: list[str]
    skills_from: str


class ProfileOut(BaseModel):
    """The stored rules (RulesIn's fields) and what scheduling will use."""

    model_config = ConfigDict(extra="allow")

    user_id: uuid.UUID
    timezone: str | None
    skills: list[str] | None
    effective: EffectiveProfileOut
    updated_at: datetime | None


class BreakOut(BaseModel):
    start: datetime
    end: datetime
    paid: bool


class ShiftOut(BaseModel):
    template: str
    start: datetime
    end: datetime
    breaks: list[BreakOut]
    paid_minutes: int


class HorizonOut(BaseModel):
    start: date
    days: int
    interval_minutes: int


class ScheduleHeadOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    created_by: uuid.UUID | None
    horizon: HorizonOut
    status: str
    objective: float | None
    best_bound: float | None
    wall_seconds: float | None
    under_minutes: float | None
    over_minutes: float | None


class ScheduleSummaryOut(ScheduleHeadOut):
    agents: int


class ScheduleAgentOut(BaseModel):
    user_id: uuid.UUID
    timezone: str
    skills: list[str]
    paid_minutes_by_week: list[int]
    target_minutes_by_week: list[int]
    shifts: list[ShiftOut]


class ScheduleOut(ScheduleHeadOut):
    """The agents the caller may see; `coverage` (required and scheduled agents per interval
    and skill) for supervisors and admins only."""

    summary: dict[str, Any]
    agents: list[ScheduleAgentOut]
    coverage: dict[str, Any] | None = None


class AgentScheduleOut(BaseModel):
    schedule_id: uuid.UUID
    user_id: uuid.UUID
    timezone: str
    agent_timezone: str
    paid_minutes_by_week: list[int]
    target_minutes_by_week: list[int]
    shifts: list[ShiftOut]


class AdherencePieceOut(BaseModel):
    start: datetime
    end: datetime
    scheduled: str
    actual: str
    state: str
    reason: str | None


class OutOfAdherenceOut(BaseModel):
    start: datetime
    end: datetime
    seconds: float
    pieces: list[AdherencePieceOut]


class AdherenceReportOut(BaseModel):
    start: datetime
    end: datetime
    grace_seconds: float
    adherence: float | None
    raw_adherence: float | None
    conformance: float | None
    scheduled_seconds: float
    in_adherence_seconds: float
    raw_in_adherence_seconds: float
    scheduled_work_seconds: float
    worked_seconds: float
    out_of_adherence: list[OutOfAdherenceOut]


class AdherenceOut(BaseModel):
    """`report` is null when the user is in no schedule."""

    schedule_id: uuid.UUID | None
    user_id: uuid.UUID
    report: AdherenceReportOut | None
