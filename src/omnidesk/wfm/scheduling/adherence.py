"""Schedule adherence and conformance of one agent over a time window. Pure, exact.

The schedule says, at every instant, one of three activities: `working` (inside a shift, not on
a break), `break` (a scheduled break) or `off` (no shift). The agent's routing state says what
they actually did, mapped to the same activities:

| routing state                         | actual activity |
| ------------------------------------- | --------------- |
| available, busy, wrap_up              | working         |
| away with a break reason (break, ...) | break           |
| away with any other reason (training) | away            |
| offline                               | off             |

* adherence = time whose actual activity equals the scheduled one ÷ scheduled time, where
  scheduled time is the time scheduled `working` or `break` (time scheduled off is not part
  of it: being logged in on a day off is a conformance matter, not an adherence one);
* conformance = time actually working (whenever it was) ÷ time scheduled working;
* out-of-adherence spans: maximal runs of scheduled time whose actual activity differs from the
  scheduled one; a run no longer than the grace (default 60 s: a call that runs over into a
  break, a slow log-in) is forgiven: it is not listed and counts as in adherence. `raw`
  figures ignore the grace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from omnidesk.wfm.scheduling.result import ScheduledShift

Scheduled = Literal["working", "break", "off"]
Actual = Literal["working", "break", "off", "away"]
WORKING_STATES = frozenset({"available", "busy", "wrap_up"})
STATES = WORKING_STATES | {"away", "offline"}
BREAK_REASONS = frozenset({"break", "lunch", "meal", "rest", "coffee"})
DEFAULT_GRACE = timedelta(seconds=60)


class AdherenceInputError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ScheduledSpan:
    start: datetime
    end: datetime
    activity: Scheduled


@dataclass(frozen=True, slots=True)
class StateChange:
    """From a routing.agent_state_changed event: the state the agent entered at `at`."""

    at: datetime
    state: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Piece:
    start: datetime
    end: datetime
    scheduled: Scheduled
    actual: Actual
    state: str
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "scheduled": self.scheduled,
            "actual": self.actual,
            "state": self.state,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class OutOfAdherence:
    start: datetime
    end: datetime
    pieces: tuple[Piece, ...]

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "seconds": self.seconds,
            "pieces": [p.to_dict() for p in self.pieces],
        }


@dataclass(frozen=True, slots=True)
class AdherenceReport:
    start: datetime
    end: datetime
    grace: timedelta
    scheduled: timedelta  # scheduled working + break
    in_adherence: timedelta  # grace applied
    raw_in_adherence: timedelta
    scheduled_work: timedelta
    worked: timedelta
    spans: tuple[OutOfAdherence, ...]

    @property
    def adherence(self) -> float | None:
        return _ratio(self.in_adherence, self.scheduled)

    @property
    def raw_adherence(self) -> float | None:
        return _ratio(self.raw_in_adherence, self.scheduled)

    @property
    def conformance(self) -> float | None:
        return _ratio(self.worked, self.scheduled_work)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "grace_seconds": self.grace.total_seconds(),
            "adherence": self.adherence,
            "raw_adherence": self.raw_adherence,
            "conformance": self.conformance,
            "scheduled_seconds": self.scheduled.total_seconds(),
            "in_adherence_seconds": self.in_adherence.total_seconds(),
            "raw_in_adherence_seconds": self.raw_in_adherence.total_seconds(),
            "scheduled_work_seconds": self.scheduled_work.total_seconds(),
            "worked_seconds": self.worked.total_seconds(),
            "out_of_adherence": [s.to_dict() for s in self.spans],
        }


def _ratio(part: timedelta, whole: timedelta) -> float | None:
    return part / whole if whole else None


def actual_activity(
    state: str, reason: str | None, break_reasons: frozenset[str] = BREAK_REASONS
) -> Actual:
    if state in WORKING_STATES:
        return "working"
    if state == "away":
        return "break" if reason is not None and reason.lower() in break_reasons else "away"
    if state == "offline":
        return "off"
    raise AdherenceInputError("state", f"unknown agent state {state!r}")


def scheduled_spans(shifts: Iterable[ScheduledShift]) -> list[ScheduledSpan]:
    """Shifts as working and break spans (time between them is off)."""
    spans: list[ScheduledSpan] = []
    for shift in sorted(shifts, key=lambda s: s.start):
        cursor = shift.start
        for b in sorted(shift.breaks, key=lambda b: b.start):
            if b.start > cursor:
                spans.append(ScheduledSpan(cursor, b.start, "working"))
            spans.append(ScheduledSpan(b.start, b.end, "break"))
            cursor = b.end
        if shift.end > cursor:
            spans.append(ScheduledSpan(cursor, shift.end, "working"))
    return spans


def _aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise AdherenceInputError(field, "needs a time zone (e.g. 2026-03-23T08:00:00Z)")


def _schedule_timeline(
    spans: Sequence[ScheduledSpan], start: datetime, end: datetime
) -> list[tuple[datetime, Scheduled]]:
    """(from, activity) steps covering [start, end), off between spans."""
    steps: list[tuple[datetime, Scheduled]] = [(start, "off")]
    last_end: datetime | None = None
    for i, span in enumerate(sorted(spans, key=lambda s: s.start)):
        _aware(span.start, f"scheduled.{i}.start")
        _aware(span.end, f"scheduled.{i}.end")
        if span.end <= span.start:
            raise AdherenceInputError(f"scheduled.{i}", "ends before it starts")
        if last_end is not None and span.start < last_end:
            raise AdherenceInputError(f"scheduled.{i}", "overlaps the span before it")
        last_end = span.end
        if span.end <= start or span.start >= end:
            continue
        steps.append((max(span.start, start), span.activity))
        steps.append((min(span.end, end), "off"))
    return steps


def _state_timeline(
    changes: Sequence[StateChange], start: datetime, end: datetime, break_reasons: frozenset[str]
) -> list[tuple[datetime, Actual, str, str | None]]:
    """(from, activity, state, reason) steps covering [start, end); offline before any change."""
    current: tuple[Actual, str, str | None] = ("off", "offline", None)
    steps: list[tuple[datetime, Actual, str, str | None]] = []
    ordered = sorted(enumerate(changes), key=lambda item: item[1].at)  # stable: log order
    for i, change in ordered:
        _aware(change.at, f"changes.{i}.at")
        if change.state not in STATES:
            raise AdherenceInputError(f"changes.{i}.state", f"unknown state {change.state!r}")
        activity = actual_activity(change.state, change.reason, break_reasons)
        if change.at <= start:
            current = (activity, change.state, change.reason)
        elif change.at < end:
            steps.append((change.at, activity, change.state, change.reason))
    return [(start, *current), *steps]


def adherence(
    scheduled: Sequence[ScheduledSpan],
    changes: Sequence[StateChange],
    start: datetime,
    end: datetime,
    *,
    grace: timedelta = DEFAULT_GRACE,
    break_reasons: frozenset[str] = BREAK_REASONS,
) -> AdherenceReport:
    """Adherence over [start, end). `changes` may begin before `start` (the last one at or
    before it gives the state at `start`; none: offline)."""
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        raise AdherenceInputError("end", "must be after start")
    if grace < timedelta(0):
        raise AdherenceInputError("grace", "must not be negative")
    plan = _schedule_timeline(scheduled, start, end)
    acts = _state_timeline(changes, start, end, frozenset(r.lower() for r in break_reasons))
    cuts = sorted({t for t, _ in plan} | {t for t, *_ in acts} | {end})
    zero = timedelta(0)
    total = raw = work_planned = worked = zero
    runs: list[list[Piece]] = []
    p_i = a_i = 0
    for t0, t1 in pairwise(cuts):
        while p_i + 1 < len(plan) and plan[p_i + 1][0] <= t0:
            p_i += 1
        while a_i + 1 < len(acts) and acts[a_i + 1][0] <= t0:
            a_i += 1
        planned = plan[p_i][1]
        _, actual, state, reason = acts[a_i]
        length = t1 - t0
        if actual == "working":
            worked += length
        if planned == "working":
            work_planned += length
        if planned == "off":
            continue
        total += length
        if actual == planned:
            raw += length
            continue
        piece = Piece(t0, t1, planned, actual, state, reason)
        if runs and runs[-1][-1].end == t0:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    spans = tuple(OutOfAdherence(run[0].start, run[-1].end, tuple(run)) for run in runs)
    kept = tuple(s for s in spans if s.end - s.start > grace)
    forgiven = sum((s.end - s.start for s in spans if s.end - s.start <= grace), zero)
    return AdherenceReport(
        start=start,
        end=end,
        grace=grace,
        scheduled=total,
        in_adherence=raw + forgiven,
        raw_in_adherence=raw,
        scheduled_work=work_planned,
        worked=worked,
        spans=kept,
    )
