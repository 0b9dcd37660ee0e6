"""From a checked scenario to a `Plan` the simulator runs: engine definitions, agents with
their log-in periods, arrival streams with expected volumes per interval.

Every definition goes through a real engine here once, so what the engine would refuse
(an overflow to an unknown queue, a bad weekday in hours, a membership of an unknown queue, a
rule that does not compile) is reported at load time with the scenario's own field path.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from omnidesk.core.routing import (
    AddAgent,
    AddQueue,
    AgentDef,
    Engine,
    EngineSettings,
    QueueDef,
    RoutingError,
    UpdateQueue,
)
from omnidesk.core.routing.clock import to_us
from omnidesk.core.routing.rules import compile_rule
from omnidesk.wfm.twin.distributions import AnyDistribution, Exponential
from omnidesk.wfm.twin.errors import Issue, ScenarioError, fail
from omnidesk.wfm.twin.forecast import read_forecast
from omnidesk.wfm.twin.scenario import (
    WEEKDAYS,
    AgentSpec,
    ProfileSpec,
    QueueSpec,
    Scenario,
    ShiftSpec,
    StreamSpec,
    hhmm_minutes,
)

FloatArray = NDArray[np.float64]
US = 1_000_000


@dataclass(frozen=True)
class Stream:
    """Contacts of one queue and channel, with how its customers behave."""

    index: int
    queue_id: str
    channel: str
    key: int  # stable id of (queue, channel): seeds this stream's random numbers
    volumes: FloatArray  # expected contacts per interval
    aht: FloatArray | None  # forecast AHT per interval (NaN: none given)
    handle: AnyDistribution
    patience: AnyDistribution | None
    answer_delay: AnyDistribution | None
    wrap_up: AnyDistribution | None
    attributes: tuple[tuple[str, tuple[Any, ...], FloatArray], ...]
    priority: tuple[tuple[int, ...], FloatArray] | None


@dataclass(frozen=True)
class Group:
    """`count` identical agents; `periods` are the log-in periods (None: the whole run)."""

    index: int
    id: str
    agents: tuple[AgentDef, ...]
    periods: tuple[tuple[int, int], ...] | None
    breaks: tuple[tuple[tuple[int, int], ...], ...]  # per agent: (start, end) of each break


@dataclass(frozen=True)
class Plan:
    name: str
    scenario: Scenario
    start_us: int
    interval_us: int
    intervals: int
    end_us: int  # end of the last interval
    warmup_end_us: int
    drain_end_us: int
    short_abandon_us: int
    queues: tuple[QueueDef, ...]
    engine_settings: EngineSettings  # the server's, with the scenario's `engine:` changes
    groups: tuple[Group, ...]
    streams: tuple[Stream, ...]
    sl_us: dict[str, int]  # service-level threshold per queue
    uses_clock: bool  # a step's rule reads the clock: the loop sends a Tick every tick_us
    tick_us: int
    missed_away_us: int
    stream_of: dict[tuple[str, str], int] = field(default_factory=dict)

    def interval_start(self, index: int) -> datetime:
        return self.scenario.start + timedelta(microseconds=index * self.interval_us)


def stable_key(*parts: str) -> int:
    # Python's hash() changes between processes; seeds must not.
    return zlib.crc32("\x1f".join(parts).encode("utf-8"))


# --- queues ----------------------------------------------------------------------------------


def _queue_def(spec: QueueSpec) -> QueueDef:
    return QueueDef.from_dict(spec.model_dump(mode="json"))


def _without_queue_overflows(data: dict[str, Any]) -> dict[str, Any]:
    """The definition with every overflow *to a queue* made a disconnect: added first, so that
    queues can overflow into each other (even in a cycle) before all of them exist."""
    out = dict(data)
    for name in ("on_closed", "on_max_wait", "on_full"):
        action = out.get(name)
        if action is not None and action["kind"] == "queue":
            out[name] = {"kind": "disconnect", "queue_id": None, "message": None}
    steps = []
    for step in out["steps"]:
        action = step.get("overflow")
        if action is not None and action["kind"] == "queue":
            step = {**step, "overflow": {"kind": "disconnect", "queue_id": None, "message": None}}
        steps.append(step)
    out["steps"] = steps
    return out


def _engine_issue(error: RoutingError, prefix: str, path: str) -> Issue:
    where = str(error.details.get("field") or "")
    message = error.message
    if where and message.startswith(f"{where}: "):
        message = message[len(where) + 2 :]
    if where.startswith(f"{prefix}."):
        return f"{path}{where[len(prefix) :]}", message
    if where in ("", prefix):
        return path, message
    return f"{path}.{where}", message


def install(engine: Engine, queues: tuple[QueueDef, ...], now: datetime) -> None:
    """Add the queues to an engine in two passes (see `_without_queue_overflows`)."""
    for i, queue in enumerate(queues):
        data = queue.to_dict()
        first = _without_queue_overflows(data)
        try:
            engine.handle(AddQueue(QueueDef.from_dict(first)), now)
        except RoutingError as error:
            raise ScenarioError([_engine_issue(error, "queue", f"queues[{i}]")]) from None
    for i, queue in enumerate(queues):
        data = queue.to_dict()
        if _without_queue_overflows(data) != data:
            try:
                engine.handle(UpdateQueue(queue), now)
            except RoutingError as error:
                raise ScenarioError([_engine_issue(error, "queue", f"queues[{i}]")]) from None


# --- agents and shifts ---------------------------------------------------------------------


def _local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    # Wall-clock time on that date (24:00 is the next midnight); DST gaps move forward.
    minutes = hhmm_minutes(hhmm)
    extra, minutes = divmod(minutes, 24 * 60)
    return datetime.combine(
        day + timedelta(days=extra), time(minutes // 60, minutes % 60), tzinfo=zone
    )


def _shift_occurrences(
    shift: ShiftSpec, zone: ZoneInfo, first: datetime, last: datetime
) -> list[tuple[datetime, datetime]]:
    if isinstance(shift.start, datetime):
        assert isinstance(shift.end, datetime)
        return [(shift.start, shift.end)]
    assert isinstance(shift.end, str)
    out = []
    day = first.astimezone(zone).date() - timedelta(days=1)
    end_day = last.astimezone(zone).date()
    while day <= end_day:
        if shift.days is None or WEEKDAYS[day.weekday()] in shift.days:
            begin = _local(day, shift.start, zone)
            over_midnight = hhmm_minutes(shift.end) <= hhmm_minutes(shift.start)
            finish = _local(day + timedelta(days=1 if over_midnight else 0), shift.end, zone)
            out.append((begin, finish))
        day += timedelta(days=1)
    return out


def _break_in(begin: datetime, finish: datetime, start: str, zone: ZoneInfo) -> datetime | None:
    local_day = begin.astimezone(zone).date()
    for offset in (0, 1):
        at = _local(local_day + timedelta(days=offset), start, zone)
        if begin <= at < finish:
            return at
    return None


def _periods(
    spec: AgentSpec, path: str, zone: ZoneInfo, first: datetime, last: datetime
) -> tuple[tuple[tuple[int, int], ...] | None, tuple[tuple[tuple[int, int], ...], ...]]:
    """The group's log-in periods and each agent's breaks, in microseconds."""
    if spec.shifts is None:
        return None, ((),) * spec.count
    periods: list[tuple[int, int]] = []
    breaks: list[list[tuple[int, int]]] = [[] for _ in range(spec.count)]
    lo, hi = to_us(first), to_us(last)
    for s, shift in enumerate(spec.shifts):
        for begin, finish in _shift_occurrences(shift, zone, first, last):
            shift_end = to_us(finish)
            for b, brk in enumerate(shift.breaks):
                at = _break_in(begin, finish, brk.start, zone)
                if at is None:
                    raise fail(
                        f"{path}.shifts[{s}].breaks[{b}].start",
                        f"{brk.start} is not within the shift",
                    )
                # Agent k of n starts its break k/n of the spread later, so that a group
                # does not leave the phones all at once.
                spread, length = round(brk.spread_minutes * 60 * US), round(brk.minutes * 60 * US)
                for k in range(spec.count):
                    b0 = to_us(at) + spread * k // spec.count
                    b1 = min(b0 + length, shift_end)
                    if b0 < b1 and b1 > lo and b0 < hi:
                        breaks[k].append((b0, b1))
            p0, p1 = to_us(begin), shift_end
            if p1 > lo and p0 < hi:
                periods.append((max(p0, lo), min(p1, hi)))
    # Overlapping shifts of one group are one log-in period.
    merged: list[tuple[int, int]] = []
    for p0, p1 in sorted(periods):
        if merged and p0 <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], p1))
        else:
            merged.append((p0, p1))
    return tuple(merged), tuple(tuple(sorted(b)) for b in breaks)


def _agent_defs(spec: AgentSpec, timezone: str) -> tuple[AgentDef, ...]:
    data = spec.model_dump(mode="json", exclude={"count", "shifts"})
    data["timezone"] = spec.timezone or timezone
    ids = [spec.id] if spec.count == 1 else [f"{spec.id}-{k}" for k in range(1, spec.count + 1)]
    template = AgentDef.from_dict({**data, "id": ids[0]})
    # Identical but for the id; replace() skips decoding the same mapping count times.
    return (template, *(dataclasses.replace(template, id=agent_id) for agent_id in ids[1:]))


# --- arrival streams -----------------------------------------------------------------------


def _hourly_volumes(
    hourly: dict[str, float], plan_start: datetime, interval: timedelta, intervals: int, zone: str
) -> FloatArray:
    """Contacts per interval from contacts per hour by local time of day: each minute of an
    interval carries the rate in force at its local time (the last key at or before it,
    wrapping round midnight), so intervals that straddle a change get the mix."""
    keys = sorted((hhmm_minutes(k) % (24 * 60), v) for k, v in hourly.items())
    per_minute = np.empty(24 * 60)
    for minute in range(24 * 60):
        current = keys[-1][1]
        for start, value in keys:
            if start <= minute:
                current = value
        per_minute[minute] = current / 60.0
    tz = ZoneInfo(zone)
    out = np.zeros(intervals)
    minutes = max(1, round(interval.total_seconds() / 60))
    step = interval / minutes
    for k in range(intervals):
        total = 0.0
        for m in range(minutes):
            local = (plan_start + interval * k + step * (m + 0.5)).astimezone(tz)
            total += per_minute[local.hour * 60 + local.minute] * step.total_seconds() / 60
        out[k] = total
    return out


def _choices(shares: dict[Any, float]) -> tuple[tuple[Any, ...], FloatArray]:
    values = tuple(shares)
    weights = np.asarray([shares[v] for v in values], dtype=np.float64)
    return values, weights / weights.sum()


def _merge(stream: ProfileSpec | None, defaults: ProfileSpec) -> dict[str, Any]:
    """The stream's profile, each field it leaves out taken from `defaults`."""
    out = {}
    for name in ("handle", "patience", "answer_delay", "wrap_up", "attributes", "priority"):
        value = None if stream is None else getattr(stream, name)
        out[name] = getattr(defaults, name) if value is None else value
    return out


def _streams(scenario: Scenario, base_dir: Path | None, interval: timedelta) -> tuple[Stream, ...]:
    n = scenario.interval_count
    served = {q.id: tuple(q.channels) for q in scenario.queues}
    issues: list[Issue] = []
    specs: dict[tuple[str, str], tuple[int, StreamSpec]] = {}
    for i, spec in enumerate(scenario.contacts):
        path = f"contacts[{i}]"
        if spec.queue not in served:
            issues.append((f"{path}.queue", f"unknown queue {spec.queue!r}"))
        elif spec.channel not in served[spec.queue]:
            issues.append((f"{path}.channel", f"queue {spec.queue!r} does not serve it"))
        elif (spec.queue, spec.channel) in specs:
            issues.append((path, f"a second stream for {spec.queue}/{spec.channel}"))
        else:
            specs[(spec.queue, spec.channel)] = (i, spec)
        if isinstance(spec.rates, list) and len(spec.rates) != n:
            issues.append((f"{path}.rates", f"{len(spec.rates)} values for {n} intervals"))
        if spec.rates is None and spec.hourly is None and scenario.forecast is None:
            issues.append((path, "give rates or hourly (or a forecast for the scenario)"))
    if issues:
        raise ScenarioError(issues)

    volumes: dict[tuple[str, str], FloatArray] = {}
    ahts: dict[tuple[str, str], FloatArray] = {}
    for key, (_, spec) in specs.items():
        if spec.hourly is not None:
            volumes[key] = _hourly_volumes(
                spec.hourly, scenario.start, interval, n, scenario.timezone
            )
        elif spec.rates is not None:
            rates = spec.rates if isinstance(spec.rates, list) else [spec.rates] * n
            volumes[key] = np.asarray(rates, dtype=np.float64)
    if scenario.forecast is not None:
        source = Path(scenario.forecast.path)
        if base_dir is not None and not source.is_absolute():
            source = base_dir / source
        from_forecast: set[tuple[str, str]] = set()
        for cell in read_forecast(
            source,
            start=scenario.start,
            interval=interval,
            intervals=n,
            channels=served,
            timezone=scenario.timezone,
        ):
            key = (cell.queue_id, cell.channel)
            if key in volumes and key not in from_forecast:
                raise fail(
                    f"contacts[{specs[key][0]}]",
                    f"{key[0]}/{key[1]} has rates and forecast rows; keep one of them",
                )
            from_forecast.add(key)
            volumes.setdefault(key, np.zeros(n))[cell.interval] = cell.volume
            if cell.aht is not None and scenario.forecast.use_aht:
                ahts.setdefault(key, np.full(n, np.nan))[cell.interval] = cell.aht

    streams: list[Stream] = []
    for key in sorted(volumes, key=lambda k: (specs[k][0] if k in specs else 10**9, k)):
        found: tuple[int, StreamSpec | None] = specs.get(key, (-1, None))
        index, stream_spec = found
        merged = _merge(stream_spec, scenario.defaults)
        path = f"contacts[{index}]" if index >= 0 else "defaults"
        handle = merged["handle"]
        aht = ahts.get(key)
        if handle is None:
            if aht is None:
                raise fail(f"{path}.handle", f"{key[0]}/{key[1]}: no handle time distribution")
            handle = Exponential(kind="exponential", mean=float(np.nanmean(aht)))
        attributes = tuple(
            (name, *_choices(shares))
            for name, shares in sorted((merged["attributes"] or {}).items())
        )
        priority = _choices(merged["priority"]) if merged["priority"] else None
        streams.append(
            Stream(
                index=len(streams),
                queue_id=key[0],
                channel=key[1],
                key=stable_key(*key),
                volumes=volumes[key],
                aht=aht,
                handle=handle,
                patience=merged["patience"],
                answer_delay=merged["answer_delay"],
                wrap_up=merged["wrap_up"],
                attributes=attributes,
                priority=priority,
            )
        )
    return tuple(streams)


# --- the plan ----------------------------------------------------------------------------------


def plan(scenario: Scenario, base_dir: Path | None = None, *, name: str = "baseline") -> Plan:
    issues: list[Issue] = []
    queue_ids = [q.id for q in scenario.queues]
    for i, queue_id in enumerate(queue_ids):
        if queue_ids.index(queue_id) != i:
            issues.append((f"queues[{i}].id", f"duplicate queue id {queue_id!r}"))
    group_ids = [a.id for a in scenario.agents]
    for i, group_id in enumerate(group_ids):
        if group_ids.index(group_id) != i:
            issues.append((f"agents[{i}].id", f"duplicate agent id {group_id!r}"))
    total_agents = sum(a.count for a in scenario.agents)
    if total_agents > 100_000:
        issues.append(("agents", f"{total_agents:,} agents; at most 100,000"))
    interval = timedelta(minutes=scenario.interval_minutes)
    n = scenario.interval_count
    if scenario.duration_hours is not None and n * scenario.interval_minutes != round(
        scenario.duration_hours * 60, 6
    ):
        issues.append(("duration_hours", "must be a whole number of intervals (interval_minutes)"))
    if scenario.warmup_minutes >= n * scenario.interval_minutes:
        issues.append(("warmup_minutes", "the warm-up must end before the last interval"))
    if issues:
        raise ScenarioError(issues)

    start = scenario.start
    end = start + interval * n
    drain_end = end + timedelta(minutes=scenario.drain_minutes)
    queue_defs: list[QueueDef] = []
    for i, spec in enumerate(scenario.queues):
        try:
            queue_defs.append(_queue_def(spec))
        except RoutingError as error:
            raise ScenarioError([_engine_issue(error, "queue", f"queues[{i}]")]) from None
    queues = tuple(queue_defs)
    settings = scenario.engine.settings()
    # One engine checks the settings and every definition the way the simulation uses them.
    try:
        engine = Engine(settings)
    except RoutingError as error:
        raise ScenarioError([_engine_issue(error, "settings", "engine")]) from None
    install(engine, queues, start)
    groups: list[Group] = []
    for g, agent_spec in enumerate(scenario.agents):
        path = f"agents[{g}]"
        try:
            agents = _agent_defs(agent_spec, scenario.timezone)
            engine.handle(AddAgent(agents[0]), start)
        except RoutingError as error:
            raise ScenarioError([_engine_issue(error, "agent", path)]) from None
        zone = ZoneInfo(agents[0].timezone)
        periods, breaks = _periods(agent_spec, path, zone, start, drain_end)
        groups.append(Group(g, agent_spec.id, agents, periods, breaks))

    streams = _streams(scenario, base_dir, interval)
    uses_clock = any(
        compile_rule(step.target).uses_clock
        for q in scenario.queues
        for step in q.steps
        if step.target is not None
    )
    return Plan(
        name=name,
        scenario=scenario,
        start_us=to_us(start),
        interval_us=round(interval.total_seconds() * US),
        intervals=n,
        end_us=to_us(end),
        warmup_end_us=to_us(start) + round(scenario.warmup_minutes * 60 * US),
        drain_end_us=to_us(drain_end),
        short_abandon_us=round(scenario.short_abandon_seconds * US),
        queues=queues,
        engine_settings=settings,
        groups=tuple(groups),
        streams=streams,
        sl_us={q.id: round(q.service_level_seconds * US) for q in queues},
        uses_clock=uses_clock,
        tick_us=round(settings.tick_seconds * US),
        missed_away_us=round(scenario.missed_away_seconds * US),
        stream_of={(s.queue_id, s.channel): s.index for s in streams},
    )
