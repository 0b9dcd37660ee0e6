"""Customer journeys (docs/kpis.md, "Customer journeys"): contacts, repeats, channel switches
and breaks of the contacts that started in a range, and the effort of the matters resolved in
it.

Read from the CRM's interaction records, as FCR (fcr.py): the CRM already links a contact to
the one it continues, either as a recorded channel switch (`switched_from`, crm/switches.py)
or as a repeat (`repeat_of`: same customer, same case or reason, within `repeat_window_days`,
crm/arrivals.py). Those links are used as they are, never derived again here, so a switch here
is exactly what the CRM's timeline shows.

Every figure counts for one contact, whose queue (the last it was in, as FCR's) and channel are
its row and what the filters and a supervisor's queues select: a contact and a repeat for
itself, a switch and a break for the earlier contact (the one the customer left), a matter for
its first contact.

A contact's handle time is folded from the steps on its record by the same fold as the queue
figures (facts.py), so it is that contact's talk + hold + wrap-up as AHT counts them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import repository as repo
from omnidesk.analytics.facts import (
    ACCEPTED,
    CALL_STATE,
    ENDED,
    QUEUED,
    RECEIVED,
    WRAP_ENDED,
    WRAP_STARTED,
    LogEvent,
    fold_contact,
    from_us,
    to_us,
)
from omnidesk.analytics.schemas import KpiJourneyReport, KpiJourneyRow, KpiJourneySwitch
from omnidesk.analytics.service import check_range
from omnidesk.crm import repository as crm_repo
from omnidesk.crm.models import Interaction
from omnidesk.platform.database import utcnow

JourneyBy = Literal["total", "queue", "channel"]

_CHUNK: Final = 500
# The record's steps the fold reads, as the events they were projected from.
_STEP_EVENTS: Final = {
    "received": RECEIVED,
    "queued": QUEUED,
    "accepted": ACCEPTED,
    "ended": ENDED,
    "wrap_up_started": WRAP_STARTED,
    "wrap_up_ended": WRAP_ENDED,
    "call_held": CALL_STATE,
    "call_resumed": CALL_STATE,
}


@dataclass(frozen=True, slots=True)
class _Contact:
    id: uuid.UUID
    customer_id: uuid.UUID | None
    case_id: uuid.UUID | None
    channel: str
    queue: str | None
    resolved: bool
    started_us: int
    ended_us: int | None
    # The contact it continues: the recorded switch's, else the repeat's.
    previous: uuid.UUID | None
    switched_from: uuid.UUID | None
    repeat_of: uuid.UUID | None


_COLUMNS: Final = (
    Interaction.id,
    Interaction.customer_id,
    Interaction.case_id,
    Interaction.channel,
    Interaction.queue_ids,
    Interaction.resolved,
    Interaction.started_at,
    Interaction.ended_at,
    Interaction.repeat_of,
    Interaction.switched_from,
)


def _contact(row: Any) -> _Contact:
    return _Contact(
        id=row.id,
        customer_id=row.customer_id,
        case_id=row.case_id,
        channel=row.channel,
        queue=row.queue_ids[-1] if row.queue_ids else None,
        resolved=row.resolved is True,
        started_us=to_us(row.started_at),
        ended_us=to_us(row.ended_at) if row.ended_at is not None else None,
        previous=row.switched_from or row.repeat_of,
        switched_from=row.switched_from,
        repeat_of=row.repeat_of,
    )


async def _load(session: AsyncSession, *where: ColumnElement[bool]) -> list[_Contact]:
    # Internal calls (agent to agent) are nobody's journey.
    stmt = select(*_COLUMNS).where(Interaction.direction != "internal", *where)
    return [_contact(row) for row in await session.execute(stmt)]


async def _load_in(
    session: AsyncSession, column: Any, values: Iterable[Any], *where: ColumnElement[bool]
) -> list[_Contact]:
    """`_load` for `column IN values`, a chunk of ids per statement."""
    wanted = sorted(set(values), key=str)
    found: list[_Contact] = []
    for offset in range(0, len(wanted), _CHUNK):
        found += await _load(session, column.in_(wanted[offset : offset + _CHUNK]), *where)
    return found


@dataclass
class _Count:
    contacts: int = 0
    repeats: int = 0
    switches: int = 0
    breaks: int = 0
    provisional: int = 0
    matters: int = 0
    matter_contacts: int = 0
    matter_channels: int = 0
    handle_us: int = 0
    elapsed_us: int = 0

    def row(self, key: str | None) -> KpiJourneyRow:
        def share(part: int) -> float | None:
            return round(part / self.contacts, 4) if self.contacts else None

        def mean(value: float) -> float | None:
            return round(value / self.matters, 4) if self.matters else None

        return KpiJourneyRow(
            key=key,
            contacts=self.contacts,
            repeats=self.repeats,
            repeat_rate=share(self.repeats),
            switches=self.switches,
            switch_rate=share(self.switches),
            breaks=self.breaks,
            break_rate=share(self.breaks),
            provisional=self.provisional,
            resolved_matters=self.matters,
            contacts_per_matter=mean(self.matter_contacts),
            channels_per_matter=mean(self.matter_channels),
            handle_seconds_per_matter=mean(self.handle_us / 1e6),
            elapsed_seconds_per_matter=mean(self.elapsed_us / 1e6),
        )


@dataclass
class _Tally:
    """The counts per key and in total, for the contacts the filters let through."""

    by: JourneyBy
    queue_id: str | None
    channel: str | None
    queues: Collection[str] | None
    rows: dict[str | None, _Count] = field(default_factory=lambda: defaultdict(_Count))
    total: _Count = field(default_factory=_Count)
    matrix: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def counts(self, contact: _Contact) -> tuple[_Count, ...]:
        """Where a figure of this contact counts: nowhere when a filter leaves it out."""
        if self.queue_id is not None and contact.queue != self.queue_id:
            return ()
        if self.queues is not None and contact.queue not in self.queues:
            return ()
        if self.channel is not None and contact.channel != self.channel:
            return ()
        if self.by == "total":
            return (self.total,)
        key = contact.queue if self.by == "queue" else contact.channel
        return (self.rows[key], self.total)


async def journey_report(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    by: JourneyBy,
    queue_id: str | None = None,
    channel: str | None = None,
    queues: Collection[str] | None = None,
) -> KpiJourneyReport:
    """`queues`: only contacts (and matters whose first contact was) in these queues, a
    supervisor's; None: no limit."""
    settings = await repo.settings(session, tenant_id)
    start, end = check_range(start, end, "month", ZoneInfo(settings.timezone))
    window = timedelta(days=await crm_repo.repeat_window_days(session))
    window_us = window // timedelta(microseconds=1)
    tally = _Tally(by, queue_id, channel, queues)
    in_range = await _load(session, Interaction.started_at >= start, Interaction.started_at < end)
    _count_contacts(tally, in_range, to_us(utcnow()), window_us)
    await _count_switches(session, tally, in_range)
    await _count_breaks(session, tally, in_range, window_us)
    await _count_matters(session, tally, start, end)
    return KpiJourneyReport(
        start=start,
        end=end,
        timezone=settings.timezone,
        window_days=window.days,
        by=by,
        rows=[
            tally.rows[key].row(key)
            for key in sorted(tally.rows, key=lambda k: (k is None, k or ""))
        ],
        total=tally.total.row(None),
        switch_matrix=[
            KpiJourneySwitch(from_channel=a, to_channel=b, switches=n)
            for (a, b), n in sorted(tally.matrix.items())
        ],
    )


def _count_contacts(tally: _Tally, in_range: list[_Contact], now_us: int, window_us: int) -> None:
    for contact in in_range:
        for count in tally.counts(contact):
            count.contacts += 1
            count.repeats += contact.repeat_of is not None
            if contact.started_us + window_us > now_us:
                count.provisional += 1


async def _count_switches(session: AsyncSession, tally: _Tally, in_range: list[_Contact]) -> None:
    """Each later contact that continues a contact of the range on another channel."""
    earlier = {c.id: c for c in in_range}
    later = await _load_in(session, Interaction.switched_from, earlier)
    later += await _load_in(session, Interaction.repeat_of, earlier)
    for successor in {c.id: c for c in later}.values():
        source = earlier.get(successor.previous) if successor.previous else None
        if source is None or source.channel == successor.channel:
            continue
        counts = tally.counts(source)
        for count in counts:
            count.switches += 1
        if counts:
            tally.matrix[(source.channel, successor.channel)] += 1


async def _count_breaks(
    session: AsyncSession, tally: _Tally, in_range: list[_Contact], window_us: int
) -> None:
    """Contacts not resolved whose customer's next contact (the first to start after it,
    within the window) was on another channel: the customer had to come back elsewhere. A
    switch made from the contact is the center moving the matter, not the customer coming
    back: no break."""
    open_ = [c for c in in_range if not c.resolved and c.customer_id is not None]
    if not open_:
        return
    first = min(c.started_us for c in open_)
    last = max(c.started_us for c in open_) + window_us
    by_customer: dict[uuid.UUID | None, list[_Contact]] = defaultdict(list)
    customers = {c.customer_id for c in open_}
    since, until = from_us(first), from_us(last)
    bounds = (Interaction.started_at > since, Interaction.started_at <= until)
    for c in await _load_in(session, Interaction.customer_id, customers, *bounds):
        if first < c.started_us <= last:
            by_customer[c.customer_id].append(c)
    for contact in open_:
        later = [
            c
            for c in by_customer[contact.customer_id]
            if contact.started_us < c.started_us <= contact.started_us + window_us
        ]
        if not later:
            continue
        at = min(c.started_us for c in later)
        if any(
            c.started_us == at and c.channel != contact.channel and c.switched_from != contact.id
            for c in later
        ):
            for count in tally.counts(contact):
                count.breaks += 1


async def _count_matters(
    session: AsyncSession, tally: _Tally, start: datetime, end: datetime
) -> None:
    """The matters whose last contact ended in the range with a resolving disposition."""
    start_us, end_us = to_us(start), to_us(end)
    candidates = await _load(
        session,
        Interaction.resolved.is_(True),
        Interaction.ended_at >= start,
        Interaction.ended_at < end,
    )
    if not candidates:
        return
    # A matter's contacts are its customer's (a case is one customer's; a repeat and a switch
    # are the same customer's), so their whole history holds every matter of the candidates.
    known: dict[uuid.UUID, _Contact] = {c.id: c for c in candidates}
    customers = {c.customer_id for c in candidates if c.customer_id is not None}
    for c in await _load_in(session, Interaction.customer_id, customers):
        known[c.id] = c
    cases = {c.case_id for c in candidates if c.case_id is not None}
    for c in await _load_in(session, Interaction.case_id, cases):
        known[c.id] = c
    matters = _matters(known)
    # (members, the resolution's instant)
    resolved: list[tuple[list[_Contact], int]] = []
    for key in {_matter_key(c, known) for c in candidates}:
        members = matters[key]
        last = max(members, key=lambda c: (c.started_us, c.ended_us or 0))
        if last.resolved and last.ended_us is not None and start_us <= last.ended_us < end_us:
            resolved.append((members, last.ended_us))
    handles = await _handle_us(session, [c.id for members, _ in resolved for c in members])
    for members, resolution in resolved:
        first = min(members, key=lambda c: c.started_us)
        for count in tally.counts(first):
            count.matters += 1
            count.matter_contacts += len(members)
            count.matter_channels += len({c.channel for c in members})
            count.handle_us += sum(handles.get(c.id, 0) for c in members)
            count.elapsed_us += resolution - first.started_us


def _matter_key(contact: _Contact, known: dict[uuid.UUID, _Contact]) -> tuple[str, uuid.UUID]:
    """A contact's matter: its case; without one, the chain of contacts without a case it
    continues (named by its first contact)."""
    if contact.case_id is not None:
        return ("case", contact.case_id)
    seen = {contact.id}
    while contact.previous is not None:
        before = known.get(contact.previous)
        if before is None or before.case_id is not None or before.id in seen:
            break
        seen.add(before.id)
        contact = before
    return ("chain", contact.id)


def _matters(known: dict[uuid.UUID, _Contact]) -> dict[tuple[str, uuid.UUID], list[_Contact]]:
    matters: dict[tuple[str, uuid.UUID], list[_Contact]] = defaultdict(list)
    for contact in known.values():
        matters[_matter_key(contact, known)].append(contact)
    return matters


async def _handle_us(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each contact's talk + hold + wrap-up, folded from the steps on its record."""
    handles: dict[uuid.UUID, int] = {}
    for offset in range(0, len(ids), _CHUNK):
        stmt = select(Interaction.id, Interaction.contact_id, Interaction.steps).where(
            Interaction.id.in_(ids[offset : offset + _CHUNK])
        )
        for row in await session.execute(stmt):
            handles[row.id] = handle_us(row.contact_id, row.steps or [])
    return handles


def handle_us(contact_id: str, steps: Sequence[dict[str, Any]]) -> int:
    events = []
    for number, entry in enumerate(steps):
        kind = _STEP_EVENTS.get(str(entry.get("step")))
        if kind is None:
            continue
        payload = dict(entry)
        if kind == CALL_STATE:
            payload["state"] = str(entry["step"]).removeprefix("call_")
        events.append(LogEvent(int(entry.get("seq") or number), kind, payload))
    fold = fold_contact(
        contact_id,
        sorted(events, key=lambda e: e.seq),
        short_abandon_us=0,
        threshold=lambda _queue, _seq: 0,
    )
    return sum(v.talk_us + v.hold_us + v.wrap_us for v in fold.visits)
