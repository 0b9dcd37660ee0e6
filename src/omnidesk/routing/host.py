"""One tenant's routing engine, made durable: each step is logged and its events committed before
anyone hears of them; restore is snapshot + replay (docs/adr/0006-routing-service-durability.md)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from omnidesk.core.routing import (
    Command,
    Engine,
    RevokeOffers,
    RoutingError,
    Tick,
    command_from_dict,
)
from omnidesk.core.routing.clock import from_us, to_us
from omnidesk.core.routing.events import Event
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import Database
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.events import agent_ids_of, as_uuid, to_domain
from omnidesk.routing.models import RoutingLogEntry, RoutingSnapshot

log = get_logger(__name__)
MAX_TIMER_SLEEP = 1.0  # clock-based rules and opening hours are re-checked at least this often


@dataclass
class Directory:
    """What the host knows of definitions, for audiences and the admin API (from events)."""

    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # queue id -> teams of its members; derived from `agents`, rebuilt lazily after agent
    # changes (rare) so the per-event audience lookup stays O(1) instead of scanning agents.
    _queue_teams: dict[str, frozenset[uuid.UUID]] | None = field(
        default=None, init=False, repr=False
    )

    def observe(self, events: Iterable[Event]) -> None:
        for event in events:
            if event.type in ("routing.queue_added", "routing.queue_updated"):
                queue = event.to_dict()["queue"]
                self.queues[queue["id"]] = queue
            elif event.type == "routing.queue_removed":
                self.queues.pop(event.to_dict()["queue_id"], None)
            elif event.type in ("routing.agent_added", "routing.agent_updated"):
                agent = event.to_dict()["agent"]
                self.agents[agent["id"]] = agent
                self._queue_teams = None
            elif event.type == "routing.agent_removed":
                self.agents.pop(event.to_dict()["agent_id"], None)
                self._queue_teams = None

    def load_snapshot(self, state: dict[str, Any]) -> None:
        self.queues = {q["definition"]["id"]: q["definition"] for q in state.get("queues", [])}
        self.agents = {a["definition"]["id"]: a["definition"] for a in state.get("agents", [])}
        self._queue_teams = None

    def teams_of_agent(self, agent_id: str) -> set[uuid.UUID]:
        agent = self.agents.get(agent_id) or {}
        return {t for t in (as_uuid(str(x)) for x in agent.get("teams", ())) if t is not None}

    def teams_of_queue(self, queue_id: str) -> frozenset[uuid.UUID]:
        if self._queue_teams is None:
            index: dict[str, set[uuid.UUID]] = {}
            for agent_id, agent in self.agents.items():
                teams = self.teams_of_agent(agent_id)
                for member_of in agent.get("queues") or {}:
                    index.setdefault(member_of, set()).update(teams)
            self._queue_teams = {q: frozenset(t) for q, t in index.items()}
        return self._queue_teams.get(queue_id, frozenset())

    def audience(self, event: Event) -> Audience:
        payload = event.to_dict()
        users: set[uuid.UUID] = set()
        teams: set[uuid.UUID] = set()
        for agent_id in agent_ids_of(payload):
            user = as_uuid(agent_id)
            if user is not None:
                users.add(user)
            teams |= self.teams_of_agent(agent_id)
        queue_id = payload.get("queue_id") or (payload.get("queue") or {}).get("id")
        if queue_id:
            teams |= self.teams_of_queue(str(queue_id))
        return Audience.of(users=users, teams=teams)


@dataclass
class _Step:
    kind: str  # "advance" | "command"
    at_us: int
    command: dict[str, Any] | None
    events: list[Event]


class RoutingHost:
    def __init__(
        self,
        tenant_id: uuid.UUID,
        db: Database,
        bus: EventBus,
        *,
        snapshot_every: int = 1000,
    ) -> None:
        self.tenant_id = tenant_id
        self.db = db
        self.bus = bus
        self.snapshot_every = snapshot_every
        self.lock = asyncio.Lock()
        self.engine = Engine()
        self.directory = Directory()
        self.position = 0
        self.snapshot_position = 0
        self._last_us = 0
        self._broken = False
        self._timer: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild the engine from the newest snapshot and the log entries after it."""
        session = self.db.session(self.tenant_id)
        try:
            snapshot = await session.scalar(
                select(RoutingSnapshot).order_by(RoutingSnapshot.position.desc()).limit(1)
            )
            engine = Engine()
            directory = Directory()
            position = 0
            if snapshot is not None:
                engine = Engine.restore(snapshot.state)
                directory.load_snapshot(snapshot.state)
                position = snapshot.position
            entries = await session.scalars(
                select(RoutingLogEntry)
                .where(RoutingLogEntry.position > position)
                .order_by(RoutingLogEntry.position)
            )
            for entry in entries:
                now = from_us(entry.at_us)
                if entry.kind == "advance":
                    events = engine.advance(now)
                else:
                    assert entry.command is not None
                    events = engine.handle(command_from_dict(entry.command), now)
                directory.observe(events)
                position = entry.position
        finally:
            await session.close()
        self.engine = engine
        self.directory = directory
        self.position = position
        self.snapshot_position = snapshot.position if snapshot is not None else 0
        self._last_us = max(self._last_us, to_us(engine.now))
        self._broken = False
        log.info(
            "routing restored",
            tenant=str(self.tenant_id),
            position=position,
            contacts=len(engine.contact_ids()),
        )

    def start_timers(self) -> None:
        if self._timer is None:
            self._timer = asyncio.create_task(self._run_timers(), name=f"routing-{self.tenant_id}")

    async def close(self, *, snapshot: bool = True) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        if snapshot and not self._broken and self.position > self.snapshot_position:
            async with self.lock:
                await self._persist([], force_snapshot=True)

    # --- commands ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        # Monotonic per host, so the log's instants never go backwards (wall clocks can).
        self._last_us = max(int(time.time() * 1_000_000), self._last_us, to_us(self.engine.now))
        return from_us(self._last_us)

    async def execute(
        self, command: Command, actor_id: uuid.UUID | None = None, *, advance_first: bool = True
    ) -> list[Event]:
        """Run one command; its events are committed and published before this returns.
        A refused command raises its RoutingError with nothing changed (timers may have fired)."""
        async with self.lock:
            if self._broken:
                await self.load()
            now = self._now()
            at_us = to_us(now)
            steps: list[_Step] = []
            fired = self.engine.advance(now) if advance_first else []
            if fired:
                steps.append(_Step("advance", at_us, None, fired))
            refused: RoutingError | None = None
            events: list[Event] = []
            try:
                events = self.engine.handle(command, now)
            except RoutingError as error:
                refused = error
            else:
                # An idle tick changes nothing worth replaying; every other command is logged.
                if events or not isinstance(command, Tick):
                    steps.append(_Step("command", at_us, command.to_dict(), events))
            if steps:
                await self._persist(steps, actor_id=actor_id)
            if refused is not None:
                raise refused
            return events

    async def tick(self) -> list[Event]:
        return await self.execute(Tick())

    async def resume_after_restore(self) -> list[Event]:
        """Pending offers may never have reached their agents: take them back (the agents are
        not marked as missing them) and route again. Sent as the first step, with no advance
        before it, so offers whose deadline passed while the server was down are revoked rather
        than counted as timed out; every other timer fires at its own deadline."""
        return await self.execute(RevokeOffers(), advance_first=False)

    async def _persist(
        self, steps: list[_Step], *, actor_id: uuid.UUID | None = None, force_snapshot: bool = False
    ) -> None:
        session = self.db.session(self.tenant_id)
        position = self.position
        try:
            uow = UnitOfWork(session, self.bus, tenant_id=self.tenant_id, actor_id=actor_id)
            for step in steps:
                position += 1
                session.add(
                    RoutingLogEntry(
                        position=position, kind=step.kind, at_us=step.at_us, command=step.command
                    )
                )
                self.directory.observe(step.events)
                for event in step.events:
                    uow.record(to_domain(event), self.directory.audience(event))
            snapshot_due = position - self.snapshot_position >= self.snapshot_every
            if force_snapshot or snapshot_due:
                session.add(RoutingSnapshot(position=position, state=self.engine.snapshot()))
            await uow.commit()
        except BaseException:
            # The engine moved on but the database did not: rebuild from the database before
            # the next command rather than serve a state nobody can replay.
            self._broken = True
            log.exception("routing step not persisted; reloading", tenant=str(self.tenant_id))
            raise
        finally:
            await session.close()
        self.position = position
        if force_snapshot or snapshot_due:
            self.snapshot_position = position

    async def _run_timers(self) -> None:
        while True:
            deadline = self.engine.next_deadline()
            delay = MAX_TIMER_SLEEP
            if deadline is not None:
                delay = min(MAX_TIMER_SLEEP, max(0.0, (deadline - self._now()).total_seconds()))
            await asyncio.sleep(delay)
            try:
                await self.tick()
            except Exception:
                log.exception("routing timer step failed", tenant=str(self.tenant_id))
