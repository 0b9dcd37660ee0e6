"""Pools of ready agents, kept in the order the queue's selection strategy picks them.

A pool belongs to one queue, one channel and one workflow step. An agent is in it while it is
available, a member of the queue, has room for the channel that its blending allows, and, for a
step whose rule reads neither the contact nor the clock, passes that rule (evaluated once per
agent definition, not per contact). Routing a contact to such a step is then "the first agent
of the pool that has not declined it": no rule evaluation and no scan. Steps whose rule reads
the contact or the time share one pool per (queue, channel) and evaluate the rule per candidate
in pool order, stopping at the first match.

Orders:
- longest idle: an insertion-ordered dict. An agent re-enters with a fresh, globally increasing
  idle sequence number whenever its load or presence changes, so appending keeps the order.
- least occupied / most skilled: one such dict per level (occupancy; minus the summed levels of
  the step's skills), levels walked in ascending order.
- round robin: agent ids sorted; the walk starts after the last agent offered in the queue.
Ties fall to the idle order, which is the order the engine processed events: deterministic.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from omnidesk.core.routing.model import Selection


class PoolMember(Protocol):
    @property
    def occupancy(self) -> float: ...

    @property
    def skill_levels(self) -> Mapping[str, int]: ...


class AgentPool(Protocol):
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


class IdlePool:
    """Longest idle first: agent id -> idle sequence, in idle order.

    `members` is public and never replaced: Core.reindex works on it directly (the hot path:
    every offer and every finished contact moves an agent to the end of each of its pools).
    """

    __slots__ = ("members",)

    def __init__(self) -> None:
        self.members: dict[str, int] = {}

    def put(self, agent_id: str, seq: int, agent: PoolMember) -> None:
        put_in_order(self.members, agent_id, seq)

    def discard(self, agent_id: str) -> None:
        self.members.pop(agent_id, None)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self.members

    def __len__(self) -> int:
        return len(self.members)

    def order(self, start_after: str | None = None) -> Iterator[str]:
        return iter(self.members)


class LeveledPool:
    __slots__ = ("_buckets", "_level", "_levels", "_where")

    def __init__(self, level: Callable[[PoolMember], float]) -> None:
        self._level = level
        self._buckets: dict[float, IdlePool] = {}
        self._levels: list[float] = []
        self._where: dict[str, float] = {}

    def put(self, agent_id: str, seq: int, agent: PoolMember) -> None:
        level = self._level(agent)
        old = self._where.get(agent_id)
        if old is not None and old != level:
            self.discard(agent_id)
        bucket = self._buckets.get(level)
        if bucket is None:
            bucket = self._buckets[level] = IdlePool()
            insort(self._levels, level)
        bucket.put(agent_id, seq, agent)
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


def new_pool(selection: Selection, skills: frozenset[str] | None) -> AgentPool:
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
    return IdlePool()
