"""The routing part of a realtime snapshot: exactly what the viewer may follow by events.

It must agree with the audiences the host gives routing events (routing/host.py), so that a
client's snapshot plus the events it receives always equals a fresh snapshot (docs/realtime.md
says how a client applies the events). Visibility, with `Principal.sees` as the one rule:

- an agent entry: seen by whoever sees that agent's own events (the agent, the supervisors of
  its teams, admins);
- a queue and every contact in it: seen by whoever sees the queue's events (the supervisors of
  the teams of its members, admins). Agents see no queues: their own offers and contacts are in
  their own agent entry.

Counts in a queue entry are derived from the contacts and agents of the same section (so a
client recomputes them after each event); only the `estimate` parts are figures of the moment
the snapshot was built, which no event keeps up to date.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.core.routing import AgentStatus, ContactStatus
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.events import DomainEvent, event_type

if TYPE_CHECKING:
    from omnidesk.routing.host import RoutingHost
    from omnidesk.routing.service import RoutingService

QUEUE_FIELDS = (
    "id",
    "name",
    "channels",
    "priority",
    "service_level_seconds",
    "service_level_target",
)
AGENT_FIELDS = ("id", "name", "teams", "queues", "capacity")
AGENT_STATES = ("available", "busy", "wrap_up", "away", "offline")


@event_type("routing.contact_placed", subject="contact")
class ContactPlaced(DomainEvent):
    """A contact's whole card, sent (by the service, not the engine) after a step in which it
    took a new place in line: moved to another queue, transferred, requeued, or arrived with a
    place older than its arrival (a callback keeping its place). Its own events do not carry
    where it now stands, and the viewers of a queue it moved to may never have seen it."""

    contact_id: str
    queue_id: str
    channel: str
    priority: int
    emergency: bool
    state: str
    step: int
    queued_at: str
    agent_id: str | None

    def subject_id(self) -> str:
        return self.contact_id


def is_consult_leg(status: ContactStatus) -> bool:
    # Consult legs (new in the engine) are shown in their consultant's agent entry only.
    return getattr(status, "consult_of", None) is not None


def contact_card(status: ContactStatus) -> dict[str, Any]:
    return {
        "contact_id": status.contact_id,
        "queue_id": status.queue_id,
        "channel": status.channel,
        "priority": status.priority,
        "emergency": status.emergency,
        "state": status.state,
        "step": status.step,
        "queued_at": status.queued_at.isoformat(),
        "agent_id": status.agent_id,
    }


def empty_view() -> dict[str, Any]:
    return {"queues": {}, "agents": {}, "contacts": {}}


class RoutingView:
    """The `routing` snapshot provider. `hold` keeps the tenant's routing still (its host's
    lock) while the hub reads the snapshot's last event id, so no routing event can commit
    between the engine state shown here and that id."""

    name = "routing"

    def __init__(self, service: RoutingService) -> None:
        self.service = service

    def hold(self, principal: Principal) -> AbstractAsyncContextManager[object]:
        return self.service.reading(principal.tenant_id)

    async def build(self, session: AsyncSession, principal: Principal) -> dict[str, Any]:
        # Called inside `hold`: the host, if any, cannot change (nor appear) meanwhile.
        host = self.service.loaded_host(principal.tenant_id)
        if host is None:
            return empty_view()
        return build_view(host, principal)


def build_view(host: RoutingHost, principal: Principal) -> dict[str, Any]:
    directory = host.directory
    engine = host.engine
    statuses: dict[str, AgentStatus] = {}

    def status_of(agent_id: str) -> AgentStatus:
        if agent_id not in statuses:
            statuses[agent_id] = engine.agent(agent_id)
        return statuses[agent_id]

    # `Principal.sees` decides; the candidates only spare it work: a user who is neither admin
    # nor supervisor sees events addressed to them alone, so at most their own agent entry.
    candidates = list(directory.agents)
    if not (principal.is_admin or principal.role is Role.SUPERVISOR):
        candidates = [a for a in (str(principal.user_id),) if a in directory.agents]
    agents = {
        agent_id: _agent_entry(host, directory.agents[agent_id], status_of(agent_id))
        for agent_id in sorted(candidates)
        if principal.sees(directory.agent_audience(agent_id))
    }
    queue_ids = [q for q in sorted(directory.queues) if principal.sees(directory.queue_audience(q))]
    contacts: dict[str, dict[str, Any]] = {}
    if queue_ids:
        shown = set(queue_ids)
        for contact_id in sorted(engine.contact_ids()):
            # The host's record of the contact's queue spares building the invisible ones.
            where = directory.contacts.get(contact_id)
            if where is not None and where[0] not in shown:
                continue
            status = engine.contact(contact_id)
            if status.queue_id in shown and not is_consult_leg(status):
                card = contact_card(status)
                card["estimate"] = None
                contacts[contact_id] = card
        waiting = [c for c, card in contacts.items() if card["state"] == "waiting"]
        for contact_id, estimate in engine.wait_estimates(waiting).items():
            contacts[contact_id]["estimate"] = {
                "position": estimate.position,
                "estimated_wait_seconds": estimate.estimated_wait_seconds,
            }
    queues = {
        queue_id: _queue_entry(host, queue_id, contacts, agents, status_of)
        for queue_id in queue_ids
    }
    return {"queues": queues, "agents": agents, "contacts": contacts}


def _agent_entry(
    host: RoutingHost, definition: dict[str, Any], status: AgentStatus
) -> dict[str, Any]:
    agent_id = status.agent_id
    held = host.directory.held
    contacts = {}
    for contact_id, kind in status.contacts.items():
        slot = held.get((agent_id, contact_id)) or {}
        contacts[contact_id] = {
            "state": kind,
            "queue_id": slot.get("queue_id"),
            "channel": slot.get("channel"),
            "offer_id": slot.get("offer_id") if kind == "offered" else None,
            # The offer's deadline, or when a timed wrap-up ends by itself.
            "ends_at": slot.get("ends_at") if kind != "active" else None,
        }
    return {
        **{name: definition.get(name) for name in AGENT_FIELDS},
        "state": status.state,
        "reason": status.reason,
        "since": host.directory.since.get(agent_id),
        "load": dict(status.load),
        "contacts": contacts,
    }


def _queue_entry(
    host: RoutingHost,
    queue_id: str,
    contacts: dict[str, dict[str, Any]],
    agents: dict[str, dict[str, Any]],
    status_of: Callable[[str], AgentStatus],
) -> dict[str, Any]:
    definition = host.directory.queues[queue_id]
    mine = [c for c in contacts.values() if c["queue_id"] == queue_id]
    waiting = [c for c in mine if c["state"] == "waiting"]
    by_state = dict.fromkeys(AGENT_STATES, 0)
    for agent in agents.values():  # the members this viewer can see
        if queue_id in (agent["queues"] or {}):
            by_state[agent["state"]] += 1
    # A new arrival's wait on each channel, as the engine estimates a waiting contact's: its
    # position x average handle time / contacts the available members can hold at once.
    handle = host.engine.queue(queue_id).average_handle_seconds
    estimate: dict[str, float | None] = {}
    for channel in definition.get("channels") or ():
        slots = 0
        for agent_id, agent in host.directory.agents.items():
            if queue_id in (agent.get("queues") or {}) and status_of(agent_id).presence == (
                "available"
            ):
                slots += int((agent.get("capacity") or {}).get(channel, 0))
        ahead = sum(1 for c in waiting if c["channel"] == channel)
        estimate[channel] = (ahead + 1) * handle / slots if slots else None
    return {
        **{name: definition.get(name) for name in QUEUE_FIELDS},
        "waiting": len(waiting),
        "offered": sum(1 for c in mine if c["state"] == "offered"),
        "active": sum(1 for c in mine if c["state"] == "active"),
        "oldest_queued_at": min(
            (c["queued_at"] for c in waiting), key=datetime.fromisoformat, default=None
        ),
        "agents": by_state,
        "estimate": {"average_handle_seconds": handle, "estimated_wait_seconds": estimate},
    }
