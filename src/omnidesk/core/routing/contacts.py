"""Contacts in line: arrival, place in line, workflow steps, reservations, overflow, the end.

A contact's place in line is its `LineKey`, fixed when it enters a queue: emergency first, then
priority with aging, then time in line. Leaving the line for an offer and coming back (reject,
timeout, revoke, requeue to the same queue) reuses the key, so it gets its old place back.
"""

from __future__ import annotations

from omnidesk.core.routing.clock import seconds_to_us, to_us
from omnidesk.core.routing.codec import normalize_json
from omnidesk.core.routing.commands import CancelContact, ContactArrived, SetContactPriority
from omnidesk.core.routing.errors import (
    DuplicateId,
    IllegalTransition,
    InvalidDefinition,
    UnknownAgent,
)
from omnidesk.core.routing.events import (
    ContactOverflowed,
    ContactPriorityChanged,
    ContactReservationEnded,
    ContactStepChanged,
    EndReason,
    OfferRevoked,
    OverflowReason,
    QueuedReason,
    RevokeReason,
)
from omnidesk.core.routing.hours import HORIZON_DAYS, is_open, next_closing
from omnidesk.core.routing.matching import choose_agent, make_offer, route_agent, route_contact
from omnidesk.core.routing.model import OverflowAction, OverflowKind, validate_id
from omnidesk.core.routing.state import (
    T_CLOSE,
    T_MAX_WAIT,
    T_RESERVATION,
    T_STEP,
    AgentRt,
    ContactRt,
    Core,
    QueueRt,
)

MAX_PRIORITY = 1_000_000


def _check_priority(priority: int) -> None:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidDefinition("priority must be an integer", field="priority")
    if abs(priority) > MAX_PRIORITY:
        raise InvalidDefinition(f"priority must be within ±{MAX_PRIORITY}", field="priority")


def _check_seconds(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86400:
        raise InvalidDefinition(f"{name} must be in (0, 86400] seconds", field=name)


# --- arrival -------------------------------------------------------------------------------


def contact_arrived(core: Core, cmd: ContactArrived) -> None:
    contact_id = cmd.contact_id
    validate_id(contact_id, "contact_id")
    contacts = core.contacts
    if contact_id in contacts:
        raise DuplicateId(f"contact {contact_id!r} exists", contact_id=contact_id)
    queue = core.queue(cmd.queue_id)
    channel = cmd.channel
    if channel not in queue.definition.channels:
        raise InvalidDefinition(
            f"queue {cmd.queue_id!r} does not serve channel {channel!r}", field="channel"
        )
    priority = cmd.priority
    if type(priority) is not int or not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
        _check_priority(priority)
    attributes = normalize_json(dict(cmd.attributes), "attributes") if cmd.attributes else {}
    reservations: list[tuple[str, int]] = []
    if cmd.preferred_agent_id is not None or cmd.last_agent_id is not None:
        for agent_id, seconds, name in (
            (cmd.preferred_agent_id, cmd.preferred_for_seconds, "preferred_for_seconds"),
            (cmd.last_agent_id, cmd.sticky_for_seconds, "sticky_for_seconds"),
        ):
            if agent_id is None:
                continue
            if agent_id not in core.agents:
                raise UnknownAgent(agent_id)
            _check_seconds(seconds, name)
            if all(agent_id != other for other, _ in reservations):
                reservations.append((agent_id, core.now + seconds_to_us(seconds)))
    now = core.now
    queued_at = now
    if cmd.queued_since is not None:
        queued_at = to_us(cmd.queued_since, "queued_since")
        if queued_at > now:
            raise InvalidDefinition("queued_since is in the future", field="queued_since")

    emergency = bool(cmd.emergency)
    contact = ContactRt(
        contact_id, queue.id, channel, priority, attributes, emergency, 0, now, queued_at
    )
    contacts[contact_id] = contact
    # Fields in declaration order: positional is cheaper on this hot path.
    core.events.append(
        core.make.contact_received(
            core.event_now,
            contact_id,
            queue.id,
            channel,
            priority,
            emergency,
        )
    )
    enter_queue(core, contact, queue, "arrived", queued_at, reservations)


def enter_queue(
    core: Core,
    contact: ContactRt,
    queue: QueueRt,
    reason: QueuedReason,
    queued_at: int,
    reservations: list[tuple[str, int]],
) -> None:
    """Give a contact (not in any queue's line) a new place in `queue`, or overflow it.
    `reservations` becomes the contact's own list."""
    definition = queue.definition
    contact.queue_id = queue.id
    contact.state = "waiting"
    contact.agent_id = contact.offer_id = None
    contact.offer_expires = None
    if definition.hours is not None and not is_open(definition.hours, core.now_dt):
        assert definition.on_closed is not None
        overflow(core, contact, queue, "closed", definition.on_closed)
        return
    if definition.max_size is not None and queue.queued >= definition.max_size:
        assert definition.on_full is not None
        overflow(core, contact, queue, "full", definition.on_full)
        return
    contact.queued_at = queued_at
    core.line_seq += 1
    contact.seq = core.line_seq
    contact.reservations = reservations
    queue.contacts[contact.id] = None
    queue.queued += 1
    seconds = definition.max_wait_seconds
    contact.max_wait_at = None if seconds is None else queued_at + seconds_to_us(seconds)
    if reservations:
        activate_reservation(core, contact)
    place_waiting(core, contact, reason, entering=True)


def set_max_wait(contact: ContactRt, queue: QueueRt) -> None:
    seconds = queue.definition.max_wait_seconds
    contact.max_wait_at = None if seconds is None else contact.queued_at + seconds_to_us(seconds)


def activate_reservation(core: Core, contact: ContactRt) -> None:
    """Drop reservations that can no longer apply; schedule the expiry of the current one."""
    reservations = contact.reservations
    while reservations:
        agent_id, until = reservations[0]
        agent = core.agents.get(agent_id)
        if (
            until > core.now
            and agent is not None
            and agent.presence != "offline"
            and agent_id not in contact.declined
        ):
            core.push_timer(until, T_RESERVATION, contact.seq, contact.id, agent_id)
            return
        reservations.pop(0)


def place_waiting(
    core: Core,
    contact: ContactRt,
    reason: QueuedReason,
    *,
    route: bool = True,
    entering: bool = False,
) -> None:
    """Put a waiting contact (already counted in its queue) into line and try to route it
    (`route=False`: the caller routes later, after more contacts or agents have changed).
    `entering`: it has just joined the queue, so it has no earlier step to change from."""
    queue = core.queues[contact.queue_id]
    now = core.now
    definition = queue.definition
    if definition.overflow_waiting_on_close and not is_open(definition.hours, core.now_dt):
        assert definition.on_closed is not None
        overflow(core, contact, queue, "closed", definition.on_closed)
        return
    if contact.max_wait_at is not None and now >= contact.max_wait_at:
        assert definition.on_max_wait is not None
        overflow(core, contact, queue, "max_wait", definition.on_max_wait)
        return
    waited = now - contact.queued_at
    step = 0
    for bound in queue.bounds:  # Core.step_at, inlined
        if bound is None or waited < bound:
            break
        step += 1
    else:
        assert queue.overflow is not None
        overflow(core, contact, queue, "workflow", queue.overflow)
        return
    changed = not entering and step != contact.step
    contact.step = step
    contact.key = core.line_key(contact, queue)
    # Choose before joining the line: most contacts are offered at once, and then never
    # need a place in a lane (or a step timer).
    reservations = contact.reservations
    reserved_for = reservations[0][0] if reservations and reservations[0][1] > now else None
    agent = choose_agent(core, contact, reserved_for) if route else None
    if agent is None:
        core.insert_into_line(contact)
    # Fields in declaration order: positional is cheaper on this hot path.
    core.events.append(
        core.make.contact_queued(
            core.event_now,
            contact.id,
            queue.id,
            contact.channel,
            step,
            reserved_for,
            reason,
        )
    )
    if changed:
        core.events.append(
            ContactStepChanged(at=core.now_dt, contact_id=contact.id, queue_id=queue.id, step=step)
        )
    if agent is not None:
        make_offer(core, contact, agent)
    else:
        schedule_waiting_timers(core, contact, queue)


def schedule_waiting_timers(core: Core, contact: ContactRt, queue: QueueRt) -> None:
    """Step and maximum-wait timers, only while the contact waits: most contacts are offered
    at once and never need them. (Duplicates are harmless: a timer checks its deadline.)"""
    contact.step_deadline = core.step_deadline(queue, contact)
    if contact.step_deadline is not None:
        core.push_timer(contact.step_deadline, T_STEP, contact.seq, contact.id)
    if contact.max_wait_at is not None:
        core.push_timer(contact.max_wait_at, T_MAX_WAIT, contact.seq, contact.id)


def leave_queue(core: Core, contact: ContactRt) -> None:
    if contact.in_lane or contact.reserved_in is not None:
        core.remove_from_line(contact)
    queue = core.queues.get(contact.queue_id)
    if queue is not None and contact.id in queue.contacts:
        del queue.contacts[contact.id]
        if contact.state != "active":
            queue.queued -= 1


def end_contact(
    core: Core,
    contact: ContactRt,
    reason: EndReason,
    *,
    agent_id: str | None = None,
    detail: str | None = None,
) -> None:
    leave_queue(core, contact)
    del core.contacts[contact.id]
    # Fields in declaration order: positional is cheaper on this hot path.
    core.events.append(
        core.make.contact_ended(
            core.event_now,
            contact.id,
            contact.queue_id or None,  # NO_QUEUE: an agent's own contact without a queue
            reason,
            agent_id,
            detail,
        )
    )


def overflow(
    core: Core, contact: ContactRt, queue: QueueRt, reason: OverflowReason, action: OverflowAction
) -> None:
    core.events.append(
        ContactOverflowed(
            at=core.now_dt, contact_id=contact.id, queue_id=queue.id, reason=reason, action=action
        )
    )
    if action.kind is OverflowKind.QUEUE:
        assert action.queue_id is not None
        if contact.hops < core.settings.max_overflow_hops:
            leave_queue(core, contact)
            contact.hops += 1
            contact.declined = {}
            enter_queue(core, contact, core.queues[action.queue_id], "overflow", core.now, [])
            return
        # Why: queues may overflow into each other (both closed at night); stop the ping-pong.
        action = OverflowAction(kind=OverflowKind.DISCONNECT)
        core.events.append(
            ContactOverflowed(
                at=core.now_dt,
                contact_id=contact.id,
                queue_id=queue.id,
                reason="loop",
                action=action,
            )
        )
    end_contact(core, contact, "overflow", detail=action.kind.value)


# --- timers --------------------------------------------------------------------------------


def on_step_timer(core: Core, deadline: int, contact_id: str) -> None:
    contact = core.contacts.get(contact_id)
    if contact is None or contact.state != "waiting" or contact.step_deadline != deadline:
        return
    queue = core.queues[contact.queue_id]
    core.remove_from_line(contact)
    step = core.step_at(queue, core.now - contact.queued_at)
    if step >= len(queue.bounds):
        assert queue.overflow is not None
        overflow(core, contact, queue, "workflow", queue.overflow)
        return
    contact.step = step
    contact.step_deadline = core.step_deadline(queue, contact)
    if contact.step_deadline is not None:
        core.push_timer(contact.step_deadline, T_STEP, contact.seq, contact.id)
    core.insert_into_line(contact)
    core.events.append(
        ContactStepChanged(at=core.now_dt, contact_id=contact.id, queue_id=queue.id, step=step)
    )
    route_contact(core, contact)


def schedule_close(core: Core, queue: QueueRt) -> None:
    """For a queue whose waiting contacts overflow when it closes: a timer at its next
    closing (or a look again at the horizon, if it does not close before)."""
    hours = queue.definition.hours
    if not queue.definition.overflow_waiting_on_close or hours is None:
        queue.close_at = None
        return
    closing = next_closing(hours, core.now)
    queue.close_at = closing if closing is not None else core.now + HORIZON_DAYS * 86_400_000_000
    core.push_timer(queue.close_at, T_CLOSE, 0, queue.id)


def close_queue(core: Core, queue: QueueRt) -> None:
    """The queue is closed: its waiting contacts overflow with `on_closed`, best first.
    (Offered ones keep their offer; if it fails they come back, find it closed and overflow.)"""
    action = queue.definition.on_closed
    assert action is not None
    waiting = [core.contacts[c] for c in queue.contacts]
    for contact in sorted((c for c in waiting if c.state == "waiting"), key=lambda c: c.key):
        overflow(core, contact, queue, "closed", action)


def on_close_timer(core: Core, deadline: int, queue_id: str) -> None:
    queue = core.queues.get(queue_id)
    if queue is None or queue.close_at != deadline:
        return
    if not is_open(queue.definition.hours, core.now_dt):
        close_queue(core, queue)
    schedule_close(core, queue)


def on_max_wait_timer(core: Core, deadline: int, contact_id: str) -> None:
    contact = core.contacts.get(contact_id)
    if contact is None or contact.state != "waiting" or contact.max_wait_at != deadline:
        return  # an offered contact overflows when it comes back, if the offer fails
    queue = core.queues[contact.queue_id]
    assert queue.definition.on_max_wait is not None
    overflow(core, contact, queue, "max_wait", queue.definition.on_max_wait)


def on_reservation_timer(core: Core, deadline: int, contact_id: str, agent_id: str) -> None:
    contact = core.contacts.get(contact_id)
    if (
        contact is None
        or not contact.reservations
        or contact.reservations[0]
        != (
            agent_id,
            deadline,
        )
    ):
        return
    end_reservation(core, contact, agent_id)


def end_reservation(core: Core, contact: ContactRt, agent_id: str) -> None:
    """The contact stops being reserved for `agent_id` (expired or declined)."""
    contact.reservations = [r for r in contact.reservations if r[0] != agent_id]
    activate_reservation(core, contact)
    waiting = contact.state == "waiting"
    if waiting:
        core.remove_from_line(contact)
        core.insert_into_line(contact)
    core.events.append(
        ContactReservationEnded(
            at=core.now_dt,
            contact_id=contact.id,
            agent_id=agent_id,
            reserved_for=contact.reserved_in if waiting else core.current_reservation(contact),
        )
    )
    if waiting:
        route_contact(core, contact)


def release_offer(core: Core, contact: ContactRt, agent: AgentRt, *, declined: bool) -> None:
    """Take a pending offer back from the agent; the caller puts the contact back in line (or
    ends it). A declining agent loses its reservation and is not offered the contact again."""
    core.drop_slot(agent, contact.id)
    core.touch(agent)
    contact.state = "waiting"
    contact.agent_id = contact.offer_id = None
    contact.offer_expires = None
    if declined:
        agent_id = agent.id
        contact.declined[agent_id] = None
        if any(r[0] == agent_id for r in contact.reservations):
            contact.reservations = [r for r in contact.reservations if r[0] != agent_id]
            activate_reservation(core, contact)
            core.events.append(
                ContactReservationEnded(
                    at=core.now_dt,
                    contact_id=contact.id,
                    agent_id=agent_id,
                    reserved_for=core.current_reservation(contact),
                )
            )


def revoke_offer(core: Core, contact: ContactRt, agent: AgentRt, reason: RevokeReason) -> None:
    """Take an offer back because of the agent (away, offline, gone); the contact returns to
    its place in line and is routed again."""
    core.events.append(
        OfferRevoked(
            at=core.now_dt,
            offer_id=contact.offer_id or "",
            contact_id=contact.id,
            agent_id=agent.id,
            reason=reason,
        )
    )
    release_offer(core, contact, agent, declined=False)
    if contact.parent_id is not None:
        from omnidesk.core.routing.consult import end_leg  # consult imports this module

        end_leg(core, contact, "revoked", released_by=agent, route=False)
        return
    place_waiting(core, contact, "revoked")


# --- customer-side commands ------------------------------------------------------------------


def _refuse_leg(contact: ContactRt, action: str) -> None:
    if contact.parent_id is not None:
        from omnidesk.core.routing.consult import refuse_leg  # consult imports this module

        refuse_leg(contact, action)


def cancel_contact(core: Core, cmd: CancelContact) -> None:
    contact = core.contact(cmd.contact_id)
    _refuse_leg(contact, "cancel")
    if contact.state == "active":
        raise IllegalTransition(
            "an active contact is ended with EndContact",
            code="contact_active",
            contact_id=contact.id,
        )
    agent = None
    if contact.state == "offered":
        agent = core.agents[contact.agent_id or ""]
        core.events.append(
            OfferRevoked(
                at=core.now_dt,
                offer_id=contact.offer_id or "",
                contact_id=contact.id,
                agent_id=agent.id,
                reason="cancelled",
            )
        )
        release_offer(core, contact, agent, declined=False)
    end_contact(core, contact, "cancelled", detail=cmd.reason)
    if agent is not None:
        core.reindex(agent)
        route_agent(core, agent)


def set_contact_priority(core: Core, cmd: SetContactPriority) -> None:
    contact = core.contact(cmd.contact_id)
    _refuse_leg(contact, "reprioritise")
    _check_priority(cmd.priority)
    if contact.state == "active":
        raise IllegalTransition(
            "the contact is already being handled", code="contact_active", contact_id=contact.id
        )
    if cmd.priority == contact.priority:
        return
    queue = core.queues[contact.queue_id]
    waiting = contact.state == "waiting"
    if waiting:
        core.remove_from_line(contact)
    contact.priority = cmd.priority
    contact.key = core.line_key(contact, queue)
    if waiting:
        core.insert_into_line(contact)
    core.events.append(
        ContactPriorityChanged(at=core.now_dt, contact_id=contact.id, priority=cmd.priority)
    )
    if waiting:
        route_contact(core, contact)
