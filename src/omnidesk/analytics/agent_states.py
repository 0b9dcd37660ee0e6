"""Agents' state time from `routing.agent_state_changed` (pure, no I/O).

Each change closes the agent's previous state at its instant: that span is split exactly at
the 15-minute boundaries it crosses. Offline spans are not kept (they are not logged-in time);
the first change seen of an agent opens its first span (the time before it is unknown).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from omnidesk.analytics.facts import LogEvent, at_us

STATE_CHANGED: Final = "routing.agent_state_changed"
GRAIN_US: Final = 15 * 60 * 1_000_000
LOGGED_OUT: Final = "offline"


@dataclass(frozen=True, slots=True)
class OpenState:
    state: str
    reason: str  # "" when the state has none
    since_us: int


@dataclass(frozen=True, slots=True)
class StateTime:
    agent_id: str
    interval_us: int  # the 15-minute interval's start
    state: str
    reason: str
    us: int


def floor_grain(instant_us: int) -> int:
    return instant_us - instant_us % GRAIN_US


def split(start_us: int, end_us: int) -> Iterator[tuple[int, int]]:
    """(interval start, microseconds in it) for [start, end) cut at the 15-minute grid."""
    cursor = start_us
    while cursor < end_us:
        interval = floor_grain(cursor)
        upto = min(end_us, interval + GRAIN_US)
        yield interval, upto - cursor
        cursor = upto


def state_change(
    agent_id: str, open_state: OpenState | None, event: LogEvent
) -> tuple[OpenState | None, list[StateTime]]:
    """The agent's open state after `event`, and the state time it closes."""
    data: Mapping[str, Any] = event.payload
    at = at_us(data)
    if at is None:
        return open_state, []
    closed: list[StateTime] = []
    if open_state is not None and open_state.state != LOGGED_OUT:
        closed = [
            StateTime(agent_id, interval, open_state.state, open_state.reason, us)
            for interval, us in split(open_state.since_us, at)
        ]
    return OpenState(str(data.get("state")), str(data.get("reason") or ""), at), closed
