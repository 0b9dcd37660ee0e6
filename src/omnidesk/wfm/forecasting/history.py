"""Interval history of a queue and channel: volume and AHT from the KPI rollups.

Definition (docs/wfm.md, "History from the KPI rollups"), per interval of the forecast grid (a
whole number of the rollups' 15-minute intervals), for the queue and channel:
  volume   contacts offered to the queue: its queue visits (docs/kpis.md, "Queue visits") that
           arrived in the interval (a contact's arrival, or its move in from another queue by
           transfer or overflow) and have left it (answered and ended, abandoned, overflowed,
           transferred on); the rollups' `offered`. Contacts still waiting or talking count
           once they leave.
  handled  of those, the visits an agent answered (the rollups' `answered`).
  AHT      (talk + hold + wrap-up) / handled, all of the visits that arrived in the interval:
           the KPI report's AHT, so volume x AHT is the workload that arrived in the interval.
           A wrap-up counts once it has ended.

`arrival_volumes` counts arrivals in the event log instead: the what-if's digital twin needs the
customers who came from outside (it simulates overflows and transfers itself, which the rollups'
`offered` already holds), and the intraday reforecast needs the contacts that arrived so far,
including those still waiting or talking, which the rollups count only when they leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics.service import interval_sums
from omnidesk.platform.eventlog import EventRecord
from omnidesk.wfm.forecasting.series import FloatArray

RECEIVED: Final = "routing.contact_received"
ROLLUP_MINUTES: Final = 15  # the KPI rollups' interval: history intervals are multiples of it
# `occurred_at` (commit time) trails the engine's `at` by the step's duration; the coarse filter
# on it is widened by this much and the exact one uses `at`.
_SLACK: Final = timedelta(hours=6)

DEFINITION: Final = (
    "volume: contacts offered to the queue and channel (KPI rollups' offered: queue visits that "
    "arrived in the interval, by arrival or by transfer/overflow from another queue, and have "
    "left it); handled: those answered; aht: (talk + hold + wrap-up) / handled of those visits "
    "(the KPI report's AHT; a wrap-up counts once ended)"
)


@dataclass(frozen=True)
class History:
    start: datetime
    interval_minutes: int
    volume: NDArray[np.int64]
    handled: NDArray[np.int64]
    handle_seconds: FloatArray  # sum over the handled contacts

    @property
    def aht(self) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.handled > 0, self.handle_seconds / self.handled, np.nan)

    def starts(self) -> list[datetime]:
        step = timedelta(minutes=self.interval_minutes)
        return [self.start + i * step for i in range(self.volume.size)]


def _at(payload: dict[str, Any]) -> datetime | None:
    raw = payload.get("at")
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _received(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[dict[str, Any], datetime]]:
    """(payload, at) of every arrival whose `at` is in [start, end)."""
    rows = await session.scalars(
        select(EventRecord.payload).where(
            EventRecord.type == RECEIVED,
            EventRecord.occurred_at >= start - _SLACK,
            EventRecord.occurred_at < end + _SLACK,
        )
    )
    found = []
    for payload in rows:
        at = _at(payload)
        if at is not None and start <= at < end:
            found.append((payload, at))
    return found


async def arrival_volumes(
    session: AsyncSession, *, start: datetime, end: datetime, interval_minutes: int
) -> dict[tuple[str, str], NDArray[np.int64]]:
    """`routing.contact_received` events per interval on [start, end) for every (queue, channel)
    they arrived in, from one read of the log (see the module's docstring for who needs this)."""
    step = timedelta(minutes=interval_minutes)
    size = int((end - start) / step)
    volumes: dict[tuple[str, str], NDArray[np.int64]] = {}
    for payload, at in await _received(session, start, end):
        key = (str(payload.get("queue_id")), str(payload.get("channel")))
        volume = volumes.setdefault(key, np.zeros(size, dtype=np.int64))
        volume[int((at - start) / step)] += 1
    return volumes


async def read_history(
    session: AsyncSession,
    *,
    queue_id: str | None,
    channel: str | None,
    start: datetime,
    end: datetime,
    interval_minutes: int,
) -> History:
    """Interval sums on [start, end) (UTC, on the interval grid, `interval_minutes` a multiple
    of ROLLUP_MINUTES); None = every queue/channel. Read the rollups after the ingester has
    caught up with the log (the endpoints do)."""
    step = timedelta(minutes=interval_minutes)
    size = int((end - start) / step)
    volume = np.zeros(size, dtype=np.int64)
    handled = np.zeros(size, dtype=np.int64)
    handle_us = np.zeros(size, dtype=np.int64)  # integer microseconds: exact sums
    found = await interval_sums(session, start=start, end=end, queue_id=queue_id, channel=channel)
    for at, sums in found.items():
        index = int((at - start) // step)
        volume[index] += sums.offered
        handled[index] += sums.answered
        handle_us[index] += sums.talk_us + sums.hold_us + sums.wrap_us
    return History(start, interval_minutes, volume, handled, handle_us / 1e6)
