"""Commands: everything that can change the routing state comes in as one of these.

Each is a frozen dataclass with a `type` string and `to_dict()`; `command_from_dict` reads one
back, so the service layer can log commands (with the instant they were handled) and a standby
can rebuild the state by replaying them through `Engine.handle`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from omnidesk.core.routing.codec import from_jsonable, to_jsonable
from omnidesk.core.routing.errors import InvalidDefinition
from omnidesk.core.routing.model import AgentDef, QueueDef

AgentPresence = Literal["offline", "available", "away"]
TransferKind = Literal["agent", "queue", "external"]
ConsultKind = Literal["agent", "queue"]


@dataclass(frozen=True, slots=True)
class Command:
    type: ClassVar[str] = "routing.command"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = to_jsonable(self)
        return {"type": self.type, **body}


# --- administration ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddQueue(Command):
    type: ClassVar[str] = "routing.add_queue"
    queue: QueueDef


@dataclass(frozen=True, slots=True)
class UpdateQueue(Command):
    """Replaces the definition. Waiting contacts keep their place; their workflow step is
    recomputed from how long they have waited under the new steps."""

    type: ClassVar[str] = "routing.update_queue"
    queue: QueueDef


@dataclass(frozen=True, slots=True)
class RemoveQueue(Command):
    """Only an empty queue without members that no other queue overflows to."""

    type: ClassVar[str] = "routing.remove_queue"
    queue_id: str


@dataclass(frozen=True, slots=True)
class AddAgent(Command):
    """A new agent starts offline."""

    type: ClassVar[str] = "routing.add_agent"
    agent: AgentDef


@dataclass(frozen=True, slots=True)
class UpdateAgent(Command):
    """Replaces the definition; refused if the agent would then hold more than its capacity."""

    type: ClassVar[str] = "routing.update_agent"
    agent: AgentDef


@dataclass(frozen=True, slots=True)
class RemoveAgent(Command):
    """Only an offline agent without contacts."""

    type: ClassVar[str] = "routing.remove_agent"
    agent_id: str


# --- agents -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetAgentState(Command):
    """The agent's chosen presence. Busy and wrap-up are derived from the contacts held.

    Going away or offline revokes pending offers (the contacts go back to their place in line);
    going offline while holding active contacts is refused: end them, or report
    `AgentDisconnected` if the agent is gone.
    """

    type: ClassVar[str] = "routing.set_agent_state"
    agent_id: str
    state: AgentPresence
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AgentDisconnected(Command):
    """The agent's session is gone: pending offers are revoked, active contacts go back to
    their place in line (an agent's own contact started without a queue has none: it ends,
    reason "agent_disconnected"), wrap-ups end, and the agent is offline."""

    type: ClassVar[str] = "routing.agent_disconnected"
    agent_id: str


# --- contacts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactArrived(Command):
    """A new contact for a queue.

    Preferred and last (sticky) agent: the contact is offered only to that agent for the given
    seconds from arrival (preferred first, then last agent), then to anyone eligible. A
    reservation for an agent who is offline at that moment is skipped. `queued_since` keeps an
    earlier place in line (e.g. a callback that replaces a waiting call).
    """

    type: ClassVar[str] = "routing.contact_arrived"
    contact_id: str
    queue_id: str
    channel: str
    priority: int = 0
    attributes: Mapping[str, Any] = field(default_factory=dict)
    emergency: bool = False
    preferred_agent_id: str | None = None
    preferred_for_seconds: float = 30.0
    last_agent_id: str | None = None
    sticky_for_seconds: float = 30.0
    queued_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class StartAgentContact(Command):
    """A contact the agent starts themselves (an outbound call, an email they write): active
    with that agent at once, with no place in line and no offer, and taking the agent's
    capacity on `channel` exactly as an accepted contact does (blending included).

    Refused when the agent is offline or has no room for the channel (a pending offer holds
    room too), for a duplicate id, an unknown queue or a queue that does not serve the
    channel. An agent who is away may start one: the presence stays as chosen and the agent
    is busy by the contact. `queue_id` (optional) is the queue the contact counts for: its
    wrap-up applies, and it is where the contact goes back to if the agent disconnects; with
    none, the wrap-up is `EngineSettings.agent_contact_wrap_up_seconds`. It ends with
    `EndContact`, like any active contact.
    """

    type: ClassVar[str] = "routing.start_agent_contact"
    contact_id: str
    agent_id: str
    channel: str
    queue_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CancelContact(Command):
    """The customer left (hung up, closed the chat) while waiting or while being offered."""

    type: ClassVar[str] = "routing.cancel_contact"
    contact_id: str
    reason: str = "abandoned"


@dataclass(frozen=True, slots=True)
class SetContactPriority(Command):
    """Applies at once: a waiting contact moves to the place its new priority gives it."""

    type: ClassVar[str] = "routing.set_contact_priority"
    contact_id: str
    priority: int


@dataclass(frozen=True, slots=True)
class AcceptOffer(Command):
    """The agent takes the offer. `received_at`: when the answer reached the server (None: when
    it is handled). An answer is judged at that instant, so one that arrived before the offer's
    deadline is honoured even when it is handled after it (it waited in line): time passes only
    up to `received_at` before the answer, the rest after it."""

    type: ClassVar[str] = "routing.accept_offer"
    offer_id: str
    agent_id: str
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RejectOffer(Command):
    """The agent declines the offer; `received_at` as for AcceptOffer."""

    type: ClassVar[str] = "routing.reject_offer"
    offer_id: str
    agent_id: str
    reason: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EndContact(Command):
    """The conversation is over: the contact ends, the agent goes into wrap-up for it."""

    type: ClassVar[str] = "routing.end_contact"
    contact_id: str


@dataclass(frozen=True, slots=True)
class EndWrapUp(Command):
    type: ClassVar[str] = "routing.end_wrap_up"
    agent_id: str
    contact_id: str
    disposition: str | None = None
    # The agent's free-text wrap-up note (up to 1,000 characters), kept with the disposition.
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ExtendWrapUp(Command):
    """Once per wrap-up, and only a timed one; `seconds` defaults to the queue's setting."""

    type: ClassVar[str] = "routing.extend_wrap_up"
    agent_id: str
    contact_id: str
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Transfer(Command):
    """Blind transfer of an active contact; the transferring agent goes into wrap-up.

    - agent: the contact waits in its queue reserved for that agent for `reserve_seconds`,
      then anyone eligible in the queue may take it;
    - queue: the contact joins the end of that queue's line;
    - external (voice only): the contact leaves routing; the service layer dials `target`.
    """

    type: ClassVar[str] = "routing.transfer"
    contact_id: str
    target_kind: TransferKind
    target: str
    reserve_seconds: float = 30.0
    # For whoever takes the contact next: carried by the event and kept on the contact as its
    # `transfer_note` attribute (the desktop's offer shows it).
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Requeue(Command):
    """An agent hands an active contact back: to its own queue at its original place in line,
    or to the end of another queue. The agent is not offered it again and has no wrap-up."""

    type: ClassVar[str] = "routing.requeue"
    contact_id: str
    queue_id: str | None = None


@dataclass(frozen=True, slots=True)
class Consult(Command):
    """The agent handling an active contact asks another agent for help while keeping the
    contact: a consult leg `consult_id` is offered at once to `target` (an agent) or to the
    best ready agent of `target` (a queue, widest step that has one). Nobody ready: refused
    (409), nothing changes; consults never wait in line, the customer is already on hold.
    One open consult per contact."""

    type: ClassVar[str] = "routing.consult"
    contact_id: str
    consult_id: str
    target_kind: ConsultKind
    target: str


@dataclass(frozen=True, slots=True)
class EndConsult(Command):
    """Finish a consult. `transfer`: warm transfer, the consultant (who accepted the leg)
    takes over the contact and the requesting agent goes into wrap-up; otherwise the
    consultant is released (a pending leg offer is withdrawn) and the requester keeps it."""

    type: ClassVar[str] = "routing.end_consult"
    consult_id: str
    transfer: bool = False


@dataclass(frozen=True, slots=True)
class RevokeOffers(Command):
    """Take back pending offers because the server restarted: the agents may never have seen
    them. Each contact returns to its place in line, its agent is not marked as having missed
    it (no missed state, not excluded, reservations kept), and routing runs again, so the
    contact is typically offered again (a new offer id), to the same agent or a better one.
    `agent_ids`: only these agents' offers (None: every pending offer).

    Send it first after a restore (snapshot + replay), with the restart's instant and without
    an `advance` before it: while time catches up to `now`, an offer of these agents whose
    deadline passes is revoked too (reason "restart") instead of timing out, since nobody could
    answer while the server was down. Every other timer fires at its deadline as usual.
    """

    type: ClassVar[str] = "routing.revoke_offers"
    agent_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class OffersSent(Command):
    """These offers reached their agents at `sent_at` (the service published them after the
    commit that made them durable): each one still pending gets the queue's whole offer
    timeout from `sent_at`, so the time the server took to commit and send an offer is not
    taken from the agent. A deadline only ever moves later; an offer no longer pending
    (answered, timed out, revoked) is skipped. Like an answer's `received_at`, time passes
    only up to `sent_at` before the deadlines move, the rest after: an offer whose deadline
    fell between its sending and this command is still extended, not timed out."""

    type: ClassVar[str] = "routing.offers_sent"
    offer_ids: tuple[str, ...]
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Tick(Command):
    """Lets time pass: fires due timers (offer, wrap-up, workflow step, reservation, maximum
    wait) and retries waiting contacts for rules that read the time of day."""

    type: ClassVar[str] = "routing.tick"


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.type: cls
    for cls in (
        AddQueue,
        UpdateQueue,
        RemoveQueue,
        AddAgent,
        UpdateAgent,
        RemoveAgent,
        SetAgentState,
        AgentDisconnected,
        ContactArrived,
        StartAgentContact,
        CancelContact,
        SetContactPriority,
        AcceptOffer,
        RejectOffer,
        EndContact,
        EndWrapUp,
        ExtendWrapUp,
        Transfer,
        Requeue,
        Consult,
        EndConsult,
        RevokeOffers,
        OffersSent,
        Tick,
    )
}


def command_from_dict(data: Mapping[str, Any]) -> Command:
    kind = data.get("type")
    cls = COMMAND_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidDefinition(f"unknown command type {kind!r}", field="type")
    return from_jsonable(cls, data, kind or "command")
