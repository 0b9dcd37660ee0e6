"""The discrete-event loop: the real routing engine on a virtual clock.

One heap of timed twin actions (an agent answers an offer, a conversation ends, a customer
hangs up, a wrap-up ends, a shift starts or ends, a break) merged with the customers' arrival
list and with the engine's own timers: when `engine.next_deadline()` comes first, the loop
calls `advance` to exactly that instant, so every event carries the instant the loop is at and
no Tick is sent unless a rule reads the clock. Reactions due at the same instant (an answer
delay of 0, say) go through a small FIFO instead of the heap.

Everything measured comes from the engine's events (received, accepted, ended, agent state
changed); the twin's own bookkeeping (which offer is pending, which contact is still waiting)
only keeps it from sending a command the engine would refuse.
"""

from __future__ import annotations

import gc
import heapq
import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    CancelContact,
    Command,
    ContactArrived,
    EndContact,
    EndWrapUp,
    Engine,
    SetAgentState,
    Tick,
)
from omnidesk.core.routing.clock import from_us, to_us
from omnidesk.core.routing.events import (
    AgentStateChanged,
    ContactEnded,
    ContactReceived,
    Event,
    LeanEvent,
    OfferAccepted,
    OfferCreated,
    OfferRejected,
    OfferRevoked,
    OfferTimedOut,
    WrapUpEnded,
    WrapUpStarted,
    lean,
)
from omnidesk.wfm.twin.arrivals import ANSWER_AGAIN, NEVER, Customers, rng_for
from omnidesk.wfm.twin.build import Plan, install
from omnidesk.wfm.twin.distributions import Fixed, sample

# Heap actions.
_ACCEPT, _END, _ABANDON, _END_WRAP, _LOGIN, _LOGOUT, _BREAK, _BACK, _UNMISS, _TICK = range(10)
# Contact states as the twin knows them from the events.
_WAITING, _ACTIVE, _ENDED = 1, 2, 3
# How a contact left routing (ContactEnded.reason); 0: still in routing when the run stopped.
END_CODES = {"completed": 1, "cancelled": 2, "overflow": 3, "transferred_external": 4}
COMPLETED, CANCELLED, OVERFLOWED = 1, 2, 3
END_OF_SHIFT, BREAK = "end_of_shift", "break"
# Events the twin reacts to; the others (queued, step changed, ...) are skipped at once.
_K_OFFER, _K_STATE, _K_ACCEPTED, _K_RECEIVED, _K_ENDED, _K_WRAP_START, _K_WRAP_END, _K_FAIL = range(
    8
)
_KINDS: dict[type[Event], int] = {
    OfferCreated: _K_OFFER,
    AgentStateChanged: _K_STATE,
    OfferAccepted: _K_ACCEPTED,
    ContactReceived: _K_RECEIVED,
    ContactEnded: _K_ENDED,
    WrapUpStarted: _K_WRAP_START,
    WrapUpEnded: _K_WRAP_END,
    OfferTimedOut: _K_FAIL,
    OfferRevoked: _K_FAIL,
    OfferRejected: _K_FAIL,
}
_BIG = 1 << 62
US = 1_000_000
_NO_DELAY = Fixed(kind="fixed", value=0)


@dataclass
class Outcome:
    """One replication, as the engine's events tell it. Per contact (by position, -1: never
    happened): when it was received, its entry stream, when it was answered and by which
    agent group, when and why it left routing. Per agent: the timeline of the states the
    engine reported (instant, agent id, new state)."""

    received_us: list[int]
    stream: list[int]
    answered_us: list[int]
    answered_group: list[int]
    ended_us: list[int]
    end_code: list[int]
    timeline: list[tuple[int, str, str]]
    stop_us: int
    commands: int
    events: int


def simulate(plan: Plan, customers: Customers, *, check_times: bool = False) -> Outcome:
    """Run one replication. `check_times`: assert that every event carries the loop's instant
    (for tests: it shows that no timer fired late, between two twin actions)."""
    # Without the cyclic garbage collector while it runs. Why: the loop makes millions of
    # short-lived containers (events, heap entries, records) and no reference cycles (all it
    # leaves is freed by reference counting), so the collector would only walk the live
    # objects again and again: ~6 % of the CPU time of a 250,000-contact day, most of it in
    # full collections. It runs as before afterwards (if it ran before).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _replicate(plan, customers, check_times)
    finally:
        if enabled:
            gc.enable()


def _replicate(plan: Plan, customers: Customers, check_times: bool) -> Outcome:
    engine = Engine(plan.engine_config)
    start_us = plan.start_us
    start_dt = from_us(start_us)
    install(engine, plan.queues, start_dt)
    group_of: dict[str, int] = {}
    for group in plan.groups:
        for agent in group.agents:
            engine.handle(AddAgent(agent), start_dt)
            group_of[agent.id] = group.index

    n = len(customers)
    arrive_us, handle_us = customers.arrive_us, customers.handle_us
    patience_us, answer_us, wrap_us = customers.patience_us, customers.answer_us, customers.wrap_us
    priorities, attributes, cust_stream = customers.priority, customers.attributes, customers.stream
    stream_target = [(s.queue_id, s.channel) for s in plan.streams]
    stream_of = plan.stream_of

    # Contact ids are the customers' positions as strings, made once: the engine keeps these
    # very objects, so its events hand them back and `index` finds the position with a dict
    # lookup (hash cached) instead of an int() parse per event.
    ids = [str(c) for c in range(n)]
    index = {contact_id: c for c, contact_id in enumerate(ids)}
    received = [-1] * n
    entry = [-1] * n
    answered = [-1] * n
    answered_group = [-1] * n
    ended = [-1] * n
    end_code = [0] * n
    state = [0] * n
    offer: list[str | None] = [None] * n
    tries = [0] * n  # offers made so far
    answer_dist = [s.answer_delay or _NO_DELAY for s in plan.streams]
    again = rng_for(customers.seed, customers.replication, ANSWER_AGAIN)
    in_routing = 0
    # Hang-ups not scheduled (yet). Most customers are offered on arrival and accepted before
    # their patience runs out, and then their hang-up would only be popped from the heap to do
    # nothing. So a customer offered on arrival whose answer comes first gets no heap entry:
    # its sequence number is held here (-1: none held) and the entry pushed, exactly as it
    # would have been, if the offer fails. A skipped entry still moves the loop's clock when
    # it is popped, which decides when the run stops: so after the last arrival the held
    # entries still to come are pushed (`held_ids`: the customers that got one).
    held = [-1] * n
    held_ids: list[int] = []
    fresh = -1  # the customer received by the command being reacted to, hang-up undecided

    # Agent states as the engine reports them: (instant, agent, new state); occupancy is
    # computed from this timeline after the run (stats.tally), not on the hot path.
    timeline: list[tuple[int, str, str]] = []
    on_shift: dict[str, bool] = dict.fromkeys(group_of, False)
    on_break: dict[str, bool] = dict.fromkeys(group_of, False)
    wrapping: set[tuple[str, str]] = set()
    missed_reason = plan.engine_config.missed_reason
    missed_away = plan.engine_config.missed_state == "away"

    heap: list[tuple[int, int, int, Any, Any]] = []
    # The counter breaks ties between actions due at the same instant: first pushed, first.
    order = itertools.count()
    heappush, heappop = heapq.heappush, heapq.heappop

    def push(t: int, action: int, a: Any, b: Any = None) -> None:
        heappush(heap, (t, next(order), action, a, b))

    for group in plan.groups:
        if group.periods is None:
            push(start_us, _LOGIN, group.index)
        else:
            for p0, p1 in group.periods:
                push(p0, _LOGIN, group.index)
                push(p1, _LOGOUT, group.index)
        for agent, breaks in zip(group.agents, group.breaks, strict=True):
            for b0, b1 in breaks:
                push(b0, _BREAK, agent.id)
                push(b1, _BACK, agent.id)
    if plan.uses_clock:
        push(start_us + plan.tick_us, _TICK, None)

    # (command, what must still hold for it: the contact's pending offer id for an AcceptOffer,
    # the wrap-up (agent, contact) for an EndWrapUp, None otherwise).
    soon: deque[tuple[Command, Any]] = deque()
    counters = [0, 0]  # commands, events

    def check(events: list[Event | LeanEvent], t: int) -> None:
        for ev in events:
            cls, fields = lean(ev)
            at = fields[0]  # integer microseconds in a lean event, else a datetime
            if (at if isinstance(at, int) else to_us(at)) != t:
                raise AssertionError(f"{cls.type} at {at}, loop at {from_us(t)}")

    kinds: dict[Any, int] = _KINDS

    def react(events: list[Event | LeanEvent], t: int) -> None:
        nonlocal in_routing, fresh
        counters[1] += len(events)
        held_order = -1  # the sequence number of `fresh`'s hang-up
        if check_times:
            check(events, t)
        # The events come lean, as (class, fields in declaration order), the hot ones at least
        # (see events.Makers); each branch reads its class's fields by position.
        f: tuple[Any, ...]
        for ev in events:
            if ev.__class__ is tuple:
                cls, f = ev
                kind = kinds.get(cls)
                if kind is None:
                    continue
            else:
                kind = kinds.get(ev.__class__)
                if kind is None:
                    continue
                f = lean(ev)[1]
            if kind == _K_STATE:  # at, agent_id, state, reason, ...
                agent_id = f[1]
                new_state = f[2]
                timeline.append((t, agent_id, new_state))
                if new_state == "away":
                    if f[3] == END_OF_SHIFT and not on_shift[agent_id]:
                        # Away for the end of the shift and holding nothing: log off.
                        soon.append((SetAgentState(agent_id, "offline"), None))
                    elif f[3] == missed_reason and missed_away:
                        push(t + plan.missed_away_us, _UNMISS, agent_id)
            elif kind == _K_OFFER:  # at, offer_id, contact_id, agent_id, ...
                c = index[f[2]]
                offer_id = f[1]
                offer[c] = offer_id
                if tries[c]:
                    # A second offer goes to another agent: a fresh delay, from its own
                    # stream (drawn in the order offers happen; the first offers of every
                    # contact keep common random numbers across variants).
                    delay = round(float(sample(answer_dist[cust_stream[c]], again, 1)[0]) * US)
                else:
                    delay = answer_us[c]
                tries[c] += 1
                if c == fresh:
                    fresh = -1
                    hang_up = t + patience_us[c]
                    if t + delay < hang_up:
                        held[c] = held_order
                        held_ids.append(c)
                    else:
                        heappush(heap, (hang_up, held_order, _ABANDON, c, None))
                if delay:
                    heappush(heap, (t + delay, next(order), _ACCEPT, c, (offer_id, f[3])))
                else:
                    soon.append((AcceptOffer(offer_id, f[3]), c))
            elif kind == _K_ACCEPTED:  # at, offer_id, contact_id, agent_id, ...
                c = index[f[2]]
                offer[c] = None
                state[c] = _ACTIVE
                answered[c] = t
                answered_group[c] = group_of[f[3]]
                heappush(heap, (t + handle_us[c], next(order), _END, c, None))
            elif kind == _K_RECEIVED:  # at, contact_id, queue_id, channel, ...
                c = index[f[1]]
                received[c] = t
                entry[c] = stream_of[(f[2], f[3])]
                state[c] = _WAITING
                in_routing += 1
                if patience_us[c] != NEVER:
                    fresh = c  # its hang-up: decided at its offer, below, or after this loop
                    held_order = next(order)
            elif kind == _K_ENDED:  # at, contact_id, queue_id, reason, ...
                c = index[f[1]]
                ended[c] = t
                end_code[c] = END_CODES.get(f[3], 4)
                state[c] = _ENDED
                offer[c] = None
                in_routing -= 1
            elif kind == _K_WRAP_START:  # at, agent_id, contact_id, ends_at
                if f[3] is None:  # the queue leaves ending it to the agent: we do
                    pair = (f[1], f[2])
                    wrapping.add(pair)
                    wrap = wrap_us[index[f[2]]]
                    if wrap:
                        push(t + wrap, _END_WRAP, pair)
                    else:
                        soon.append((EndWrapUp(f[1], f[2]), pair))
            elif kind == _K_WRAP_END:  # at, agent_id, contact_id, ...
                wrapping.discard((f[1], f[2]))
            else:  # the offer failed (timed out, revoked, rejected): at, offer_id, contact_id
                c = index[f[2]]
                if offer[c] == f[1]:
                    offer[c] = None
                if held[c] >= 0:  # it may wait again: its hang-up is scheduled after all
                    heappush(heap, (received[c] + patience_us[c], held[c], _ABANDON, c, None))
                    held[c] = -1
        if fresh >= 0:  # received, not offered: it waits
            heappush(heap, (t + patience_us[fresh], held_order, _ABANDON, fresh, None))
            fresh = -1

    # The engine's integer-time entry points: the loop keeps time in microseconds, and a
    # datetime per command would only be turned back into microseconds by the engine.
    handle = engine.handle_lean_us

    def follow_up(t: int) -> None:
        """The reactions due at this same instant, in order. Each is checked again first: an
        earlier one in the queue may have changed what is pending."""
        while soon:
            command, pending = soon.popleft()
            kind = command.__class__
            if kind is AcceptOffer:
                if offer[pending] != cast(AcceptOffer, command).offer_id:
                    continue
            elif kind is EndWrapUp and pending not in wrapping:
                continue
            counters[0] += 1
            react(handle(command, t), t)

    def run(command: Command, t: int) -> None:
        counters[0] += 1
        react(handle(command, t), t)
        if soon:
            follow_up(t)

    def agents_of(group_index: int) -> list[str]:
        return [a.id for a in plan.groups[group_index].agents]

    end_us, drain_end = plan.end_us, plan.drain_end_us
    next_deadline, advance = engine.next_deadline_us, engine.advance_lean_us
    # `due` is at most the engine's next live deadline: after a command, the earliest timer,
    # which may be stale (an offer's timeout after its acceptance, say); the live deadline
    # is looked for only when the earliest timer comes before the loop's next action.
    earliest_timer = engine.earliest_timer_us
    i = 0
    t = start_us
    due_at = next_deadline()
    due = _BIG if due_at is None else due_at
    while True:
        t_next = arrive_us[i] if i < n else _BIG
        if heap and heap[0][0] < t_next:
            t_next = heap[0][0]
        if due <= t_next:
            due_at = next_deadline()
            due = _BIG if due_at is None else due_at
        if due <= t_next:
            if due > drain_end:
                break
            t = due
            counters[0] += 1
            react(advance(t), t)
            if soon:
                follow_up(t)
            due_at = earliest_timer()
            due = _BIG if due_at is None else due_at
            continue
        if t_next > drain_end or (t_next > end_us and not in_routing and i >= n):
            break
        t = t_next
        if i < n and arrive_us[i] == t and not (heap and heap[0][0] == t):
            queue_id, channel = stream_target[cust_stream[i]]
            # `run`, inlined (as for the contacts' own actions below): a call per command.
            counters[0] += 1
            react(
                handle(ContactArrived(ids[i], queue_id, channel, priorities[i], attributes[i]), t),
                t,
            )
            if soon:
                follow_up(t)
            i += 1
            if i == n:  # the held hang-ups still to come, popped as before (see `held`)
                for c in held_ids:
                    hang_up = received[c] + patience_us[c]
                    if held[c] >= 0 and hang_up > t:
                        heappush(heap, (hang_up, held[c], _ABANDON, c, None))
                held_ids.clear()
            due_at = earliest_timer()
            due = _BIG if due_at is None else due_at
            continue
        _, _, action, a, b = heappop(heap)
        command: Command | None = None
        if action == _END:
            command = EndContact(ids[a])
        elif action == _ACCEPT:
            if offer[a] == b[0]:
                command = AcceptOffer(b[0], b[1])
        elif action == _ABANDON:
            if state[a] == _WAITING:
                command = CancelContact(ids[a])
        elif action == _END_WRAP:
            if a in wrapping:
                run(EndWrapUp(a[0], a[1]), t)
        elif action == _LOGIN:
            for agent_id in agents_of(a):
                on_shift[agent_id] = True
                if not on_break[agent_id]:
                    run(SetAgentState(agent_id, "available"), t)
        elif action == _LOGOUT:
            for agent_id in agents_of(a):
                on_shift[agent_id] = False
                run(SetAgentState(agent_id, "away", END_OF_SHIFT), t)
        elif action == _BREAK:
            on_break[a] = True
            if on_shift[a]:
                run(SetAgentState(a, "away", BREAK), t)
        elif action == _BACK:
            on_break[a] = False
            if on_shift[a]:
                run(SetAgentState(a, "available"), t)
        elif action == _UNMISS:
            if on_shift[a] and not on_break[a]:
                run(SetAgentState(a, "available"), t)
        elif action == _TICK:
            run(Tick(), t)
            if t + plan.tick_us <= drain_end and (t < end_us or in_routing):
                push(t + plan.tick_us, _TICK, None)
        if command is not None:  # `run`, inlined
            counters[0] += 1
            react(handle(command, t), t)
            if soon:
                follow_up(t)
        due_at = earliest_timer()
        due = _BIG if due_at is None else due_at

    return Outcome(
        received_us=received,
        stream=entry,
        answered_us=answered,
        answered_group=answered_group,
        ended_us=ended,
        end_code=end_code,
        timeline=timeline,
        # Contacts still in routing waited until the run gave up on them.
        stop_us=drain_end if in_routing else t,
        commands=counters[0],
        events=counters[1],
    )
