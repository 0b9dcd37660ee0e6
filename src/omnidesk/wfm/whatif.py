"""What-if: a change of queues run through the digital twin on a day of the tenant's own traffic.

Before a change goes live, the tenant's queues as routing has them now (the baseline) and the
same queues with the change (the variant) each serve the same simulated customers, drawn from
one day of the tenant's history (docs/wfm.md, "What-if on your own traffic"):

- volumes: contacts per 15-minute interval by the queue and channel they arrived in
  (`routing.contact_received` in the event log, `history.arrival_volumes`: not the rollups'
  `offered`, which also counts the overflows and transfers the twin simulates itself); the
  twin draws each replication's arrivals around them (Poisson), so a replication is a day like
  that one;
- handle time: exponential with the day's mean talk + hold per answered contact, and wrap-up
  with its mean (used where the queue does not fix its own wrap-up time), per queue and channel;
- patience: exponential with the maximum-likelihood mean under censoring, (wait of every
  answered and abandoned contact) / abandons; customers who never gave up that day never do;
- agents: routing's agents as they are now (skills, languages, capacity, memberships), each
  logged in during the 15-minute intervals in which the KPI rollups saw them logged in that day.

The paired comparison (same customers in both) gives the differences with their 95 % confidence
intervals (omnidesk.wfm.twin.study). Pure apart from `read_day`, which only reads.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import repository as analytics_repo
from omnidesk.analytics.models import AgentStateInterval, QueueInterval
from omnidesk.wfm.forecasting.history import arrival_volumes
from omnidesk.wfm.twin.scenario import AgentSpec, QueueSpec
from omnidesk.wfm.twin.study import run_study, study_from_data

INTERVAL = timedelta(minutes=15)  # the KPI rollups' interval
VARIANT = "change"
US = 1_000_000
_LOGGED_OUT = "offline"


@dataclass(frozen=True)
class StreamDay:
    """One queue and channel's day: arrivals per interval and the day's sums."""

    queue_id: str
    channel: str
    volumes: list[float]  # recorded: whole contacts; a forecast's expected volumes
    answered: int = 0
    abandoned: int = 0
    handle_us: int = 0  # talk + hold of the answered contacts
    wrap_us: int = 0
    wait_us: int = 0  # waiting time of the answered and the abandoned contacts
    # A forecast's AHT (talk + hold + wrap-up, volume-weighted over the day): replaces the
    # sums' mean handle and wrap-up, split between the two by the sums' shares.
    aht_seconds: float | None = None


@dataclass(frozen=True)
class Day:
    start: datetime  # local midnight, aware
    timezone: str
    intervals: int
    streams: list[StreamDay]
    # agent id -> logged-in periods [start, end) in UTC, on the interval grid
    presence: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Local midnight to the next one (23 or 25 hours on a daylight-saving day), in UTC."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def periods(starts: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive interval starts merged into [start, end) periods."""
    merged: list[tuple[datetime, datetime]] = []
    for start in sorted(set(starts)):
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], start + INTERVAL)
        else:
            merged.append((start, start + INTERVAL))
    return merged


async def read_day(session: AsyncSession, tenant_id: Any, day: date) -> Day:
    """The day's traffic and presence from the event log and the KPI rollups (reads only)."""
    timezone = (await analytics_repo.settings(session, tenant_id)).timezone
    start, end = day_bounds(day, timezone)
    intervals = int((end - start) / INTERVAL)
    sums = await session.execute(
        select(
            QueueInterval.queue_id,
            QueueInterval.channel,
            func.sum(QueueInterval.answered),
            func.sum(QueueInterval.abandoned),
            func.sum(QueueInterval.talk_us + QueueInterval.hold_us),
            func.sum(QueueInterval.wrap_us),
            func.sum(QueueInterval.wait_answered_us + QueueInterval.wait_abandoned_us),
        )
        .where(QueueInterval.interval_start >= start, QueueInterval.interval_start < end)
        .group_by(QueueInterval.queue_id, QueueInterval.channel)
        .order_by(QueueInterval.queue_id, QueueInterval.channel)
    )
    arrived = await arrival_volumes(
        session, start=start, end=end, interval_minutes=int(INTERVAL.total_seconds() // 60)
    )
    streams = []
    for queue_id, channel, answered, abandoned, handle, wrap, wait in sums.all():
        volumes: list[float] = [int(v) for v in arrived.get((queue_id, channel), ())]
        if sum(volumes) == 0:
            continue  # only contacts that arrived elsewhere (overflow, transfer)
        streams.append(
            StreamDay(
                queue_id,
                channel,
                volumes,
                int(answered or 0),
                int(abandoned or 0),
                int(handle or 0),
                int(wrap or 0),
                int(wait or 0),
            )
        )
    presence_rows = await session.execute(
        select(AgentStateInterval.agent_id, AgentStateInterval.interval_start)
        .where(
            AgentStateInterval.interval_start >= start,
            AgentStateInterval.interval_start < end,
            AgentStateInterval.state != _LOGGED_OUT,
            AgentStateInterval.us > 0,
        )
        .distinct()
    )
    starts: dict[str, list[datetime]] = defaultdict(list)
    for agent_id, interval_start in presence_rows.all():
        starts[agent_id].append(interval_start.astimezone(UTC))
    presence = {agent: periods(found) for agent, found in starts.items()}
    local = start.astimezone(ZoneInfo(timezone))
    return Day(local, timezone, intervals, streams, presence)


def _exponential(mean_seconds: float) -> dict[str, Any] | None:
    return {"kind": "exponential", "mean": mean_seconds} if mean_seconds > 0 else None


def _means(stream: StreamDay) -> tuple[float, float]:
    """Mean talk + hold and mean wrap-up per answered contact, in seconds (0: unknown)."""
    handle = stream.handle_us / US / stream.answered if stream.answered else 0.0
    wrap = stream.wrap_us / US / stream.answered if stream.answered else 0.0
    if stream.aht_seconds is not None:
        # The forecast's AHT holds both (the KPI report's AHT); the reference day says how
        # much of it is wrap-up. No recorded answer that day: all of it is handle time.
        total = handle + wrap
        share = wrap / total if total > 0 else 0.0
        handle, wrap = stream.aht_seconds * (1 - share), stream.aht_seconds * share
    return handle, wrap


def _stream(stream: StreamDay, default_handle_seconds: float) -> dict[str, Any]:
    handle, wrap = _means(stream)
    patience: dict[str, Any] = {"kind": "none"}
    if stream.abandoned:
        patience = _exponential(stream.wait_us / US / stream.abandoned) or {"kind": "none"}
    spec: dict[str, Any] = {
        "queue": stream.queue_id,
        "channel": stream.channel,
        "rates": [float(v) for v in stream.volumes],
        "handle": _exponential(handle) or _exponential(default_handle_seconds),
        "patience": patience,
    }
    # No wrap-up that day: none in the simulation either.
    spec["wrap_up"] = _exponential(wrap) or {"kind": "fixed", "value": 0}
    return spec


# Fields of routing's queue definitions that change nothing in a simulated day.
ROUTING_ONLY = frozenset({"disposition_required"})


def unknown_fields(changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(field path, message) for each key of a change that no queue definition has: a
    misspelt field must be refused, not left out of the simulation without a word."""
    known = set(QueueSpec.model_fields) | ROUTING_ONLY
    return [
        (f"queues[{i}].{key}", "not a field of a queue definition")
        for i, change in enumerate(changes)
        for key in change
        if key not in known
    ]


def _only(fields: dict[str, Any], model: type[QueueSpec] | type[AgentSpec]) -> dict[str, Any]:
    # Routing's definitions carry fields of their own (disposition_required, the directory's
    # name): the twin takes those it models.
    return {k: v for k, v in fields.items() if k in model.model_fields}


def scenario(
    day: Day,
    queues: dict[str, dict[str, Any]],
    agents: dict[str, dict[str, Any]],
    changes: list[dict[str, Any]],
    *,
    replications: int,
    seed: int,
) -> dict[str, Any]:
    """The twin's scenario (a plain dict, checked by the twin when it is run): the baseline is
    routing as it is, the one variant the queues in `changes` (whole definitions)."""
    defaults = {q: float(d.get("default_handle_seconds", 180.0)) for q, d in queues.items()}
    streams = [
        _stream(s, defaults.get(s.queue_id, 180.0)) for s in day.streams if s.queue_id in queues
    ]
    agent_specs = []
    for agent_id, definition in sorted(agents.items()):
        logged_in = day.presence.get(agent_id)
        if not logged_in or not definition.get("queues") or not definition.get("capacity"):
            continue  # not there that day, or not an agent of any queue
        spec = _only(definition, AgentSpec)
        spec["id"] = agent_id
        spec["shifts"] = [{"start": a.isoformat(), "end": b.isoformat()} for a, b in logged_in]
        agent_specs.append(spec)
    return {
        "name": f"what-if {day.start.date().isoformat()}",
        "start": day.start.isoformat(),
        "timezone": day.timezone,
        "interval_minutes": int(INTERVAL.total_seconds() // 60),
        "intervals": day.intervals,
        "seed": seed,
        "replications": replications,
        "queues": [_only(queues[q], QueueSpec) for q in sorted(queues)],
        "agents": agent_specs,
        "contacts": streams,
        "variants": [{"name": VARIANT, "queues": [_only(c, QueueSpec) for c in changes]}],
    }


def run(data: dict[str, Any]) -> dict[str, Any]:
    """Run the baseline and the change on the same customers (CPU-bound: off the event loop).
    Raises ScenarioError naming the field when the twin refuses the scenario."""
    return run_study(study_from_data(data))


def stream_out(stream: StreamDay) -> dict[str, Any]:
    """What the simulation took from one queue and channel's day (for the report)."""
    handle, wrap = _means(stream)
    known = bool(stream.answered) or stream.aht_seconds is not None
    return {
        "queue_id": stream.queue_id,
        "channel": stream.channel,
        "contacts": sum(stream.volumes),
        "handle_seconds": handle if known else None,
        "wrap_up_seconds": wrap if known else None,
        "patience_seconds": stream.wait_us / US / stream.abandoned if stream.abandoned else None,
    }


# --- a forecast day ------------------------------------------------------------------------

# How far back the reference day for a forecast is looked for (same weekday, so 8 candidates).
REFERENCE_WEEKS = 8


@dataclass(frozen=True)
class ForecastCell:
    start: datetime  # UTC
    minutes: int
    volume: float
    aht: float


def covered_days(first: datetime, end: datetime, timezone: str) -> tuple[date, date] | None:
    """The first and last local days wholly inside [first, end) (UTC), if any."""
    zone = ZoneInfo(timezone)
    day = first.astimezone(zone).date()
    if day_bounds(day, timezone)[0] < first:
        day += timedelta(days=1)
    last = end.astimezone(zone).date()
    if day_bounds(last, timezone)[1] > end:
        last -= timedelta(days=1)
    return (day, last) if day <= last else None


def forecast_volumes(
    cells: list[ForecastCell], start: datetime, intervals: int
) -> tuple[list[float], float | None]:
    """The forecast's volumes on the 15-minute grid from `start` (a cell's volume spread
    evenly over its length: a 30- or 60-minute forecast splits, a 5- or 10-minute one adds
    up), and the day's AHT weighted by volume (None: no AHT known)."""
    volumes = [0.0] * intervals
    end = start + intervals * INTERVAL
    weighted = total = 0.0
    ahts: list[float] = []
    for cell in cells:
        length = timedelta(minutes=cell.minutes)
        a, b = max(cell.start, start), min(cell.start + length, end)
        if a >= b:
            continue
        if cell.aht > 0:
            ahts.append(cell.aht)
        part = cell.volume * ((b - a) / length)
        weighted += part * cell.aht
        total += part
        t = a
        while t < b:
            slot = int((t - start) // INTERVAL)
            stop = min(b, start + (slot + 1) * INTERVAL)
            volumes[slot] += cell.volume * ((stop - t) / length)
            t = stop
    if total > 0 and weighted > 0:
        return volumes, weighted / total
    return volumes, (sum(ahts) / len(ahts) if ahts else None)


def shift_presence(
    presence: dict[str, list[tuple[datetime, datetime]]], days: int, timezone: str
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Logged-in periods moved by whole local days (same local times of day)."""
    zone = ZoneInfo(timezone)
    delta = timedelta(days=days)

    def move(t: datetime) -> datetime:
        local = t.astimezone(zone).replace(tzinfo=None) + delta
        return local.replace(tzinfo=zone).astimezone(UTC)

    return {
        agent: [(move(a), move(b)) for a, b in found if move(a) < move(b)]
        for agent, found in presence.items()
    }


async def reference_day(
    session: AsyncSession,
    *,
    queue_id: str,
    channel: str,
    day: date,
    today: date,
    timezone: str,
) -> date | None:
    """The latest day on `day`'s weekday, not after `day` nor today, up to REFERENCE_WEEKS
    back, on which contacts arrived in the queue and channel (None: no such day)."""
    candidate = min(day, today)
    candidate -= timedelta(days=(candidate.weekday() - day.weekday()) % 7)
    for _ in range(REFERENCE_WEEKS):
        start, end = day_bounds(candidate, timezone)
        arrived = await arrival_volumes(
            session, start=start, end=end, interval_minutes=int(INTERVAL.total_seconds() // 60)
        )
        if sum(arrived.get((queue_id, channel), ())) > 0:
            return candidate
        candidate -= timedelta(days=7)
    return None


def forecast_day(
    reference: Day,
    *,
    day: date,
    queue_id: str,
    channel: str,
    cells: list[ForecastCell],
) -> Day:
    """The forecast's day: its volumes and AHT for the queue and channel; patience, the
    wrap-up share and who was logged in as on the reference day (moved to `day`)."""
    start, end = day_bounds(day, reference.timezone)
    intervals = int((end - start) / INTERVAL)
    volumes, aht = forecast_volumes(cells, start, intervals)
    recorded = next(
        (s for s in reference.streams if (s.queue_id, s.channel) == (queue_id, channel)),
        StreamDay(queue_id, channel, []),
    )
    stream = StreamDay(
        queue_id,
        channel,
        volumes,
        recorded.answered,
        recorded.abandoned,
        recorded.handle_us,
        recorded.wrap_us,
        recorded.wait_us,
        aht_seconds=aht,
    )
    days = (day - reference.start.date()).days
    presence = shift_presence(reference.presence, days, reference.timezone)
    local = start.astimezone(ZoneInfo(reference.timezone))
    return Day(local, reference.timezone, intervals, [stream], presence)
