"""Local wall-clock times to minutes of the UTC horizon, date by date (so DST is exact).

Everything the solver sees is in whole minutes after the horizon's start (00:00 UTC of its first
day). Local times are converted per calendar date with zoneinfo:

* a wall time inside a spring-forward gap (02:30 on the night clocks jump from 02:00 to 03:00)
  is read with the offset before the change, i.e. as the first instant after the gap (03:30);
  for an availability window that shifts the edge by the gap, and a shift start there is dropped
  (the clock never shows it, and the start after the gap is a template start of its own if wanted);
* a wall time in the repeated fall-back hour means its first occurrence (summer time);
* shift lengths and breaks are elapsed time, so an 8-hour shift over a change is 8 real hours.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from omnidesk.wfm.scheduling.inputs import DAY, AgentSpec, Horizon, ShiftTemplate, weekday_name

Span = tuple[int, int]


def wall_to_utc(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of `minute` after local midnight of `day` (1440 is the next midnight)."""
    when = day + timedelta(days=minute // DAY)
    m = minute % DAY
    return datetime(when.year, when.month, when.day, m // 60, m % 60, tzinfo=tz).astimezone(UTC)


def wall_time_exists(day: date, minute: int, tz: ZoneInfo) -> bool:
    back = wall_to_utc(day, minute, tz).astimezone(tz)
    return back.date() == day and back.hour * 60 + back.minute == minute


def minutes_after(instant: datetime, origin: datetime) -> int:
    seconds = (instant - origin).total_seconds()
    # Offsets of real zones are whole minutes since the 1970s; a historic LMT offset is not.
    if seconds % 60:
        raise ValueError(f"{instant.isoformat()} is not on a whole minute of UTC")
    return int(seconds // 60)


def local_dates(horizon: Horizon, tz: ZoneInfo) -> Iterator[date]:
    """Local dates that can start something inside the horizon (the day before included, for
    windows and shifts that run past midnight)."""
    first = horizon.start_utc.astimezone(tz).date() - timedelta(days=1)
    last = horizon.end_utc.astimezone(tz).date()
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    result: list[Span] = []
    holes = merge(holes)
    for start, end in spans:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                result.append((cursor, h_start))
            cursor = max(cursor, h_end)
        if cursor < end:
            result.append((cursor, end))
    return result


def availability(agent: AgentSpec, tz: ZoneInfo, horizon: Horizon) -> list[Span]:
    """When the agent may work, in horizon minutes, merged and clipped to the horizon."""
    origin, total = horizon.start_utc, horizon.minutes
    if agent.availability is None:
        spans: list[Span] = [(0, total)]
    else:
        spans = []
        for day in local_dates(horizon, tz):
            for start, end in agent.availability.get(weekday_name(day), ()):
                stop = end if end > start else end + DAY  # overnight window
                a = minutes_after(wall_to_utc(day, start, tz), origin)
                b = minutes_after(wall_to_utc(day, stop, tz), origin)
                a, b = max(a, 0), min(b, total)
                if a < b:
                    spans.append((a, b))
    holes = [
        (
            minutes_after(wall_to_utc(day, 0, tz), origin),
            minutes_after(wall_to_utc(day, DAY, tz), origin),
        )
        for day in agent.unavailable_dates
    ]
    return subtract(merge(spans), holes)


def contains(spans: list[Span], start: int, end: int) -> bool:
    """Whether [start, end) lies inside one of the merged, sorted spans."""
    i = bisect.bisect_right(spans, (start, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= start and end <= spans[i][1]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One shift an agent could work: a template at one start, inside their availability."""

    agent: int
    # The agent's local date of the shift start, as days after the horizon's first day (may be
    # -1 or `days` at the edges, for agents far from UTC).
    day: int
    template: int
    start: int
    end: int
    paid_minutes: int


def candidates(
    agent_index: int,
    agent: AgentSpec,
    agent_tz: ZoneInfo,
    templates: tuple[ShiftTemplate, ...],
    template_zones: dict[int, ZoneInfo],
    horizon: Horizon,
) -> list[Candidate]:
    spans = availability(agent, agent_tz, horizon)
    origin, total = horizon.start_utc, horizon.minutes
    found: dict[tuple[int, int], Candidate] = {}
    for t_index, template in enumerate(templates):
        if agent.templates is not None and template.name not in agent.templates:
            continue
        tz = template_zones.get(t_index, agent_tz)
        for day in local_dates(horizon, tz):
            for wall in sorted(set(template.start_times)):
                if not wall_time_exists(day, wall, tz):
                    continue
                instant = wall_to_utc(day, wall, tz)
                start = minutes_after(instant, origin)
                end = start + template.length_minutes
                if start < 0 or end > total or not contains(spans, start, end):
                    continue
                local_day = (instant.astimezone(agent_tz).date() - horizon.start).days
                found[(t_index, start)] = Candidate(
                    agent_index, local_day, t_index, start, end, template.paid_minutes
                )
    return sorted(found.values(), key=lambda c: (c.start, c.template))
