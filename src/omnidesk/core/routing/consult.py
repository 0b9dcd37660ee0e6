"""Consults: an agent on an active contact asks another agent for help without letting go.

The consult is a leg: a contact record of its own (`consult_id`) that points at the contact it
is about (`parent_id`) and uses the consultant's capacity on the contact's channel, so a
consultant on a voice consult is not offered a call meanwhile. A leg is offered at once or not
at all (the customer is on hold: it never waits in line), is accepted like any offer, and ends
with `EndConsult`: released, or warm-transferred (the consultant takes the contact over).
Anything that takes the contact away from its agent ends the leg first, so a leg never outlives
the active contact it belongs to.
"""

from __future__ import annotations

from omnidesk.core.routing.commands import Consult, EndConsult
from omnidesk.core.routing.contacts import leave_queue, release_offer
from omnidesk.core.routing.errors import (
    Conflict,
    DuplicateId,
    IllegalTransition,
    InvalidDefinition,
    UnknownContact,
)
from omnidesk.core.routing.events import (
    ConsultEnded,
    ConsultOutcome,
    ConsultStarted,
    ContactTransferred,
    OfferRevoked,
)
from omnidesk.core.routing.matching import choose_agent, make_offer, route_agent
from omnidesk.core.routing.model import validate_id
from omnidesk.core.routing.state import AgentRt, ContactRt, Core, QueueRt, Slot


def refuse_leg(contact: ContactRt, action: str) -> None:
    """Commands meant for customer contacts do not apply to a consult leg."""
    if contact.parent_id is not None:
        raise IllegalTransition(
            f"{contact.id!r} is a consult: {action} it with EndConsult",
            code="consult_leg",
            contact_id=contact.id,
        )


def refuse_open_consult(contact: ContactRt) -> None:
    """Transfer and requeue move the contact away from its agent: end the consult first."""
    if contact.consult_id is not None:
        raise IllegalTransition(
            f"contact {contact.id!r} has an open consult {contact.consult_id!r}: end it first",
            code="consult_open",
            contact_id=contact.id,
            consult_id=contact.consult_id,
        )


def _candidate(core: Core, leg: ContactRt, queue: QueueRt, target: Consult) -> AgentRt | None:
    if target.target_kind == "agent":
        return choose_agent(core, leg, target.target)
    # The narrowest step first: a consult looks for the best-matching expert that is ready now.
    for step in range(len(queue.targets)):
        leg.step = step
        agent = choose_agent(core, leg, None)
        if agent is not None:
            return agent
    leg.step = 0
    return None


def consult(core: Core, cmd: Consult) -> None:
    contact = core.contact(cmd.contact_id)
    refuse_leg(contact, "consult on")
    if contact.state != "active":
        raise IllegalTransition(
            f"contact {contact.id!r} is {contact.state}, not active",
            code="contact_not_active",
            contact_id=contact.id,
        )
    refuse_open_consult(contact)
    validate_id(cmd.consult_id, "consult_id")
    if cmd.consult_id in core.contacts:
        raise DuplicateId(f"contact {cmd.consult_id!r} exists", contact_id=cmd.consult_id)
    requester = core.agents[contact.agent_id or ""]
    if cmd.target_kind == "agent":
        target_agent = core.agent(cmd.target)
        if target_agent is requester:
            raise IllegalTransition("cannot consult yourself", code="consult_self")
        own = core.queues.get(contact.queue_id)
        if own is None:
            # The leg is routed by the contact's queue (its pools and offer timeout).
            raise IllegalTransition(
                f"contact {contact.id!r} was started by its agent without a queue: "
                "consult a queue instead",
                code="no_queue",
                contact_id=contact.id,
            )
        queue = own
    elif cmd.target_kind == "queue":
        queue = core.queue(cmd.target)
        if contact.channel not in queue.definition.channels:
            raise InvalidDefinition(
                f"queue {cmd.target!r} does not serve channel {contact.channel!r}",
                field="target",
            )
    else:
        raise InvalidDefinition("target_kind must be agent or queue", field="target_kind")

    now = core.now
    leg = ContactRt(
        cmd.consult_id,
        queue.id,
        contact.channel,
        contact.priority,
        contact.attributes,
        contact.emergency,
        0,
        now,
        now,
    )
    # The requester never gets its own leg (and counts as having declined it).
    leg.declined = {requester.id: None}
    leg.parent_id = contact.id
    agent = _candidate(core, leg, queue, cmd)
    if agent is None:
        raise Conflict(
            f"no agent is ready to take a consult on {cmd.target_kind} {cmd.target!r}",
            code="consult_unavailable",
            target=cmd.target,
        )
    core.line_seq += 1
    leg.seq = core.line_seq
    leg.key = core.line_key(leg, queue)
    core.contacts[leg.id] = leg
    queue.contacts[leg.id] = None
    queue.queued += 1  # an offered leg counts like any offered contact; accepting it undoes this
    contact.consult_id = leg.id
    core.events.append(
        ConsultStarted(
            at=core.now_dt,
            consult_id=leg.id,
            contact_id=contact.id,
            agent_id=requester.id,
            target_kind=cmd.target_kind,
            target=cmd.target,
            queue_id=queue.id,
            channel=leg.channel,
        )
    )
    make_offer(core, leg, agent)


def end_leg(
    core: Core,
    leg: ContactRt,
    outcome: ConsultOutcome,
    *,
    released_by: AgentRt | None = None,
    route: bool = True,
) -> None:
    """Remove a leg and give its consultant the room back. A still pending offer is withdrawn
    (reason "cancelled") unless the caller released it already (reject, timeout, revoke: then
    `released_by` is the agent it was offered to)."""
    parent = core.contacts[leg.parent_id or ""]
    consultant = released_by or core.agents.get(leg.agent_id or "")
    consultant_id = consultant.id if consultant is not None else None
    if consultant is not None and leg.id in consultant.slots:
        if leg.state == "offered":
            core.events.append(
                OfferRevoked(
                    at=core.now_dt,
                    offer_id=leg.offer_id or "",
                    contact_id=leg.id,
                    agent_id=consultant.id,
                    reason="cancelled",
                )
            )
            release_offer(core, leg, consultant, declined=False)
        else:
            core.drop_slot(consultant, leg.id)
            core.touch(consultant)
    leave_queue(core, leg)
    del core.contacts[leg.id]
    parent.consult_id = None
    core.events.append(
        ConsultEnded(
            at=core.now_dt,
            consult_id=leg.id,
            contact_id=parent.id,
            agent_id=parent.agent_id or "",
            consultant_id=consultant_id,
            outcome=outcome,
        )
    )
    if consultant is not None:
        core.reindex(consultant)
        core.sync_state(consultant)
        if route:
            route_agent(core, consultant)


def end_open_consult(core: Core, contact: ContactRt, outcome: ConsultOutcome) -> None:
    if contact.consult_id is not None:
        end_leg(core, core.contacts[contact.consult_id], outcome)


def end_consult(core: Core, cmd: EndConsult) -> None:
    leg = core.contacts.get(cmd.consult_id)
    if leg is None or leg.parent_id is None:
        raise UnknownContact(cmd.consult_id)
    if not cmd.transfer:
        end_leg(core, leg, "ended")
        return
    if leg.state != "active":
        raise IllegalTransition(
            f"consult {leg.id!r} has not been accepted yet",
            code="consult_not_accepted",
            consult_id=leg.id,
        )
    _warm_transfer(core, leg)


def _warm_transfer(core: Core, leg: ContactRt) -> None:
    # Imported here: work imports this module for its consult checks.
    from omnidesk.core.routing.work import start_wrap_up

    parent = core.contacts[leg.parent_id or ""]
    requester = core.agents[parent.agent_id or ""]
    consultant = core.agents[leg.agent_id or ""]
    if parent.id in consultant.slots:
        raise IllegalTransition(
            f"agent {consultant.id!r} is still wrapping up contact {parent.id!r}",
            code="consultant_wrapping_up",
            agent_id=consultant.id,
        )
    queue = core.queues.get(parent.queue_id)  # None: an agent's own contact without a queue
    core.events.append(
        ContactTransferred(
            at=core.now_dt,
            contact_id=parent.id,
            agent_id=requester.id,
            target_kind="agent",
            target=consultant.id,
        )
    )
    # The consultant's leg slot becomes its slot for the contact: same channel, so its load
    # and state do not change; its handle time for the contact starts now.
    core.drop_slot(consultant, leg.id)
    slot = Slot(parent.id, parent.channel, parent.queue_id, "active", parent.seq)
    slot.started = core.now
    core.add_slot(consultant, slot)
    leave_queue(core, leg)
    del core.contacts[leg.id]
    parent.consult_id = None
    parent.agent_id = consultant.id
    core.events.append(
        ConsultEnded(
            at=core.now_dt,
            consult_id=leg.id,
            contact_id=parent.id,
            agent_id=requester.id,
            consultant_id=consultant.id,
            outcome="transferred",
        )
    )
    core.sync_state(consultant)
    own = requester.slots[parent.id]
    freed = start_wrap_up(core, requester, own, queue)
    if freed:
        core.reindex(requester)
    core.sync_state(requester)
    if freed:
        route_agent(core, requester)
