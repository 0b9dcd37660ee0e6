"""Consistency check of the whole state: every index recomputed from the records.

Used by the tests after every command; also handy on a restored snapshot. Raises
AssertionError with what is wrong.
"""

from __future__ import annotations

from collections import Counter

from omnidesk.core.routing.expressions import make_context
from omnidesk.core.routing.selection import IdlePool
from omnidesk.core.routing.state import NO_QUEUE, Core


def verify(core: Core, *, work_conserving: bool = True) -> None:
    _agents(core)
    _contacts(core)
    _pools(core)
    if work_conserving:
        _no_idle_match(core)


def _agents(core: Core) -> None:
    holders: Counter[str] = Counter()
    for agent in core.agents.values():
        load = Counter(s.channel for s in agent.slots.values())
        assert dict(load) == agent.load, (agent.id, load, agent.load)
        for channel, count in load.items():
            assert count <= agent.definition.capacity.get(channel, 0), (agent.id, channel)
        assert agent.n_active == sum(s.kind == "active" for s in agent.slots.values())
        assert agent.n_wrap == sum(s.kind == "wrap_up" for s in agent.slots.values())
        assert (agent.state, agent.state_reason) == core.derive_state(agent), agent.id
        ready = {
            channel
            for channel, _, _ in agent.pools
            if agent.presence == "available" and core.can_take(agent, channel)
        }
        assert agent.pooled == ready, (agent.id, agent.pooled, ready)
        if agent.presence == "offline":
            assert not agent.slots, agent.id
        for slot in agent.slots.values():
            if slot.kind in ("offered", "active"):
                holders[slot.contact_id] += 1
                contact = core.contacts[slot.contact_id]
                assert contact.agent_id == agent.id and contact.state == slot.kind, slot
                if slot.kind == "offered":
                    assert contact.offer_id == slot.offer_id, slot
        for queue_id, priority in agent.definition.queues.items():
            assert core.queues[queue_id].members.get(agent.id) == priority
    assert all(n == 1 for n in holders.values()), holders
    for contact in core.contacts.values():
        if contact.state != "waiting":
            assert holders[contact.id] == 1, contact.id


def _contacts(core: Core) -> None:
    in_lanes = {key[4] for line in core.lines.values() for lane in line.lanes for key in lane}
    lane_total = sum(len(lane) for line in core.lines.values() for lane in line.lanes)
    assert lane_total == len(in_lanes)
    for key, line in core.lines.items():
        assert line.size == sum(len(lane) for lane in line.lanes), key
    assert core.in_lanes == sum(line.size for line in core.lines.values())
    in_reserved = {c: a for a, line in core.reserved.items() for c in line}
    assert all(core.reserved.values())
    for queue in core.queues.values():
        mine = {c.id for c in core.contacts.values() if c.queue_id == queue.id}
        assert set(queue.contacts) == mine, queue.id
        queued = sum(core.contacts[c].state != "active" for c in mine)
        assert queue.queued == queued, (queue.id, queue.queued, queued)
        members = {a.id for a in core.agents.values() if queue.id in a.definition.queues}
        assert set(queue.members) == members
    for contact in core.contacts.values():
        if contact.queue_id == NO_QUEUE:
            # An agent's own contact without a queue: only ever active, with its agent.
            assert contact.state == "active" and contact.agent_id is not None, contact.id
            assert contact.parent_id is None, contact.id
            assert not contact.in_lane and contact.reserved_in is None, contact.id
            assert contact.id not in in_lanes and contact.id not in in_reserved, contact.id
            continue
        queue = core.queues[contact.queue_id]
        assert contact.key == core.line_key(contact, queue), contact.id
        if contact.parent_id is not None:
            # A leg is offered or active, for an active contact that points back at it.
            parent = core.contacts[contact.parent_id]
            assert contact.state != "waiting", contact.id
            assert parent.state == "active" and parent.consult_id == contact.id, contact.id
            assert contact.agent_id != parent.agent_id, contact.id
        if contact.consult_id is not None:
            assert core.contacts[contact.consult_id].parent_id == contact.id, contact.id
        if contact.state != "waiting":
            assert not contact.in_lane and contact.reserved_in is None, contact.id
            assert contact.id not in in_lanes and contact.id not in in_reserved
            continue
        assert contact.step < len(queue.bounds), contact.id
        assert contact.in_lane != (contact.reserved_in is not None), contact.id
        if contact.in_lane:
            lane = core.lines[(contact.queue_id, contact.channel)].lanes[contact.step]
            assert contact.key in lane, contact.id
            assert core.current_reservation(contact) is None, contact.id
        else:
            assert in_reserved.get(contact.id) == contact.reserved_in, contact.id
            assert core.current_reservation(contact) == contact.reserved_in, contact.id


def _pools(core: Core) -> None:
    expected_keys = {
        key
        for queue in core.queues.values()
        for channel in queue.definition.channels
        for key, _ in queue.pool_keys(channel)
    }
    assert set(core.pools) == expected_keys
    for queue in core.queues.values():
        for step, shares in enumerate(queue.shares_pool):
            if shares:  # the step's rule passes every member
                rule = queue.targets[step]
                assert rule is not None and queue.static[step], (queue.id, step)
                for agent_id in queue.members:
                    view = core.agents[agent_id].view
                    assert rule.matches(make_context({}, view, core.now_dt)), (queue.id, step)
        for channel in queue.definition.channels:
            pools = [core.pools[queue.pool_key(channel, s)] for s in range(len(queue.targets))]
            assert queue.step_pools[channel] == pools, (queue.id, channel)
    for queue in core.queues.values():
        for channel in queue.definition.channels:
            for key, step in queue.pool_keys(channel):
                pool = core.pools[key]
                expected = set()
                for agent in core.agents.values():
                    if queue.id not in agent.definition.queues:
                        continue
                    if agent.presence != "available" or not core.can_take(agent, channel):
                        continue
                    if step >= 0:
                        rule = queue.targets[step]
                        ctx = make_context({}, agent.view, core.now_dt)
                        if rule is not None and not rule.matches(ctx):
                            continue
                    expected.add(agent.id)
                actual = list(pool.order(None))
                assert set(actual) == expected, (key, actual, expected)
                assert len(pool) == len(expected) == len(actual)
                if isinstance(pool, IdlePool):
                    seqs = [core.agents[a].idle_seq for a in actual]
                    assert seqs == sorted(seqs), key


def _no_idle_match(core: Core) -> None:
    """After every command: no waiting contact could be offered to a ready agent now."""
    for contact in core.contacts.values():
        if contact.state != "waiting":
            continue
        if contact.reserved_in is not None:
            agent = core.agents[contact.reserved_in]
            assert not (
                agent.presence == "available"
                and core.can_take(agent, contact.channel)
                and agent.id not in contact.declined
                and contact.id not in agent.slots
            ), f"{contact.id} waits for ready agent {agent.id}"
            continue
        queue = core.queues[contact.queue_id]
        rule = queue.targets[contact.step]
        for agent_id in core.pools[queue.pool_key(contact.channel, contact.step)].order(None):
            agent = core.agents[agent_id]
            if agent_id in contact.declined or contact.id in agent.slots:
                continue
            ok = rule is None or rule.matches(
                make_context(core.contact_view(contact), agent.view, core.now_dt)
            )
            assert not ok, f"{contact.id} waits although {agent_id} could take it"
