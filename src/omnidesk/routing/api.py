"""Routing's public surface: the one module every domain and channel imports to use routing.

Commands in: `execute` one command, or `execute_all` several as one routing step, each with the
acting user. Out: read models through `read` (a consistent view of one tenant's routing as
committed: contact, agent and queue status, wait estimates, definitions), the audiences of a
queue's or an agent's events for events of one's own, and routing's events themselves, which the
commands return and which every subscriber of the event bus receives after commit as
`routing.*` events (payload: the event's `to_dict()`).

    from omnidesk.routing.api import ContactArrived, Routing

    async def enqueue(routing: Routing, tenant_id: uuid.UUID) -> None:
        await routing.execute(tenant_id, ContactArrived("c-1", "support", "chat"))
        estimate = await routing.read(tenant_id, lambda r: r.wait_estimate("c-1"))

Type collaborators as `Routing` (the protocol) rather than `RoutingService`: the service also
has methods for routing's own endpoints and views, which hand out a tenant's engine. The core's
commands, errors and read models are re-exported here, so nobody outside routing imports
`omnidesk.core.routing` (the digital twin excepted: it runs the pure engine itself). The import
contracts in pyproject.toml check both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    AgentDisconnected,
    AgentStatus,
    CancelContact,
    Command,
    Consult,
    ContactArrived,
    ContactStatus,
    EndConsult,
    EndContact,
    EndWrapUp,
    Event,
    ExtendWrapUp,
    QueueDef,
    QueueStatus,
    RejectOffer,
    RemoveAgent,
    RemoveQueue,
    Requeue,
    RevokeOffers,
    RoutingError,
    SetAgentState,
    SetContactPriority,
    StartAgentContact,
    Tick,
    Transfer,
    UpdateAgent,
    UpdateQueue,
    WaitEstimate,
)
from omnidesk.core.routing.events import OfferCreated
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.events import Audience
from omnidesk.routing.hooks import Arrival, ContactHooks, CustomerRef
from omnidesk.routing.reads import RoutingReads
from omnidesk.routing.service import RoutingService

T = TypeVar("T")


class Routing(Protocol):
    """What domains and channels may ask of routing (`RoutingService` is the implementation)."""

    def admit_new_contact(self, tenant_id: uuid.UUID) -> None:
        """Raise TooManyRequests (429, Retry-After) while the tenant's routing is overloaded:
        a channel asks before it takes what would become a new contact (the sender retries);
        work on contacts already in routing is never refused for it."""
        ...

    async def execute(
        self, tenant_id: uuid.UUID, command: Command, actor_id: uuid.UUID | None = None
    ) -> list[Event]:
        """Run one command; its events are committed and published when this returns. A
        refusal raises its RoutingError with nothing changed."""
        ...

    async def execute_all(
        self,
        tenant_id: uuid.UUID,
        commands: Sequence[Command],
        actor_id: uuid.UUID | None = None,
    ) -> list[Event]:
        """Several commands as one routing step (see `RoutingService.execute_all`)."""
        ...

    async def arrive(
        self,
        tenant_id: uuid.UUID,
        command: ContactArrived,
        customer: CustomerRef | None = None,
        actor_id: uuid.UUID | None = None,
        *,
        strict: bool = True,
    ) -> list[Event]:
        """A contact arrives from `customer` (its identity as the channel knows it): the
        customer's attributes are put on it before routing runs it (`RoutingService.arrive`)."""
        ...

    async def end_wrap_up(
        self, tenant_id: uuid.UUID, command: EndWrapUp, actor_id: uuid.UUID | None = None
    ) -> list[Event]:
        """End a wrap-up with a disposition of the tenant's codes and a note."""
        ...

    async def read(self, tenant_id: uuid.UUID, fn: Callable[[RoutingReads], T]) -> T:
        """`fn` over the tenant's read models, all as of one committed instant."""
        ...

    def queue_audience(self, tenant_id: uuid.UUID, queue_id: str) -> Audience:
        """Who follows the contacts of this queue."""
        ...

    def agent_audience(self, tenant_id: uuid.UUID, agent_id: str) -> Audience:
        """Who follows this agent."""
        ...


async def queues_visible_to(routing: Routing, principal: Principal) -> frozenset[str] | None:
    """The queues whose contacts, figures and surveys a user may see: a supervisor's are those
    served by an agent of a team they supervise (`Principal.sees` the queue's audience, as
    routing's own views decide); None for an admin: every queue, removed ones included.
    Ask it before a unit of work opens (a routing read must never wait inside one)."""
    if principal.is_admin:
        return None
    tenant = principal.tenant_id
    queues = await routing.read(tenant, lambda r: list(r.queues()))
    return frozenset(q for q in queues if principal.sees(routing.queue_audience(tenant, q)))


async def agents_visible_to(routing: Routing, principal: Principal) -> frozenset[str] | None:
    """As `queues_visible_to`, for agents: those of the supervisor's teams (and themselves)."""
    if principal.is_admin:
        return None
    tenant = principal.tenant_id
    agents = await routing.read(tenant, lambda r: list(r.agents()))
    return frozenset(a for a in agents if principal.sees(routing.agent_audience(tenant, a)))


__all__ = [
    "AcceptOffer",
    "AddAgent",
    "AddQueue",
    "AgentDef",
    "AgentDisconnected",
    "AgentStatus",
    "Arrival",
    "CancelContact",
    "Command",
    "Consult",
    "ContactArrived",
    "ContactHooks",
    "ContactStatus",
    "CustomerRef",
    "EndConsult",
    "EndContact",
    "EndWrapUp",
    "Event",
    "ExtendWrapUp",
    "OfferCreated",
    "QueueDef",
    "QueueStatus",
    "RejectOffer",
    "RemoveAgent",
    "RemoveQueue",
    "Requeue",
    "RevokeOffers",
    "Routing",
    "RoutingError",
    "RoutingReads",
    "RoutingService",
    "SetAgentState",
    "SetContactPriority",
    "StartAgentContact",
    "Tick",
    "Transfer",
    "UpdateAgent",
    "UpdateQueue",
    "WaitEstimate",
    "agents_visible_to",
    "queues_visible_to",
]
