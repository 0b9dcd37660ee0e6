"""One tenant's routing read models, as committed and held still: what `RoutingService.read`
hands its function. Only read models (frozen) and copies of the definitions leave it, never the
engine, so no caller can change routing except by a command.

Valid only inside the function it was given to: the tenant's routing lock is released when that
function returns, and the engine moves on.
"""

from __future__ import annotations

from typing import Any

from omnidesk.core.routing import (
    AgentStatus,
    ContactStatus,
    QueueStatus,
    UnknownAgent,
    UnknownContact,
    UnknownQueue,
    WaitEstimate,
)
from omnidesk.routing.host import RoutingHost


class RoutingReads:
    def __init__(self, host: RoutingHost | None) -> None:
        # None: a tenant without routing state (no queue, agent or contact was ever defined).
        self._host = host

    def contact(self, contact_id: str) -> ContactStatus | None:
        """The contact's status; None once it has left routing (or never entered it)."""
        if self._host is None:
            return None
        try:
            return self._host.engine.contact(contact_id)
        except UnknownContact:
            return None

    def has_contact(self, contact_id: str) -> bool:
        """Whether the contact is still in routing (waiting, offered or active)."""
        return self.contact(contact_id) is not None

    def contact_ids(self) -> list[str]:
        return self._host.engine.contact_ids() if self._host is not None else []

    def wait_estimate(self, contact_id: str) -> WaitEstimate | None:
        """Place in line and estimated wait; None once the contact has left routing. A contact
        that is not waiting (offered, active) has no estimate: RoutingError, as the engine says."""
        if not self.has_contact(contact_id):
            return None
        assert self._host is not None
        return self._host.engine.wait_estimate(contact_id)

    def agent(self, agent_id: str) -> AgentStatus | None:
        if self._host is None:
            return None
        try:
            return self._host.engine.agent(agent_id)
        except UnknownAgent:
            return None

    def queue(self, queue_id: str) -> QueueStatus | None:
        if self._host is None:
            return None
        try:
            return self._host.engine.queue(queue_id)
        except UnknownQueue:
            return None

    def queues(self) -> dict[str, dict[str, Any]]:
        """Queue definitions by id (as `QueueDef.to_dict()`); a copy, read-only by convention."""
        return dict(self._host.directory.queues) if self._host is not None else {}

    def agents(self) -> dict[str, dict[str, Any]]:
        """Agent definitions by id (the user's id), with the directory's name, teams and time
        zone; a copy, read-only by convention."""
        return dict(self._host.directory.agents) if self._host is not None else {}
