"""The pure fold from one contact's events to its queue visits (no I/O).

A *visit* is one stay of a contact in one queue: it starts when the contact arrives
(`routing.contact_received`) or moves to another queue (`routing.contact_queued` naming a
different queue: a transfer, an overflow, a requeue elsewhere), and it is left when the contact
ends or moves on. Going back to the same queue (a rejected or revoked offer, a requeue, a
transfer to an agent of the same queue) continues the visit, so a contact counts once per queue
it went through.

What a visit contributes to the rollups is emitted as `Contribution`s, each tagged with the seq
of the event that made it known: everything but wrap-up when the visit is left, and each
wrap-up that ends after that when it ends. A contribution depends only on the events up to its
seq, never on how the log was cut into batches: that is what makes incremental rollups equal
to a recomputation (docs/kpis.md, "Exactness").

Instants are integer microseconds since the epoch and durations integer microseconds: sums of
integers are exact in any order, sums of floats are not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
US: Final = timedelta(microseconds=1)

RECEIVED: Final = "routing.contact_received"
QUEUED: Final = "routing.contact_queued"
ACCEPTED: Final = "routing.offer_accepted"
ENDED: Final = "routing.contact_ended"
WRAP_STARTED: Final = "routing.wrap_up_started"
WRAP_ENDED: Final = "routing.wrap_up_ended"
CALL_STATE: Final = "voice.call_state_changed"
# The events of a contact the fold reads (anything else of the contact changes no figure).
CONTACT_TYPES: Final = frozenset(
    {RECEIVED, QUEUED, ACCEPTED, ENDED, WRAP_STARTED, WRAP_ENDED, CALL_STATE}
)

Outcome = Literal[
    "waiting", "answered", "abandoned", "short_abandoned", "overflowed", "transferred"
]


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One event of the log as the fold needs it: its seq, type and payload."""

    seq: int
    type: str
    payload: Mapping[str, Any]


def to_us(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // US


def from_us(value: int) -> datetime:
    return EPOCH + value * US


def at_us(payload: Mapping[str, Any]) -> int | None:
    """The event's own instant (`at`), or None when it has none."""
    raw = payload.get("at")
    if isinstance(raw, datetime):
        return to_us(raw)
    if not isinstance(raw, str):
        return None
    try:
        return to_us(datetime.fromisoformat(raw))
    except ValueError:
        return None


def seconds_to_us(value: Any) -> int:
    # The engine computed waited_seconds as microseconds / 1e6: rounding gives them back.
    return round(float(value) * 1_000_000)


@dataclass(slots=True)
class Sums:
    """The additive figures of the queue rollups (counts, and durations in microseconds)."""

    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0  # every abandon, short ones included
    short_abandoned: int = 0
    abandoned_in_sl: int = 0  # abandons after the short threshold, within the SL threshold
    overflowed: int = 0
    transferred: int = 0
    wait_answered_us: int = 0
    wait_abandoned_us: int = 0
    talk_us: int = 0
    hold_us: int = 0
    wrap_us: int = 0

    def add(self, other: Sums) -> None:
        for name in SUM_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in SUM_FIELDS}


SUM_FIELDS: Final = tuple(f.name for f in fields(Sums))


@dataclass(slots=True)
class Visit:
    contact_id: str
    queue_id: str
    channel: str
    arrived_us: int
    agent_id: str | None = None  # the agent who answered (first accepted an offer)
    answered_seq: int | None = None  # the seq of that offer_accepted (team membership then)
    wait_us: int = 0  # answered: the engine's wait; otherwise arrival to leaving
    within_sl: bool = False  # answered within the queue's threshold (the engine's verdict)
    outcome: Outcome = "waiting"
    talk_us: int = 0  # agents connected, hold excluded
    hold_us: int = 0
    wrap_us: int = 0
    disposition: str | None = None
    answered_us: int | None = None  # when the answering agent accepted
    left_us: int | None = None  # when the contact left this queue (ended or moved on)
    left_seq: int | None = None
    open_wraps: int = 0
    # The disposition key ("" for none) the visit is counted under in the disposition
    # rollups since it was left (None: not counted there: unanswered, or not left yet).
    counted_disposition: str | None = None

    @property
    def arrived_at(self) -> datetime:
        return from_us(self.arrived_us)

    @property
    def answered(self) -> bool:
        return self.agent_id is not None

    @property
    def decided(self) -> bool:
        return self.left_seq is not None and self.open_wraps == 0


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one event adds to the rollup row of one visit (its arrival, queue, channel and
    answering agent)."""

    seq: int
    arrived_us: int
    queue_id: str
    channel: str
    agent_id: str | None
    sums: Sums
    answered_seq: int | None = None  # when the answering agent accepted (their teams then)


@dataclass(frozen=True, slots=True)
class DispositionContribution:
    """What one event adds to (or, when a later wrap-up changes the visit's disposition,
    moves between) the disposition rows of an answered visit: handled (`answered`), talk,
    hold and wrap-up, keyed by its arrival, queue, channel and disposition ("" for none)."""

    seq: int
    arrived_us: int
    queue_id: str
    channel: str
    disposition: str
    sums: Sums


# (queue id, seq) -> the queue's service-level threshold in microseconds as of that seq.
Thresholds = Callable[[str, int], int]


@dataclass
class ContactFold:
    """Apply one contact's events in seq order; `visits` and `contributions` grow as they go.

    `short_abandon_us`: an unanswered visit left by the customer within this wait (inclusive)
    is a short abandon. `threshold`: each queue's service-level threshold.
    """

    contact_id: str
    short_abandon_us: int
    threshold: Thresholds
    visits: list[Visit] = field(default_factory=list)
    contributions: list[Contribution] = field(default_factory=list)
    dispositions: list[DispositionContribution] = field(default_factory=list)
    current: Visit | None = None
    live: bool = False  # a life (received .. ended) is open
    talking_since: int | None = None
    held_since: int | None = None
    held_in_talk: int = 0
    wraps: dict[str, tuple[Visit, int]] = field(default_factory=dict)
    last_us: int | None = None

    @property
    def quiet(self) -> bool:
        """Nothing open: no later event of this contact can change a figure (but the
        wrap-up that the engine starts in the step that ended it: see the ingester's grace)."""
        return not self.live and not self.wraps

    def apply_all(self, events: Iterable[LogEvent]) -> ContactFold:
        for event in events:
            self.apply(event)
        return self

    def apply(self, event: LogEvent) -> None:
        at = at_us(event.payload)
        if at is None:
            return
        self.last_us = at
        data = event.payload
        kind = event.type
        if kind == RECEIVED:
            self._arrive(str(data.get("queue_id")), str(data.get("channel")), at)
            self.live = True
        elif kind == WRAP_ENDED:
            self._wrap_ended(event.seq, str(data.get("agent_id")), at, data.get("disposition"))
        elif self.current is None:
            return
        elif kind == QUEUED:
            self._queued(event.seq, str(data.get("queue_id")), str(data.get("channel")), at)
        elif kind == ACCEPTED:
            self._accepted(event.seq, data, at)
        elif kind == ENDED:
            self._ended(event.seq, data, at)
        elif kind == WRAP_STARTED:
            self.wraps[str(data.get("agent_id"))] = (self.current, at)
            self.current.open_wraps += 1
        elif kind == CALL_STATE:
            self._call_state(str(data.get("state")), at)

    # --- the parts -------------------------------------------------------------------------

    def _arrive(self, queue_id: str, channel: str, at: int) -> None:
        self.current = Visit(self.contact_id, queue_id, channel, at)
        self.visits.append(self.current)
        self.talking_since = self.held_since = None

    def _queued(self, seq: int, queue_id: str, channel: str, at: int) -> None:
        visit = self.current
        assert visit is not None
        self._stop_talk(at)
        if queue_id == visit.queue_id:
            return  # back in line in the same queue: the same visit
        if visit.answered:
            outcome: Outcome = "transferred"
        else:
            # An unanswered contact only moves queue by overflowing.
            outcome = "overflowed"
        self._leave(visit, seq, at, outcome)
        self._arrive(queue_id, channel, at)

    def _accepted(self, seq: int, data: Mapping[str, Any], at: int) -> None:
        visit = self.current
        assert visit is not None
        if visit.agent_id is None:
            visit.agent_id = str(data.get("agent_id"))
            visit.answered_seq = seq
            visit.answered_us = at
            visit.wait_us = seconds_to_us(data.get("waited_seconds", 0))
            visit.within_sl = bool(data.get("within_service_level"))
        if self.talking_since is None:  # a hand-over keeps the clock running
            self.talking_since = at
            self.held_in_talk = 0

    def _ended(self, seq: int, data: Mapping[str, Any], at: int) -> None:
        visit = self.current
        assert visit is not None
        self._stop_talk(at)
        self.live = False
        if visit.answered:
            outcome: Outcome = "answered"
        elif data.get("reason") == "overflow":
            outcome = "overflowed"
        else:
            outcome = "abandoned"
        self._leave(visit, seq, at, outcome)

    def _call_state(self, state: str, at: int) -> None:
        if state == "held" and self.talking_since is not None and self.held_since is None:
            self.held_since = at
        elif state == "resumed" and self.held_since is not None:
            self._add_hold(at)

    def _add_hold(self, at: int) -> None:
        assert self.current is not None and self.held_since is not None
        held = at - self.held_since
        self.current.hold_us += held
        self.held_in_talk += held
        self.held_since = None

    def _stop_talk(self, at: int) -> None:
        if self.talking_since is None:
            return
        if self.held_since is not None:
            self._add_hold(at)
        assert self.current is not None
        self.current.talk_us += at - self.talking_since - self.held_in_talk
        self.talking_since = None
        self.held_in_talk = 0

    def _wrap_ended(self, seq: int, agent_id: str, at: int, disposition: Any) -> None:
        opened = self.wraps.pop(agent_id, None)
        if opened is None:
            return
        visit, since = opened
        visit.open_wraps -= 1
        before = self._handled(visit)
        visit.wrap_us += at - since
        if isinstance(disposition, str):
            visit.disposition = disposition
        if visit.left_seq is not None:
            self._emit(seq, visit, Sums(wrap_us=at - since))
            self._recount_disposition(seq, visit, before)

    @staticmethod
    def _handled(visit: Visit) -> Sums:
        return Sums(answered=1, talk_us=visit.talk_us, hold_us=visit.hold_us, wrap_us=visit.wrap_us)

    def _recount_disposition(self, seq: int, visit: Visit, before: Sums) -> None:
        """A wrap-up ended after the visit was left: its time is added under the visit's
        disposition; if it gave another disposition, the whole visit moves there (taken out
        of the old row, added to the new one: integer sums, so the move is exact)."""
        old = visit.counted_disposition
        if old is None:
            return
        new = visit.disposition or ""
        if new == old:
            self._emit_disposition(seq, visit, old, Sums(wrap_us=visit.wrap_us - before.wrap_us))
            return
        taken = Sums()
        for name in SUM_FIELDS:
            setattr(taken, name, -getattr(before, name))
        self._emit_disposition(seq, visit, old, taken)
        self._emit_disposition(seq, visit, new, self._handled(visit))
        visit.counted_disposition = new

    def _leave(self, visit: Visit, seq: int, at: int, outcome: Outcome) -> None:
        sums = Sums(offered=1, talk_us=visit.talk_us, hold_us=visit.hold_us)
        # Wrap-ups that ended while the contact was still here (a consult transfer ends the
        # first agent's part early) are added now; later ones when they end.
        sums.wrap_us = visit.wrap_us
        if visit.answered:
            sums.answered = 1
            sums.answered_in_sl = int(visit.within_sl)
            sums.wait_answered_us = visit.wait_us
            if outcome == "transferred":
                sums.transferred = 1
        else:
            visit.wait_us = at - visit.arrived_us
            if outcome == "overflowed":
                sums.overflowed = 1
            else:
                sums.abandoned = 1
                sums.wait_abandoned_us = visit.wait_us
                if visit.wait_us <= self.short_abandon_us:
                    outcome = "short_abandoned"
                    sums.short_abandoned = 1
                elif visit.wait_us <= self.threshold(visit.queue_id, seq):
                    sums.abandoned_in_sl = 1
        visit.outcome = outcome
        visit.left_us = at
        visit.left_seq = seq
        self._emit(seq, visit, sums)
        if visit.answered:
            visit.counted_disposition = visit.disposition or ""
            self._emit_disposition(seq, visit, visit.counted_disposition, self._handled(visit))

    def _emit(self, seq: int, visit: Visit, sums: Sums) -> None:
        self.contributions.append(
            Contribution(
                seq,
                visit.arrived_us,
                visit.queue_id,
                visit.channel,
                visit.agent_id,
                sums,
                visit.answered_seq,
            )
        )

    def _emit_disposition(self, seq: int, visit: Visit, disposition: str, sums: Sums) -> None:
        self.dispositions.append(
            DispositionContribution(
                seq, visit.arrived_us, visit.queue_id, visit.channel, disposition, sums
            )
        )


def fold_contact(
    contact_id: str,
    events: Iterable[LogEvent],
    *,
    short_abandon_us: int,
    threshold: Thresholds,
) -> ContactFold:
    return ContactFold(contact_id, short_abandon_us, threshold).apply_all(events)
