"""Agent presence: available, away (with a reason), offline; and a lost agent session.

The agent chooses a presence; busy and wrap-up are derived from the contacts it holds, so an
agent who goes away during a call shows busy until the call (and its wrap-up) ends, then away.
No agent stays reserved: leaving "available" revokes every pending offer.
"""

from __future__ import annotations

from omnidesk.core.routing.commands import AgentDisconnected, SetAgentState
from omnidesk.core.routing.consult import end_leg, end_open_consult
from omnidesk.core.routing.contacts import (
    end_contact,
    end_reservation,
    place_waiting,
    revoke_offer,
)
from omnidesk.core.routing.errors import (
    CapacityExceeded,
    IllegalTransition,
    InvalidDefinition,
)
from omnidesk.core.routing.events import RevokeReason
from omnidesk.core.routing.matching import route_agent
from omnidesk.core.routing.state import NO_QUEUE, AgentRt, Core, Presence, Slot
from omnidesk.core.routing.work import finish_wrap_up

PRESENCES = ("offline", "available", "away")


def _slots(agent: AgentRt, kind: str) -> list[Slot]:
    # Sorted, not dict order: a restored engine must revoke in the same order as the original.
    return sorted((s for s in agent.slots.values() if s.kind == kind), key=lambda s: s.seq)


def change_presence(core: Core, agent: AgentRt, presence: Presence, reason: str | None) -> None:
    was_available = agent.presence == "available"
    agent.presence = presence
    agent.reason = reason if presence == "away" else None
    if presence == "available" and not was_available:
        core.touch(agent)
    core.reindex(agent)
    core.sync_state(agent)
    if presence != "available":
        revoke: RevokeReason = "agent_offline" if presence == "offline" else "agent_away"
        for slot in _slots(agent, "offered"):
            revoke_offer(core, core.contacts[slot.contact_id], agent, revoke)
    if presence == "offline":
        _drop_reservations(core, agent)
    if presence == "available":
        route_agent(core, agent)


def _drop_reservations(core: Core, agent: AgentRt) -> None:
    """Contacts waiting only for this agent stop waiting for it once it is offline."""
    waiting = core.reserved.get(agent.id, {})
    for contact in sorted((core.contacts[c] for c in waiting), key=lambda c: c.key):
        end_reservation(core, contact, agent.id)


def set_agent_state(core: Core, cmd: SetAgentState) -> None:
    agent = core.agent(cmd.agent_id)
    if cmd.state not in PRESENCES:
        raise InvalidDefinition(f"state must be one of {list(PRESENCES)}", field="state")
    reason = cmd.reason if cmd.state == "away" else None
    if reason is not None and (not isinstance(reason, str) or not 0 < len(reason) <= 64):
        raise InvalidDefinition("reason must be 1-64 characters", field="reason")
    if cmd.state == agent.presence and reason == agent.reason:
        return
    if cmd.state == "offline" and agent.n_active:
        raise IllegalTransition(
            "the agent is handling contacts: end or transfer them first",
            code="agent_has_active_contacts",
            agent_id=agent.id,
        )
    if cmd.state == "available" and not core.within_capacity(agent, agent.definition):
        raise CapacityExceeded(
            "the agent holds more contacts than its capacity allows",
            agent_id=agent.id,
        )
    if cmd.state == "offline":
        for slot in _slots(agent, "wrap_up"):
            finish_wrap_up(core, agent, slot, None, automatic=True)
    change_presence(core, agent, cmd.state, reason)


def agent_disconnected(core: Core, cmd: AgentDisconnected) -> None:
    agent = core.agent(cmd.agent_id)
    agent.presence = "offline"
    agent.reason = None
    core.reindex(agent)
    for slot in _slots(agent, "offered"):
        revoke_offer(core, core.contacts[slot.contact_id], agent, "agent_disconnected")
    for slot in _slots(agent, "active"):
        contact = core.contacts[slot.contact_id]
        if contact.parent_id is not None:
            end_leg(core, contact, "revoked", route=False)
            continue
        if contact.queue_id == NO_QUEUE:
            # An agent's own contact without a queue has no line to go back to, and nobody
            # else could continue it (their outbound call): it ends, without wrap-up.
            end_open_consult(core, contact, "contact_ended")
            core.drop_slot(agent, contact.id)
            end_contact(core, contact, "agent_disconnected", agent_id=agent.id)
            continue
        end_open_consult(core, contact, "contact_requeued")
        core.drop_slot(agent, contact.id)
        contact.state = "waiting"
        contact.agent_id = None
        core.queues[contact.queue_id].queued += 1
        place_waiting(core, contact, "agent_disconnected")
    for slot in _slots(agent, "wrap_up"):
        finish_wrap_up(core, agent, slot, None, automatic=True)
    _drop_reservations(core, agent)
    core.touch(agent)
    core.sync_state(agent)
