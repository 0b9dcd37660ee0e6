"""The KPI formulas (docs/kpis.md) and the report intervals in a tenant's zone (pure).

Every ratio is None when its denominator is 0 (no data is not 0 % and not 100 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from omnidesk.analytics.facts import Sums

AbandonsInSl = Literal["met", "missed", "ignored"]
ON_CONTACT: Final = ("busy", "wrap_up")
IDLE: Final = "available"
MINUTES: Final = {"15m": 15, "30m": 30, "60m": 60}
GRID: Final = timedelta(minutes=15)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def service_level(sums: Sums, abandons: AbandonsInSl) -> float | None:
    """Answered within T / (offered - short abandons); abandons after the short threshold:
    `missed` in the denominator only, `met` those within T also in the numerator, `ignored`
    out of both."""
    answered = sums.answered_in_sl
    offered = sums.offered - sums.short_abandoned
    if abandons == "met":
        answered += sums.abandoned_in_sl
    elif abandons == "ignored":
        offered -= sums.abandoned - sums.short_abandoned
    return _ratio(answered, offered)


def asa_seconds(sums: Sums) -> float | None:
    return _ratio(sums.wait_answered_us / 1e6, sums.answered)


def aht_seconds(sums: Sums) -> float | None:
    """(talk + hold + wrap-up) ÷ handled; handled = answered visits that were left."""
    return _ratio((sums.talk_us + sums.hold_us + sums.wrap_us) / 1e6, sums.answered)


def abandon_rate(sums: Sums) -> float | None:
    return _ratio(sums.abandoned - sums.short_abandoned, sums.offered)


def occupancy(state_us: Mapping[str, int]) -> float | None:
    """Time on contacts (busy + wrap-up) ÷ (that + available idle); away is not counted."""
    on_contact = sum(state_us.get(s, 0) for s in ON_CONTACT)
    return _ratio(on_contact, on_contact + state_us.get(IDLE, 0))


# --- intervals -------------------------------------------------------------------------------


def on_grid(value: datetime) -> bool:
    return value.astimezone(UTC).timestamp() % GRID.total_seconds() == 0


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def next_boundary(instant: datetime, interval: str, zone: ZoneInfo) -> datetime:
    """The first interval boundary after `instant` in the zone's local time."""
    local = instant.astimezone(zone)
    if interval in MINUTES:
        step = MINUTES[interval]
        # replace() keeps the offset (and `fold`) of the instant: a repeated local hour on a
        # DST change stays two intervals.
        floored = local.replace(minute=local.minute - local.minute % step, second=0, microsecond=0)
        boundary = floored.astimezone(UTC) + timedelta(minutes=step)
    elif interval == "day":
        boundary = _local_midnight(local.date() + timedelta(days=1), zone)
    elif interval == "week":
        monday = local.date() - timedelta(days=local.weekday())
        boundary = _local_midnight(monday + timedelta(days=7), zone)
    else:  # month
        first = local.date().replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        boundary = _local_midnight(following, zone)
    return boundary if boundary > instant else instant + GRID


def boundaries(start: datetime, end: datetime, interval: str, zone: ZoneInfo) -> list[datetime]:
    """start = b0 < b1 < … < bn = end: the report's intervals are [b_i, b_i+1)."""
    result = [start.astimezone(UTC)]
    while result[-1] < end:
        result.append(min(next_boundary(result[-1], interval, zone), end.astimezone(UTC)))
    return result


def count_intervals(start: datetime, end: datetime, interval: str, zone: ZoneInfo) -> int:
    """How many intervals a report has, without building them for a huge range."""
    if interval in MINUTES:
        return int((end - start) / timedelta(minutes=MINUTES[interval])) + 2
    days = (end - start).days + 2
    return days if interval == "day" else days // 7 + 2 if interval == "week" else days // 28 + 2
