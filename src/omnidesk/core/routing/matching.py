"""The routing decision: which agent gets a contact, which contact an agent gets.

Two entry points keep the engine work-conserving (after every command no waiting contact could
be offered to a ready agent that its current step accepts):
- `route_contact` when a contact becomes routable (arrives, returns to its place in line,
  reaches a wider step, loses a reservation): walk the ready pool of its queue and channel in
  the queue's selection order and offer it to the first agent the step's rule accepts.
- `route_agent` when an agent gains room (becomes available, finishes a contact, changes
  definition): among the heads of the lines it serves, offer the best eligible contact, and
  repeat while it has room. Only lanes whose head could beat the best candidate are looked at.

Order across lines: emergency first, then contacts reserved for this agent, then the agent's
higher-priority queue memberships, then effective priority (with aging), then time in line.
"""

from __future__ import annotations

from heapq import heappush
from typing import Any

from omnidesk.core.routing.expressions import TargetExpression, TrackedMapping, make_context
from omnidesk.core.routing.model import Selection
from omnidesk.core.routing.selection import IdlePool
from omnidesk.core.routing.sortedlist import SortedList
from omnidesk.core.routing.state import (
    T_OFFER,
    AgentRt,
    ContactRt,
    Core,
    LineKey,
    QueueRt,
    Slot,
)

# Cross-line ranking: (emergency rank, reserved rank, -membership priority, -effective
# priority, queued_at, line seq); lower is better.
Rank = tuple[int, int, int, float, int, int]
# Why not `Selection.ROUND_ROBIN` inline: reading an Enum member off its class costs ~90 ns.
_ROUND_ROBIN = Selection.ROUND_ROBIN


def make_offer(core: Core, contact: ContactRt, agent: AgentRt) -> None:
    # The hot path of every decision: Core.add_slot and Core.touch are inlined.
    queue = core.queues[contact.queue_id]
    if contact.in_lane or contact.reserved_in is not None:
        core.remove_from_line(contact)
    count = contact.offer_count + 1
    contact.offer_count = count
    contact_id = contact.id
    offer_id = f"{contact_id}#{count}"
    now = core.now
    expires = now + queue.offer_timeout_us
    agent_id = agent.id
    channel = contact.channel
    contact.state = "offered"
    contact.agent_id = agent_id
    contact.offer_id = offer_id
    contact.offer_expires = expires
    contact.step_deadline = None  # no step timer while offered; recomputed if it comes back
    agent.slots[contact_id] = Slot(
        contact_id, channel, contact.queue_id, "offered", contact.seq, offer_id
    )
    load = agent.load
    load[channel] = load.get(channel, 0) + 1
    core.idle_counter += 1
    agent.idle_seq = core.idle_counter
    agent.idle_since = now
    core.reindex(agent)
    if queue.definition.selection is _ROUND_ROBIN:
        queue.rr_last = agent_id
    heappush(core.timers, (expires, T_OFFER, contact.seq, contact_id, offer_id))
    at = core.event_now
    expires_at: Any = expires if core.make.lean else at + queue.offer_timeout
    # Fields in declaration order: positional is cheaper on this hot path.
    core.events.append(
        core.make.offer_created(
            at,
            offer_id,
            contact_id,
            agent_id,
            contact.queue_id,
            channel,
            expires_at,
        )
    )


def _excluded(agent: AgentRt, contact: ContactRt) -> bool:
    # An agent who declined (or handed back) the contact is not offered it again, nor is one
    # still wrapping up an earlier leg of it.
    return agent.id in contact.declined or contact.id in agent.slots


def route_contact(core: Core, contact: ContactRt) -> bool:
    """Offer a contact waiting in line to the best ready agent, if any. True if offered."""
    if contact.state != "waiting" or not (contact.in_lane or contact.reserved_in is not None):
        return False
    agent = choose_agent(core, contact, contact.reserved_in)
    if agent is None:
        return False
    make_offer(core, contact, agent)
    return True


def choose_agent(core: Core, contact: ContactRt, reserved_for: str | None) -> AgentRt | None:
    """The agent a waiting contact (at its current step) should be offered to now, if any."""
    if reserved_for is not None:
        agent = core.agents.get(reserved_for)
        if (
            agent is not None
            and agent.presence == "available"
            and not _excluded(agent, contact)
            and core.can_take(agent, contact.channel)
        ):
            return agent
        return None
    queue = core.queues[contact.queue_id]
    step = contact.step
    pool = queue.step_pools[contact.channel][step]
    agents = core.agents
    rule = queue.targets[step]
    if rule is None or queue.static[step]:
        # Every agent in this pool passes the step's rule (its verdict was stored when its
        # definition was): take the first the contact does not exclude. No rule evaluation.
        declined = contact.declined
        contact_id = contact.id
        if type(pool) is IdlePool:
            for agent_id in pool.members:
                if agent_id not in declined:
                    agent = agents[agent_id]
                    if contact_id not in agent.slots:
                        return agent
            return None
        for agent_id in pool.order(queue.rr_last):
            if agent_id not in declined:
                agent = agents[agent_id]
                if contact_id not in agent.slots:
                    return agent
        return None
    if queue.definition.selection is Selection.MOST_SKILLED:
        return _most_skilled(core, contact, queue, rule)
    view = core.contact_view(contact)
    now_dt = core.now_dt
    for agent_id in pool.order(queue.rr_last):
        agent = agents[agent_id]
        if not _excluded(agent, contact) and rule.matches(make_context(view, agent.view, now_dt)):
            return agent
    return None


def _most_skilled(
    core: Core, contact: ContactRt, queue: QueueRt, target: TargetExpression
) -> AgentRt | None:
    skills = target.referenced_skills
    ceiling = queue.max_skill_score[contact.step]
    view = core.contact_view(contact)
    best: AgentRt | None = None
    best_score = -1
    for agent_id in queue.step_pools[contact.channel][contact.step].order(None):
        agent = core.agents[agent_id]
        if _excluded(agent, contact):
            continue
        levels = agent.definition.skills
        score = sum(levels.get(skill, 0) for skill in skills)
        if score <= best_score:
            continue  # an earlier (longer idle) agent with at least this score wins the tie
        if target.matches(make_context(view, agent.view, core.now_dt)):
            best, best_score = agent, score
            if score >= ceiling:
                break
    return best


def _first_eligible(
    core: Core, agent: AgentRt, queue: QueueRt, step: int, lane: SortedList[LineKey]
) -> ContactRt | None:
    rule = queue.targets[step]
    contacts = core.contacts
    for key in lane:
        contact = contacts[key[4]]
        if _excluded(agent, contact):
            continue
        if rule is None or queue.static[step]:
            return contact  # the caller checked the agent's verdict for this step
        if queue.contact_free[step]:
            # The rule never reads the contact: one verdict stands for the whole lane.
            ctx = make_context(core.contact_view(contact), agent.view, core.now_dt)
            return contact if rule.matches(ctx) else None
        view = TrackedMapping(core.contact_view(contact))
        if rule.matches(make_context(view, agent.view, core.now_dt)):
            return contact
        if not view.touched:
            return None  # this verdict did not read the contact either: same for all here
    return None


def _rank(core: Core, contact: ContactRt, reserved: int, membership: int) -> Rank:
    eff = core.effective_priority(contact, core.queues[contact.queue_id])
    key = contact.key
    return (key[0], reserved, -membership, -eff, key[2], key[3])


def best_contact_for(core: Core, agent: AgentRt) -> ContactRt | None:
    best: ContactRt | None = None
    best_rank: Rank | None = None
    reserved = core.reserved.get(agent.id)
    if reserved:
        for contact_id in reserved:
            contact = core.contacts[contact_id]
            if _excluded(agent, contact) or not core.can_take(agent, contact.channel):
                continue
            rank = _rank(core, contact, 0, 0)
            if best_rank is None or rank < best_rank:
                best, best_rank = contact, rank
    # Nobody waits in any line (usual while agents outnumber contacts): no line to look at.
    for membership, queue, channel, line in agent.lines if core.in_lanes else ():
        if not line.size or not core.can_take(agent, channel):
            continue
        queue_id = queue.id
        eligible = agent.eligible
        for step, lane in enumerate(line.lanes):
            if not lane or eligible.get((queue_id, step)) is False:
                continue
            head = core.contacts[lane.first()[4]]
            if best_rank is not None and _rank(core, head, 1, membership) >= best_rank:
                continue  # nothing in this lane can beat the best found so far
            found = _first_eligible(core, agent, queue, step, lane)
            if found is not None:
                rank = _rank(core, found, 1, membership)
                if best_rank is None or rank < best_rank:
                    best, best_rank = found, rank
    return best


def route_agent(core: Core, agent: AgentRt) -> bool:
    """Offer the agent the best waiting contacts it may take, while it has room. True if it
    made an offer (and so reindexed the agent)."""
    offered = False
    while agent.presence == "available":
        contact = best_contact_for(core, agent)
        if contact is None:
            break
        make_offer(core, contact, agent)
        offered = True
    return offered
