"""The injected clock and the engine's time arithmetic.

Inside the engine an instant is an `int` of microseconds since the Unix epoch (UTC): exact,
cheap to compare in the timer heap, and the same on every machine, so a replay is bit-for-bit
deterministic. At the edges (commands, events, snapshots) instants are timezone-aware
`datetime`s; naive datetimes are rejected rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from omnidesk.core.routing.errors import InvalidDefinition

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_SECOND = 1_000_000


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall clock for the server. The simulator injects a virtual clock instead."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and the digital-twin simulator."""

    def __init__(self, start: datetime) -> None:
        require_aware(start, "start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        require_aware(instant, "instant")
        self._now = instant

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


def require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidDefinition(f"{name} must be a timezone-aware datetime", field=name)


def to_us(instant: datetime, name: str = "now") -> int:
    if instant.tzinfo is None:
        require_aware(instant, name)
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


_ONE_US = timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    # Why not timedelta(microseconds=us): normalising a large keyword costs ~5x as much as
    # this exact integer product.
    return EPOCH + _ONE_US * us


def seconds_to_us(seconds: float) -> int:
    return round(seconds * US_PER_SECOND)


def us_to_seconds(us: int) -> float:
    return us / US_PER_SECOND


def iso(us: int) -> str:
    return from_us(us).isoformat()


def parse_iso(text: str, name: str) -> int:
    try:
        instant = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise InvalidDefinition(f"{name}: not an ISO 8601 instant: {text!r}", field=name) from exc
    return to_us(instant, name)
