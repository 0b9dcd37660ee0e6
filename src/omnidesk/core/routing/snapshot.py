"""Snapshot and restore: the complete routing state as one JSON-serialisable dict.

The snapshot holds records, not indexes: definitions, agents with the contacts they hold,
contacts with their place in line and absolute deadlines, and the counters that break ties.
`restore` rebuilds pools, lines and timers from those records, so a restored engine behaves
exactly like the original for any following commands (the property tests check this).

Format "omnidesk.routing/1" (instants are ISO 8601 UTC strings):
    {"format", "now", "config", "line_seq", "idle_counter",
     "queues":   [{"definition", "rr_last", "handle_seconds", "close_at"}],
     "agents":   [{"definition", "presence", "reason", "state", "state_reason",
                   "idle_seq", "idle_since",
                   "slots": [{"contact_id", "channel", "queue_id", "kind", "seq", "offer_id",
                              "started", "wrap_until", "extended"}]}],
     "contacts": [{"id", "queue_id", "channel", "priority", "attributes", "emergency", "seq",
                   "arrived_at", "queued_at", "state", "step", "step_deadline", "max_wait_at",
                   "reservations": [[agent_id, until]], "declined": [agent_id],
                   "agent_id", "offer_id", "offer_expires", "offer_count", "hops"}]}
A contact's (and its slot's) `queue_id` is null for an agent's own contact started without a
queue (StartAgentContact); it is active, with no place in line.
"""

from __future__ import annotations

from typing import Any, cast

from omnidesk.core.routing.admin import build_queue, install_queue, new_agent, split_pools
from omnidesk.core.routing.clock import iso, parse_iso
from omnidesk.core.routing.contacts import schedule_close
from omnidesk.core.routing.errors import InvalidDefinition
from omnidesk.core.routing.expressions import RuleCompiler
from omnidesk.core.routing.model import AgentDef, EngineSettings, QueueDef, validate_queue
from omnidesk.core.routing.state import (
    NO_QUEUE,
    T_CLOSE,
    T_MAX_WAIT,
    T_OFFER,
    T_RESERVATION,
    T_STEP,
    T_WRAP,
    ContactRt,
    ContactState,
    Core,
    Presence,
    Slot,
    SlotKind,
)

FORMAT = "omnidesk.routing/1"


def _opt_iso(us: int | None) -> str | None:
    return None if us is None else iso(us)


def _opt_us(text: str | None, name: str) -> int | None:
    return None if text is None else parse_iso(text, name)


def take(core: Core) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "now": iso(core.now),
        "config": core.settings.to_dict(),  # the engine settings (named config since format 1)
        "line_seq": core.line_seq,
        "idle_counter": core.idle_counter,
        "queues": [
            {
                "definition": q.definition.to_dict(),
                "rr_last": q.rr_last,
                "handle_seconds": None if q.handle_us is None else q.handle_us / 1_000_000,
                "close_at": _opt_iso(q.close_at),
            }
            for q in sorted(core.queues.values(), key=lambda q: q.id)
        ],
        "agents": [
            {
                "definition": a.definition.to_dict(),
                "presence": a.presence,
                "reason": a.reason,
                "state": a.state,
                "state_reason": a.state_reason,
                "idle_seq": a.idle_seq,
                "idle_since": iso(a.idle_since),
                "slots": [
                    {
                        "contact_id": s.contact_id,
                        "channel": s.channel,
                        "queue_id": s.queue_id or None,  # NO_QUEUE
                        "kind": s.kind,
                        "seq": s.seq,
                        "offer_id": s.offer_id,
                        "started": iso(s.started),
                        "wrap_until": _opt_iso(s.wrap_until),
                        "extended": s.extended,
                    }
                    for s in sorted(a.slots.values(), key=lambda s: (s.seq, s.contact_id))
                ],
            }
            for a in sorted(core.agents.values(), key=lambda a: a.id)
        ],
        "contacts": [_contact(c) for c in sorted(core.contacts.values(), key=lambda c: c.id)],
    }


def _contact(c: ContactRt) -> dict[str, Any]:
    return {
        "id": c.id,
        "queue_id": c.queue_id or None,  # NO_QUEUE: an agent's own contact without a queue
        "channel": c.channel,
        "priority": c.priority,
        "attributes": c.attributes,
        "emergency": c.emergency,
        "seq": c.seq,
        "arrived_at": iso(c.arrived_at),
        "queued_at": iso(c.queued_at),
        "state": c.state,
        "step": c.step,
        "step_deadline": _opt_iso(c.step_deadline),
        "max_wait_at": _opt_iso(c.max_wait_at),
        "reservations": [[agent_id, iso(until)] for agent_id, until in c.reservations],
        "declined": sorted(c.declined),
        "agent_id": c.agent_id,
        "offer_id": c.offer_id,
        "offer_expires": _opt_iso(c.offer_expires),
        "offer_count": c.offer_count,
        "hops": c.hops,
        "parent_id": c.parent_id,
        "consult_id": c.consult_id,
    }


def restore(
    snapshot: dict[str, Any], compiler: RuleCompiler, settings: EngineSettings | None = None
) -> Core:
    """The engine state of `snapshot`, with its own settings or, given, with `settings`."""
    if snapshot.get("format") != FORMAT:
        raise InvalidDefinition(f"not a {FORMAT} snapshot", field="format")
    try:
        return _restore(snapshot, compiler, settings)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidDefinition(f"corrupt snapshot: {exc!r}", field="snapshot") from exc


def _restore(snap: dict[str, Any], compiler: RuleCompiler, settings: EngineSettings | None) -> Core:
    if settings is None:
        settings = EngineSettings.from_dict(snap["config"])
    core = Core(settings, compiler)
    core.set_now(parse_iso(snap["now"], "now"))
    core.line_seq = int(snap["line_seq"])
    core.idle_counter = int(snap["idle_counter"])

    definitions = [QueueDef.from_dict(q["definition"]) for q in snap["queues"]]
    known = {d.id: None for d in definitions}
    for record, definition in zip(snap["queues"], definitions, strict=True):
        validate_queue(definition, known)
        queue = build_queue(core, definition)
        queue.rr_last = record["rr_last"]
        seconds = record["handle_seconds"]
        queue.handle_us = None if seconds is None else float(seconds) * 1_000_000
        install_queue(core, queue)
        if "close_at" in record:
            queue.close_at = _opt_us(record["close_at"], "close_at")
            if queue.close_at is not None:
                core.push_timer(queue.close_at, T_CLOSE, 0, queue.id)
        else:  # a snapshot from before the field existed
            schedule_close(core, queue)

    for record in snap["agents"]:
        agent = new_agent(AgentDef.from_dict(record["definition"]))
        agent.presence = cast(Presence, record["presence"])
        agent.reason = record["reason"]
        agent.state = record["state"]
        agent.state_reason = record["state_reason"]
        agent.idle_seq = int(record["idle_seq"])
        agent.idle_since = parse_iso(record["idle_since"], "idle_since")
        for s in record["slots"]:
            slot = Slot(
                contact_id=s["contact_id"],
                channel=s["channel"],
                queue_id=s["queue_id"] or NO_QUEUE,
                kind=cast(SlotKind, s["kind"]),
                seq=int(s["seq"]),
                offer_id=s["offer_id"],
                started=parse_iso(s["started"], "started"),
                wrap_until=_opt_us(s["wrap_until"], "wrap_until"),
                extended=bool(s["extended"]),
            )
            core.add_slot(agent, slot)
            if slot.wrap_until is not None and slot.kind == "wrap_up":
                core.push_timer(slot.wrap_until, T_WRAP, slot.seq, agent.id, slot.contact_id)
        core.agents[agent.id] = agent
        for queue_id, priority in agent.definition.queues.items():
            core.queues[queue_id].members[agent.id] = priority

    for record in snap["contacts"]:
        _restore_contact(core, record)

    # Pools are ordered by idle sequence: insert in that order so each insert appends.
    for agent in sorted(core.agents.values(), key=lambda a: a.idle_seq):
        core.link_agent(agent)
        core.reindex(agent)
    for queue in core.queues.values():
        split_pools(core, queue)
    return core


def _restore_contact(core: Core, r: dict[str, Any]) -> None:
    contact = ContactRt(
        id=r["id"],
        queue_id=r["queue_id"] or NO_QUEUE,
        channel=r["channel"],
        priority=int(r["priority"]),
        attributes=r["attributes"],
        emergency=bool(r["emergency"]),
        seq=int(r["seq"]),
        arrived_at=parse_iso(r["arrived_at"], "arrived_at"),
        queued_at=parse_iso(r["queued_at"], "queued_at"),
        state=cast(ContactState, r["state"]),
        step=int(r["step"]),
        step_deadline=_opt_us(r["step_deadline"], "step_deadline"),
        max_wait_at=_opt_us(r["max_wait_at"], "max_wait_at"),
        reservations=[(a, parse_iso(u, "reservations")) for a, u in r["reservations"]],
        declined=dict.fromkeys(r["declined"]),
        agent_id=r["agent_id"],
        offer_id=r["offer_id"],
        offer_expires=_opt_us(r["offer_expires"], "offer_expires"),
        offer_count=int(r["offer_count"]),
        hops=int(r["hops"]),
        # .get: snapshots taken before consults existed have neither field.
        parent_id=r.get("parent_id"),
        consult_id=r.get("consult_id"),
    )
    core.contacts[contact.id] = contact
    if contact.queue_id == NO_QUEUE:
        return  # an agent's own contact without a queue: active, in no line and no queue
    queue = core.queues[contact.queue_id]
    contact.key = core.line_key(contact, queue)
    queue.contacts[contact.id] = None
    if contact.state == "active":
        return
    queue.queued += 1
    if contact.step_deadline is not None:
        core.push_timer(contact.step_deadline, T_STEP, contact.seq, contact.id)
    if contact.max_wait_at is not None and contact.state == "waiting":
        core.push_timer(contact.max_wait_at, T_MAX_WAIT, contact.seq, contact.id)
    if contact.reservations:
        agent_id, until = contact.reservations[0]
        core.push_timer(until, T_RESERVATION, contact.seq, contact.id, agent_id)
    if contact.state == "offered":
        assert contact.offer_expires is not None and contact.offer_id is not None
        core.push_timer(contact.offer_expires, T_OFFER, contact.seq, contact.id, contact.offer_id)
    else:
        core.insert_into_line(contact)
