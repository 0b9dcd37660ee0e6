"""Pools of ready agents, kept in the order the queue's selection strategy picks them.

A pool belongs to one queue, one channel and one workflow step. An agent is in it while it is
available, a member of the queue, has room for the channel that its blending allows, and, for a
step whose rule reads neither the contact nor the clock, passes that rule (evaluated once per
agent definition, not per contact). Routing a contact to such a step is then "the first agent
of the pool that has not declined it": no rule evaluation and no scan. Steps whose rule reads
the contact or the time share one pool per (queue, channel) and evaluate the rule per candidate
in pool order, stopping at the first match.

Orders:
- longest idle (`IdlePool`): a list of versioned entries (idle sequence, agent id) in idle order.
  An agent gets a fresh, globally increasing idle sequence number whenever its load or presence
  changes; it is then appended to each of its pools (appending keeps the order) and its older
  entries are simply left behind. An entry is live while the agent's `pooled[channel]` still
  holds that sequence number, so leaving a pool (no room, away) is one assignment for all its
  pools of the channel, and walks skip stale entries (dropping them at the head; a pool is
  compacted when stale entries outnumber live ones). Why: every offer and every finished
  contact changes an agent's place in up to (queues x steps) pools; moving it in each was the
  largest cost of a routing decision.
- least occupied / most skilled: one insertion-ordered dict per level (occupancy; minus the
  summed levels of the step's skills), levels walked in ascending order.
- round robin: agent ids sorted; the walk starts after the last agent offered in the queue.
Ties fall to the idle order, which is the order the engine processed events: deterministic.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from omnidesk.core.routing.model import Selection


class PoolMember(Protocol):
    # channel -> the idle sequence of the agent's live entries in its longest-idle pools of
    # that channel; ~sequence (negative) while it has no room there (entries kept, not live).
    pooled: dict[str, int]

    @property
    def occupancy(self) -> float: ...

    @property
    def skill_levels(self) -> Mapping[str, int]: ...


class AgentPool(Protocol):
    """A pool that Core.reindex maintains with put / discard (least occupied, most skilled,
    round robin); `Pool` is any pool, the longest-idle IdlePool included."""

    def put(self, agent_id: str, seq: int, agent: PoolMember) -> None:
        """Insert the agent, or move it to the place its idle sequence `seq` (and level)
        gives it."""

    def discard(self, agent_id: str) -> None: ...

    def __contains__(self, agent_id: object) -> bool: ...

    def __len__(self) -> int: ...

    def order(self, start_after: str | None) -> Iterator[str]:
        """Agent ids, best first. Callers stop walking before they change the pool."""


def put_in_order(members: dict[str, int], agent_id: str, seq: int) -> None:
    """Insert (or move) an agent into an idle-ordered dict of agent id -> idle sequence."""
    if members.get(agent_id) == seq:
        return  # already at its place
    members.pop(agent_id, None)
    if members and seq < next(reversed(members.values())):
        # Rare (a membership added by an admin, an agent whose capacity grew): sort again.
        members[agent_id] = seq
        ordered = sorted(members.items(), key=lambda kv: kv[1])
        members.clear()
        members.update(ordered)
    else:
        members[agent_id] = seq


class _Bucket:
    """Agents of one level of a LeveledPool, in idle order."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        self.members: dict[str, int] = {}

    def put(self, agent_id: str, seq: int) -> None:
        put_in_order(self.members, agent_id, seq)

    def discard(self, agent_id: str) -> None:
        self.members.pop(agent_id, None)

    def __len__(self) -> int:
        return len(self.members)

    def order(self) -> Iterator[str]:
        return iter(self.members)


Entry = tuple[int, str]  # (idle sequence, agent id)


class IdlePool:
    """Longest idle first, with versioned entries (see the module docstring).

    Core.reindex appends to `entries` directly (the hot path) and calls `compact` when the list
    outgrows `limit`; everything else goes through the methods. `agents` is the engine's agent
    table, read to tell live entries from stale ones.
    """

    __slots__ = ("agents", "channel", "entries", "head", "limit")

    def __init__(self, agents: Mapping[str, PoolMember], channel: str) -> None:
        self.agents = agents
        self.channel = channel
        self.entries: list[Entry] = []
        self.head = 0  # entries before it are stale
        self.limit = 32

    def live(self, entry: Entry) -> bool:
        agent = self.agents.get(entry[1])
        return agent is not None and agent.pooled.get(self.channel) == entry[0]

    def insert(self, entry: Entry) -> None:
        """Add a live entry at its place in idle order (appending when it is the newest)."""
        entries = self.entries
        if entries and entry < entries[-1]:
            # Rare (a restore, an admin change): the agent was not touched last.
            i = bisect_left(entries, entry, lo=self.head)
            if i < len(entries) and entries[i] == entry:
                return
            entries.insert(i, entry)
        elif not entries or entries[-1] != entry:
            entries.append(entry)
        if len(entries) > self.limit:
            self.compact()

    def compact(self) -> None:
        live = [e for e in self.entries[self.head :] if self.live(e)]
        self.entries = live
        self.head = 0
        self.limit = 2 * len(live) + 32

    def purge(self, agent_id: str) -> None:
        """Drop every entry of an agent that no longer belongs here (definition changed)."""
        self.entries = [e for e in self.entries[self.head :] if e[1] != agent_id]
        self.head = 0

    def __contains__(self, agent_id: object) -> bool:
        return any(agent_id == a for a in self.order())

    def __len__(self) -> int:
        return sum(1 for _ in self.order())

    def order(self, start_after: str | None = None) -> Iterator[str]:
        entries = self.entries
        agents = self.agents
        channel = self.channel
        i = self.head
        while i < len(entries):
            seq, agent_id = entries[i]
            agent = agents.get(agent_id)
            if agent is not None and agent.pooled.get(channel) == seq:
                yield agent_id
            elif i == self.head:
                self.head = i + 1  # stale at the head: never looked at again
            i += 1


class LeveledPool:
    __slots__ = ("_buckets", "_level", "_levels", "_where")

    def __init__(self, level: Callable[[PoolMember], float]) -> None:
        self._level = level
        self._buckets: dict[float, _Bucket] = {}
        self._levels: list[float] = []
        self._where: dict[str, float] = {}

    def put(self, agent_id: str, seq: int, agent: PoolMember) -> None:
        level = self._level(agent)
        old = self._where.get(agent_id)
        if old is not None and old != level:
            self.discard(agent_id)
        bucket = self._buckets.get(level)
        if bucket is None:
            bucket = self._buckets[level] = _Bucket()
            insort(self._levels, level)
        bucket.put(agent_id, seq)
        self._where[agent_id] = level

    def discard(self, agent_id: str) -> None:
        level = self._where.pop(agent_id, None)
        if level is None:
            return
        bucket = self._buckets[level]
        bucket.discard(agent_id)
        if not len(bucket):
            del self._buckets[level]
            self._levels.remove(level)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def order(self, start_after: str | None = None) -> Iterator[str]:
        for level in self._levels:
            yield from self._buckets[level].order()


class RoundRobinPool:
    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: list[str] = []

    def put(self, agent_id: str, seq: int, agent: PoolMember) -> None:
        i = bisect_right(self._ids, agent_id)
        if not (i and self._ids[i - 1] == agent_id):
            self._ids.insert(i, agent_id)

    def discard(self, agent_id: str) -> None:
        i = bisect_right(self._ids, agent_id)
        if i and self._ids[i - 1] == agent_id:
            del self._ids[i - 1]

    def __contains__(self, agent_id: object) -> bool:
        if not isinstance(agent_id, str):
            return False
        i = bisect_right(self._ids, agent_id)
        return bool(i) and self._ids[i - 1] == agent_id

    def __len__(self) -> int:
        return len(self._ids)

    def order(self, start_after: str | None = None) -> Iterator[str]:
        ids = self._ids
        start = 0 if start_after is None else bisect_right(ids, start_after)
        for i in range(start, len(ids)):
            yield ids[i]
        for i in range(start):
            yield ids[i]


def _occupancy(agent: PoolMember) -> float:
    return agent.occupancy


Pool = AgentPool | IdlePool


def new_pool(
    selection: Selection,
    skills: frozenset[str] | None,
    agents: Mapping[str, PoolMember],
    channel: str,
) -> Pool:
    """`skills`: the step's referenced skills when its pool holds only agents that pass its
    rule (most skilled orders by them); None for a pool shared by rule-evaluating steps."""
    if selection is Selection.LEAST_OCCUPIED:
        return LeveledPool(_occupancy)
    if selection is Selection.ROUND_ROBIN:
        return RoundRobinPool()
    if selection is Selection.MOST_SKILLED and skills:
        names = tuple(sorted(skills))

        def minus_score(agent: PoolMember) -> float:
            levels = agent.skill_levels
            return -float(sum(levels.get(name, 0) for name in names))

        return LeveledPool(minus_score)
    return IdlePool(agents, channel)
