"""The engine's runtime state and the primitives that keep its indexes consistent.

Use-case modules (arrivals, offers, agents, admin) change state only through these primitives,
so the indexes (pools of ready agents, lines of waiting contacts, reservations, timers) never
drift from the records they index. `Core.verify()` recomputes them all for the tests.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from omnidesk.core.routing.clock import EPOCH, to_us
from omnidesk.core.routing.errors import UnknownAgent, UnknownContact, UnknownQueue
from omnidesk.core.routing.events import MAKERS, AgentState, Event, Makers
from omnidesk.core.routing.expressions import RuleCompiler, TargetExpression, make_context
from omnidesk.core.routing.model import AgentDef, EngineSettings, OverflowAction, QueueDef
from omnidesk.core.routing.selection import AgentPool, IdlePool, put_in_order
from omnidesk.core.routing.sortedlist import SortedList

_ONE_US = timedelta(microseconds=1)

# Aging is computed relative to this instant to keep the float products small and precise.
REF_US = to_us(datetime(2020, 1, 1, tzinfo=UTC))

Presence = Literal["offline", "available", "away"]
SlotKind = Literal["offered", "active", "wrap_up"]
ContactState = Literal["waiting", "offered", "active"]
# (emergency rank, -static priority, queued_at, line seq, contact id): lower is served first.
LineKey = tuple[int, float, int, int, str]

# The queue id of an agent's own contact started without a queue (StartAgentContact), in
# ContactRt.queue_id and Slot.queue_id. Not a valid queue id, so it never names a queue; the
# snapshot and the events show it as None.
NO_QUEUE = ""

# Timer kinds; at equal deadlines they fire in this order.
T_OFFER, T_WRAP, T_RESERVATION, T_STEP, T_MAX_WAIT, T_CLOSE = range(6)
Timer = tuple[int, int, int, str, str]  # deadline, kind, seq, id, second id


@dataclass(slots=True)
class Slot:
    """One contact an agent holds: offered to it, active with it, or in its wrap-up."""

    contact_id: str
    channel: str
    queue_id: str
    kind: SlotKind
    seq: int
    offer_id: str | None = None
    started: int = 0  # when the agent accepted (handle time starts)
    wrap_until: int | None = None
    extended: bool = False


@dataclass(slots=True, eq=False)
class AgentRt:
    definition: AgentDef
    view: dict[str, Any]
    capacity_total: int
    presence: Presence = "offline"
    reason: str | None = None
    state: AgentState = "offline"
    state_reason: str | None = None
    slots: dict[str, Slot] = field(default_factory=dict)
    load: dict[str, int] = field(default_factory=dict)
    n_active: int = 0
    n_wrap: int = 0
    idle_seq: int = 0
    idle_since: int = 0
    # (queue id, step) -> passes the step's rule, for steps whose rule reads only the agent.
    eligible: dict[tuple[str, int], bool] = field(default_factory=dict)
    # The pools the agent is in while ready for their channel (see Core.link_agent): per
    # channel, the member dicts of its longest-idle pools (the hot path: every change of load
    # moves the agent to the end of each; IdlePool.members is never replaced) and its other
    # pools.
    pools: list[tuple[str, list[dict[str, int]], list[AgentPool]]] = field(default_factory=list)
    # The channels for which the agent is in those pools now (it had room when last indexed).
    pooled: set[str] = field(default_factory=set)
    # What the agent serves, for finding its next contact: (membership priority, queue,
    # channel, the queue's line for the channel).
    lines: list[tuple[int, QueueRt, str, Line]] = field(default_factory=list)

    id: str = field(init=False)  # the definition's, which never changes

    def __post_init__(self) -> None:
        self.id = self.definition.id

    @property
    def skill_levels(self) -> Mapping[str, int]:
        return self.definition.skills

    @property
    def occupancy(self) -> float:
        return sum(self.load.values()) / self.capacity_total if self.capacity_total else 1.0


@dataclass(slots=True, eq=False)
class ContactRt:
    id: str
    queue_id: str
    channel: str
    priority: int
    attributes: dict[str, Any]
    emergency: bool
    seq: int
    arrived_at: int
    queued_at: int
    key: LineKey = (1, 0.0, 0, 0, "")
    state: ContactState = "waiting"
    step: int = 0
    step_deadline: int | None = None
    max_wait_at: int | None = None
    reservations: list[tuple[str, int]] = field(default_factory=list)
    declined: dict[str, None] = field(default_factory=dict)
    agent_id: str | None = None
    offer_id: str | None = None
    offer_expires: int | None = None
    offer_count: int = 0
    hops: int = 0
    reserved_in: str | None = None  # the agent whose reserved line holds it while waiting
    in_lane: bool = False
    # Consults: a leg knows the contact it is about (`parent_id`), and that contact its open
    # leg (`consult_id`). A leg is only ever offered or active, never waiting in line.
    parent_id: str | None = None
    consult_id: str | None = None


class Line:
    """The waiting contacts of one queue and channel: one sorted lane per workflow step (a
    contact is in the lane of its current step), and how many there are in all."""

    __slots__ = ("lanes", "size")

    def __init__(self, steps: int) -> None:
        self.lanes: list[SortedList[LineKey]] = [SortedList() for _ in range(steps)]
        self.size = 0


@dataclass(slots=True, eq=False)
class QueueRt:
    definition: QueueDef
    targets: list[TargetExpression | None]  # one per agent-targeting step
    bounds: list[int | None]  # step i applies while waited < bounds[i] (None: forever)
    overflow: OverflowAction | None  # the terminal overflow step's action
    rate_per_us: float
    max_skill_score: list[int]
    contact_free: list[bool]  # per step: the rule never reads the contact
    # Per step: the rule reads only the agent (or there is none), so each agent's verdict is
    # computed once per definition and the step has its own pool of passing agents...
    static: list[bool]
    # ... unless every member passes it (typical of the widest steps, "skills.x >= 1"): then
    # the step shares the pool of all ready members, and an agent is in fewer pools to keep
    # in order. Set when the queue is built; cleared for good (the step gets its own pool)
    # as soon as a member fails the rule (see admin.split_pools).
    shares_pool: list[bool]
    uses_clock: bool  # some step's rule reads the time of day
    offer_timeout: timedelta
    offer_timeout_us: int
    # Per channel, per agent-targeting step: the pool a contact at that step is offered from
    # (filled in when the queue is installed).
    step_pools: dict[str, list[AgentPool]] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)  # agent id -> membership priority
    contacts: dict[str, None] = field(default_factory=dict)  # waiting, offered or active here
    queued: int = 0  # waiting + offered: what max_size limits
    rr_last: str | None = None
    handle_us: float | None = None  # moving average of handle time
    # The next closing time, for a queue whose waiting contacts overflow when it closes.
    close_at: int | None = None

    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.id = self.definition.id

    def own_pool(self, step: int) -> bool:
        return self.static[step] and self.targets[step] is not None and not self.shares_pool[step]

    def pool_key(self, channel: str, step: int) -> tuple[str, str, int]:
        if self.own_pool(step):
            return (self.definition.id, channel, step)
        return (self.definition.id, channel, -1)

    def pool_keys(self, channel: str) -> list[tuple[tuple[str, str, int], int]]:
        """Every pool of a channel with its step; -1 is the pool of all ready members, used by
        steps without a rule, by steps whose rule reads the contact or the clock and by steps
        whose rule every member passes."""
        queue_id = self.definition.id
        keys = []
        shared = False
        for step in range(len(self.targets)):
            if self.own_pool(step):
                keys.append(((queue_id, channel, step), step))
            else:
                shared = True
        if shared:
            keys.append(((queue_id, channel, -1), -1))
        return keys


class Core:
    def __init__(self, settings: EngineSettings, compiler: RuleCompiler) -> None:
        self.settings = settings
        self.compiler = compiler
        self.queues: dict[str, QueueRt] = {}
        self.agents: dict[str, AgentRt] = {}
        self.contacts: dict[str, ContactRt] = {}
        self.pools: dict[tuple[str, str, int], AgentPool] = {}
        self.lines: dict[tuple[str, str], Line] = {}  # (queue id, channel) -> its line
        self.in_lanes = 0  # contacts in all lines' lanes: none, and no line needs a look
        self.reserved: dict[str, dict[str, None]] = {}
        self.timers: list[Timer] = []
        self.now = to_us(EPOCH)
        self._dt_us = self.now
        self._dt = EPOCH
        self.line_seq = 0
        self.idle_counter = 0
        self.events: list[Event] = []
        # How the hottest events are built: the classes, or lean while a caller asks for lean
        # events (set by each Engine entry point; see events.Makers).
        self.make: Makers = MAKERS
        # While a RevokeOffers command lets time catch up: the agents whose offers are revoked
        # ("restart") rather than timed out when their deadline passes (see offers.py).
        self.restart_all = False
        self.restart_agents: frozenset[str] = frozenset()
        # Freed agents and revoked contacts that await routing at the end of that command.
        self.restart_freed: dict[str, AgentRt] = {}
        self.restart_contacts: list[ContactRt] = []

    # --- lookups (404 for unknown ids) ------------------------------------------------------

    def agent(self, agent_id: str) -> AgentRt:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    def queue(self, queue_id: str) -> QueueRt:
        queue = self.queues.get(queue_id)
        if queue is None:
            raise UnknownQueue(queue_id)
        return queue

    def contact(self, contact_id: str) -> ContactRt:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise UnknownContact(contact_id)
        return contact

    # --- time, events, timers ------------------------------------------------------------

    def set_now(self, us: int) -> None:
        self.now = us

    def adopt_now_dt(self, instant: datetime) -> None:
        """`instant` is `self.now` as a UTC datetime the caller already has."""
        self._dt, self._dt_us = instant, self.now

    @property
    def now_dt(self) -> datetime:
        # Built on demand: many instants (timer deadlines) pass without emitting an event.
        # From the last instant built rather than the epoch (`from_us`): the same datetime,
        # but a timedelta of a few seconds is about twice as cheap to build as one of decades.
        now = self.now
        if self._dt_us != now:
            self._dt = self._dt + _ONE_US * (now - self._dt_us)
            self._dt_us = now
        return self._dt

    def dt_at(self, us: int) -> datetime:
        """`from_us(us)`, built from `now_dt` (cheaper for an instant near now)."""
        return self.now_dt + _ONE_US * (us - self.now)

    @property
    def event_now(self) -> Any:
        """The `at` of the hottest events (see events.Makers): `now_dt`, or with lean events
        `now` itself (integer microseconds)."""
        return self.now if self.make.lean else self.now_dt

    def event_instant(self, us: int) -> Any:
        """Another instant such an event carries (a deadline), as `event_now`."""
        return us if self.make.lean else self.dt_at(us)

    def push_timer(self, deadline: int, kind: int, seq: int, a: str, b: str = "") -> None:
        heapq.heappush(self.timers, (deadline, kind, seq, a, b))

    # --- agents ----------------------------------------------------------------------------

    def touch(self, agent: AgentRt) -> None:
        """The agent's load or availability changed: it is now the most recently idle."""
        self.idle_counter += 1
        agent.idle_seq = self.idle_counter
        agent.idle_since = self.now

    def can_take(self, agent: AgentRt, channel: str) -> bool:
        definition = agent.definition
        load = agent.load
        if load.get(channel, 0) >= definition.capacity.get(channel, 0):
            return False
        blending = definition.blending
        if blending:
            for held, count in load.items():
                if count and held != channel:
                    allowed = blending.get(held)
                    if allowed is not None and channel not in allowed:
                        return False
        return True

    def within_capacity(self, agent: AgentRt, definition: AgentDef) -> bool:
        """Would the contacts the agent holds fit `definition`'s capacity? (Blending is a rule
        for new offers only: an asymmetric matrix allows combinations it would not start.)"""
        return all(n <= definition.capacity.get(ch, 0) for ch, n in agent.load.items())

    def link_agent(self, agent: AgentRt, *, keep_verdicts: bool = False) -> None:
        """Recompute which pools and lines the agent belongs to and its verdicts for rules
        that read only the agent. After any change of the agent's definition or of a member
        queue. The caller reindexes the agent. `keep_verdicts`: they are current (neither the
        agent's definition nor its queues' rules changed since it was last linked), so only
        its pools and lines are recomputed."""
        self.unindex(agent)
        eligible: dict[tuple[str, int], bool] = agent.eligible if keep_verdicts else {}
        pools: dict[str, tuple[list[dict[str, int]], list[AgentPool]]] = {}
        lines: list[tuple[int, QueueRt, str, Line]] = []
        no_contact: dict[str, Any] = {}
        for queue_id, membership in agent.definition.queues.items():
            queue = self.queues[queue_id]
            for step, rule in enumerate(() if keep_verdicts else queue.targets):
                if queue.static[step]:
                    eligible[(queue_id, step)] = rule is None or bool(
                        rule.matches(make_context(no_contact, agent.view, self.now_dt))
                    )
            for channel in queue.definition.channels:
                lines.append((membership, queue, channel, self.lines[(queue_id, channel)]))
                idle, other = pools.setdefault(channel, ([], []))
                for key, step in queue.pool_keys(channel):
                    if step < 0 or eligible[(queue_id, step)]:
                        pool = self.pools[key]
                        if isinstance(pool, IdlePool):
                            idle.append(pool.members)
                        else:
                            other.append(pool)
        agent.eligible = eligible
        agent.pools = [(channel, idle, other) for channel, (idle, other) in pools.items()]
        agent.lines = lines

    def reindex(self, agent: AgentRt) -> None:
        """Put the agent into exactly the pools it belongs in, at its current idle position.
        After every touch (and every change of room or presence)."""
        agent_id = agent.id
        pooled = agent.pooled
        if agent.presence != "available":
            # Not ready: out of every pool it is in.
            if pooled:
                for channel, idle, other in agent.pools:
                    if channel in pooled:
                        for members in idle:
                            del members[agent_id]
                        for agent_pool in other:
                            agent_pool.discard(agent_id)
                pooled.clear()
            return
        seq = agent.idle_seq
        # Touched last (the usual case): appending keeps every pool in idle order.
        last = seq == self.idle_counter
        load = agent.load
        definition = agent.definition
        capacity = definition.capacity
        # Core.can_take, inlined and hoisted: what the blending matrix allows beside each
        # channel held, found once for all the agent's channels (usually none or one).
        limits: list[tuple[str, tuple[str, ...]]] | None = None
        blending = definition.blending
        if blending and load:
            for held, count in load.items():
                if count:
                    allowed = blending.get(held)
                    if allowed is not None:
                        if limits is None:
                            limits = []
                        limits.append((held, allowed))
        for channel, idle, other in agent.pools:
            room = load.get(channel, 0) < capacity.get(channel, 0)
            if room and limits is not None:
                for held, allowed in limits:
                    if held != channel and channel not in allowed:
                        room = False
                        break
            if room:
                if not last:
                    for members in idle:
                        put_in_order(members, agent_id, seq)
                    pooled.add(channel)
                elif channel in pooled:
                    for members in idle:  # IdlePool.put, inlined: to the end
                        del members[agent_id]
                        members[agent_id] = seq
                else:
                    for members in idle:
                        members[agent_id] = seq
                    pooled.add(channel)
                for agent_pool in other:
                    agent_pool.put(agent_id, seq, agent)
            elif channel in pooled:
                pooled.discard(channel)
                for members in idle:
                    del members[agent_id]
                for agent_pool in other:
                    agent_pool.discard(agent_id)

    def unindex(self, agent: AgentRt) -> None:
        agent_id = agent.id
        for _, idle, other in agent.pools:
            for members in idle:
                members.pop(agent_id, None)
            for agent_pool in other:
                agent_pool.discard(agent_id)
        agent.pools = []
        agent.pooled = set()
        agent.lines = []

    def derive_state(self, agent: AgentRt) -> tuple[AgentState, str | None]:
        if agent.presence == "offline":
            return "offline", None
        if agent.n_active:
            return "busy", None
        if agent.n_wrap:
            return "wrap_up", None
        if agent.presence == "away":
            return "away", agent.reason
        return "available", None

    def sync_state(self, agent: AgentRt) -> None:
        # derive_state, inlined: this runs after nearly every command.
        presence = agent.presence
        state: AgentState
        reason = None
        if presence == "offline":
            state = "offline"
        elif agent.n_active:
            state = "busy"
        elif agent.n_wrap:
            state = "wrap_up"
        elif presence == "away":
            state, reason = "away", agent.reason
        else:
            state = "available"
        if state != agent.state or reason != agent.state_reason:
            # Fields in declaration order: positional is cheaper on this hot path.
            self.events.append(
                self.make.agent_state_changed(
                    self.event_now,
                    agent.id,
                    state,
                    reason,
                    agent.state,
                    agent.state_reason,
                )
            )
            agent.state, agent.state_reason = state, reason

    def add_slot(self, agent: AgentRt, slot: Slot) -> None:
        agent.slots[slot.contact_id] = slot
        agent.load[slot.channel] = agent.load.get(slot.channel, 0) + 1
        if slot.kind == "active":
            agent.n_active += 1
        elif slot.kind == "wrap_up":
            agent.n_wrap += 1

    def set_slot_kind(self, agent: AgentRt, slot: Slot, kind: SlotKind) -> None:
        old = slot.kind
        if old == "active":
            agent.n_active -= 1
        elif old == "wrap_up":
            agent.n_wrap -= 1
        if kind == "active":
            agent.n_active += 1
        elif kind == "wrap_up":
            agent.n_wrap += 1
        slot.kind = kind

    def drop_slot(self, agent: AgentRt, contact_id: str) -> Slot:
        slot = agent.slots.pop(contact_id)
        remaining = agent.load[slot.channel] - 1
        if remaining:
            agent.load[slot.channel] = remaining
        else:
            del agent.load[slot.channel]
        if slot.kind == "active":
            agent.n_active -= 1
        elif slot.kind == "wrap_up":
            agent.n_wrap -= 1
        return slot

    # --- contacts and their line -----------------------------------------------------------

    def line_key(self, contact: ContactRt, queue: QueueRt) -> LineKey:
        static = contact.priority - queue.rate_per_us * (contact.queued_at - REF_US)
        rank = 0 if contact.emergency else 1
        return (rank, -static, contact.queued_at, contact.seq, contact.id)

    def effective_priority(self, contact: ContactRt, queue: QueueRt) -> float:
        waited = self.now - contact.queued_at
        return contact.priority + queue.definition.priority + queue.rate_per_us * waited

    def step_at(self, queue: QueueRt, waited: int) -> int:
        for i, bound in enumerate(queue.bounds):
            if bound is None or waited < bound:
                return i
        return len(queue.bounds)  # the overflow step

    def step_deadline(self, queue: QueueRt, contact: ContactRt) -> int | None:
        if contact.step >= len(queue.bounds):
            return None
        bound = queue.bounds[contact.step]
        return None if bound is None else contact.queued_at + bound

    def current_reservation(self, contact: ContactRt) -> str | None:
        if contact.reservations and contact.reservations[0][1] > self.now:
            return contact.reservations[0][0]
        return None

    def insert_into_line(self, contact: ContactRt) -> None:
        """Put a waiting contact where matching finds it: its reserved agent's line or its
        queue's lane for its channel and step (at its unchanged key: its place in line)."""
        reserved_for = self.current_reservation(contact)
        if reserved_for is not None:
            self.reserved.setdefault(reserved_for, {})[contact.id] = None
            contact.reserved_in = reserved_for
        else:
            line = self.lines[(contact.queue_id, contact.channel)]
            line.lanes[contact.step].add(contact.key)
            line.size += 1
            self.in_lanes += 1
            contact.in_lane = True

    def remove_from_line(self, contact: ContactRt) -> None:
        if contact.in_lane:
            line = self.lines[(contact.queue_id, contact.channel)]
            line.lanes[contact.step].remove(contact.key)
            line.size -= 1
            self.in_lanes -= 1
            contact.in_lane = False
        elif contact.reserved_in is not None:
            reserved = self.reserved[contact.reserved_in]
            del reserved[contact.id]
            if not reserved:
                del self.reserved[contact.reserved_in]
            contact.reserved_in = None

    def contact_view(self, contact: ContactRt) -> dict[str, Any]:
        """What rules see as `contact`: its custom attributes at the top level (as in
        `contact.language`) and under `attributes`, then the engine's own fields, which win
        over a custom attribute of the same name."""
        return {
            **contact.attributes,
            "id": contact.id,
            "channel": contact.channel,
            "queue": contact.queue_id,
            "priority": contact.priority,
            "emergency": contact.emergency,
            "waited": (self.now - contact.queued_at) / 1_000_000,
            "attributes": contact.attributes,
        }

    def next_line_seq(self) -> int:
        self.line_seq += 1
        return self.line_seq
