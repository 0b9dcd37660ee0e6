"""Events: every change of routing state is one of these, in the order it happened.

Frozen dataclasses with a `type` string and `to_dict()` (JSON-ready). `at` is the instant the
change took effect: the command's time, or a timer's own deadline when a timer fired during a
later command or tick (so reports do not depend on how often the service ticks).

A contact's life in events: `contact_received`, then any of `contact_queued` /
`offer_*` / `contact_step_changed` / `contact_overflowed` / `contact_transferred`, and finally
exactly one `contact_ended` with the reason. Agents: `agent_state_changed` for every change of
the derived state (offline, available, busy, wrap_up, away) or away reason.

The engine builds the hottest events with positional arguments (marked where it does; keyword
arguments cost about 35 ns a field more, a few percent of a simulated contact), so a class's
declared field order is part of that code: add new fields at the end. Readers of lean events
(below) look fields up by name (`field_positions`), never by a written-out position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, Literal, cast

from omnidesk.core.routing.codec import from_jsonable, to_jsonable
from omnidesk.core.routing.errors import InvalidDefinition
from omnidesk.core.routing.model import AgentDef, OverflowAction, QueueDef

AgentState = Literal["offline", "available", "busy", "wrap_up", "away"]
QueuedReason = Literal[
    "arrived",
    "overflow",
    "transfer",
    "requeue",
    "rejected",
    "timed_out",
    "revoked",
    "agent_disconnected",
]
EndReason = Literal[
    "completed", "cancelled", "overflow", "transferred_external", "agent_disconnected"
]
ConsultOutcome = Literal[
    "ended",
    "transferred",
    "rejected",
    "timed_out",
    "revoked",
    "contact_ended",
    "contact_requeued",
]
OverflowReason = Literal["closed", "full", "max_wait", "workflow", "loop"]
RevokeReason = Literal["cancelled", "agent_away", "agent_offline", "agent_disconnected", "restart"]


@dataclass(frozen=True, slots=True)
class Event:
    type: ClassVar[str] = "routing.event"
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = to_jsonable(self)
        return {"type": self.type, **body}


@dataclass(frozen=True, slots=True)
class QueueAdded(Event):
    type: ClassVar[str] = "routing.queue_added"
    queue: QueueDef


@dataclass(frozen=True, slots=True)
class QueueUpdated(Event):
    type: ClassVar[str] = "routing.queue_updated"
    queue: QueueDef


@dataclass(frozen=True, slots=True)
class QueueRemoved(Event):
    type: ClassVar[str] = "routing.queue_removed"
    queue_id: str


@dataclass(frozen=True, slots=True)
class AgentAdded(Event):
    type: ClassVar[str] = "routing.agent_added"
    agent: AgentDef


@dataclass(frozen=True, slots=True)
class AgentUpdated(Event):
    type: ClassVar[str] = "routing.agent_updated"
    agent: AgentDef


@dataclass(frozen=True, slots=True)
class AgentRemoved(Event):
    type: ClassVar[str] = "routing.agent_removed"
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentStateChanged(Event):
    type: ClassVar[str] = "routing.agent_state_changed"
    agent_id: str
    state: AgentState
    reason: str | None
    previous_state: AgentState
    previous_reason: str | None


@dataclass(frozen=True, slots=True)
class ContactReceived(Event):
    type: ClassVar[str] = "routing.contact_received"
    contact_id: str
    queue_id: str
    channel: str
    priority: int
    emergency: bool


@dataclass(frozen=True, slots=True)
class AgentContactStarted(Event):
    """The agent started a contact of their own (`StartAgentContact`, e.g. an outbound call):
    active with `agent_id` at once. It has no `contact_received` (so arrival counts and
    service levels are about customers' requests only) and no offer; it ends with the usual
    `contact_ended` and wrap-up. `queue_id`: the queue it counts for, or None."""

    type: ClassVar[str] = "routing.agent_contact_started"
    contact_id: str
    agent_id: str
    queue_id: str | None
    channel: str


@dataclass(frozen=True, slots=True)
class ContactQueued(Event):
    """The contact waits in `queue_id` (again). `reserved_for`: offered only to that agent for
    now. After a rejected, timed-out or revoked offer it is back at its original place."""

    type: ClassVar[str] = "routing.contact_queued"
    contact_id: str
    queue_id: str
    channel: str
    step: int
    reserved_for: str | None
    reason: QueuedReason


@dataclass(frozen=True, slots=True)
class ContactStepChanged(Event):
    type: ClassVar[str] = "routing.contact_step_changed"
    contact_id: str
    queue_id: str
    step: int


@dataclass(frozen=True, slots=True)
class ContactReservationEnded(Event):
    """The contact is no longer reserved for `agent_id` (expired, or the agent declined)."""

    type: ClassVar[str] = "routing.contact_reservation_ended"
    contact_id: str
    agent_id: str
    reserved_for: str | None  # the next reservation, if any


@dataclass(frozen=True, slots=True)
class ContactPriorityChanged(Event):
    type: ClassVar[str] = "routing.contact_priority_changed"
    contact_id: str
    priority: int


@dataclass(frozen=True, slots=True)
class OfferCreated(Event):
    type: ClassVar[str] = "routing.offer_created"
    offer_id: str
    contact_id: str
    agent_id: str
    queue_id: str
    channel: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OfferExtended(Event):
    """The offer's deadline moved later: it reached its agent later than it was made (see the
    OffersSent command), and the agent has the whole offer timeout from then."""

    type: ClassVar[str] = "routing.offer_extended"
    offer_id: str
    contact_id: str
    agent_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OfferAccepted(Event):
    type: ClassVar[str] = "routing.offer_accepted"
    offer_id: str
    contact_id: str
    agent_id: str
    queue_id: str
    channel: str
    waited_seconds: float
    within_service_level: bool


@dataclass(frozen=True, slots=True)
class OfferRejected(Event):
    type: ClassVar[str] = "routing.offer_rejected"
    offer_id: str
    contact_id: str
    agent_id: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class OfferTimedOut(Event):
    type: ClassVar[str] = "routing.offer_timed_out"
    offer_id: str
    contact_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class OfferRevoked(Event):
    type: ClassVar[str] = "routing.offer_revoked"
    offer_id: str
    contact_id: str
    agent_id: str
    reason: RevokeReason


@dataclass(frozen=True, slots=True)
class ContactTransferred(Event):
    type: ClassVar[str] = "routing.contact_transferred"
    contact_id: str
    agent_id: str
    target_kind: str
    target: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ContactOverflowed(Event):
    """The service layer acts on `action` (voicemail, callback offer, message + disconnect);
    a queue overflow is carried out by the engine and followed by `contact_queued`."""

    type: ClassVar[str] = "routing.contact_overflowed"
    contact_id: str
    queue_id: str
    reason: OverflowReason
    action: OverflowAction


@dataclass(frozen=True, slots=True)
class ConsultStarted(Event):
    """`agent_id` (handling `contact_id`) consults: the leg `consult_id` is offered next (an
    `offer_created` whose contact_id is the leg). A leg has no `contact_received` or
    `contact_ended` of its own, so contact counts are not inflated by consults."""

    type: ClassVar[str] = "routing.consult_started"
    consult_id: str
    contact_id: str
    agent_id: str
    target_kind: str
    target: str
    queue_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class ConsultEnded(Event):
    """The leg is over. `consultant_id`: the agent it was offered to or accepted by, if any.
    "transferred": the consultant now handles `contact_id` (its handle time starts now)."""

    type: ClassVar[str] = "routing.consult_ended"
    consult_id: str
    contact_id: str
    agent_id: str
    consultant_id: str | None
    outcome: ConsultOutcome


@dataclass(frozen=True, slots=True)
class ContactEnded(Event):
    """`queue_id` is None only for an agent's own contact started without a queue; reason
    "agent_disconnected": such a contact whose agent's session was lost (a contact with a
    queue goes back to its line instead)."""

    type: ClassVar[str] = "routing.contact_ended"
    contact_id: str
    queue_id: str | None
    reason: EndReason
    agent_id: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class WrapUpStarted(Event):
    type: ClassVar[str] = "routing.wrap_up_started"
    agent_id: str
    contact_id: str
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class WrapUpExtended(Event):
    type: ClassVar[str] = "routing.wrap_up_extended"
    agent_id: str
    contact_id: str
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class WrapUpEnded(Event):
    type: ClassVar[str] = "routing.wrap_up_ended"
    agent_id: str
    contact_id: str
    disposition: str | None
    automatic: bool
    note: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        QueueAdded,
        QueueUpdated,
        QueueRemoved,
        AgentAdded,
        AgentUpdated,
        AgentRemoved,
        AgentStateChanged,
        ContactReceived,
        AgentContactStarted,
        ContactQueued,
        ContactStepChanged,
        ContactReservationEnded,
        ContactPriorityChanged,
        OfferCreated,
        OfferExtended,
        OfferAccepted,
        OfferRejected,
        OfferTimedOut,
        OfferRevoked,
        ContactTransferred,
        ContactOverflowed,
        ContactEnded,
        ConsultStarted,
        ConsultEnded,
        WrapUpStarted,
        WrapUpExtended,
        WrapUpEnded,
    )
}


# --- lean events ---------------------------------------------------------------------------

# An event not built: its class and its field values in declaration order (`at` first), its
# instants (`at`, deadlines) as integer microseconds since the Unix epoch (see Makers). Read a
# field at the position `field_positions` gives for its name.
LeanEvent = tuple[type[Event], tuple[Any, ...]]


def field_positions(cls: type[Event], *names: str) -> tuple[int, ...]:
    """Where the named fields of `cls` sit in its lean events' values: their places in the
    class's declared fields, the order the engine builds them in. The one table both sides
    use, so a reader that takes its positions from here reads the same field whatever the
    order (tests/core/routing/test_engine_lean.py checks lean and built events agree)."""
    declared = [f.name for f in fields(cls)]
    missing = [name for name in names if name not in declared]
    if missing:
        raise KeyError(f"{cls.__name__} has no field(s) {missing}")
    return tuple(declared.index(name) for name in names)


@dataclass(frozen=True, slots=True)
class Makers:
    """What the engine builds its most frequent events with (each has one call site, which
    passes every field positionally): `MAKERS`, the event classes themselves.

    Why `LEAN_MAKERS`: a frozen, slotted dataclass costs ~0.1 µs a field to build, ~0.8 µs an
    event, and the digital twin, which reads each event once as it comes and keeps none, gets
    about eight of these per contact. With them (`Engine.handle_lean_us`) each maker returns
    `(class, fields)` instead (a `LeanEvent`, ~8x cheaper) for the same arguments. (A
    NamedTuple per event was measured too: ~3x the cost of the plain tuple, 4-8 % of a
    simulated contact; readers use `field_positions` instead.) Typed as the classes, so that
    mypy checks the call sites either way. `lean`: the call sites then pass instants as
    integer microseconds (Core.event_now), as the twin keeps time: a datetime costs ~0.2 µs
    to build, and the twin would only turn it back."""

    lean: bool

    contact_received: type[ContactReceived]
    contact_queued: type[ContactQueued]
    contact_ended: type[ContactEnded]
    offer_created: type[OfferCreated]
    offer_accepted: type[OfferAccepted]
    agent_state_changed: type[AgentStateChanged]
    wrap_up_started: type[WrapUpStarted]
    wrap_up_ended: type[WrapUpEnded]


_MADE = (
    ContactReceived,
    ContactQueued,
    ContactEnded,
    OfferCreated,
    OfferAccepted,
    AgentStateChanged,
    WrapUpStarted,
    WrapUpEnded,
)
MAKERS = Makers(False, *_MADE)


def _lean(cls: type[Event]) -> Callable[..., LeanEvent]:
    def make(*values: Any) -> LeanEvent:
        return (cls, values)

    return make


LEAN_MAKERS = Makers(True, *(cast(Any, _lean(cls)) for cls in _MADE))


def lean(event: Event | LeanEvent) -> LeanEvent:
    """An event as `(class, fields)`, whichever way it came (a lean event is returned as is;
    an event object keeps its instants as datetimes)."""
    if isinstance(event, tuple):
        return event
    return (type(event), tuple(getattr(event, f.name) for f in fields(event)))


def event_from_dict(data: Mapping[str, Any]) -> Event:
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidDefinition(f"unknown event type {kind!r}", field="type")
    return from_jsonable(cls, data, kind or "event")
