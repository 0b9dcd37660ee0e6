"""Routing over HTTP: queues and agent profiles (admin), agent state, contacts, offers, wrap-up."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request, Response, status

from omnidesk.core.routing import (
    AcceptOffer,
    AddQueue,
    CancelContact,
    Command,
    Consult,
    ContactArrived,
    EndConsult,
    EndContact,
    EndWrapUp,
    ExtendWrapUp,
    QueueDef,
    RejectOffer,
    RemoveAgent,
    RemoveQueue,
    Requeue,
    SetAgentState,
    SetContactPriority,
    Transfer,
    UpdateQueue,
)
from omnidesk.core.routing.events import Event
from omnidesk.core.routing.expressions import default_compiler
from omnidesk.core.routing.rules import RuleSyntaxError
from omnidesk.directory import repository as directory
from omnidesk.directory.service import require_admin
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import Conflict, Forbidden, NotFound
from omnidesk.platform.http import Ctx, received_at
from omnidesk.platform.openapi import documented as _doc
from omnidesk.platform.openapi import errors
from omnidesk.routing.hooks import CustomerRef
from omnidesk.routing.host import RoutingHost
from omnidesk.routing.schemas import (
    AgentAssignment,
    AgentDefinition,
    AgentProfile,
    AgentStateIn,
    AgentStatusOut,
    AgentView,
    ColleagueOut,
    ConsultCreated,
    ConsultEndIn,
    ConsultIn,
    ContactEnded,
    ContactIn,
    ContactView,
    EventsOut,
    PriorityIn,
    QueueDefinition,
    QueueSaved,
    QueueUpdate,
    QueueView,
    RejectIn,
    RequeueIn,
    RuleCheckIn,
    RuleCheckOut,
    TransferIn,
    WrapUpEndIn,
    WrapUpExtendIn,
)
from omnidesk.routing.service import RoutingService

router = APIRouter(prefix="/routing", tags=["routing"])


class VersionConflict(Conflict):
    """A save made on a version of the definition that is no longer the current one."""

    code = "version_conflict"


def _service(request: Request) -> RoutingService:
    return request.app.state.routing  # type: ignore[no-any-return]


async def _host(request: Request, ctx: Ctx) -> RoutingHost:
    return await _service(request).host(ctx.principal.tenant_id)


@asynccontextmanager
async def _committed(request: Request, ctx: Ctx) -> AsyncIterator[RoutingHost]:
    """The engine as committed: while a command's commit is in flight the engine is already
    ahead of the database, and a crash then would make a reader's answer untrue."""
    host = await _host(request, ctx)
    async with host.consistent():
        yield host


async def _run(
    request: Request,
    ctx: Ctx,
    command: Command,
    *,
    check: Callable[[RoutingHost], None] | None = None,
    after: Callable[[RoutingHost], None] | None = None,
) -> list[Event]:
    """Run `command` as the principal. `check` (e.g. may this agent touch the contact) runs on
    the state the command applies to, under the lock: a refusal there runs nothing. `after`
    reads the state the command left, under the lock: committed when this returns, without
    waiting for commands applied after it (docs/adr/0015-group-commit.md)."""
    if check is None and after is None:
        return await _service(request).execute(
            ctx.principal.tenant_id, command, ctx.principal.user_id
        )
    host = await _host(request, ctx)
    refusals: list[Exception] = []

    async def make() -> list[Command]:
        if check is not None:
            try:
                check(host)
            except Exception as refusal:  # raised once the steps it may rest on are committed
                refusals.append(refusal)
                return []
        return [command]

    then = None if after is None else (lambda: after(host))
    events = await host.execute_with(make, ctx.principal.user_id, after=then)
    if refusals:
        raise refusals[0]
    return events


def _events(events: list[Event]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in events]


def _require_staff(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise Forbidden("this action needs the supervisor or admin role")


# --- queues --------------------------------------------------------------------------------


def _queue_view(host: RoutingHost, queue_id: str, definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "definition": definition,
        "status": host.engine.queue(queue_id).to_dict(),
        "version": host.directory.queue_versions.get(queue_id, 1),
    }


def _saved(host: RoutingHost, queue_id: str) -> dict[str, Any]:
    return {**host.directory.queues[queue_id], "version": host.directory.queue_versions[queue_id]}


@router.get("/queues", **_doc(list[QueueView]))
async def list_queues(request: Request, ctx: Ctx) -> list[dict[str, Any]]:
    async with _committed(request, ctx) as host:
        return [
            _queue_view(host, queue_id, definition)
            for queue_id, definition in sorted(host.directory.queues.items())
        ]


@router.post("/queues", **_doc(QueueSaved, 201, 404, 409))
async def create_queue(request: Request, ctx: Ctx, body: QueueDefinition) -> dict[str, Any]:
    require_admin(ctx.principal)
    queue = QueueDef.from_dict(body.definition(body.id))
    await _run(request, ctx, AddQueue(queue))
    async with _committed(request, ctx) as host:
        return _saved(host, queue.id)


@router.get("/queues/{queue_id}", **_doc(QueueView))
async def get_queue(queue_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    async with _committed(request, ctx) as host:
        definition = host.directory.queues.get(queue_id)
        if definition is None:
            raise NotFound(f"queue {queue_id!r} not found")
        return _queue_view(host, queue_id, definition)


@router.put("/queues/{queue_id}", **_doc(QueueSaved, 200, 409))
async def update_queue(
    queue_id: str, request: Request, ctx: Ctx, body: QueueUpdate
) -> dict[str, Any]:
    require_admin(ctx.principal)
    queue = QueueDef.from_dict(body.definition(queue_id))
    expected = body.version

    def current(host: RoutingHost) -> None:
        # Under the lock, on the state the update applies to: two saves of the same version
        # cannot both pass. An unknown queue is left to the engine's 404.
        actual = host.directory.queue_versions.get(queue_id)
        if expected is not None and queue_id in host.directory.queues and actual != expected:
            raise VersionConflict(
                f"queue {queue_id!r} was changed by someone else (version {actual}, "
                f"this edit was made on version {expected}): reload it and make the edit again",
                field="version",
                version=actual,
            )

    await _run(request, ctx, UpdateQueue(queue), check=current)
    async with _committed(request, ctx) as host:
        return _saved(host, queue_id)


@router.delete("/queues/{queue_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409))
async def delete_queue(queue_id: str, request: Request, ctx: Ctx) -> Response:
    require_admin(ctx.principal)
    await _run(request, ctx, RemoveQueue(queue_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/rules/check", **_doc(RuleCheckOut, 200, 403))
async def check_rule(body: RuleCheckIn, ctx: Ctx) -> dict[str, Any]:
    """Compile a step's rule with the engine's own compiler, without saving anything: for an
    editor that validates as the admin types. A rule that fails here fails a queue's save with
    the same message, line and column."""
    _require_staff(ctx.principal)
    try:
        default_compiler(body.rule)
    except RuleSyntaxError as exc:
        return {
            "ok": False,
            "error": {"message": exc.message, "line": exc.line, "column": exc.column},
        }
    return {"ok": True, "error": None}


# --- agents --------------------------------------------------------------------------------


async def _visible_user(ctx: Ctx, user_id: uuid.UUID) -> Any:
    async with ctx.uow:
        return await directory.get_user(ctx.uow.session, ctx.principal, user_id)


@router.get("/agents", **_doc(list[AgentView]))
async def list_agents(request: Request, ctx: Ctx) -> list[dict[str, Any]]:
    async with ctx.uow:
        visible = {str(u.id) for u in await directory.list_users(ctx.uow.session, ctx.principal)}
    async with _committed(request, ctx) as host:
        return [
            {"definition": definition, "status": host.engine.agent(agent_id).to_dict()}
            for agent_id, definition in sorted(host.directory.agents.items())
            if agent_id in visible
        ]


@router.get("/colleagues", **_doc(list[ColleagueOut]))
async def list_colleagues(request: Request, ctx: Ctx) -> list[ColleagueOut]:
    """The other agents of your tenant (those with a routing profile), by name, with their
    routing state: whom you may call, consult or transfer to. Any role, and every agent of the
    tenant, not only your teams': a call is handed to whoever can take it (a transfer to an
    offline agent is refused when made). A list read once (the desk reads it when the list is
    opened): agents' realtime streams carry no other agent's state."""
    me = str(ctx.principal.user_id)
    async with _committed(request, ctx) as host:
        return [
            ColleagueOut(id=agent_id, name=d["name"], state=host.engine.agent(agent_id).state)
            for agent_id, d in sorted(host.directory.agents.items(), key=lambda a: a[1]["name"])
            if agent_id != me
        ]


@router.get("/agents/{user_id}", **_doc(AgentView))
async def get_agent(user_id: uuid.UUID, request: Request, ctx: Ctx) -> dict[str, Any]:
    await _visible_user(ctx, user_id)
    async with _committed(request, ctx) as host:
        definition = host.directory.agents.get(str(user_id))
        if definition is None:
            raise NotFound(f"user {user_id} has no routing profile")
        return {"definition": definition, "status": host.engine.agent(str(user_id)).to_dict()}


@router.put("/agents/{user_id}", **_doc(AgentDefinition, 200, 409))
async def put_agent(
    user_id: uuid.UUID, body: AgentProfile, request: Request, ctx: Ctx
) -> dict[str, Any]:
    require_admin(ctx.principal)
    await _visible_user(ctx, user_id)
    # Name, time zone and (unless given) teams come from the directory, and follow it.
    await _service(request).put_agent(
        ctx.principal.tenant_id,
        user_id,
        body.model_dump(exclude={"teams"}),
        teams=body.teams,
        actor_id=ctx.principal.user_id,
    )
    async with _committed(request, ctx) as host:
        return host.directory.agents[str(user_id)]


@router.patch("/agents/{user_id}", **_doc(AgentDefinition, 200, 403, 404, 409))
async def assign_agent(
    user_id: uuid.UUID, body: AgentAssignment, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """Move an agent between queues and change their skills: supervisors (of the agent's
    teams) and admins; the rest of the profile stays."""
    _require_staff(ctx.principal)
    await _visible_user(ctx, user_id)
    await _service(request).assign_agent(
        ctx.principal.tenant_id,
        user_id,
        body.model_dump(exclude_none=True),
        actor_id=ctx.principal.user_id,
    )
    async with _committed(request, ctx) as host:
        return host.directory.agents[str(user_id)]


@router.delete("/agents/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409))
async def delete_agent(user_id: uuid.UUID, request: Request, ctx: Ctx) -> Response:
    require_admin(ctx.principal)
    await _visible_user(ctx, user_id)
    await _run(request, ctx, RemoveAgent(str(user_id)))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/agents/{user_id}/state", **_doc(AgentStatusOut, 200, 409))
async def set_agent_state(
    user_id: uuid.UUID, body: AgentStateIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """An agent sets their own state; supervisors of their teams and admins may too."""
    if user_id != ctx.principal.user_id:
        _require_staff(ctx.principal)
        await _visible_user(ctx, user_id)
    await _run(request, ctx, SetAgentState(str(user_id), body.state, body.reason))
    async with _committed(request, ctx) as host:
        return host.engine.agent(str(user_id)).to_dict()


# --- contacts ------------------------------------------------------------------------------


def _contact_view(host: RoutingHost, contact_id: str) -> dict[str, Any]:
    view = host.engine.contact(contact_id).to_dict()
    if view["state"] == "waiting":
        view["estimate"] = host.engine.wait_estimate(contact_id).to_dict()
    return view


def _mine_or_staff(ctx: Ctx, contact_id: str) -> Callable[[RoutingHost], None]:
    """The check that the contact exists and, for an agent, is the agent's own (else 404)."""

    def check(host: RoutingHost) -> None:
        contact = host.engine.contact(contact_id)  # 404 when unknown
        if ctx.principal.role is Role.AGENT and contact.agent_id != str(ctx.principal.user_id):
            raise NotFound(f"contact {contact_id!r} not found")

    return check


async def _handled_by_me_or_staff(request: Request, ctx: Ctx, contact_id: str) -> None:
    async with _committed(request, ctx) as host:
        _mine_or_staff(ctx, contact_id)(host)


@router.post("/contacts", **_doc(ContactView | ContactEnded, 201, 404, 409, 422, 429))
async def create_contact(body: ContactIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    _require_staff(ctx.principal)
    _service(request).admit_new_contact(ctx.principal.tenant_id)  # 429 when overloaded
    contact_id = body.contact_id or uuid.uuid4().hex
    command = ContactArrived(
        contact_id=contact_id,
        queue_id=body.queue_id,
        channel=body.channel,
        priority=body.priority,
        attributes=body.attributes,
        emergency=body.emergency,
        preferred_agent_id=body.preferred_agent_id,
        preferred_for_seconds=body.preferred_for_seconds,
        last_agent_id=body.last_agent_id,
        sticky_for_seconds=body.sticky_for_seconds,
    )
    customer = None
    if body.customer is not None:
        given = body.customer
        customer = CustomerRef(given.kind, given.value, given.provider, given.customer_id)
    view: dict[str, Any] = {"contact_id": contact_id, "state": "ended"}

    def read(host: RoutingHost) -> None:
        # Overflowed at once (closed, full): it left routing; the events say where to.
        if contact_id in host.engine.contact_ids():
            view.update(_contact_view(host, contact_id))

    # The view is read in the command's own turn of the lock, not a second one.
    await _service(request).arrive(
        ctx.principal.tenant_id, command, customer, ctx.principal.user_id, after=read
    )
    return view


@router.get("/contacts", **_doc(list[ContactView]))
async def list_contacts(request: Request, ctx: Ctx) -> list[dict[str, Any]]:
    mine = str(ctx.principal.user_id)
    async with _committed(request, ctx) as host:
        views = [_contact_view(host, c) for c in host.engine.contact_ids()]
    if ctx.principal.role is Role.AGENT:
        views = [v for v in views if v["agent_id"] == mine]
    return views


@router.get("/contacts/{contact_id}", **_doc(ContactView))
async def get_contact(contact_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    await _handled_by_me_or_staff(request, ctx, contact_id)
    async with _committed(request, ctx) as host:
        return _contact_view(host, contact_id)


@router.delete(
    "/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409)
)
async def cancel_contact(
    contact_id: str, request: Request, ctx: Ctx, reason: str = "abandoned"
) -> Response:
    _require_staff(ctx.principal)
    await _run(request, ctx, CancelContact(contact_id, reason[:64]))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/contacts/{contact_id}/priority", **_doc(ContactView, 200, 409))
async def set_priority(
    contact_id: str, body: PriorityIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    _require_staff(ctx.principal)
    await _run(request, ctx, SetContactPriority(contact_id, body.priority))
    async with _committed(request, ctx) as host:
        return _contact_view(host, contact_id)


@router.post("/contacts/{contact_id}/end", **_doc(EventsOut, 200, 409))
async def end_contact(contact_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    check = _mine_or_staff(ctx, contact_id)
    return {"events": _events(await _run(request, ctx, EndContact(contact_id), check=check))}


@router.post("/contacts/{contact_id}/transfer", **_doc(EventsOut, 200, 409))
async def transfer(contact_id: str, body: TransferIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    command = Transfer(contact_id, body.target_kind, body.target, body.reserve_seconds, body.note)
    check = _mine_or_staff(ctx, contact_id)
    return {"events": _events(await _run(request, ctx, command, check=check))}


@router.post("/contacts/{contact_id}/requeue", **_doc(EventsOut, 200, 409))
async def requeue(contact_id: str, body: RequeueIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    command = Requeue(contact_id, body.queue_id)
    check = _mine_or_staff(ctx, contact_id)
    return {"events": _events(await _run(request, ctx, command, check=check))}


@router.post("/contacts/{contact_id}/consult", **_doc(ConsultCreated, 201, 409))
async def consult(contact_id: str, body: ConsultIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    consult_id = body.consult_id or uuid.uuid4().hex
    command = Consult(contact_id, consult_id, body.target_kind, body.target)
    events = await _run(request, ctx, command, check=_mine_or_staff(ctx, contact_id))
    return {"consult_id": consult_id, "events": _events(events)}


@router.post("/consults/{consult_id}/end", **_doc(EventsOut, 200, 409))
async def end_consult(
    consult_id: str, body: ConsultEndIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    # The requesting agent may release or hand over; the consultant may only hang up.
    async with _committed(request, ctx) as host:
        leg = host.engine.contact(consult_id)  # 404 when unknown
        parent = host.engine.contact(leg.consult_of) if leg.consult_of else None
    if parent is None:
        raise NotFound(f"consult {consult_id!r} not found")
    me = str(ctx.principal.user_id)
    if ctx.principal.role is Role.AGENT:
        if me not in (parent.agent_id, leg.agent_id):
            raise NotFound(f"consult {consult_id!r} not found")
        if body.transfer and me != parent.agent_id:
            raise Forbidden("only the agent who asked for the consult can hand the contact over")
    command = EndConsult(consult_id, body.transfer)
    return {"events": _events(await _run(request, ctx, command))}


# --- offers and wrap-up (the agent's own) --------------------------------------------------


@router.post("/offers/{offer_id}/accept", **_doc(EventsOut, 200, 409))
async def accept_offer(offer_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    command = AcceptOffer(offer_id, str(ctx.principal.user_id), received_at(request))
    return {"events": _events(await _run(request, ctx, command))}


@router.post("/offers/{offer_id}/reject", **_doc(EventsOut, 200, 409))
async def reject_offer(offer_id: str, body: RejectIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    command = RejectOffer(offer_id, str(ctx.principal.user_id), body.reason, received_at(request))
    return {"events": _events(await _run(request, ctx, command))}


@router.post("/wrap-ups/{contact_id}/end", **_doc(EventsOut, 200, 409, 422))
async def end_wrap_up(
    contact_id: str, body: WrapUpEndIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    command = EndWrapUp(str(ctx.principal.user_id), contact_id, body.disposition, body.note)
    service = _service(request)
    events = await service.end_wrap_up(ctx.principal.tenant_id, command, ctx.principal.user_id)
    return {"events": _events(events)}


@router.post("/wrap-ups/{contact_id}/extend", **_doc(EventsOut, 200, 409))
async def extend_wrap_up(
    contact_id: str, body: WrapUpExtendIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    command = ExtendWrapUp(str(ctx.principal.user_id), contact_id, body.seconds)
    return {"events": _events(await _run(request, ctx, command))}
