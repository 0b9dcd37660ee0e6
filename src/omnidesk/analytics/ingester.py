"""The ingester: keeps each tenant's KPI rollups up to date with its event log.

Per tenant it reads the log after a stored cursor, in order, in batches; each batch's rollup
increments, the state it changed and the new cursor are written in one transaction, so after a
crash, a restart, a second node or a duplicate wake-up nothing is counted twice or missed
(docs/adr/0019-kpis-from-the-event-log.md). The bus only wakes it; content comes from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import live
from omnidesk.analytics import repository as repo
from omnidesk.analytics.agent_states import STATE_CHANGED
from omnidesk.analytics.agents import teams_of_agents
from omnidesk.analytics.facts import LogEvent, from_us
from omnidesk.analytics.processing import contact_of, process
from omnidesk.platform import eventlog
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import SYSTEM, Database, utcnow
from omnidesk.platform.events import Audience, DomainEvent, PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.platform.pacing import Pacer
from omnidesk.platform.tenancy import Tenant
from omnidesk.platform.uow import UnitOfWork

log = get_logger(__name__)
SOURCES = ("routing.", "voice.")
# Events that change a team's members (and so its figures: live.TeamFigures).
MEMBERSHIP = frozenset({"team.created", "team.member_set", "team.member_removed"})
BATCH = 1000
RETRY_SECONDS = 5.0
STOP_SECONDS = 10.0
# At most one catch-up per this many seconds (platform/pacing.py): the KPIs follow the log by
# at most this much more, far below their 15-minute intervals and the console's refresh.
PACE_SECONDS = 0.25
# Live figures go out for a tenant at most this often (Publish): a wallboard's refresh.
FIGURES_SECONDS = 2.0

# Who sees a queue's figures: routing's rule for its queue events (`Routing.queue_audience`).
QueueAudience = Callable[[uuid.UUID, str], Audience]


@dataclass
class Applied:
    last_seq: int
    # (interval start, queue) of every queue rollup row the batch added to.
    queue_intervals: set[tuple[datetime, str]] = field(default_factory=set)
    # (interval start, agent) of every rollup row of an agent's (work or state) it added to.
    agent_intervals: set[tuple[datetime, str]] = field(default_factory=set)
    # (interval start, channel) of every queue rollup row the batch added to.
    channel_intervals: set[tuple[datetime, str]] = field(default_factory=set)
    # The tenant's first batch (since a rebuild): every team's figures begin (live.current_teams).
    first: bool = False


async def apply_batch(
    session: AsyncSession, tenant_id: uuid.UUID, records: Sequence[LogEvent]
) -> int:
    """Apply `records` (ascending seq) after the tenant's cursor, in the caller's transaction;
    returns the new cursor. Records at or below the cursor are skipped (a replay changes
    nothing); a batch that does not continue the cursor (a gap) is refused: nothing applied."""
    return (await ingest(session, tenant_id, records)).last_seq


async def ingest(
    session: AsyncSession, tenant_id: uuid.UUID, records: Sequence[LogEvent]
) -> Applied:
    """`apply_batch`, saying which queue rows it changed."""
    cursor = await repo.cursor(session, tenant_id)
    fresh = [r for r in records if r.seq > cursor.last_seq]
    if not fresh or fresh[0].seq != cursor.last_seq + 1:
        return Applied(cursor.last_seq)
    first = cursor.last_seq == 0
    settings = await repo.settings(session, tenant_id)
    contacts = {c for r in fresh if (c := contact_of(r)) is not None}
    agents = {str(r.payload.get("agent_id")) for r in fresh if r.type == STATE_CHANGED}
    state = await repo.load_state(session, contacts, agents)
    result = process(fresh, state, round(settings.short_abandon_seconds * 1_000_000))
    await repo.store(session, tenant_id, state, result)
    cursor.last_seq = fresh[-1].seq
    await session.flush()
    changed = {(from_us(key.interval_us), key.queue_id) for key in result.queue_rows}
    worked = {(from_us(k.interval_us), k.agent_id) for k in result.queue_rows if k.agent_id}
    worked |= {(from_us(key.interval_us), key.agent_id) for key in result.agent_rows}
    channels = {(from_us(key.interval_us), key.channel) for key in result.queue_rows}
    return Applied(cursor.last_seq, changed, worked, channels, first)


async def read_batch(session: AsyncSession, after: int, limit: int) -> list[LogEvent]:
    rows = await eventlog.read_payloads_after(session, after, limit=limit)
    return [LogEvent(seq, kind, payload) for seq, kind, payload in rows]


# What figures are held: ("queue", queue id), ("channel", channel), ("agent", agent id) or
# ("team", team id); an agent's teams' figures go with the agent's.
Held = tuple[str, str]


@dataclass
class Changed:
    """The keys whose figures of now a batch changed."""

    queues: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)


@dataclass
class Publish:
    """Where the figures of the queues and agents a batch changed go (the server's ingester;
    a rebuild from the command line publishes nothing), and how often.

    Figures go out for a tenant at most once per `every` seconds: the queues and agents changed
    since are held and pushed together with their figures of that moment (by the next batch
    once the time has come, or by the ingester's timer when no batch comes). Each event is
    ~1.5 kB in the event log; pushed after every paced batch that would be up to 4 per queue a
    second. Each changed channel's figures go with them (to admins: live.ChannelFigures).
    `agent_audience`: routing's audience of an agent (live.agent_audience keeps only their
    teams'); None: agents' (and teams') figures are not pushed. The figures of the teams of
    the changed agents (their teams of now) go with the agents', and a team whose members
    changed (MEMBERSHIP) is held like a changed agent."""

    bus: EventBus
    audience: QueueAudience
    every: float = 0.0
    agent_audience: QueueAudience | None = None
    held: dict[uuid.UUID, set[Held]] = field(default_factory=dict)
    sent: dict[uuid.UUID, float] = field(default_factory=dict)  # loop time of the last push

    def hold(self, tenant_id: uuid.UUID, changed: Changed) -> None:
        found = {("queue", q) for q in changed.queues}
        found |= {("channel", c) for c in changed.channels}
        if self.agent_audience is not None:
            found |= {("agent", a) for a in changed.agents}
            found |= {("team", t) for t in changed.teams}
        if found:
            self.held.setdefault(tenant_id, set()).update(found)

    def due_in(self, tenant_id: uuid.UUID) -> float:
        """Seconds until the tenant's held figures may go out (≤ 0: now)."""
        last = self.sent.get(tenant_id)
        now = asyncio.get_running_loop().time()
        return -1.0 if last is None else last + self.every - now

    def take(self, tenant_id: uuid.UUID) -> list[Held]:
        """The held figures whose time has come (none: not yet, or nothing held), no longer
        held; the push is counted from now."""
        if not self.held.get(tenant_id) or self.due_in(tenant_id) > 0:
            return []
        self.sent[tenant_id] = asyncio.get_running_loop().time()
        return sorted(self.held.pop(tenant_id))

    def hold_again(self, tenant_id: uuid.UUID, taken: list[Held]) -> None:
        self.held.setdefault(tenant_id, set()).update(taken)

    async def read(
        self, session: AsyncSession, tenant_id: uuid.UUID, taken: list[Held]
    ) -> list[tuple[DomainEvent, Audience]]:
        """The taken figures of now (queues', channels', agents' and the agents' teams'), each
        with who may see it."""
        at = await live.window(session, tenant_id, utcnow())
        found: list[tuple[DomainEvent, Audience]] = []
        for kind, key in taken:
            if kind == "queue":
                figures = await live.figures(session, tenant_id, key, at)
                found.append((figures, self.audience(tenant_id, key)))
            elif kind == "channel":
                channel = await live.channel_figures(session, tenant_id, key, at)
                found.append((channel, live.CHANNEL_AUDIENCE))
        if self.agent_audience is None:
            return found
        changed = [key for kind, key in taken if kind == "agent"]
        for agent in await live.agent_figures(session, tenant_id, changed, at):
            seen = live.agent_audience(self.agent_audience(tenant_id, agent.agent_id))
            found.append((agent, seen))
        teams = await teams_of_agents(session, changed)
        teams |= {key for kind, key in taken if kind == "team"}
        for team in await live.team_figures(session, tenant_id, teams, at):
            found.append((team, live.team_audience(team.team_id)))
        return found


async def step(
    db: Database, tenant_id: uuid.UUID, batch: int = BATCH, publish: Publish | None = None
) -> int:
    """One batch for the tenant in its own transaction; returns how many events it read.
    With `publish`: the queues whose figures of now the batch changed are held, and once their
    time has come pushed (one `analytics.queue_figures` event per queue, live.py) in a short
    transaction of their own after the batch's commit.

    Why not in the batch's transaction: on SQLite every writer waits for that one write lock,
    and the figures' reports (two per changed queue) would lengthen each batch's hold for
    nothing: the figures are read after the rollups are committed, so they include them, and a
    snapshot read in between shows the new rollups before the event does (the event then
    carries the same or newer figures)."""
    session = db.session(tenant_id)
    try:
        async with session.begin():
            read, changed = await _step(session, tenant_id, batch, publish is not None)
    finally:
        await session.close()
    if publish is not None:
        publish.hold(tenant_id, changed)
        try:
            await push_held(db, tenant_id, publish)
        except Exception:
            # The batch is in; its figures are held again for the next push (the timer's).
            log.exception("analytics.figures_failed", tenant=str(tenant_id))
    return read


async def _step(
    session: AsyncSession, tenant_id: uuid.UUID, batch: int, figures: bool
) -> tuple[int, Changed]:
    """(events read, what figures of now changed: only when `figures`)."""
    cursor = await repo.cursor(session, tenant_id)
    records = await read_batch(session, cursor.last_seq, batch)
    if not records:
        return 0, Changed()
    applied = await ingest(session, tenant_id, records)
    teams = await live.all_teams(session) if figures and applied.first else []
    if not figures or not (applied.queue_intervals or applied.agent_intervals):
        return len(records), Changed(teams=teams)
    at = await live.window(session, tenant_id, utcnow())
    return len(records), Changed(
        queues=live.changed_queues(applied.queue_intervals, at),
        channels=live.changed_channels(applied.channel_intervals, at),
        agents=live.changed_agents(applied.agent_intervals, at),
        teams=teams,
    )


async def push_held(db: Database, tenant_id: uuid.UUID, publish: Publish) -> None:
    """The tenant's held figures, if their time has come, in a transaction of their own. If it
    fails they are held again: the next push tries them (with figures read afresh)."""
    taken = publish.take(tenant_id)
    if not taken:
        return
    try:
        # Read in a snapshot (no write lock: the reports take a while), then record in a
        # transaction that only appends the events. A tenant's pushes run one at a time under
        # its ingester lock, so nothing newer can be recorded between the read and the append.
        async with db.snapshot_session(tenant_id) as reader:
            found = await publish.read(reader, tenant_id, taken)
        session = db.session(tenant_id)
        try:
            async with UnitOfWork(session, publish.bus, tenant_id=tenant_id) as uow:
                for figures, audience in found:
                    uow.record(figures, audience, actor_id=None)
        finally:
            await session.close()
    except BaseException:
        publish.hold_again(tenant_id, taken)
        raise


async def catch_up(
    db: Database, tenant_id: uuid.UUID, batch: int = BATCH, publish: Publish | None = None
) -> int:
    total = 0
    while read := await step(db, tenant_id, batch, publish):
        total += read
        if read < batch:
            # A short batch reached the end of the log: asking again would cost a transaction
            # that reads nothing (on every wake-up, many a second under load). Events logged
            # since are announced on the bus and wake the ingester again.
            break
    return total


async def rebuild(db: Database, tenant_id: uuid.UUID, batch: int = BATCH) -> int:
    """Forget the tenant's rollups and compute them again from the whole log."""
    session = db.session(tenant_id)
    try:
        async with session.begin():
            await repo.reset(session, tenant_id)
    finally:
        await session.close()
    return await catch_up(db, tenant_id, batch)


async def active_tenants(db: Database) -> list[uuid.UUID]:
    session = db.session(SYSTEM)
    try:
        return list(await session.scalars(select(Tenant.id).where(Tenant.active)))
    finally:
        await session.close()


class Ingester:
    """The background service: catches every tenant up on start, then whenever the bus says
    a tenant's routing or voice events were committed."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        batch: int = BATCH,
        queue_audience: QueueAudience | None = None,
        agent_audience: QueueAudience | None = None,
        figures_seconds: float = FIGURES_SECONDS,
    ) -> None:
        self.db = db
        self.bus = bus
        self.batch = batch
        # Given (by the app): today's figures are pushed after each batch (live.py).
        self._publish = (
            None
            if queue_audience is None
            else Publish(bus, queue_audience, figures_seconds, agent_audience)
        )
        self._dirty: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._stopping = False
        self._retrying: set[uuid.UUID] = set()
        self._pacer = Pacer(PACE_SECONDS)

    def start(self) -> None:
        self._subscription = self.bus.subscribe(self._on_event)
        self._task = asyncio.create_task(self._run(), name="analytics-ingester")

    async def stop(self) -> None:
        """Let a batch in flight finish, then end; cancel only if it takes too long."""
        if self._subscription is not None:
            self._subscription.close()
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    def _on_event(self, published: PublishedEvent) -> None:
        if published.type.startswith(SOURCES):
            self.note(published.tenant_id)
        elif published.type in MEMBERSHIP and self._publish is not None:
            # A team's figures are its members' of now: a new team or member moves them.
            changed = Changed(teams=[str(published.payload.get("team_id"))])
            self._publish.hold(published.tenant_id, changed)
            self.note(published.tenant_id)

    def note(self, tenant_id: uuid.UUID) -> None:
        """Something new (or a reset) for the tenant: catch it up soon."""
        self._dirty.add(tenant_id)
        self._idle.clear()
        self._wake.set()

    async def settled(self) -> None:
        """Wait until everything announced so far is in the rollups."""
        await self._idle.wait()

    async def catch_up(self, tenant_id: uuid.UUID) -> int:
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            return await catch_up(self.db, tenant_id, self.batch, self._publish)

    async def _run(self) -> None:
        tenants: list[uuid.UUID] = []
        while not self._stopping:
            try:
                tenants = await active_tenants(self.db)
                break
            except Exception as exc:  # the database is not reachable (yet)
                log.warning("analytics.ingester_start_failed", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), RETRY_SECONDS)
        self._dirty.update(tenants)
        while not self._stopping:
            await self._pacer.wait_turn()
            # Cleared before the dirty set is taken, never after a batch: a wake-up from a
            # note() or a stop() that comes while a batch runs must not be lost (a stop lost
            # there left the service waiting out STOP_SECONDS on every shutdown).
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            for tenant_id in dirty:
                if self._stopping:
                    return
                await self._guarded(tenant_id)
            held = self._publish.held if self._publish is not None else {}
            if not self._dirty and not self._retrying and not held:
                self._idle.set()
            if not self._dirty:
                await self._wait_or_push_held()

    async def _wait_or_push_held(self) -> None:
        """Wait for a wake-up; held figures whose time comes first are pushed then."""
        publish = self._publish
        if publish is None or not publish.held:
            await self._wake.wait()
            return
        due = min(publish.due_in(tenant_id) for tenant_id in publish.held)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(due, 0.0))
            return
        for tenant_id in [t for t in publish.held if publish.due_in(t) <= 0]:
            if self._stopping:
                return
            try:
                async with self._locks.setdefault(tenant_id, asyncio.Lock()):
                    await push_held(self.db, tenant_id, publish)
            except Exception:
                # Held again (push_held): the next batch or timer pushes them, read afresh.
                log.exception("analytics.figures_failed", tenant=str(tenant_id))

    async def _guarded(self, tenant_id: uuid.UUID) -> None:
        try:
            await self.catch_up(tenant_id)
        except Exception:
            # The cursor did not move: the same events are tried again after a pause.
            log.exception("analytics.ingester_failed", tenant=str(tenant_id))
            self._retrying.add(tenant_id)
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self._retry, tenant_id)

    def _retry(self, tenant_id: uuid.UUID) -> None:
        self._retrying.discard(tenant_id)
        self.note(tenant_id)
