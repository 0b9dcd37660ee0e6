"""Offers: accept, reject, time out, revoke.

An offer id is "<contact id>#<n>" (the contact's n-th offer), so an answer to an old offer of
a contact still in routing is told apart (409 `offer_not_pending`) from an id never issued (404).
"""

from __future__ import annotations

from omnidesk.core.routing.agents import change_presence
from omnidesk.core.routing.commands import AcceptOffer, RejectOffer
from omnidesk.core.routing.contacts import place_waiting, release_offer
from omnidesk.core.routing.errors import Conflict, OfferNotPending, UnknownAgent, UnknownOffer
from omnidesk.core.routing.events import (
    OfferAccepted,
    OfferRejected,
    OfferTimedOut,
)
from omnidesk.core.routing.matching import route_agent
from omnidesk.core.routing.state import AgentRt, ContactRt, Core


def _pending_offer(core: Core, offer_id: str, agent_id: str) -> tuple[ContactRt, AgentRt]:
    contact_id, _, number = offer_id.rpartition("#")
    contact = core.contacts.get(contact_id)
    if contact is None or not number.isdigit() or not 1 <= int(number) <= contact.offer_count:
        raise UnknownOffer(offer_id)
    agent = core.agents.get(agent_id)
    if agent is None:
        raise UnknownAgent(agent_id)
    if contact.state != "offered" or contact.offer_id != offer_id:
        raise OfferNotPending(
            f"offer {offer_id!r} is no longer pending (timed out, revoked or answered)",
            offer_id=offer_id,
        )
    if contact.agent_id != agent_id:
        raise Conflict(
            f"offer {offer_id!r} was made to another agent",
            code="offer_not_for_agent",
            offer_id=offer_id,
            agent_id=agent_id,
        )
    return contact, agent


def accept_offer(core: Core, cmd: AcceptOffer) -> None:
    contact, agent = _pending_offer(core, cmd.offer_id, cmd.agent_id)
    queue = core.queues[contact.queue_id]
    slot = agent.slots[contact.id]
    core.set_slot_kind(agent, slot, "active")
    slot.started = core.now
    slot.offer_id = None
    contact.state = "active"
    contact.offer_id = None
    contact.offer_expires = None
    contact.reservations = []
    queue.queued -= 1
    waited = (core.now - contact.queued_at) / 1_000_000
    core.emit(
        OfferAccepted(
            at=core.now_dt,
            offer_id=cmd.offer_id,
            contact_id=contact.id,
            agent_id=cmd.agent_id,
            queue_id=queue.id,
            channel=contact.channel,
            waited_seconds=waited,
            within_service_level=waited <= queue.definition.service_level_seconds,
        )
    )
    core.sync_state(agent)


def reject_offer(core: Core, cmd: RejectOffer) -> None:
    contact, agent = _pending_offer(core, cmd.offer_id, cmd.agent_id)
    core.emit(
        OfferRejected(
            at=core.now_dt,
            offer_id=cmd.offer_id,
            contact_id=contact.id,
            agent_id=cmd.agent_id,
            reason=cmd.reason,
        )
    )
    _missed(core, contact, agent, "rejected")


def on_offer_timer(core: Core, deadline: int, contact_id: str, offer_id: str) -> None:
    contact = core.contacts.get(contact_id)
    if contact is None or contact.offer_id != offer_id or contact.offer_expires != deadline:
        return
    agent = core.agents[contact.agent_id or ""]
    core.emit(
        OfferTimedOut(
            at=core.now_dt, offer_id=offer_id, contact_id=contact.id, agent_id=agent.definition.id
        )
    )
    _missed(core, contact, agent, "timed_out")


def _missed(core: Core, contact: ContactRt, agent: AgentRt, reason: str) -> None:
    release_offer(core, contact, agent, declined=True)
    if core.config.missed_state == "away" and agent.presence == "available":
        # The agent is not offered the contact again either way; going away first means the
        # contact's re-routing below cannot land on an agent who is not there.
        change_presence(core, agent, "away", core.config.missed_reason)
    else:
        core.reindex(agent)
        core.sync_state(agent)
    place_waiting(core, contact, "rejected" if reason == "rejected" else "timed_out")
    route_agent(core, agent)
