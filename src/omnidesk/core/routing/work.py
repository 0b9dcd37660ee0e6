"""An agent's work on an accepted contact: end, wrap-up, transfer, requeue; and a contact
the agent starts themselves (an outbound call), which is active with them from the start.

Wrap-up belongs to the agent, not to the contact: the contact has ended (or moved on, after a
transfer) while the agent still holds the slot, so the capacity stays taken until the wrap-up
ends, by the agent, by its timer, or when the agent goes offline or disconnects.
"""

from __future__ import annotations

from heapq import heappush

from omnidesk.core.routing.clock import from_us, seconds_to_us
from omnidesk.core.routing.codec import normalize_json
from omnidesk.core.routing.commands import (
    EndContact,
    EndWrapUp,
    ExtendWrapUp,
    Requeue,
    StartAgentContact,
    Transfer,
)
from omnidesk.core.routing.consult import end_open_consult, refuse_leg, refuse_open_consult
from omnidesk.core.routing.contacts import end_contact, enter_queue, leave_queue, place_waiting
from omnidesk.core.routing.errors import (
    CapacityExceeded,
    DuplicateId,
    IllegalTransition,
    InvalidDefinition,
    UnknownWrapUp,
)
from omnidesk.core.routing.events import (
    AgentContactStarted,
    ContactTransferred,
    WrapUpExtended,
)
from omnidesk.core.routing.matching import route_agent
from omnidesk.core.routing.model import validate_id
from omnidesk.core.routing.state import (
    NO_QUEUE,
    T_WRAP,
    AgentRt,
    ContactRt,
    Core,
    QueueRt,
    Slot,
)

VOICE = "voice"
MAX_NOTE = 1000


def _active(core: Core, contact_id: str) -> tuple[ContactRt, AgentRt, Slot]:
    contact = core.contact(contact_id)
    if contact.state != "active":
        raise IllegalTransition(
            f"contact {contact_id!r} is {contact.state}, not active",
            code="contact_not_active",
            contact_id=contact_id,
        )
    agent = core.agents[contact.agent_id or ""]
    return contact, agent, agent.slots[contact.id]


def _after_agent_change(core: Core, agent: AgentRt) -> None:
    """The agent has more room: route to it, then put it in its pools (finding its next
    contact reads lines, not pools, and an offer reindexes the agent anyway: under load a
    freed agent is usually offered a contact at once, so this saves a reindex)."""
    core.sync_state(agent)
    if not route_agent(core, agent):
        core.reindex(agent)


# --- wrap-up ---------------------------------------------------------------------------------


def start_wrap_up(core: Core, agent: AgentRt, slot: Slot, queue: QueueRt | None) -> bool:
    """Turn the agent's slot for a finished contact into wrap-up; True if there is none (the
    queue says 0 s) and the slot was freed at once. `queue` None: an agent's own contact
    without a queue, whose wrap-up the engine's settings give."""
    if queue is not None:
        seconds = queue.definition.wrap_up_seconds
    else:
        seconds = core.settings.agent_contact_wrap_up_seconds
    if seconds == 0:
        _record_handle_time(core, slot)
        core.drop_slot(agent, slot.contact_id)
        core.touch(agent)
        return True
    core.set_slot_kind(agent, slot, "wrap_up")
    ends_at = None
    if seconds is not None:
        slot.wrap_until = until = core.now + seconds_to_us(seconds)
        heappush(core.timers, (until, T_WRAP, slot.seq, agent.id, slot.contact_id))
        ends_at = core.event_instant(until)
    else:
        slot.wrap_until = None
    # Fields in declaration order: positional is cheaper on this hot path.
    core.events.append(
        core.make.wrap_up_started(
            core.event_now,
            agent.id,
            slot.contact_id,
            ends_at,
        )
    )
    return False


def _record_handle_time(core: Core, slot: Slot) -> None:
    queue = core.queues.get(slot.queue_id)
    if queue is None:
        return
    handled = float(core.now - slot.started)
    previous = queue.handle_us
    if previous is None:
        queue.handle_us = handled
    else:
        queue.handle_us = previous + core.settings.handle_time_smoothing * (handled - previous)


def finish_wrap_up(
    core: Core,
    agent: AgentRt,
    slot: Slot,
    disposition: str | None,
    *,
    automatic: bool,
    note: str | None = None,
) -> None:
    """End a wrap-up; the caller reindexes the agent and routes to it."""
    _record_handle_time(core, slot)
    core.drop_slot(agent, slot.contact_id)
    core.idle_counter += 1  # Core.touch, inlined
    agent.idle_seq = core.idle_counter
    agent.idle_since = core.now
    # Fields in declaration order: positional is cheaper on this hot path.
    core.events.append(
        core.make.wrap_up_ended(
            core.event_now,
            agent.id,
            slot.contact_id,
            disposition,
            automatic,
            note,
        )
    )


def _wrap_slot(core: Core, agent_id: str, contact_id: str) -> tuple[AgentRt, Slot]:
    agent = core.agent(agent_id)
    slot = agent.slots.get(contact_id)
    if slot is None or slot.kind != "wrap_up":
        raise UnknownWrapUp(agent_id, contact_id)
    return agent, slot


def end_wrap_up(core: Core, cmd: EndWrapUp) -> None:
    agent, slot = _wrap_slot(core, cmd.agent_id, cmd.contact_id)
    if cmd.disposition is not None and (
        not isinstance(cmd.disposition, str) or not 0 < len(cmd.disposition) <= 128
    ):
        raise InvalidDefinition("disposition must be 1-128 characters", field="disposition")
    if cmd.note is not None and (not isinstance(cmd.note, str) or len(cmd.note) > MAX_NOTE):
        raise InvalidDefinition(f"note must be at most {MAX_NOTE} characters", field="note")
    queue = core.queues.get(slot.queue_id)
    if cmd.disposition is None and queue is not None and queue.definition.disposition_required:
        raise InvalidDefinition(
            f"queue {slot.queue_id!r} requires a disposition to end the wrap-up",
            field="disposition",
            code="disposition_required",
        )
    finish_wrap_up(core, agent, slot, cmd.disposition, automatic=False, note=cmd.note or None)
    _after_agent_change(core, agent)


def extend_wrap_up(core: Core, cmd: ExtendWrapUp) -> None:
    agent, slot = _wrap_slot(core, cmd.agent_id, cmd.contact_id)
    if slot.wrap_until is None:
        raise IllegalTransition(
            "this wrap-up has no timer to extend",
            code="wrap_up_not_timed",
            agent_id=cmd.agent_id,
            contact_id=cmd.contact_id,
        )
    if slot.extended:
        raise IllegalTransition(
            "a wrap-up can be extended once",
            code="wrap_up_already_extended",
            agent_id=cmd.agent_id,
            contact_id=cmd.contact_id,
        )
    seconds = cmd.seconds
    if seconds is None:
        queue = core.queues.get(slot.queue_id)
        if queue is not None:
            definition = queue.definition
            seconds = definition.wrap_up_extension_seconds or definition.wrap_up_seconds
        elif slot.queue_id == NO_QUEUE:
            seconds = core.settings.agent_contact_wrap_up_seconds
    if (
        seconds is None
        or isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds <= 86400
    ):
        raise InvalidDefinition("seconds must be in (0, 86400]", field="seconds")
    slot.wrap_until += seconds_to_us(seconds)
    slot.extended = True
    core.push_timer(slot.wrap_until, T_WRAP, slot.seq, agent.id, slot.contact_id)
    core.events.append(
        WrapUpExtended(
            at=core.now_dt,
            agent_id=agent.id,
            contact_id=slot.contact_id,
            ends_at=from_us(slot.wrap_until),
        )
    )


def on_wrap_timer(core: Core, deadline: int, agent_id: str, contact_id: str) -> None:
    agent = core.agents.get(agent_id)
    slot = None if agent is None else agent.slots.get(contact_id)
    if agent is None or slot is None or slot.kind != "wrap_up" or slot.wrap_until != deadline:
        return
    finish_wrap_up(core, agent, slot, None, automatic=True)
    _after_agent_change(core, agent)


# --- end, transfer, requeue ------------------------------------------------------------------


def end_contact_cmd(core: Core, cmd: EndContact) -> None:
    contact = core.contacts.get(cmd.contact_id)
    if contact is None or contact.state != "active":
        _active(core, cmd.contact_id)  # raises the right error
    assert contact is not None
    if contact.parent_id is not None or contact.consult_id is not None:
        refuse_leg(contact, "end")
        end_open_consult(core, contact, "contact_ended")
    agent = core.agents[contact.agent_id or ""]
    slot = agent.slots[contact.id]
    queue = core.queues.get(contact.queue_id)  # None: an agent's own contact without a queue
    end_contact(core, contact, "completed", agent_id=agent.id)
    if start_wrap_up(core, agent, slot, queue):
        _after_agent_change(core, agent)
    else:
        core.sync_state(agent)  # same load, so same pools and nothing new to offer


def transfer(core: Core, cmd: Transfer) -> None:
    contact, agent, slot = _active(core, cmd.contact_id)
    refuse_leg(contact, "transfer")
    refuse_open_consult(contact)
    queue = core.queues.get(contact.queue_id)
    target_queue = queue
    if cmd.target_kind == "agent":
        if queue is None:
            _refuse_no_queue(contact, "transfer it to an agent")
        target_agent = core.agent(cmd.target)
        if target_agent is agent:
            raise IllegalTransition("cannot transfer to yourself", code="transfer_to_self")
        if target_agent.presence == "offline":
            raise IllegalTransition(
                f"agent {cmd.target!r} is offline", code="agent_offline", agent_id=cmd.target
            )
        if (
            isinstance(cmd.reserve_seconds, bool)
            or not isinstance(cmd.reserve_seconds, int | float)
            or not 0 < cmd.reserve_seconds <= 86400
        ):
            raise InvalidDefinition(
                "reserve_seconds must be in (0, 86400]", field="reserve_seconds"
            )
    elif cmd.target_kind == "queue":
        target_queue = core.queue(cmd.target)
        if contact.channel not in target_queue.definition.channels:
            raise InvalidDefinition(
                f"queue {cmd.target!r} does not serve channel {contact.channel!r}",
                field="target",
            )
    elif cmd.target_kind == "external":
        if contact.channel != VOICE:
            raise IllegalTransition(
                "only voice contacts can be transferred to an external number",
                code="external_transfer_voice_only",
            )
        if not isinstance(cmd.target, str) or not 0 < len(cmd.target) <= 256:
            raise InvalidDefinition("target must be 1-256 characters", field="target")
    else:
        raise InvalidDefinition("target_kind must be agent, queue or external", field="target_kind")
    if cmd.note is not None and (not isinstance(cmd.note, str) or len(cmd.note) > MAX_NOTE):
        raise InvalidDefinition(f"note must be at most {MAX_NOTE} characters", field="note")

    core.events.append(
        ContactTransferred(
            at=core.now_dt,
            contact_id=contact.id,
            agent_id=agent.id,
            target_kind=cmd.target_kind,
            target=cmd.target,
            note=cmd.note,
        )
    )
    if cmd.note:
        # A new dict: the old one may be shared with the command that brought the contact.
        contact.attributes = {**contact.attributes, "transfer_note": cmd.note}
    if cmd.target_kind == "external":
        end_contact(core, contact, "transferred_external", agent_id=agent.id, detail=cmd.target)
    else:
        leave_queue(core, contact)
    freed = start_wrap_up(core, agent, slot, queue)
    if freed:
        core.reindex(agent)
    core.sync_state(agent)
    if cmd.target_kind != "external":
        assert target_queue is not None  # an agent target needs the contact's queue (above)
        contact.declined = {agent.id: None}
        reservations = []
        if cmd.target_kind == "agent":
            reservations = [(cmd.target, core.now + seconds_to_us(cmd.reserve_seconds))]
        enter_queue(core, contact, target_queue, "transfer", core.now, reservations)
    if freed:
        route_agent(core, agent)


def requeue(core: Core, cmd: Requeue) -> None:
    contact, agent, _ = _active(core, cmd.contact_id)
    refuse_leg(contact, "requeue")
    refuse_open_consult(contact)
    target = core.queue(cmd.queue_id) if cmd.queue_id is not None else None
    if target is None and contact.queue_id == NO_QUEUE:
        _refuse_no_queue(contact, "hand it back without naming a queue")
    if target is not None and contact.channel not in target.definition.channels:
        raise InvalidDefinition(
            f"queue {target.id!r} does not serve channel {contact.channel!r}", field="queue_id"
        )
    core.drop_slot(agent, contact.id)
    core.touch(agent)
    core.reindex(agent)
    core.sync_state(agent)
    if target is None or target.id == contact.queue_id:
        # Back to its own queue at its original place; not to the agent who handed it back.
        contact.state = "waiting"
        contact.agent_id = None
        contact.declined[agent.id] = None
        core.queues[contact.queue_id].queued += 1
        place_waiting(core, contact, "requeue")
    else:
        leave_queue(core, contact)
        contact.declined = {agent.id: None}
        enter_queue(core, contact, target, "requeue", core.now, [])
    route_agent(core, agent)


def _refuse_no_queue(contact: ContactRt, action: str) -> None:
    raise IllegalTransition(
        f"contact {contact.id!r} was started by its agent without a queue: cannot {action}",
        code="no_queue",
        contact_id=contact.id,
    )


# --- a contact the agent starts ----------------------------------------------------------------


def start_agent_contact(core: Core, cmd: StartAgentContact) -> None:
    contact_id = cmd.contact_id
    validate_id(contact_id, "contact_id")
    if contact_id in core.contacts:
        raise DuplicateId(f"contact {contact_id!r} exists", contact_id=contact_id)
    agent = core.agent(cmd.agent_id)
    channel = cmd.channel
    if not isinstance(channel, str) or not 0 < len(channel) <= 32:
        raise InvalidDefinition("channel must be 1-32 characters", field="channel")
    queue = None
    if cmd.queue_id is not None:
        queue = core.queue(cmd.queue_id)
        if channel not in queue.definition.channels:
            raise InvalidDefinition(
                f"queue {cmd.queue_id!r} does not serve channel {channel!r}", field="queue_id"
            )
    attributes = normalize_json(dict(cmd.attributes), "attributes") if cmd.attributes else {}
    if agent.presence == "offline":
        raise IllegalTransition(
            f"agent {agent.id!r} is offline", code="agent_offline", agent_id=agent.id
        )
    # Away is allowed (an outbound call while not ready): the presence stays as chosen and the
    # contact makes the agent busy. Room is what routing itself checks before an offer, so a
    # pending offer on the channel, a wrap-up still holding the slot, or the blending of a
    # contact held on another channel refuse it, as they would keep an offer from being made.
    if not core.can_take(agent, channel):
        raise CapacityExceeded(
            f"agent {agent.id!r} has no room for another {channel} contact",
            agent_id=agent.id,
            channel=channel,
        )

    now = core.now
    queue_id = queue.id if queue is not None else NO_QUEUE
    contact = ContactRt(contact_id, queue_id, channel, 0, attributes, False, 0, now, now)
    contact.seq = core.next_line_seq()
    contact.state = "active"
    contact.agent_id = agent.id
    if queue is not None:
        contact.key = core.line_key(contact, queue)
        # Counted among the queue's contacts like an accepted one (not in `queued`): the queue
        # cannot be removed under it, and it has a place to go back to (AgentDisconnected).
        queue.contacts[contact_id] = None
    core.contacts[contact_id] = contact
    slot = Slot(contact_id, channel, queue_id, "active", contact.seq)
    slot.started = now
    core.add_slot(agent, slot)
    core.touch(agent)
    core.events.append(
        AgentContactStarted(
            at=core.now_dt,
            contact_id=contact_id,
            agent_id=agent.id,
            queue_id=queue.id if queue is not None else None,
            channel=channel,
        )
    )
    # Less room only: nothing new can be offered to the agent, so no routing runs.
    core.reindex(agent)
    core.sync_state(agent)
