"""Administration: queues and agents are added, replaced and removed while contacts flow.

Every change is validated completely (definition, rules compiled, references, capacity) before
anything is touched, then applied, then the affected agents are routed again, so a wider rule
or a new member takes waiting contacts at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from omnidesk.core.routing.clock import seconds_to_us
from omnidesk.core.routing.codec import normalize_json
from omnidesk.core.routing.commands import (
    AddAgent,
    AddQueue,
    RemoveAgent,
    RemoveQueue,
    UpdateAgent,
    UpdateQueue,
)
from omnidesk.core.routing.contacts import (
    end_reservation,
    overflow,
    schedule_close,
    schedule_waiting_timers,
    set_max_wait,
)
from omnidesk.core.routing.errors import CapacityExceeded, Conflict, DuplicateId
from omnidesk.core.routing.events import (
    AgentAdded,
    AgentRemoved,
    AgentUpdated,
    ContactStepChanged,
    QueueAdded,
    QueueRemoved,
    QueueUpdated,
)
from omnidesk.core.routing.expressions import (
    TargetExpression,
    compile_target,
    uses_clock,
    uses_contact,
)
from omnidesk.core.routing.hours import is_open
from omnidesk.core.routing.matching import route_agent
from omnidesk.core.routing.model import (
    MAX_SKILL_LEVEL,
    AgentDef,
    OverflowKind,
    QueueDef,
    Selection,
    canonical,
    validate_agent,
    validate_queue,
)
from omnidesk.core.routing.selection import new_pool
from omnidesk.core.routing.state import AgentRt, Core, Line, QueueRt


def build_queue(core: Core, definition: QueueDef) -> QueueRt:
    """Compile a definition into its runtime form (raises 422 on a bad rule)."""
    targets: list[TargetExpression | None] = []
    bounds: list[int | None] = []
    overflow_action = None
    elapsed = 0
    for i, step in enumerate(definition.steps):
        if step.overflow is not None:
            overflow_action = step.overflow
            break
        field = f"queue.steps[{i}].target"
        targets.append(
            None if step.target is None else compile_target(core.compiler, step.target, field)
        )
        if step.timeout_seconds is None:
            bounds.append(None)
        else:
            elapsed += seconds_to_us(step.timeout_seconds)
            bounds.append(elapsed)
    static = [t is None or not (uses_contact(t) or uses_clock(t)) for t in targets]
    return QueueRt(
        definition=definition,
        targets=targets,
        bounds=bounds,
        overflow=overflow_action,
        rate_per_us=definition.aging_per_minute / 60_000_000,
        max_skill_score=[
            0 if t is None else MAX_SKILL_LEVEL * len(t.referenced_skills) for t in targets
        ],
        contact_free=[t is None or not uses_contact(t) for t in targets],
        static=static,
        # Why not for most skilled: its own pools are ordered by skill, the shared one is not.
        shares_pool=[
            ok and t is not None and definition.selection is not Selection.MOST_SKILLED
            for ok, t in zip(static, targets, strict=True)
        ],
        uses_clock=any(t is not None and uses_clock(t) for t in targets),
        offer_timeout=timedelta(microseconds=seconds_to_us(definition.offer_timeout_seconds)),
        offer_timeout_us=seconds_to_us(definition.offer_timeout_seconds),
    )


def agent_view(definition: AgentDef) -> dict[str, Any]:
    """What rules see as `agent`, built once per definition: custom attributes at the top
    level (as in `agent.team`) and under `attributes`, then the definition's own fields, which
    win over a custom attribute of the same name. Nothing that changes with the agent's state
    is in it, so a rule's verdict on an agent holds until its definition changes."""
    attributes = normalize_json(dict(definition.attributes), "agent.attributes")
    return {
        **attributes,
        "id": definition.id,
        "name": definition.name,
        "skills": dict(definition.skills),
        "teams": list(definition.teams),
        "languages": list(definition.languages),
        "timezone": definition.timezone,
        "working_hours": {
            day: [list(interval) for interval in intervals]
            for day, intervals in definition.working_hours.items()
        },
        "queues": list(definition.queues),
        "attributes": attributes,
    }


def new_agent(definition: AgentDef) -> AgentRt:
    return AgentRt(
        definition=definition,
        view=agent_view(definition),
        capacity_total=sum(definition.capacity.values()),
    )


def install_queue(core: Core, queue: QueueRt) -> None:
    core.queues[queue.id] = queue
    _install_pools(core, queue)
    for channel in queue.definition.channels:
        core.lines[(queue.id, channel)] = Line(len(queue.targets))


def uninstall_queue(core: Core, queue: QueueRt) -> None:
    _uninstall_pools(core, queue)
    for channel in queue.definition.channels:
        del core.lines[(queue.id, channel)]
    del core.queues[queue.id]


def _install_pools(core: Core, queue: QueueRt) -> None:
    selection = queue.definition.selection
    for channel in queue.definition.channels:
        for key, step in queue.pool_keys(channel):
            target = queue.targets[step] if step >= 0 else None
            skills = None if step < 0 else (target.referenced_skills if target else frozenset())
            core.pools[key] = new_pool(selection, skills)
        queue.step_pools[channel] = [
            core.pools[queue.pool_key(channel, step)] for step in range(len(queue.targets))
        ]


def _uninstall_pools(core: Core, queue: QueueRt) -> None:
    for channel in queue.definition.channels:
        for key, _ in queue.pool_keys(channel):
            del core.pools[key]
    queue.step_pools = {}


def split_pools(core: Core, queue: QueueRt, agents: list[AgentRt] | None = None) -> None:
    """Give each step that shares the pool of all members its own pool as soon as one of
    `agents` (None: every member) fails its rule. Agents must be linked (their verdicts known).
    Rare (an admin change), and O(members): the queue's pools are rebuilt."""
    checked = agents if agents is not None else [core.agents[a] for a in queue.members]
    queue_id = queue.id
    split = [
        step
        for step, shares in enumerate(queue.shares_pool)
        if shares and any(not a.eligible.get((queue_id, step), True) for a in checked)
    ]
    if not split:
        return
    members = sorted((core.agents[a] for a in queue.members), key=lambda a: a.idle_seq)
    for agent in members:
        core.unindex(agent)
    _uninstall_pools(core, queue)
    for step in split:
        queue.shares_pool[step] = False
    _install_pools(core, queue)
    for agent in members:  # in idle order, so each pool insert appends
        # Only the queue's pools changed: the verdicts (current, see above) stand.
        core.link_agent(agent, keep_verdicts=True)
        core.reindex(agent)


def _overflow_targets(definition: QueueDef) -> set[str]:
    actions = [definition.on_closed, definition.on_full, definition.on_max_wait]
    actions += [step.overflow for step in definition.steps]
    return {
        a.queue_id for a in actions if a is not None and a.kind is OverflowKind.QUEUE and a.queue_id
    }


# --- queues ----------------------------------------------------------------------------------


def add_queue(core: Core, cmd: AddQueue) -> None:
    definition: QueueDef = canonical(cmd.queue, QueueDef, "queue")
    if definition.id in core.queues:
        raise DuplicateId(f"queue {definition.id!r} exists", queue_id=definition.id)
    validate_queue(definition, {**core.queues, definition.id: None})
    queue = build_queue(core, definition)
    install_queue(core, queue)
    schedule_close(core, queue)
    core.events.append(QueueAdded(at=core.now_dt, queue=definition))


def update_queue(core: Core, cmd: UpdateQueue) -> None:
    definition: QueueDef = canonical(cmd.queue, QueueDef, "queue")
    old = core.queue(definition.id)
    validate_queue(definition, core.queues)
    new = build_queue(core, definition)
    dropped = set(old.definition.channels) - set(definition.channels)
    contacts = sorted((core.contacts[c] for c in old.contacts), key=lambda c: c.key)
    if any(c.channel in dropped for c in contacts):
        raise Conflict(
            "contacts of a removed channel are still in the queue",
            code="queue_in_use",
            queue_id=definition.id,
        )

    members = sorted((core.agents[a] for a in old.members), key=lambda a: a.idle_seq)
    waiting = [c for c in contacts if c.state == "waiting"]
    for contact in waiting:
        core.remove_from_line(contact)
    for agent in members:
        core.unindex(agent)
    uninstall_queue(core, old)
    new.members, new.contacts, new.queued = old.members, old.contacts, old.queued
    new.rr_last, new.handle_us = old.rr_last, old.handle_us
    install_queue(core, new)
    for agent in members:  # in idle order, so each pool insert appends
        core.link_agent(agent)
        core.reindex(agent)
    split_pools(core, new)
    schedule_close(core, new)
    core.events.append(QueueUpdated(at=core.now_dt, queue=definition))
    # Updated to a closed queue whose waiting contacts overflow when it closes: they do now.
    closed = definition.overflow_waiting_on_close and not is_open(definition.hours, core.now_dt)

    for contact in contacts:
        contact.key = core.line_key(contact, new)
        if contact.state == "active":
            continue
        set_max_wait(contact, new)
        step = core.step_at(new, core.now - contact.queued_at)
        changed = step != contact.step
        if contact.state != "waiting":
            continue  # offered: its step (or overflow) is worked out if the offer fails
        if closed:
            assert definition.on_closed is not None
            overflow(core, contact, new, "closed", definition.on_closed)
        elif contact.max_wait_at is not None and core.now >= contact.max_wait_at:
            assert definition.on_max_wait is not None
            overflow(core, contact, new, "max_wait", definition.on_max_wait)
        elif step >= len(new.bounds):
            assert new.overflow is not None
            overflow(core, contact, new, "workflow", new.overflow)
        else:
            contact.step = step
            core.insert_into_line(contact)
            schedule_waiting_timers(core, contact, new)
            if changed:
                core.events.append(
                    ContactStepChanged(
                        at=core.now_dt, contact_id=contact.id, queue_id=new.id, step=step
                    )
                )
    for agent in members:
        route_agent(core, agent)


def remove_queue(core: Core, cmd: RemoveQueue) -> None:
    queue = core.queue(cmd.queue_id)
    if queue.contacts or queue.members:
        raise Conflict(
            "the queue still has contacts or members", code="queue_in_use", queue_id=queue.id
        )
    if any(
        queue.id in _overflow_targets(q.definition) for q in core.queues.values() if q is not queue
    ):
        raise Conflict(
            "another queue overflows to this one", code="queue_in_use", queue_id=queue.id
        )
    if any(s.queue_id == queue.id for a in core.agents.values() for s in a.slots.values()):
        raise Conflict("an agent is wrapping up a contact of this queue", code="queue_in_use")
    uninstall_queue(core, queue)
    core.events.append(QueueRemoved(at=core.now_dt, queue_id=queue.id))


# --- agents ----------------------------------------------------------------------------------


def add_agent(core: Core, cmd: AddAgent) -> None:
    definition: AgentDef = canonical(cmd.agent, AgentDef, "agent")
    if definition.id in core.agents:
        raise DuplicateId(f"agent {definition.id!r} exists", agent_id=definition.id)
    validate_agent(definition, core.queues)
    agent = new_agent(definition)
    core.touch(agent)
    core.agents[definition.id] = agent
    for queue_id, priority in definition.queues.items():
        core.queues[queue_id].members[definition.id] = priority
    core.link_agent(agent)
    for queue_id in definition.queues:
        split_pools(core, core.queues[queue_id], [agent])
    core.events.append(AgentAdded(at=core.now_dt, agent=definition))


def update_agent(core: Core, cmd: UpdateAgent) -> None:
    definition: AgentDef = canonical(cmd.agent, AgentDef, "agent")
    agent = core.agent(definition.id)
    validate_agent(definition, core.queues)
    if not core.within_capacity(agent, definition):
        raise CapacityExceeded(
            "the agent holds more contacts than the new capacity allows", agent_id=definition.id
        )
    core.unindex(agent)
    for queue_id in agent.definition.queues:
        del core.queues[queue_id].members[definition.id]
    fresh = new_agent(definition)
    agent.definition, agent.view, agent.capacity_total = (
        fresh.definition,
        fresh.view,
        fresh.capacity_total,
    )
    for queue_id, priority in definition.queues.items():
        core.queues[queue_id].members[definition.id] = priority
    core.link_agent(agent)
    core.reindex(agent)
    for queue_id in definition.queues:
        split_pools(core, core.queues[queue_id], [agent])
    core.events.append(AgentUpdated(at=core.now_dt, agent=definition))
    route_agent(core, agent)


def remove_agent(core: Core, cmd: RemoveAgent) -> None:
    agent = core.agent(cmd.agent_id)
    if agent.presence != "offline" or agent.slots:
        raise Conflict(
            "only an offline agent without contacts can be removed",
            code="agent_in_use",
            agent_id=cmd.agent_id,
        )
    for queue_id in agent.definition.queues:
        del core.queues[queue_id].members[cmd.agent_id]
    core.unindex(agent)
    reserved = core.reserved.get(cmd.agent_id, {})
    del core.agents[cmd.agent_id]
    core.events.append(AgentRemoved(at=core.now_dt, agent_id=cmd.agent_id))
    for contact in sorted((core.contacts[c] for c in reserved), key=lambda c: c.key):
        end_reservation(core, contact, cmd.agent_id)
