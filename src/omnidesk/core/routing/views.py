"""Read models: what the service layer shows about a contact, an agent or a queue.

Plain frozen dataclasses computed on demand from the state; none of this changes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omnidesk.core.routing.clock import from_us
from omnidesk.core.routing.codec import to_jsonable
from omnidesk.core.routing.errors import IllegalTransition
from omnidesk.core.routing.events import AgentState
from omnidesk.core.routing.state import ContactRt, Core


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    contact_id: str
    queue_id: str
    position: int  # 1 = next in line for its queue and channel
    waited_seconds: float
    # position x average handle time / contacts the available members can hold at once;
    # None while no available member serves the channel.
    estimated_wait_seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        return result


@dataclass(frozen=True, slots=True)
class ContactStatus:
    contact_id: str
    queue_id: str | None  # None: an agent's own contact started without a queue
    channel: str
    state: str  # waiting, offered, active
    priority: int
    emergency: bool
    step: int
    queued_at: datetime
    agent_id: str | None
    offer_id: str | None
    reserved_for: str | None
    consult_of: str | None = None  # set on a consult leg: the contact it is about
    consult_id: str | None = None  # set on a contact with an open consult: its leg
    # What the channel said about the contact (language, reason, …): the desktop's offer shows
    # them. A copy: the read model never hands out the engine's own dict.
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        return result


@dataclass(frozen=True, slots=True)
class AgentStatus:
    agent_id: str
    state: AgentState
    reason: str | None
    presence: str
    load: dict[str, int]
    contacts: dict[str, str]  # contact id -> offered / active / wrap_up
    idle_since: datetime

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        return result


@dataclass(frozen=True, slots=True)
class QueueStatus:
    queue_id: str
    waiting: int
    offered: int
    active: int
    ready_agents: dict[str, int]  # channel -> agents that could take a contact now
    oldest_queued_at: datetime | None
    average_handle_seconds: float

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        return result


def contact_status(core: Core, contact_id: str) -> ContactStatus:
    c = core.contact(contact_id)
    return ContactStatus(
        contact_id=c.id,
        queue_id=c.queue_id or None,
        channel=c.channel,
        state=c.state,
        priority=c.priority,
        emergency=c.emergency,
        step=c.step,
        queued_at=from_us(c.queued_at),
        agent_id=c.agent_id,
        offer_id=c.offer_id,
        reserved_for=c.reserved_in,
        consult_of=c.parent_id,
        consult_id=c.consult_id,
        attributes=dict(c.attributes),
    )


def agent_status(core: Core, agent_id: str) -> AgentStatus:
    a = core.agent(agent_id)
    state, reason = core.derive_state(a)
    return AgentStatus(
        agent_id=a.id,
        state=state,
        reason=reason,
        presence=a.presence,
        load=dict(sorted(a.load.items())),
        contacts={s.contact_id: s.kind for s in sorted(a.slots.values(), key=lambda s: s.seq)},
        idle_since=from_us(a.idle_since),
    )


def _handle_us(core: Core, queue_id: str) -> float:
    queue = core.queues[queue_id]
    if queue.handle_us is not None:
        return queue.handle_us
    return queue.definition.default_handle_seconds * 1_000_000


def queue_status(core: Core, queue_id: str) -> QueueStatus:
    queue = core.queue(queue_id)
    counts = {"waiting": 0, "offered": 0, "active": 0}
    oldest: int | None = None
    for contact_id in queue.contacts:
        c = core.contacts[contact_id]
        counts[c.state] += 1
        if c.state == "waiting" and (oldest is None or c.queued_at < oldest):
            oldest = c.queued_at
    return QueueStatus(
        queue_id=queue.id,
        waiting=counts["waiting"],
        offered=counts["offered"],
        active=counts["active"],
        ready_agents={
            channel: sum(
                1
                for agent_id in queue.members
                if core.agents[agent_id].presence == "available"
                and core.can_take(core.agents[agent_id], channel)
            )
            for channel in queue.definition.channels
        },
        oldest_queued_at=None if oldest is None else from_us(oldest),
        average_handle_seconds=_handle_us(core, queue.id) / 1_000_000,
    )


def position(core: Core, contact: ContactRt) -> int:
    ahead = sum(
        lane.count_before(contact.key)
        for lane in core.lines[(contact.queue_id, contact.channel)].lanes
    )
    for line in core.reserved.values():
        for other_id in line:
            other = core.contacts[other_id]
            if (
                other.queue_id == contact.queue_id
                and other.channel == contact.channel
                and other.key < contact.key
            ):
                ahead += 1
    return ahead + 1


def wait_estimate(core: Core, contact_id: str) -> WaitEstimate:
    return _estimate(core, contact_id, {})


def wait_estimates(core: Core, contact_ids: Iterable[str]) -> dict[str, WaitEstimate]:
    """Several waiting contacts' estimates at once: the free capacity of each queue and channel
    is summed once for all of them (over the queue's members), not once per contact, so a view
    of thousands of waiting contacts costs what it returns."""
    slots: dict[tuple[str, str], int] = {}
    return {contact_id: _estimate(core, contact_id, slots) for contact_id in contact_ids}


def _estimate(core: Core, contact_id: str, slots: dict[tuple[str, str], int]) -> WaitEstimate:
    contact = core.contact(contact_id)
    if contact.state != "waiting":
        raise IllegalTransition(
            f"contact {contact_id!r} is {contact.state}, not waiting",
            code="contact_not_waiting",
            contact_id=contact_id,
        )
    queue = core.queues[contact.queue_id]
    place = position(core, contact)
    key = (queue.id, contact.channel)
    if key not in slots:
        slots[key] = _free_slots(core, queue.members, contact.channel)
    free = slots[key]
    estimate = None if not free else place * _handle_us(core, queue.id) / free / 1_000_000
    return WaitEstimate(
        contact_id=contact.id,
        queue_id=queue.id,
        position=place,
        waited_seconds=(core.now - contact.queued_at) / 1_000_000,
        estimated_wait_seconds=estimate,
    )


def _free_slots(core: Core, members: Iterable[str], channel: str) -> int:
    """The capacity for `channel` of the members who are available."""
    slots = 0
    for agent_id in members:
        agent = core.agents[agent_id]
        if agent.presence == "available":
            slots += agent.definition.capacity.get(channel, 0)
    return slots
