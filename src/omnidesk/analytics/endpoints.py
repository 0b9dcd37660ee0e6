"""HTTP endpoints of analytics: thin, the rules live in the service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from omnidesk.analytics import agents, dimensions, live, service
from omnidesk.analytics import repository as repo
from omnidesk.analytics.fcr import FcrBy, fcr_report
from omnidesk.analytics.journeys import JourneyBy, journey_report
from omnidesk.analytics.schemas import (
    Interval,
    KpiAgentsReport,
    KpiDispositionsReport,
    KpiFcrReport,
    KpiJourneyReport,
    KpiQueueReport,
    KpiSettingsIn,
    KpiSettingsOut,
    KpiTeamsReport,
)
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.errors import NotFound
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors
from omnidesk.routing.api import Routing, agents_visible_to, queues_visible_to

router = APIRouter(prefix="/analytics", tags=["analytics"])

Start = Annotated[
    datetime | None,
    Query(
        description="First instant, on a 15-minute boundary; without an offset it is in the "
        "tenant's zone. Default: today's midnight in the tenant's zone."
    ),
]
End = Annotated[
    datetime | None,
    Query(description="End of the range, exclusive (as start). Default: the midnight after start."),
]


QueueId = Annotated[str | None, Query(max_length=64)]
AgentId = Annotated[str | None, Query(max_length=64)]
Channel = Annotated[str | None, Query(max_length=32)]
TeamId = Annotated[str | None, Query(max_length=64)]


async def readable_queues(
    request: Request, ctx: Ctx, queue_id: str | None
) -> frozenset[str] | None:
    """The queues the caller's report may show (`routing.api.queues_visible_to`: None for an
    admin, all of them); a named queue they may not see is 404. Asked of routing before the
    report's unit of work opens (never wait on routing inside one)."""
    service.require_reader(ctx.principal)
    visible = await queues_visible_to(request.app.state.routing, ctx.principal)
    if visible is not None and queue_id is not None and queue_id not in visible:
        raise NotFound("no such queue")
    return visible


async def readable_agents(
    request: Request, ctx: Ctx, agent_id: str | None
) -> frozenset[str] | None:
    """As `readable_queues`, for agents (`routing.api.agents_visible_to`)."""
    service.require_reader(ctx.principal)
    visible = await agents_visible_to(request.app.state.routing, ctx.principal)
    if visible is not None and agent_id is not None and agent_id not in visible:
        raise NotFound("no such agent")
    return visible


def readable_teams(principal: Principal, team_id: str | None) -> frozenset[str] | None:
    """The teams whose report the caller may read: a supervisor's are the teams they
    supervise (another is 404); None for an admin: every team, deleted ones included."""
    service.require_reader(principal)
    if principal.is_admin:
        return None
    visible = frozenset(str(t) for t in principal.supervised_teams)
    if team_id is not None and team_id not in visible:
        raise NotFound("no such team")
    return visible


@router.get("/queues", response_model=KpiQueueReport, responses=errors(403, 404))
async def queue_report(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    queue_id: QueueId = None,
    channel: Channel = None,
) -> KpiQueueReport:
    """Queue figures per interval of arrival: sums and service level, ASA, AHT, abandon rate
    (docs/kpis.md). Admins see every queue; supervisors the queues of their teams (another
    queue is 404, and without `queue_id` the sums are over their queues only)."""
    visible = await readable_queues(request, ctx, queue_id)
    async with ctx.uow:
        return await service.queue_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            queue_id=queue_id,
            channel=channel,
            queues=visible,
        )


@router.get("/agents", response_model=KpiAgentsReport, responses=errors(403, 404))
async def agent_report(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    agent_id: AgentId = None,
    team_id: TeamId = None,
) -> KpiAgentsReport:
    """Agent figures per interval: handled, talk, hold, wrap-up, AHT, state time, occupancy.
    Admins see every agent; supervisors the agents of their teams (another is 404).
    `team_id`: the team's members of now only (a team the supervisor does not supervise is
    404); the report's `total` is then the team's figures (docs/kpis.md, "Live figures")."""
    visible = await readable_agents(request, ctx, agent_id)
    readable_teams(ctx.principal, team_id)
    async with ctx.uow:
        if team_id is not None:
            members = (await agents.team_agents(ctx.uow.session, [team_id]))[team_id]
            visible = frozenset(members if visible is None else members & visible)
        return await agents.agent_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            agent_id=agent_id,
            agents=visible,
        )


@router.get("/teams", response_model=KpiTeamsReport, responses=errors(403, 404))
async def team_report(
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    team_id: TeamId = None,
) -> KpiTeamsReport:
    """Per team, the visits its agents answered (their teams when they accepted): handled,
    answered within service level, transferred, wait, talk, hold, wrap-up, ASA, AHT
    (docs/kpis.md, "Teams"). Admins see every team; supervisors the teams they supervise
    (another is 404)."""
    visible = readable_teams(ctx.principal, team_id)
    async with ctx.uow:
        return await dimensions.team_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            team_id=team_id,
            teams=visible,
        )


@router.get("/dispositions", response_model=KpiDispositionsReport, responses=errors(403, 404))
async def disposition_report(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    interval: Interval = "60m",
    queue_id: QueueId = None,
) -> KpiDispositionsReport:
    """Per disposition code (null: none given), the answered visits wrapped up with it:
    handled, talk, hold, wrap-up, AHT (docs/kpis.md, "Dispositions"). Admins see every
    queue; supervisors their teams' queues (another is 404)."""
    visible = await readable_queues(request, ctx, queue_id)
    async with ctx.uow:
        return await dimensions.disposition_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            interval=interval,
            queue_id=queue_id,
            queues=visible,
        )


@router.get("/fcr", response_model=KpiFcrReport, responses=errors(403, 404))
async def first_contact_resolution(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    by: FcrBy = "total",
    queue_id: QueueId = None,
    agent_id: AgentId = None,
    channel: Channel = None,
) -> KpiFcrReport:
    """First-contact resolution of the contacts resolved (ended) in the range: those no
    repeat contact followed within the CRM's repeat window, over those resolved; per queue
    (the one it ended in), agent (the last who handled it), channel, or in total. Contacts
    still within their window are counted as first-contact resolved and reported as
    `provisional`. Admins see every contact; supervisors those of their queues (by agent:
    of their agents)."""
    if by == "agent" or agent_id is not None:
        agents, queues = await readable_agents(request, ctx, agent_id), None
    else:
        agents, queues = None, await readable_queues(request, ctx, queue_id)
    async with ctx.uow:
        return await fcr_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            by=by,
            queue_id=queue_id,
            agent_id=agent_id,
            channel=channel,
            queues=queues,
            agents=agents,
        )


@router.get("/journeys", response_model=KpiJourneyReport, responses=errors(403, 404))
async def customer_journeys(
    request: Request,
    ctx: Ctx,
    start: Start = None,
    end: End = None,
    by: JourneyBy = "total",
    queue_id: QueueId = None,
    channel: Channel = None,
) -> KpiJourneyReport:
    """Customer journeys (docs/kpis.md, "Customer journeys") of the contacts that started in
    the range: contacts, repeat contacts, channel switches (and the from → to matrix) and
    channel breaks; and the effort of the matters resolved in the range (contacts, channels,
    handle time, elapsed time). Per queue (the one a contact ended in), channel, or in total.
    Admins see every contact; supervisors those of their queues."""
    queues = await readable_queues(request, ctx, queue_id)
    async with ctx.uow:
        return await journey_report(
            ctx.uow.session,
            ctx.principal.tenant_id,
            start=start,
            end=end,
            by=by,
            queue_id=queue_id,
            channel=channel,
            queues=queues,
        )


@router.get("/settings", response_model=KpiSettingsOut, responses=errors(403))
async def get_settings(ctx: Ctx) -> KpiSettingsOut:
    service.require_reader(ctx.principal)
    async with ctx.uow:
        return service.settings_out(await repo.settings(ctx.uow.session, ctx.principal.tenant_id))


@router.put("/settings", response_model=KpiSettingsOut, responses=errors(403))
async def put_settings(body: KpiSettingsIn, ctx: Ctx, request: Request) -> KpiSettingsOut:
    """Admins. A changed short-abandon threshold rebuilds the tenant's rollups from the log."""
    routing: Routing = request.app.state.routing
    async with ctx.uow:
        out = await service.update_settings(ctx.uow, ctx.principal, body)
        if not out.rebuilding:
            # The zone (which day is today) or how abandons count changed every figure shown
            # live; a rebuild pushes them as the ingester recounts them.
            await live.record_all(
                ctx.uow, ctx.principal.tenant_id, routing.queue_audience, routing.agent_audience
            )
    ingester = getattr(request.app.state, "analytics", None)
    if out.rebuilding and ingester is not None:
        ingester.note(ctx.principal.tenant_id)
    return out
