"""Routing use cases over the per-tenant hosts. Every domain and channel reaches routing through
the methods `omnidesk.routing.api.Routing` names (commands in; read models, audiences and, on the
bus, events out); `host`, `loaded_host` and `reading` hand out a tenant's host itself and are for
routing's own endpoints and views only.

Team sync: an agent's routing profile carries the user's name, teams and time zone (teams give
its events their audiences). The directory owns them; this service follows its committed events
on the bus (so it works the same when another node made the change) and brings each affected
agent's definition in line with the directory as read then (not with the event), which makes it
idempotent and order-independent. A deactivated user's agent is disconnected (offers revoked,
contacts back in line, offline) and keeps its profile; a user who no longer exists loses it.
The directory change is already committed when this runs: a failure here is logged and retried,
never undone there. Each host, when loaded, checks all its agents the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import exists, or_, select

from omnidesk.core.routing import (
    AddAgent,
    AgentDef,
    AgentDisconnected,
    Command,
    ContactArrived,
    EndWrapUp,
    EngineSettings,
    RemoveAgent,
    RoutingError,
    UpdateAgent,
)
from omnidesk.core.routing.events import Event
from omnidesk.directory.models import Team, User
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.errors import NotFound, TooManyRequests
from omnidesk.platform.events import Audience, PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.platform.tenancy import Tenant
from omnidesk.routing.compaction import DEFAULT_RETENTION
from omnidesk.routing.events import as_uuid
from omnidesk.routing.hooks import ContactHooks, CustomerRef
from omnidesk.routing.host import RoutingHost
from omnidesk.routing.models import RoutingLogEntry, RoutingSnapshot
from omnidesk.routing.reads import RoutingReads

log = get_logger(__name__)
T = TypeVar("T")
RESTORE_RETRY_SECONDS = 2.0
SYNC_ATTEMPTS = 3
OVERLOAD_RETRY_SECONDS = 1
# The parts of an agent's definition that come from the directory.
_USER_CHANGES = {"active", "display_name", "timezone"}


class RoutingService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        snapshot_every: int = 1000,
        log_retention: timedelta = DEFAULT_RETENTION,
        engine_settings: EngineSettings | None = None,
        max_backlog: int = 0,
    ) -> None:
        self.db = db
        # Above this many commands waiting in a tenant's routing, new contacts are shed (0: never).
        self.max_backlog = max_backlog
        self.bus = bus
        self.snapshot_every = snapshot_every
        self.log_retention = log_retention
        # Every tenant's engine runs with these (Settings.routing_engine_settings()).
        self.engine_settings = engine_settings or EngineSettings()
        # The customer domain's ports (routing/hooks.py), plugged in by the composition root.
        self.hooks: ContactHooks | None = None
        self._hosts: dict[uuid.UUID, RoutingHost] = {}
        self._loading = asyncio.Lock()
        self._restorer: asyncio.Task[None] | None = None
        # Team sync: users to look at per tenant, with the attempts made so far.
        self.sync_retry_seconds = RESTORE_RETRY_SECONDS
        self._pending: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
        self._retrying: set[asyncio.TimerHandle] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._syncer: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    def start(self) -> None:
        """Restore, in the background, every tenant that has routing state, so timers run
        without waiting for a request. In the background because a database that is down at
        start must not stop the process: it stays live and reports not ready until it can."""
        self._subscription = self.bus.subscribe(self._on_event)
        self._syncer = asyncio.create_task(self._sync_loop(), name="routing-team-sync")
        self._restorer = asyncio.create_task(self._restore_all(), name="routing-restore")

    async def restored(self) -> list[uuid.UUID]:
        """Wait until every tenant with routing state is loaded; their ids."""
        if self._restorer is not None:
            await asyncio.shield(self._restorer)
        return list(self._hosts)

    async def _restore_all(self) -> None:
        while True:
            try:
                await self._restore_once()
                return
            except Exception:
                log.warning("routing restore failed; retrying", exc_info=True)
                await asyncio.sleep(RESTORE_RETRY_SECONDS)

    async def _restore_once(self) -> None:
        session = self.db.session(SYSTEM)
        try:
            # One indexed probe per tenant rather than a DISTINCT over the whole log.
            tenants = (await session.scalars(select(Tenant.id).where(_has_state()))).all()
        finally:
            await session.close()
        for tenant_id in tenants:
            await self.host(tenant_id)

    async def _tenant_has_state(self, tenant_id: uuid.UUID) -> bool:
        # A read snapshot: on SQLite a plain session would queue behind every writer.
        async with self.db.snapshot_session(SYSTEM) as session:
            found = await session.scalar(
                select(Tenant.id).where(Tenant.id == tenant_id, _has_state())
            )
        return found is not None

    async def host(self, tenant_id: uuid.UUID) -> RoutingHost:
        host = self._hosts.get(tenant_id)
        if host is not None:
            return host
        async with self._loading:
            host = self._hosts.get(tenant_id)
            if host is None:
                host = RoutingHost(
                    tenant_id,
                    self.db,
                    self.bus,
                    snapshot_every=self.snapshot_every,
                    log_retention=self.log_retention,
                    settings=self.engine_settings,
                )
                await host.load()
                if host.position:
                    await host.resume_after_restore()
                host.start_timers()
                self._hosts[tenant_id] = host
                # Directory changes may have been missed while no host followed them.
                self._enqueue(tenant_id, (as_uuid(a) for a in host.directory.agents))
        return host

    def loaded_host(self, tenant_id: uuid.UUID) -> RoutingHost | None:
        return self._hosts.get(tenant_id)

    @contextlib.asynccontextmanager
    async def reading(self, tenant_id: uuid.UUID) -> AsyncIterator[RoutingHost | None]:
        """Hold the tenant's routing still: its host's lock, or, for a tenant without routing
        state (no host loaded, none worth loading), the loading lock, so that no host and
        hence no routing event can appear for it until the block ends. Held briefly: taken
        before any database session, as writers take them (no lock-order inversion)."""
        if tenant_id not in self._hosts:
            async with self._loading:
                if tenant_id not in self._hosts and not await self._tenant_has_state(tenant_id):
                    yield None
                    return
        host = await self.host(tenant_id)
        async with host.consistent():
            yield host

    async def execute(
        self,
        tenant_id: uuid.UUID,
        command: Command,
        actor_id: uuid.UUID | None = None,
        *,
        after: Callable[[RoutingHost], None] | None = None,
    ) -> list[Event]:
        """Run `command`; `after` reads the state it left, in the command's own turn of the
        lock (committed when this returns)."""
        host = await self.host(tenant_id)
        then = None if after is None else (lambda: after(host))
        return await host.execute(command, actor_id, after=then)

    def admit_new_contact(self, tenant_id: uuid.UUID) -> None:
        """Refuse (429, Retry-After) a new contact while the tenant's routing is overloaded:
        more commands waiting to be applied or committed than `max_backlog`. Only creation
        is shed; whatever lets agents work through the backlog (answers, ends, state
        changes) is never refused for it."""
        host = self._hosts.get(tenant_id)
        if self.max_backlog and host is not None and host.backlog > self.max_backlog:
            raise TooManyRequests(
                f"routing is overloaded ({host.backlog} commands waiting); "
                f"try again in {OVERLOAD_RETRY_SECONDS} s",
                retry_after=OVERLOAD_RETRY_SECONDS,
            )

    async def execute_all(
        self,
        tenant_id: uuid.UUID,
        commands: Sequence[Command],
        actor_id: uuid.UUID | None = None,
    ) -> list[Event]:
        """Several commands as one routing step: one lock hold, one transaction, their events
        published together (no viewer sees a state between two of them). Each is handled in
        turn; a refused one changes nothing and the first refusal is raised once the others
        are committed."""
        listed = list(commands)

        async def these() -> list[Command]:
            return listed

        return await (await self.host(tenant_id)).execute_with(these, actor_id)

    async def arrive(
        self,
        tenant_id: uuid.UUID,
        command: ContactArrived,
        customer: CustomerRef | None = None,
        actor_id: uuid.UUID | None = None,
        *,
        strict: bool = True,
        after: Callable[[RoutingHost], None] | None = None,
    ) -> list[Event]:
        """A contact arrives from `customer`: the hooks put the customer's attributes on it
        (and may prefer an agent), then routing runs it. `strict`: a customer reference the
        hooks refuse (an invalid number) refuses the contact; otherwise (a call, which must
        not be lost for a garbled caller id) it is logged and the contact arrives as given."""
        hooks = self.hooks
        if hooks is None or customer is None:
            return await self.execute(tenant_id, command, actor_id, after=after)
        try:
            arrival = await hooks.arriving(tenant_id, command, customer)
        except Exception as exc:
            if strict:
                raise
            log.warning("routing.customer_not_resolved", contact=command.contact_id, error=str(exc))
            return await self.execute(tenant_id, command, actor_id, after=after)
        enriched = arrival.command
        if enriched.preferred_agent_id not in (None, command.preferred_agent_id):
            # The hook's preference names an agent routing may no longer know (removed).
            wanted = enriched.preferred_agent_id
            if await self.read(tenant_id, lambda r: r.agent(wanted)) is None:
                enriched = replace(enriched, preferred_agent_id=command.preferred_agent_id)
        events = await self.execute(tenant_id, enriched, actor_id, after=after)
        try:
            await hooks.arrived(tenant_id, replace(arrival, command=enriched))
        except Exception:
            # Routing has the contact; the customer link is the hook's to retry or lose.
            log.exception("routing.arrived_hook_failed", contact=command.contact_id)
        return events

    async def end_wrap_up(
        self, tenant_id: uuid.UUID, command: EndWrapUp, actor_id: uuid.UUID | None = None
    ) -> list[Event]:
        """End a wrap-up; a disposition must be one of the tenant's codes (when a customer
        domain is plugged in), and the queue may require one (the engine checks that)."""
        if self.hooks is not None and command.disposition is not None:
            await self.hooks.check_disposition(tenant_id, command.disposition)
        return await self.execute(tenant_id, command, actor_id)

    async def read(self, tenant_id: uuid.UUID, fn: Callable[[RoutingReads], T]) -> T:
        """`fn`'s answer from the tenant's read models as committed, all read at one instant:
        no routing event of the tenant commits while `fn` runs (it holds routing's lock, so
        keep it short; it cannot await). A tenant without routing state is not loaded for it:
        `fn` sees no queues, agents or contacts."""
        async with self.reading(tenant_id) as host:
            return fn(RoutingReads(host))

    def queue_audience(self, tenant_id: uuid.UUID, queue_id: str) -> Audience:
        """Who follows this queue's contacts (the teams of its members), for events of one's
        own about them. From routing as loaded, without waiting for its lock: empty while the
        tenant's routing is not loaded."""
        host = self._hosts.get(tenant_id)
        return host.directory.queue_audience(queue_id) if host is not None else Audience()

    def agent_audience(self, tenant_id: uuid.UUID, agent_id: str) -> Audience:
        """Who follows this agent (the agent and their teams); as `queue_audience`, except that
        the agent is in it even while the tenant's routing is not loaded."""
        host = self._hosts.get(tenant_id)
        if host is not None:
            return host.directory.agent_audience(agent_id)
        user = as_uuid(agent_id)
        return Audience.of(users=[user] if user else [])

    async def put_agent(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        profile: dict[str, Any],
        *,
        teams: list[uuid.UUID] | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> list[Event]:
        """Add or replace a user's routing profile. Name, time zone and (unless `teams` is
        given) teams come from the directory, read under the host's lock so that a membership
        change committed meanwhile is either seen here or synced after this."""
        if teams is not None:
            await self._check_teams(tenant_id, teams)
        host = await self.host(tenant_id)

        async def command() -> list[Command]:
            user = (await self._users(tenant_id, [user_id])).get(user_id)
            if user is None:
                raise NotFound(f"user {user_id} not found")
            chosen = sorted({str(t) for t in teams}) if teams is not None else _team_ids(user)
            agent = AgentDef.from_dict(
                {**profile, **_from_directory(user), "id": str(user_id), "teams": chosen}
            )
            known = agent.id in host.directory.agents
            return [UpdateAgent(agent) if known else AddAgent(agent)]

        return await host.execute_with(command, actor_id)

    async def assign_agent(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        changes: dict[str, Any],
        *,
        actor_id: uuid.UUID | None = None,
    ) -> list[Event]:
        """Replace some fields of an existing profile (a supervisor moving an agent between
        queues and skills); the rest is kept as it is under the host's lock."""
        host = await self.host(tenant_id)

        async def command() -> list[Command]:
            current = host.directory.agents.get(str(user_id))
            if current is None:
                raise NotFound(f"user {user_id} has no routing profile")
            return [UpdateAgent(AgentDef.from_dict({**current, **changes}))]

        return await host.execute_with(command, actor_id)

    async def _check_teams(self, tenant_id: uuid.UUID, teams: list[uuid.UUID]) -> None:
        session = self.db.session(tenant_id)
        try:
            found = set((await session.scalars(select(Team.id).where(Team.id.in_(teams)))).all())
        finally:
            await session.close()
        missing = [str(t) for t in teams if t not in found]
        if missing:
            raise NotFound(f"team {missing[0]} not found", field="teams")

    async def _users(self, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, User]:
        session = self.db.session(tenant_id)
        try:
            found: dict[uuid.UUID, User] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for user in (await session.scalars(select(User).where(User.id.in_(chunk)))).all():
                    found[user.id] = user
            return found
        finally:
            await session.close()

    # --- team sync -----------------------------------------------------------------------------

    def _on_event(self, published: PublishedEvent) -> None:
        """Bus subscriber: note whose routing profile may need the directory's change. Only
        notes: the work runs in the sync task, never in the publisher's call."""
        payload = published.payload
        users: Iterable[uuid.UUID | None] = ()
        if published.type == "team.member_set":
            users = [as_uuid(str(payload["user"]["id"]))]
        elif published.type == "team.member_removed":
            users = [as_uuid(str(payload["user_id"]))]
        elif published.type == "user.updated" and _USER_CHANGES & set(payload.get("changed", ())):
            users = [as_uuid(str(payload["user"]["id"]))]
        elif published.type == "team.deleted":
            # Its memberships are gone with it; the event does not list them, the host does
            # (a host not loaded yet checks all its agents when it loads).
            host = self._hosts.get(published.tenant_id)
            team = str(payload["team_id"])
            if host is not None:
                users = [
                    as_uuid(agent_id)
                    for agent_id, agent in host.directory.agents.items()
                    if team in (agent.get("teams") or ())
                ]
        if users:
            self._enqueue(published.tenant_id, users)

    def _enqueue(
        self, tenant_id: uuid.UUID, users: Iterable[uuid.UUID | None], attempts: int = 0
    ) -> None:
        pending = self._pending.setdefault(tenant_id, {})
        for user in users:
            if user is not None:
                pending[user] = max(pending.get(user, 0), attempts)
        if not pending:
            del self._pending[tenant_id]
            return
        self._idle.clear()
        self._wake.set()

    async def settled(self) -> None:
        """Wait until every noted directory change has reached routing (or was given up)."""
        await self._idle.wait()

    async def _sync_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                tenant_id, users = self._pending.popitem()
                try:
                    await self.sync_agents(tenant_id, list(users))
                except RoutingError:
                    # Refused by the engine (e.g. a name it does not accept): retrying would
                    # give the same answer. The directory keeps its change either way.
                    log.exception("routing team sync refused", tenant=str(tenant_id))
                except Exception:
                    log.exception("routing team sync failed", tenant=str(tenant_id))
                    self._retry(tenant_id, users)
            if not self._pending and not self._retrying:
                self._idle.set()

    def _retry(self, tenant_id: uuid.UUID, users: dict[uuid.UUID, int]) -> None:
        again = [u for u, attempts in users.items() if attempts + 1 < SYNC_ATTEMPTS]
        if not again:
            return
        attempts = max(users[u] for u in again) + 1

        def requeue() -> None:
            self._retrying.discard(handle)
            self._enqueue(tenant_id, again, attempts)
            if not self._pending and not self._retrying:
                self._idle.set()

        handle = asyncio.get_running_loop().call_later(self.sync_retry_seconds, requeue)
        self._retrying.add(handle)

    async def sync_agents(self, tenant_id: uuid.UUID, users: list[uuid.UUID]) -> list[Event]:
        """Bring these users' routing profiles in line with the directory (idempotent)."""
        host = self._hosts.get(tenant_id)
        if host is None:
            if not await self._tenant_has_state(tenant_id):
                return []  # no routing here: nobody is an agent
            host = await self.host(tenant_id)
        agents = [u for u in users if str(u) in host.directory.agents]
        if not agents:
            return []

        async def commands() -> list[Command]:
            found = await self._users(tenant_id, agents)
            result: list[Command] = []
            for user_id in agents:
                current = host.directory.agents.get(str(user_id))
                if current is not None:
                    result.extend(_sync_commands(host, current, found.get(user_id)))
            return result

        return await host.execute_with(commands)

    async def stop(self, *, snapshot: bool = True) -> None:
        if self._subscription is not None:
            self._subscription.close()
        for handle in self._retrying:
            handle.cancel()
        self._retrying.clear()
        for task in (self._restorer, self._syncer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for host in list(self._hosts.values()):
            await host.close(snapshot=snapshot)
        self._hosts.clear()


def _has_state() -> Any:
    return or_(
        exists().where(RoutingLogEntry.tenant_id == Tenant.id),
        exists().where(RoutingSnapshot.tenant_id == Tenant.id),
    )


def _team_ids(user: User) -> list[str]:
    return sorted(str(m.team_id) for m in user.memberships)


def _from_directory(user: User) -> dict[str, Any]:
    return {"name": user.display_name, "timezone": user.timezone}


def _sync_commands(host: RoutingHost, current: dict[str, Any], user: User | None) -> list[Command]:
    agent_id = str(current["id"])
    status = host.engine.agent(agent_id)
    connected = status.presence != "offline" or bool(status.contacts)
    if user is None:
        # The user is gone: nobody can work as this agent again.
        return [*([AgentDisconnected(agent_id)] if connected else []), RemoveAgent(agent_id)]
    wanted = {**_from_directory(user), "teams": _team_ids(user)}
    commands: list[Command] = []
    if any(current.get(name) != value for name, value in wanted.items()):
        commands.append(UpdateAgent(AgentDef.from_dict({**current, **wanted})))
    if not user.active and connected:
        commands.append(AgentDisconnected(agent_id))
    return commands
