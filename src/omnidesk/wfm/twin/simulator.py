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

The loop is hot (a day is a million engine calls), which explains a few choices below: the
engine's lean, integer-time entry points (`handle_lean_us`), per-contact state in plain lists
indexed by the customer's position, and local aliases in the two loops (`run`, `_react`).
"""

from __future__ import annotations

import gc
import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    field_positions,
    lean,
)
from omnidesk.wfm.twin.arrivals import ANSWER_AGAIN, NEVER, Customers, rng_for
from omnidesk.wfm.twin.build import Plan, install
from omnidesk.wfm.twin.distributions import Fixed, sample

# Heap actions: what the simulated people do, at instants the twin chose.
_ACCEPT, _END, _ABANDON, _END_WRAP, _LOGIN, _LOGOUT, _BREAK, _BACK, _UNMISS, _TICK = range(10)
# Contact states as the twin knows them from the events.
_WAITING, _ACTIVE, _ENDED = 1, 2, 3
# How a contact left routing (ContactEnded.reason); 0: still in routing when the run stopped.
END_CODES = {"completed": 1, "cancelled": 2, "overflow": 3, "transferred_external": 4}
COMPLETED, CANCELLED, OVERFLOWED = 1, 2, 3
END_OF_SHIFT, BREAK = "end_of_shift", "break"
_BIG = 1 << 62  # later than any instant: "nothing due"
US = 1_000_000
_NO_DELAY = Fixed(kind="fixed", value=0)

# Where the twin reads the fields of the events it reacts to. They come lean, as (class,
# values in declaration order) (see events.Makers); each position is looked up by the field's
# name, so a reordered event class cannot make the twin read another field.
_STATE_AGENT, _STATE_STATE, _STATE_REASON = field_positions(
    AgentStateChanged, "agent_id", "state", "reason"
)
_OFFER_ID, _OFFER_CONTACT, _OFFER_AGENT = field_positions(
    OfferCreated, "offer_id", "contact_id", "agent_id"
)
_ACCEPTED_CONTACT, _ACCEPTED_AGENT = field_positions(OfferAccepted, "contact_id", "agent_id")
_RECEIVED_CONTACT, _RECEIVED_QUEUE, _RECEIVED_CHANNEL = field_positions(
    ContactReceived, "contact_id", "queue_id", "channel"
)
_ENDED_CONTACT, _ENDED_REASON = field_positions(ContactEnded, "contact_id", "reason")
_WRAP_AGENT, _WRAP_CONTACT, _WRAP_ENDS = field_positions(
    WrapUpStarted, "agent_id", "contact_id", "ends_at"
)
_WRAPPED_AGENT, _WRAPPED_CONTACT = field_positions(WrapUpEnded, "agent_id", "contact_id")


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
        return _Replication(plan, customers, check_times).run()
    finally:
        if enabled:
            gc.enable()


def _start_engine(plan: Plan) -> tuple[Engine, dict[str, int]]:
    """A fresh engine with the plan's queues and agents (offline), and each agent's group."""
    engine = Engine(plan.engine_settings)
    start = from_us(plan.start_us)
    install(engine, plan.queues, start)
    group_of: dict[str, int] = {}
    for group in plan.groups:
        for agent in group.agents:
            engine.handle(AddAgent(agent), start)
            group_of[agent.id] = group.index
    return engine, group_of


class _Replication:
    """One replication in progress: the engine, the customers, what the twin knows of each
    contact and agent, and the simulated people's reactions to the engine's events."""

    def __init__(self, plan: Plan, customers: Customers, check_times: bool) -> None:
        self.plan = plan
        self.customers = customers
        self.check_times = check_times
        self.engine, self.group_of = _start_engine(plan)
        # The loop keeps time in integer microseconds and reads each event once: a datetime
        # per command, or an event object, would only be taken apart again.
        self.handle = self.engine.handle_lean_us
        n = len(customers)
        # Contact ids are the customers' positions as strings, made once: the engine keeps
        # these very objects, so its events hand them back and `index` finds the position with
        # a dict lookup (hash cached) instead of an int() parse per event.
        self.ids = [str(c) for c in range(n)]
        self.index = {contact_id: c for c, contact_id in enumerate(self.ids)}
        self.stream_target = [(s.queue_id, s.channel) for s in plan.streams]
        # Per contact, from the engine's events (-1: not yet).
        self.received = [-1] * n
        self.entry = [-1] * n  # the stream it arrived on
        self.answered = [-1] * n
        self.answered_group = [-1] * n
        self.ended = [-1] * n
        self.end_code = [0] * n
        self.state = [0] * n  # _WAITING, _ACTIVE, _ENDED
        self.offer: list[str | None] = [None] * n  # the pending offer's id
        self.tries = [0] * n  # offers made so far
        self.in_routing = 0
        self.answer_dist = [s.answer_delay or _NO_DELAY for s in plan.streams]
        self.again = rng_for(customers.seed, customers.replication, ANSWER_AGAIN)
        # Hang-ups not scheduled (yet). Most customers are offered on arrival and accepted
        # before their patience runs out, and then their hang-up would only be popped from the
        # heap to do nothing. So a customer offered on arrival whose answer comes first gets
        # no heap entry: its sequence number is held here (-1: none held) and the entry pushed,
        # exactly as it would have been, if the offer fails. A skipped entry still moves the
        # loop's clock when it is popped, which decides when the run stops: so after the last
        # arrival the held entries still to come are pushed (`held_ids`: the customers that
        # got one).
        self.held = [-1] * n
        self.held_ids: list[int] = []
        # The customer received by the events being reacted to, its hang-up not yet decided
        # (-1: none), and the sequence number its hang-up entry gets.
        self.fresh = -1
        self.fresh_order = -1
        # Agent states as the engine reports them: (instant, agent, new state); occupancy is
        # computed from this timeline after the run (stats.tally), not on the hot path.
        self.timeline: list[tuple[int, str, str]] = []
        self.on_shift: dict[str, bool] = dict.fromkeys(self.group_of, False)
        self.on_break: dict[str, bool] = dict.fromkeys(self.group_of, False)
        self.wrapping: set[tuple[str, str]] = set()  # (agent, contact) the twin ends
        settings = plan.engine_settings
        self.missed_reason = settings.missed_reason
        self.missed_away = settings.missed_state == "away"
        # (instant, order, action, a, b): the order breaks ties, first pushed first.
        self.heap: list[tuple[int, int, int, Any, Any]] = []
        self.order = itertools.count()
        # Reactions due at the instant being handled: (command, what must still hold for it:
        # the contact of an AcceptOffer, the (agent, contact) of an EndWrapUp, else None).
        self.soon: deque[tuple[Command, Any]] = deque()
        self.n_commands = 0  # engine calls, `advance` included
        self.n_events = 0
        self._schedule_shifts()

    def push(self, t: int, action: int, a: Any, b: Any = None) -> None:
        heapq.heappush(self.heap, (t, next(self.order), action, a, b))

    def _schedule_shifts(self) -> None:
        plan = self.plan
        for group in plan.groups:
            if group.periods is None:
                self.push(plan.start_us, _LOGIN, group.index)
            else:
                for p0, p1 in group.periods:
                    self.push(p0, _LOGIN, group.index)
                    self.push(p1, _LOGOUT, group.index)
            for agent, breaks in zip(group.agents, group.breaks, strict=True):
                for b0, b1 in breaks:
                    self.push(b0, _BREAK, agent.id)
                    self.push(b1, _BACK, agent.id)
        if plan.uses_clock:
            self.push(plan.start_us + plan.tick_us, _TICK, None)

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Whatever comes first happens next: an engine timer, an arrival or a twin action
        (a twin action before an arrival at the same instant)."""
        plan, heap, customers = self.plan, self.heap, self.customers
        arrive_us, ids, stream_target = customers.arrive_us, self.ids, self.stream_target
        n = len(arrive_us)
        end_us, drain_end = plan.end_us, plan.drain_end_us
        engine = self.engine
        # `due` is at most the engine's next live deadline: after a step, the earliest timer
        # (O(1)), which may be stale (an offer's timeout after its acceptance, say); the live
        # deadline, which may drop stale timers to find, only when that comes first.
        next_deadline, earliest_timer = engine.next_deadline_us, engine.earliest_timer_us
        i = 0  # the next customer to arrive
        t = plan.start_us
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
                self._advance(t)
            elif t_next > drain_end or (t_next > end_us and not self.in_routing and i >= n):
                break  # past the drain, or nobody left to come or to serve
            else:
                t = t_next
                if i < n and arrive_us[i] == t and not (heap and heap[0][0] == t):
                    # The next customer arrives.
                    queue_id, channel = stream_target[customers.stream[i]]
                    arrived = ContactArrived(
                        ids[i], queue_id, channel, customers.priority[i], customers.attributes[i]
                    )
                    self.run_command(arrived, t)
                    i += 1
                    if i == n:
                        self._push_held_hang_ups(t)
                else:  # a simulated person acts (see _ACTIONS)
                    _, _, action, a, b = heapq.heappop(heap)
                    _ACTIONS[action](self, a, b, t)
            due_at = earliest_timer()
            due = _BIG if due_at is None else due_at
        return self._outcome(t)

    def _outcome(self, t: int) -> Outcome:
        return Outcome(
            received_us=self.received,
            stream=self.entry,
            answered_us=self.answered,
            answered_group=self.answered_group,
            ended_us=self.ended,
            end_code=self.end_code,
            timeline=self.timeline,
            # Contacts still in routing waited until the run gave up on them.
            stop_us=self.plan.drain_end_us if self.in_routing else t,
            commands=self.n_commands,
            events=self.n_events,
        )

    def _push_held_hang_ups(self, t: int) -> None:
        """After the last arrival: the held hang-ups still to come, popped as they would have
        been (see `held`)."""
        received, patience_us, held = self.received, self.customers.patience_us, self.held
        for c in self.held_ids:
            hang_up = received[c] + patience_us[c]
            if held[c] >= 0 and hang_up > t:
                heapq.heappush(self.heap, (hang_up, held[c], _ABANDON, c, None))
        self.held_ids.clear()

    # --- the engine ------------------------------------------------------------------------

    def run_command(self, command: Command, t: int) -> None:
        """The one way a command reaches the engine: its events are reacted to, then the
        reactions they made due at this same instant are sent in turn, the same way."""
        due: Command | None = command
        while due is not None:
            self.n_commands += 1
            self._react(self.handle(due, t), t)
            due = self._next_due() if self.soon else None

    def _advance(self, t: int) -> None:
        """Let the engine's timers fire at `t`, and react as `run_command` does."""
        self.n_commands += 1
        self._react(self.engine.advance_lean_us(t), t)
        due = self._next_due() if self.soon else None
        if due is not None:
            self.run_command(due, t)

    def _next_due(self) -> Command | None:
        """The next reaction due at this instant that still applies (an earlier one may have
        changed what is pending), or None."""
        soon = self.soon
        while soon:
            command, pending = soon.popleft()
            if isinstance(command, AcceptOffer):
                if self.offer[pending] == command.offer_id:
                    return command
            elif not isinstance(command, EndWrapUp) or pending in self.wrapping:
                return command
        return None

    # --- reacting to the engine's events ---------------------------------------------------

    def _react(self, events: list[Event | LeanEvent], t: int) -> None:
        self.n_events += len(events)
        if self.check_times:
            _check_times(events, t)
        reactions = _REACTIONS
        # Events the twin has no reaction to (queued, step changed, ...) are skipped at once.
        for event in events:
            if isinstance(event, tuple):  # lean: the frequent kinds (see events.Makers)
                react = reactions.get(event[0])
                if react is not None:
                    react(self, event[1], t)
            else:
                react = reactions.get(event.__class__)
                if react is not None:
                    react(self, lean(event)[1], t)
        if self.fresh >= 0:  # received, not offered: it waits, and may hang up
            c = self.fresh
            entry = (t + self.customers.patience_us[c], self.fresh_order, _ABANDON, c, None)
            heapq.heappush(self.heap, entry)
            self.fresh = -1

    def _on_received(self, f: tuple[Any, ...], t: int) -> None:
        c = self.index[f[_RECEIVED_CONTACT]]
        self.received[c] = t
        self.entry[c] = self.plan.stream_of[(f[_RECEIVED_QUEUE], f[_RECEIVED_CHANNEL])]
        self.state[c] = _WAITING
        self.in_routing += 1
        if self.customers.patience_us[c] != NEVER:
            # Its hang-up is decided at its offer (in these events, or else it waits: at the
            # end of `_react`); its place among equal instants is taken now.
            self.fresh = c
            self.fresh_order = next(self.order)

    def _on_offer(self, f: tuple[Any, ...], t: int) -> None:
        c = self.index[f[_OFFER_CONTACT]]
        offer_id, agent_id = f[_OFFER_ID], f[_OFFER_AGENT]
        self.offer[c] = offer_id
        tries = self.tries[c]
        self.tries[c] = tries + 1
        delay = self._answer_again(c) if tries else self.customers.answer_us[c]
        if c == self.fresh:
            # Offered as it arrived: its hang-up goes on the heap only if it comes before the
            # answer; otherwise it is held (see `held`).
            self.fresh = -1
            hang_up = t + self.customers.patience_us[c]
            if t + delay < hang_up:
                self.held[c] = self.fresh_order
                self.held_ids.append(c)
            else:
                heapq.heappush(self.heap, (hang_up, self.fresh_order, _ABANDON, c, None))
        if delay:
            heapq.heappush(
                self.heap, (t + delay, next(self.order), _ACCEPT, c, (offer_id, agent_id))
            )
        else:
            self.soon.append((AcceptOffer(offer_id, agent_id), c))

    def _answer_again(self, c: int) -> int:
        """The answer delay of a second or later offer, which goes to another agent: a fresh
        one from its own random stream (drawn in the order offers happen; the first offers of
        every contact keep common random numbers across variants)."""
        dist = self.answer_dist[self.customers.stream[c]]
        return round(float(sample(dist, self.again, 1)[0]) * US)

    def _on_accepted(self, f: tuple[Any, ...], t: int) -> None:
        c = self.index[f[_ACCEPTED_CONTACT]]
        self.offer[c] = None
        self.state[c] = _ACTIVE
        self.answered[c] = t
        self.answered_group[c] = self.group_of[f[_ACCEPTED_AGENT]]
        heapq.heappush(
            self.heap, (t + self.customers.handle_us[c], next(self.order), _END, c, None)
        )

    def offer_failed(self, offer_id: str, contact_id: str) -> None:
        """It timed out, was revoked or was rejected (see `_on_offer_failed`)."""
        c = self.index[contact_id]
        if self.offer[c] == offer_id:
            self.offer[c] = None
        if self.held[c] >= 0:  # it may wait again: its hang-up is scheduled after all
            hang_up = self.received[c] + self.customers.patience_us[c]
            heapq.heappush(self.heap, (hang_up, self.held[c], _ABANDON, c, None))
            self.held[c] = -1

    def _on_ended(self, f: tuple[Any, ...], t: int) -> None:
        c = self.index[f[_ENDED_CONTACT]]
        self.ended[c] = t
        self.end_code[c] = END_CODES.get(f[_ENDED_REASON], 4)
        self.state[c] = _ENDED
        self.offer[c] = None
        self.in_routing -= 1

    def _on_wrap_up_started(self, f: tuple[Any, ...], t: int) -> None:
        if f[_WRAP_ENDS] is not None:
            return  # the queue's timer ends it
        # The queue leaves ending it to the agent: the twin does, after the drawn wrap-up.
        pair = (f[_WRAP_AGENT], f[_WRAP_CONTACT])
        self.wrapping.add(pair)
        wrap = self.customers.wrap_us[self.index[pair[1]]]
        if wrap:
            self.push(t + wrap, _END_WRAP, pair)
        else:
            self.soon.append((EndWrapUp(*pair), pair))

    def _on_wrap_up_ended(self, f: tuple[Any, ...], t: int) -> None:
        self.wrapping.discard((f[_WRAPPED_AGENT], f[_WRAPPED_CONTACT]))

    def _on_state_changed(self, f: tuple[Any, ...], t: int) -> None:
        agent_id, state = f[_STATE_AGENT], f[_STATE_STATE]
        self.timeline.append((t, agent_id, state))
        if state != "away":
            return
        reason = f[_STATE_REASON]
        if reason == END_OF_SHIFT and not self.on_shift[agent_id]:
            # Away for the end of the shift and holding nothing: log off.
            self.soon.append((SetAgentState(agent_id, "offline"), None))
        elif reason == self.missed_reason and self.missed_away:
            self.push(t + self.plan.missed_away_us, _UNMISS, agent_id)

    # --- the simulated people's actions (heap entries) -------------------------------------

    def _answer(self, c: int, offer: tuple[str, str], t: int) -> None:
        offer_id, agent_id = offer
        if self.offer[c] == offer_id:  # still pending
            self.run_command(AcceptOffer(offer_id, agent_id), t)

    def _end(self, c: int, _: None, t: int) -> None:
        self.run_command(EndContact(self.ids[c]), t)

    def _hang_up(self, c: int, _: None, t: int) -> None:
        if self.state[c] == _WAITING:  # not answered (offered, perhaps) and still there
            self.run_command(CancelContact(self.ids[c]), t)

    def _end_wrap_up(self, pair: tuple[str, str], _: None, t: int) -> None:
        if pair in self.wrapping:
            self.run_command(EndWrapUp(*pair), t)

    def _log_in(self, group: int, _: None, t: int) -> None:
        for agent in self.plan.groups[group].agents:
            self.on_shift[agent.id] = True
            if not self.on_break[agent.id]:
                self.run_command(SetAgentState(agent.id, "available"), t)

    def _log_out(self, group: int, _: None, t: int) -> None:
        # Away first: no new offers, pending ones revoked; offline once they hold nothing
        # (see _on_state_changed).
        for agent in self.plan.groups[group].agents:
            self.on_shift[agent.id] = False
            self.run_command(SetAgentState(agent.id, "away", END_OF_SHIFT), t)

    def _start_break(self, agent_id: str, _: None, t: int) -> None:
        self.on_break[agent_id] = True
        if self.on_shift[agent_id]:
            self.run_command(SetAgentState(agent_id, "away", BREAK), t)

    def _end_break(self, agent_id: str, _: None, t: int) -> None:
        self.on_break[agent_id] = False
        if self.on_shift[agent_id]:
            self.run_command(SetAgentState(agent_id, "available"), t)

    def _back_from_missed(self, agent_id: str, _: None, t: int) -> None:
        if self.on_shift[agent_id] and not self.on_break[agent_id]:
            self.run_command(SetAgentState(agent_id, "available"), t)

    def _tick(self, _: None, __: None, t: int) -> None:
        plan = self.plan
        self.run_command(Tick(), t)
        if t + plan.tick_us <= plan.drain_end_us and (t < plan.end_us or self.in_routing):
            self.push(t + plan.tick_us, _TICK, None)


def _check_times(events: list[Event | LeanEvent], t: int) -> None:
    for event in events:
        cls, values = lean(event)
        at = values[0]  # integer microseconds in a lean event, else a datetime
        if (at if isinstance(at, int) else to_us(at)) != t:
            raise AssertionError(f"{cls.type} at {at}, loop at {from_us(t)}")


Reaction = Callable[[_Replication, tuple[Any, ...], int], None]


def _on_offer_failed(cls: type[Event]) -> Reaction:
    offer_at, contact_at = field_positions(cls, "offer_id", "contact_id")

    def react(run: _Replication, f: tuple[Any, ...], t: int) -> None:
        run.offer_failed(f[offer_at], f[contact_at])

    return react


# What the twin does on each event it reacts to (by the event's class).
_REACTIONS: dict[type[Event], Reaction] = {
    OfferCreated: _Replication._on_offer,
    AgentStateChanged: _Replication._on_state_changed,
    OfferAccepted: _Replication._on_accepted,
    ContactReceived: _Replication._on_received,
    ContactEnded: _Replication._on_ended,
    WrapUpStarted: _Replication._on_wrap_up_started,
    WrapUpEnded: _Replication._on_wrap_up_ended,
    **{cls: _on_offer_failed(cls) for cls in (OfferTimedOut, OfferRevoked, OfferRejected)},
}
# What the twin does for each heap action (by its number).
_ACTIONS: tuple[Callable[[_Replication, Any, Any, int], None], ...] = (
    _Replication._answer,
    _Replication._end,
    _Replication._hang_up,
    _Replication._end_wrap_up,
    _Replication._log_in,
    _Replication._log_out,
    _Replication._start_break,
    _Replication._end_break,
    _Replication._back_from_missed,
    _Replication._tick,
)
