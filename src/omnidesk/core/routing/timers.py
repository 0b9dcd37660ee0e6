"""Time passing: timers fire in deadline order, each at its own deadline.

Why each at its deadline, not at the time of the command that noticed it: the outcome then does
not depend on how often the service ticks. An offer that timed out at 12:00:30 re-routes its
contact as of 12:00:30 whether the next command comes at 12:00:31 or at 12:05, and a replay of
the same commands gives the same events.

Timers live in one heap and are never cancelled: each entry is checked against the state when
it fires (its deadline must still be the one recorded), so a stale entry does nothing.
"""

from __future__ import annotations

import heapq

from omnidesk.core.routing.contacts import (
    on_close_timer,
    on_max_wait_timer,
    on_reservation_timer,
    on_step_timer,
)
from omnidesk.core.routing.matching import route_agent
from omnidesk.core.routing.offers import on_offer_timer
from omnidesk.core.routing.state import (
    T_CLOSE,
    T_MAX_WAIT,
    T_OFFER,
    T_RESERVATION,
    T_STEP,
    T_WRAP,
    Core,
    Timer,
)
from omnidesk.core.routing.work import on_wrap_timer


def advance(core: Core, until: int) -> None:
    timers = core.timers
    pop = heapq.heappop
    while timers and timers[0][0] <= until:
        deadline, kind, _, a, b = pop(timers)
        if deadline > core.now:
            core.now = deadline
        if kind == T_OFFER:
            on_offer_timer(core, deadline, a, b)
        elif kind == T_WRAP:
            on_wrap_timer(core, deadline, a, b)
        elif kind == T_RESERVATION:
            on_reservation_timer(core, deadline, a, b)
        elif kind == T_STEP:
            on_step_timer(core, deadline, a)
        elif kind == T_MAX_WAIT:
            on_max_wait_timer(core, deadline, a)
        elif kind == T_CLOSE:
            on_close_timer(core, deadline, a)
    if until > core.now:
        core.now = until


def is_live(core: Core, timer: Timer) -> bool:
    deadline, kind, _, a, b = timer
    if kind == T_CLOSE:
        queue = core.queues.get(a)
        return queue is not None and queue.close_at == deadline
    if kind == T_WRAP:
        agent = core.agents.get(a)
        slot = None if agent is None else agent.slots.get(b)
        return slot is not None and slot.kind == "wrap_up" and slot.wrap_until == deadline
    contact = core.contacts.get(a)
    if contact is None:
        return False
    if kind == T_OFFER:
        return contact.offer_id == b and contact.offer_expires == deadline
    if kind == T_RESERVATION:
        return bool(contact.reservations) and contact.reservations[0] == (b, deadline)
    if kind == T_STEP:
        return contact.state == "waiting" and contact.step_deadline == deadline
    return contact.state == "waiting" and contact.max_wait_at == deadline


def next_deadline(core: Core) -> int | None:
    """The earliest deadline at which a timer will change something (stale entries are
    dropped on the way), so a simulator can jump straight to it."""
    timers = core.timers
    while timers:
        if is_live(core, timers[0]):
            return timers[0][0]
        heapq.heappop(timers)
    return None


def rescan(core: Core) -> None:
    """Retry ready agents against waiting contacts of queues whose rules read the time of day
    (e.g. an agent's working hours); every other change routes at once, so there is nothing
    to find elsewhere."""
    seen: set[str] = set()
    for queue_id in sorted(q.id for q in core.queues.values() if q.uses_clock):
        queue = core.queues[queue_id]
        for channel in queue.definition.channels:
            if not core.lines[(queue_id, channel)].size:
                continue
            for key, _ in queue.pool_keys(channel):
                for agent_id in list(core.pools[key].order(None)):
                    if agent_id not in seen:
                        seen.add(agent_id)
                        route_agent(core, core.agents[agent_id])
