"""Offers: accept, reject, time out, revoke.

An offer id is "<contact id>#<n>" (the contact's n-th offer), so an answer to an old offer of
a contact still in routing is told apart (409 `offer_not_pending`) from an id never issued (404).
"""

from __future__ import annotations

from omnidesk.core.routing.agents import change_presence
from omnidesk.core.routing.clock import from_us, to_us
from omnidesk.core.routing.commands import AcceptOffer, OffersSent, RejectOffer, RevokeOffers
from omnidesk.core.routing.consult import end_leg
from omnidesk.core.routing.contacts import place_waiting, release_offer
from omnidesk.core.routing.errors import (
    Conflict,
    InvalidDefinition,
    OfferNotPending,
    UnknownAgent,
    UnknownOffer,
)
from omnidesk.core.routing.events import (
    ConsultOutcome,
    OfferExtended,
    OfferRejected,
    OfferRevoked,
    OfferTimedOut,
)
from omnidesk.core.routing.matching import route_agent, route_contact
from omnidesk.core.routing.state import T_OFFER, AgentRt, ContactRt, Core


def _pending_offer(core: Core, offer_id: str, agent_id: str) -> tuple[ContactRt, AgentRt]:
    contact_id, _, number = offer_id.rpartition("#")
    contact = core.contacts.get(contact_id)
    if contact is not None and contact.offer_id == offer_id and contact.agent_id == agent_id:
        # The usual answer: the offer is pending for this agent (an offer id is only on a
        # contact while offered), so the checks below would all pass.
        agent = core.agents.get(agent_id)
        if agent is not None:
            return contact, agent
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
    slot.kind = "active"  # Core.set_slot_kind, inlined: offered -> active
    agent.n_active += 1
    now = core.now
    slot.started = now
    slot.offer_id = None
    contact.state = "active"
    contact.offer_id = None
    contact.offer_expires = None
    contact.reservations = []
    queue.queued -= 1
    waited = (now - contact.queued_at) / 1_000_000
    # Fields in declaration order: positional is cheaper on this hot path.
    core.events.append(
        core.make.offer_accepted(
            core.event_now,
            cmd.offer_id,
            contact.id,
            cmd.agent_id,
            queue.id,
            contact.channel,
            waited,
            waited <= queue.definition.service_level_seconds,
        )
    )
    core.sync_state(agent)


def reject_offer(core: Core, cmd: RejectOffer) -> None:
    contact, agent = _pending_offer(core, cmd.offer_id, cmd.agent_id)
    core.events.append(
        OfferRejected(
            at=core.now_dt,
            offer_id=cmd.offer_id,
            contact_id=contact.id,
            agent_id=cmd.agent_id,
            reason=cmd.reason,
        )
    )
    _missed(core, contact, agent, "rejected")


def offers_sent(core: Core, cmd: OffersSent) -> None:
    """Each offer still pending gets its queue's whole offer timeout from `sent_at`, when it
    reached its agent; a deadline only moves later (a repeated command changes nothing)."""
    sent = to_us(cmd.sent_at)
    for offer_id in cmd.offer_ids:
        contact = core.contacts.get(offer_id.rpartition("#")[0])
        if contact is None or contact.state != "offered" or contact.offer_id != offer_id:
            continue  # answered, timed out or revoked meanwhile
        queue = core.queues.get(contact.queue_id)
        if queue is None or contact.offer_expires is None or contact.agent_id is None:
            continue
        expires = sent + queue.offer_timeout_us
        if expires <= contact.offer_expires:
            continue
        contact.offer_expires = expires
        # The old timer entry goes stale: on_offer_timer checks the deadline it was set for.
        core.push_timer(expires, T_OFFER, contact.seq, contact.id, offer_id)
        core.events.append(
            OfferExtended(
                at=core.now_dt,
                offer_id=offer_id,
                contact_id=contact.id,
                agent_id=contact.agent_id,
                expires_at=from_us(expires),
            )
        )


def on_offer_timer(core: Core, deadline: int, contact_id: str, offer_id: str) -> None:
    contact = core.contacts.get(contact_id)
    if contact is None or contact.offer_id != offer_id or contact.offer_expires != deadline:
        return
    agent = core.agents[contact.agent_id or ""]
    if core.restart_all or agent.id in core.restart_agents:
        # Time is catching up after a restart: nobody could answer this offer.
        revoke_for_restart(core, [contact], route=False)
        return
    core.events.append(
        OfferTimedOut(at=core.now_dt, offer_id=offer_id, contact_id=contact.id, agent_id=agent.id)
    )
    _missed(core, contact, agent, "timed_out")


def _missed(core: Core, contact: ContactRt, agent: AgentRt, reason: str) -> None:
    release_offer(core, contact, agent, declined=True)
    if contact.parent_id is not None:
        # A consult not taken just ends: no missed state, nothing goes back in line.
        outcome: ConsultOutcome = "rejected" if reason == "rejected" else "timed_out"
        end_leg(core, contact, outcome, released_by=agent)
        return
    if core.settings.missed_state == "away" and agent.presence == "available":
        # The agent is not offered the contact again either way; going away first means the
        # contact's re-routing below cannot land on an agent who is not there.
        change_presence(core, agent, "away", core.settings.missed_reason)
    else:
        core.reindex(agent)
        core.sync_state(agent)
    place_waiting(core, contact, "rejected" if reason == "rejected" else "timed_out")
    route_agent(core, agent)


# --- revoked after a restart -------------------------------------------------------------------


def check_revoke_offers(core: Core, cmd: RevokeOffers) -> None:
    """Validate before time passes (the catch-up depends on the command); 404 for an unknown
    agent, and nothing has changed."""
    if cmd.agent_ids is None:
        return
    if not isinstance(cmd.agent_ids, tuple | list) or not all(
        isinstance(a, str) for a in cmd.agent_ids
    ):
        raise InvalidDefinition("agent_ids must be a list of agent ids", field="agent_ids")
    for agent_id in cmd.agent_ids:
        if agent_id not in core.agents:
            raise UnknownAgent(agent_id)


def revoke_offers(core: Core, cmd: RevokeOffers) -> None:
    check_revoke_offers(core, cmd)
    if cmd.agent_ids is None:
        agents = list(core.agents.values())
    else:
        agents = [core.agents[a] for a in dict.fromkeys(cmd.agent_ids)]
    contacts = [
        core.contacts[slot.contact_id]
        for agent in agents
        for slot in agent.slots.values()
        if slot.kind == "offered"
    ]
    revoke_for_restart(core, contacts, route=True)


def revoke_for_restart(core: Core, contacts: list[ContactRt], *, route: bool) -> None:
    """Revoke these pending offers as if they had never been made, then (`route`) route again.

    All contacts first go back to their places (best in line first) and their agents get their
    room back; then each freed agent, in that order, takes the best contact it may take (as
    any agent that gains room does: often the same contact again, with a new offer); then a
    revoked contact still waiting goes to the best ready agent. So the outcome does not depend
    on which offer happened to be revoked first. While time catches up (`route=False`), the
    routing waits for the end of the command: an offer made in between could not be answered
    either.
    """
    for contact in sorted(contacts, key=lambda c: c.key):
        agent = core.agents[contact.agent_id or ""]
        core.events.append(
            OfferRevoked(
                at=core.now_dt,
                offer_id=contact.offer_id or "",
                contact_id=contact.id,
                agent_id=agent.id,
                reason="restart",
            )
        )
        release_offer(core, contact, agent, declined=False)
        core.restart_freed[agent.id] = agent
        if contact.parent_id is not None:
            end_leg(core, contact, "revoked", released_by=agent, route=False)
            continue
        core.reindex(agent)
        core.sync_state(agent)
        core.restart_contacts.append(contact)
        place_waiting(core, contact, "revoked", route=False)
    if not route:
        return
    freed, revoked = core.restart_freed, core.restart_contacts
    core.restart_freed, core.restart_contacts = {}, []
    for agent in freed.values():
        route_agent(core, agent)
    for contact in sorted(revoked, key=lambda c: c.key):
        if core.contacts.get(contact.id) is contact and contact.state == "waiting":
            route_contact(core, contact)
