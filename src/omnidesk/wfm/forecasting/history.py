"""Interval history of a queue and channel, read from the tenant's own event log.

Definition (docs/wfm.md, "History from the event log"):
  volume   `routing.contact_received` events whose `at` falls in the interval, for the queue the
           contact arrived in and its channel (contacts later moved elsewhere still count here).
  handled  those contacts that an agent accepted and whose handling and wrap-up have ended.
  AHT      per handled contact: the time agents held it (each `offer_accepted` until the next
           `contact_queued` (requeue, transfer), `offer_accepted` (hand-over) or
           `contact_ended`) plus its wrap-up (`wrap_up_started` to `wrap_up_ended`, per agent);
           the interval's AHT is the mean over its handled contacts, attributed to the interval
           the contact arrived in (so volume x AHT is the workload that arrived then).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.eventlog import EventRecord
from omnidesk.wfm.forecasting.series import FloatArray

RECEIVED: Final = "routing.contact_received"
_LIFE: Final = (
    "routing.contact_received",
    "routing.offer_accepted",
    "routing.contact_queued",
    "routing.contact_ended",
    "routing.wrap_up_started",
    "routing.wrap_up_ended",
)
# `occurred_at` (commit time) trails the engine's `at` by the step's duration; the coarse filter
# on it is widened by this much and the exact one uses `at`.
_SLACK: Final = timedelta(hours=6)
_CHUNK: Final = 500

DEFINITION: Final = (
    "volume: routing.contact_received events per interval of arrival (queue and channel of "
    "arrival); aht: mean handle time of the interval's contacts whose handling and wrap-up "
    "ended, handle time = agent holding time (offer_accepted to contact_queued / next "
    "offer_accepted / contact_ended) + wrap-up (wrap_up_started to wrap_up_ended)"
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


def handle_time(events: list[tuple[str, dict[str, Any]]]) -> float | None:
    """Seconds agents spent on one contact, or None while it is unhandled or unfinished.

    `events`: (type, payload) of the contact from its `contact_received` on, in log order.
    """
    held = 0.0
    wrap = 0.0
    since: datetime | None = None
    wrapping: dict[str, datetime] = {}
    accepted = ended = False
    for kind, payload in events:
        at = _at(payload)
        if at is None:
            continue
        if kind == "routing.offer_accepted":
            if since is not None:
                held += (at - since).total_seconds()
            since, accepted = at, True
        elif kind in ("routing.contact_queued", "routing.contact_ended"):
            if since is not None:
                held += (at - since).total_seconds()
                since = None
            ended = ended or kind == "routing.contact_ended"
        elif kind == "routing.wrap_up_started":
            wrapping[str(payload.get("agent_id"))] = at
        elif kind == "routing.wrap_up_ended":
            started = wrapping.pop(str(payload.get("agent_id")), None)
            if started is not None:
                wrap += (at - started).total_seconds()
    if not (accepted and ended) or wrapping:
        return None
    return held + wrap


async def _received(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[int, str, dict[str, Any], datetime]]:
    """(seq, contact id, payload, at) of every arrival whose `at` is in [start, end), in log
    order."""
    rows = await session.execute(
        select(EventRecord.seq, EventRecord.subject_id, EventRecord.payload)
        .where(
            EventRecord.type == RECEIVED,
            EventRecord.occurred_at >= start - _SLACK,
            EventRecord.occurred_at < end + _SLACK,
        )
        .order_by(EventRecord.seq)
    )
    found = []
    for seq, contact_id, payload in rows:
        at = _at(payload)
        if at is not None and start <= at < end:
            found.append((seq, contact_id, payload, at))
    return found


async def arrival_volumes(
    session: AsyncSession, *, start: datetime, end: datetime, interval_minutes: int
) -> dict[tuple[str, str], NDArray[np.int64]]:
    """Arrivals per interval on [start, end) for every (queue, channel) they arrived in: the
    `volume` of `read_history` for each, from one read of the log."""
    step = timedelta(minutes=interval_minutes)
    size = int((end - start) / step)
    volumes: dict[tuple[str, str], NDArray[np.int64]] = {}
    for _, _, payload, at in await _received(session, start, end):
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
    """Interval counts on [start, end) (UTC, on the interval grid); None = every queue/channel."""
    step = timedelta(minutes=interval_minutes)
    size = int((end - start) / step)
    volume = np.zeros(size, dtype=np.int64)
    handled = np.zeros(size, dtype=np.int64)
    seconds = np.zeros(size)
    arrivals: dict[str, tuple[int, int]] = {}  # contact id -> (seq of its arrival, interval)
    for seq, contact_id, payload, at in await _received(session, start, end):
        if queue_id is not None and payload.get("queue_id") != queue_id:
            continue
        if channel is not None and payload.get("channel") != channel:
            continue
        index = int((at - start) / step)
        volume[index] += 1
        arrivals[contact_id] = (seq, index)
    ids = sorted(arrivals)
    lives: dict[str, list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
    for offset in range(0, len(ids), _CHUNK):
        rows = await session.execute(
            select(EventRecord.seq, EventRecord.type, EventRecord.subject_id, EventRecord.payload)
            .where(
                EventRecord.subject_type == "contact",
                EventRecord.subject_id.in_(ids[offset : offset + _CHUNK]),
                EventRecord.type.in_(_LIFE),
            )
            .order_by(EventRecord.seq)
        )
        for seq, kind, contact_id, payload in rows:
            lives[contact_id].append((seq, kind, payload))
    for contact_id, (first_seq, index) in arrivals.items():
        life: list[tuple[str, dict[str, Any]]] = []
        for seq, kind, payload in lives.get(contact_id, []):
            if seq < first_seq:
                continue
            # A reused contact id starts a new life: stop at the next arrival.
            if kind == RECEIVED and seq > first_seq:
                break
            life.append((kind, payload))
        spent = handle_time(life)
        if spent is not None:
            handled[index] += 1
            seconds[index] += spent
    return History(start, interval_minutes, volume, handled, seconds)
