"""One tenant's routing engine, made durable: each step is logged and its events committed before
anyone hears of them; restore is snapshot + replay (docs/adr/0006-routing-service-durability.md).

Audiences: an event about a contact reaches whoever saw that contact just before it and whoever
sees it just after: its queue's teams (the teams of the queue's members), the agent holding it and
that agent's teams. An agent's own events reach the agent and its teams. The realtime view
(routing/views.py) shows each principal exactly what these audiences let them follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.core.routing import (
    Command,
    Engine,
    EngineSettings,
    OffersSent,
    RevokeOffers,
    RoutingError,
    Tick,
    command_from_dict,
)
from omnidesk.core.routing.clock import from_us, to_us
from omnidesk.core.routing.events import Event, OfferCreated
from omnidesk.directory.models import TeamMember
from omnidesk.platform.auth.roles import TeamRole
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import Database
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.compaction import DEFAULT_RETENTION, Compactor
from omnidesk.routing.events import agent_ids_of, as_uuid, to_domain
from omnidesk.routing.models import RoutingLogEntry, RoutingSnapshot
from omnidesk.routing.views import ContactPlaced, contact_card, is_consult_leg

log = get_logger(__name__)
_ROUTING_LOG: Table = RoutingLogEntry.__table__  # type: ignore[assignment]
# The host's own part of a stored snapshot (next to the engine's records): what the engine's
# read models do not keep but realtime views show, e.g. since when each agent is in its state.
SERVICE_KEY = "service"


_AGENT_DEFS = ("routing.agent_added", "routing.agent_updated", "routing.agent_removed")
_OFFER_FAILED = ("routing.offer_rejected", "routing.offer_timed_out", "routing.offer_revoked")
# A contact_queued for these reasons gives the contact a new place (another queue, or the end
# of a line): realtime viewers get its whole card afterwards (see Directory.placed).
_NEW_PLACE = ("overflow", "transfer", "requeue")
# The longest an answer waiting in line holds the tenant's clock back (see RoutingHost._now):
# a bound, so that nothing can stop a tenant's timers for long.
ANSWER_HOLD_US = 30_000_000
# An offer that reached its agent (was published) this long or longer after it was made gets
# its deadline moved (OffersSent): the agent has the whole offer timeout from the sending.
# Below it the delay is left alone: not worth a logged step and an event per batch.
OFFER_SEND_SLACK_US = 1_000_000


@dataclass
class Seen:
    """Who an event concerns: its audience, and the teams whose supervisors' view of routing
    changes with it (an agent's teams or queues changed), who get a fresh snapshot."""

    audience: Audience
    resync_teams: frozenset[uuid.UUID] = frozenset()


@dataclass
class Directory:
    """What the host knows beyond the engine's read models, kept from its events: definitions
    (for audiences and the admin API) and what realtime views show that the read models do
    not (who holds which contact, the channel of a wrap-up, when an agent's state changed)."""

    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    # queue id -> how many times its definition was set (added or updated): the version an
    # admin's edit names, so a stale save is refused. Kept past a removal, so a queue added
    # again under the same id does not repeat an earlier version.
    queue_versions: dict[str, int] = field(default_factory=dict)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # contact id -> (queue id, agent id holding it (offered or active) or None); for the
    # audience of events that do not name them (a requeue leaves the agent who held it). The
    # queue id is None for an agent's own contact started without a queue.
    contacts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # (agent id, contact id) -> {"queue_id", "channel", "offer_id", "ends_at"} for each contact
    # an agent holds: offered, active or wrapping up.
    held: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # agent id -> ISO instant of its last state change (or of its creation).
    since: dict[str, str] = field(default_factory=dict)
    # Contacts whose card realtime viewers need after this step, and arrivals to check for it.
    placed: dict[str, None] = field(default_factory=dict)
    arrived: dict[str, str] = field(default_factory=dict)
    # Slots whose contact ended or left this step: dropped at the end of the step unless a
    # wrap-up started for them (a queue without wrap-up frees the slot with no event).
    _ending: set[tuple[str, str]] = field(default_factory=set, repr=False)
    # queue id -> teams of its members; derived from `agents`, rebuilt lazily after agent
    # changes (rare) so the per-event audience lookup stays O(1) instead of scanning agents.
    _queue_teams: dict[str, frozenset[uuid.UUID]] | None = field(
        default=None, init=False, repr=False
    )

    def observe(self, events: Iterable[Event]) -> None:
        """Follow one step's events (replay: no audiences needed)."""
        for event in events:
            self.observe_one(event)
        self.end_step()

    def observe_one(self, event: Event) -> Seen:
        payload = event.to_dict()
        return self.observe_payload(event.type, payload)

    def observe_payload(self, kind: str, payload: dict[str, Any]) -> Seen:
        contact_id = payload.get("contact_id")
        before = self.contacts.get(contact_id) if contact_id else None
        old_def: dict[str, Any] | None = None
        if kind in _AGENT_DEFS:
            old_def = self.agents.get(_def_agent_id(payload))
        self._track(kind, payload)
        after = self.contacts.get(contact_id) if contact_id else None

        agents = set(agent_ids_of(payload))
        if payload.get("consultant_id"):
            agents.add(str(payload["consultant_id"]))
        queues = {payload.get("queue_id") or (payload.get("queue") or {}).get("id")}
        for where in (before, after):
            if where is not None:
                queues.add(where[0])
                agents.add(where[1] or "")
        agents.discard("")
        users = {u for u in (as_uuid(a) for a in agents) if u is not None}
        teams: set[uuid.UUID] = set()
        for agent_id in agents:
            teams |= self.teams_of_agent(agent_id)
        for queue_id in queues:
            if queue_id:
                teams |= self.teams_of_queue(str(queue_id))
        resync: frozenset[uuid.UUID] = frozenset()
        if kind in _AGENT_DEFS:
            old_teams, old_queues = _teams_and_queues(old_def)
            new_teams, new_queues = _teams_and_queues(self.agents.get(_def_agent_id(payload)))
            teams |= old_teams  # a removed agent's (or a team it left) supervisors hear of it
            if (old_teams, old_queues) != (new_teams, new_queues):
                resync = frozenset(old_teams | new_teams)
        return Seen(Audience.of(users=users, teams=teams), resync)

    def end_step(self) -> None:
        for key in self._ending:
            self.held.pop(key, None)
        self._ending.clear()

    def _track(self, kind: str, p: dict[str, Any]) -> None:
        contact_id = str(p.get("contact_id") or "")
        agent_id = str(p.get("agent_id") or "")
        if kind in ("routing.queue_added", "routing.queue_updated"):
            queue_id = p["queue"]["id"]
            self.queues[queue_id] = p["queue"]
            self.queue_versions[queue_id] = self.queue_versions.get(queue_id, 0) + 1
        elif kind == "routing.queue_removed":
            self.queues.pop(p["queue_id"], None)
        elif kind in ("routing.agent_added", "routing.agent_updated"):
            self.agents[p["agent"]["id"]] = p["agent"]
            if kind == "routing.agent_added":
                self.since[p["agent"]["id"]] = p["at"]
            self._queue_teams = None
        elif kind == "routing.agent_removed":
            self.agents.pop(agent_id, None)
            self.since.pop(agent_id, None)
            self._queue_teams = None
        elif kind == "routing.agent_state_changed":
            self.since[agent_id] = p["at"]
        elif kind == "routing.contact_received":
            self.contacts[contact_id] = (p["queue_id"], None)
            self.arrived[contact_id] = p["at"]
        elif kind == "routing.agent_contact_started":
            # Active with its agent from the start (no offer). One with a queue is shown in
            # that queue: its viewers get its whole card after the step, as for a contact
            # that took a new place.
            self.contacts[contact_id] = (p["queue_id"], agent_id)
            self.held[(agent_id, contact_id)] = {
                "queue_id": p["queue_id"],
                "channel": p["channel"],
                "offer_id": None,
                "ends_at": None,
            }
            if p["queue_id"]:
                self.placed[contact_id] = None
        elif kind == "routing.contact_queued":
            previous = self.contacts.get(contact_id)
            if previous is not None and previous[1]:
                # Handed back (requeue) or its agent disconnected: the slot is gone.
                self.held.pop((previous[1], contact_id), None)
            self.contacts[contact_id] = (p["queue_id"], None)
            if p["reason"] in _NEW_PLACE:
                self.placed[contact_id] = None
        elif kind == "routing.offer_created":
            self.contacts[contact_id] = (p["queue_id"], agent_id)
            self.held[(agent_id, contact_id)] = {
                "queue_id": p["queue_id"],
                "channel": p["channel"],
                "offer_id": p["offer_id"],
                "ends_at": p["expires_at"],
            }
        elif kind == "routing.offer_extended":
            slot = self.held.get((agent_id, contact_id))
            if slot is not None:
                slot["ends_at"] = p["expires_at"]
        elif kind == "routing.offer_accepted":
            self._set_agent(contact_id, agent_id)
            slot = self.held.get((agent_id, contact_id))
            if slot is not None:
                slot.update(offer_id=None, ends_at=None)
        elif kind in _OFFER_FAILED:
            self._set_agent(contact_id, None)
            self.held.pop((agent_id, contact_id), None)
        elif kind == "routing.contact_transferred":
            self._set_agent(contact_id, None)
            self._ending.add((agent_id, contact_id))
        elif kind == "routing.contact_ended":
            self.contacts.pop(contact_id, None)
            self.placed.pop(contact_id, None)
            if agent_id:
                self._ending.add((agent_id, contact_id))
        elif kind in ("routing.wrap_up_started", "routing.wrap_up_extended"):
            self._ending.discard((agent_id, contact_id))
            slot = self.held.get((agent_id, contact_id))
            if slot is not None:
                slot.update(offer_id=None, ends_at=p["ends_at"])
        elif kind == "routing.wrap_up_ended":
            self.held.pop((agent_id, contact_id), None)
        elif kind == "routing.consult_ended":
            self._consult_ended(p)

    def _consult_ended(self, p: dict[str, Any]) -> None:
        # The leg is gone. After a warm transfer the consultant holds the contact in the slot the
        # leg had (the engine keeps channel and capacity): shown with the leg's queue and
        # channel, which is what the consultant's viewers have heard of.
        leg = str(p["consult_id"])
        consultant = str(p.get("consultant_id") or "")
        self.contacts.pop(leg, None)
        slot = self.held.pop((consultant, leg), None)
        if p.get("outcome") == "transferred" and consultant:
            contact_id = str(p["contact_id"])
            self._set_agent(contact_id, consultant)
            self.held[(consultant, contact_id)] = {
                **(slot or {}),
                "offer_id": None,
                "ends_at": None,
            }

    def _set_agent(self, contact_id: str, agent_id: str | None) -> None:
        entry = self.contacts.get(contact_id)
        if entry is not None:
            self.contacts[contact_id] = (entry[0], agent_id)

    def load_snapshot(self, state: dict[str, Any]) -> None:
        """From a stored routing snapshot: the engine's records (format omnidesk.routing/1)
        plus the host's own `service` part."""
        self.queues = {q["definition"]["id"]: q["definition"] for q in state.get("queues", [])}
        service = state.get(SERVICE_KEY) or {}
        # Snapshots from before versions were kept: every queue starts at 1.
        self.queue_versions = {q: 1 for q in self.queues}
        self.queue_versions.update(service.get("queue_versions") or {})
        self.agents = {a["definition"]["id"]: a["definition"] for a in state.get("agents", [])}
        self.contacts = {
            c["id"]: (c["queue_id"], c.get("agent_id")) for c in state.get("contacts", [])
        }
        offers = {c["id"]: c.get("offer_expires") for c in state.get("contacts", [])}
        self.held = {}
        for agent in state.get("agents", []):
            for slot in agent.get("slots", []):
                offered = slot["kind"] == "offered"
                self.held[(agent["definition"]["id"], slot["contact_id"])] = {
                    "queue_id": slot["queue_id"],
                    "channel": slot["channel"],
                    "offer_id": slot.get("offer_id") if offered else None,
                    "ends_at": offers.get(slot["contact_id"]) if offered else slot["wrap_until"],
                }
        self.since = dict((state.get(SERVICE_KEY) or {}).get("agent_state_since") or {})
        self.placed.clear()
        self.arrived.clear()
        self._ending.clear()
        self._queue_teams = None

    def service_state(self) -> dict[str, Any]:
        return {"agent_state_since": dict(self.since), "queue_versions": dict(self.queue_versions)}

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

    def agent_audience(self, agent_id: str) -> Audience:
        """Who receives this agent's own events (state, offers, wrap-ups)."""
        user = as_uuid(agent_id)
        return Audience.of(users=[user] if user else [], teams=self.teams_of_agent(agent_id))

    def queue_audience(self, queue_id: str) -> Audience:
        """Who receives the events of this queue and of every contact in it."""
        return Audience.of(teams=self.teams_of_queue(queue_id))


def _def_agent_id(payload: dict[str, Any]) -> str:
    agent = payload.get("agent")
    return str(agent["id"]) if isinstance(agent, dict) else str(payload.get("agent_id") or "")


def _teams_and_queues(definition: dict[str, Any] | None) -> tuple[set[uuid.UUID], set[str]]:
    if definition is None:
        return set(), set()
    teams = {t for t in (as_uuid(str(x)) for x in definition.get("teams", ())) if t is not None}
    return teams, set(definition.get("queues") or {})


@dataclass
class _Step:
    kind: str  # "advance" | "command"
    at_us: int
    command: dict[str, Any] | None
    events: list[Event]


@dataclass
class _Record:
    event: Any  # a DomainEvent
    audience: Audience
    resync_teams: frozenset[uuid.UUID]  # their supervisors get a fresh snapshot (see Seen)


@dataclass
class _Write:
    """One request's part of a group commit: what it appends to the log, the events it records
    (with their audiences, in order), the snapshot due after it, and the future its caller
    awaits: resolved once the batch holding it is committed, failed if that batch is not."""

    entries: list[tuple[int, str, int, dict[str, Any] | None]]  # position, kind, at_us, command
    records: list[_Record]
    snapshot: tuple[int, dict[str, Any]] | None
    actor_id: uuid.UUID | None
    done: asyncio.Future[None]
    offers: list[tuple[str, int]] = field(default_factory=list)  # offers made: id, at (µs)


class StepNotPersisted(RuntimeError):
    """The group commit holding this request's routing step failed: nothing of it (nor of
    any step applied after it) is in the database, and the host reloads from the database
    before the next command. The request can be retried."""


class RoutingHost:
    def __init__(
        self,
        tenant_id: uuid.UUID,
        db: Database,
        bus: EventBus,
        *,
        snapshot_every: int = 1000,
        log_retention: timedelta = DEFAULT_RETENTION,
        settings: EngineSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tenant_id = tenant_id
        self.clock = clock  # wall clock, seconds since the epoch (injected by tests)
        self.db = db
        self.bus = bus
        self.snapshot_every = snapshot_every
        self.settings = settings or EngineSettings()
        # Serialises applying commands to the engine (in memory, no disk write under it).
        self.lock = asyncio.Lock()
        # Held while a batch is written, and by the compactor's deletes: never both at once.
        self.write_lock = asyncio.Lock()
        # Group commit: steps applied but not yet written, in order; the task writing them.
        self._queue: list[_Write] = []
        self._committer: asyncio.Task[None] | None = None
        self._tail: asyncio.Future[None] | None = None  # the last step submitted
        # Requests in `execute_with`: waiting for the lock, applying or waiting for their commit.
        self.backlog = 0
        # Prunes the log and snapshots restore no longer needs, after each snapshot.
        self.compactor = Compactor(db, tenant_id, self.write_lock, log_retention)
        self.engine = Engine(self.settings)
        self.directory = Directory()
        self.position = 0
        self.snapshot_position = 0
        self._last_us = 0
        self._broken = False
        self._timer: asyncio.Task[None] | None = None
        # Arrival instants (µs) of the offers' answers waiting for this host (see `_now`).
        self._answers: Counter[int] = Counter()
        # Post-commit steps moving late-sent offers' deadlines (see `_offers_sent`).
        self._sending: set[asyncio.Task[None]] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild the engine from the newest snapshot and the log entries after it."""
        session = self.db.session(self.tenant_id)
        try:
            snapshot = await session.scalar(
                select(RoutingSnapshot).order_by(RoutingSnapshot.position.desc()).limit(1)
            )
            engine = Engine(self.settings)
            directory = Directory()
            position = 0
            if snapshot is not None:
                # The host stores its own part next to the engine's records; the engine gets
                # exactly what it produced, but runs with the settings of this start.
                records = {k: v for k, v in snapshot.state.items() if k != SERVICE_KEY}
                engine = Engine.restore(records, settings=self.settings)
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
        directory.placed.clear()  # cards are for live viewers, not for a replay
        directory.arrived.clear()
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
            self.compactor.start()  # what a previous run left beyond the window

    async def close(self, *, snapshot: bool = True) -> None:
        for task in list(self._sending):
            # Nothing is lost: after a restart every pending offer is revoked and made again.
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self.compactor.stop()  # first: the closing snapshot starts no new run
        async with self.lock:
            await self._settle(reload=False)
            if not (snapshot and not self._broken and self.position > self.snapshot_position):
                return
            done = self._submit([], None, force_snapshot=True)
        await done
        await self.compactor.stop()

    @contextlib.asynccontextmanager
    async def consistent(self) -> AsyncIterator[RoutingHost]:
        """The engine exactly as committed, held still: every step applied so far is committed
        first, and no other can be applied until the block ends."""
        async with self.lock:
            await self._settle()
            yield self

    async def _settle(self, *, reload: bool = True) -> None:
        """Under the lock: wait until every step applied is committed (none can be added
        meanwhile); after a failed commit, rebuild from the database (`reload`)."""
        while self._committer is not None and not self._committer.done():
            await asyncio.shield(self._committer)
        if self._broken and reload:
            await self.load()

    # --- commands ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        # Monotonic per host, so the log's instants never go backwards (wall clocks can).
        wall = int(self.clock() * 1_000_000)
        if self._answers:
            # An offer's answer is waiting in line: time stands still at its arrival (no later
            # than ANSWER_HOLD_SECONDS ago), so no offer it may answer times out before it is
            # judged. Commands in between are handled at that instant.
            wall = min(wall, max(min(self._answers), wall - ANSWER_HOLD_US))
        self._last_us = max(wall, self._last_us, to_us(self.engine.now))
        return from_us(self._last_us)

    async def execute(
        self,
        command: Command,
        actor_id: uuid.UUID | None = None,
        *,
        advance_first: bool = True,
        after: Callable[[], None] | None = None,
    ) -> list[Event]:
        """Run one command; its events are committed and published before this returns.
        A refused command raises its RoutingError with nothing changed (timers may have fired).
        An offer's answer with `received_at` holds the tenant's clock at that instant until it
        is handled (see `_now`); the engine judges it at that instant."""

        async def just_this() -> list[Command]:
            return [command]

        received = getattr(command, "received_at", None)
        if received is None:
            return await self.execute_with(
                just_this, actor_id, advance_first=advance_first, after=after
            )
        held = to_us(received)
        self._answers[held] += 1
        try:
            return await self.execute_with(
                just_this, actor_id, advance_first=advance_first, after=after
            )
        finally:
            self._answers[held] -= 1
            if not self._answers[held]:
                del self._answers[held]

    async def execute_with(
        self,
        make: Callable[[], Awaitable[list[Command]]],
        actor_id: uuid.UUID | None = None,
        *,
        advance_first: bool = True,
        after: Callable[[], None] | None = None,
    ) -> list[Event]:
        """Run the commands `make` decides on while holding the lock, so that they are built
        from the state they apply to (e.g. an agent's definition merged with directory data
        read under the lock: no change can slip in between). Each is handled in turn; a
        refused one changes nothing and the first refusal is raised after the others are
        committed. Nothing to do: nothing happens, not even an advance (but the answer still
        waits for the steps already queued: `make` may have decided on them).
        `after` runs under the lock right after the commands, for a caller that answers with
        the state they left (e.g. the new contact's view): that state is committed when this
        returns, without waiting for the steps applied after it."""
        self.backlog += 1
        try:
            return await self._execute_with(make, actor_id, advance_first, after)
        finally:
            self.backlog -= 1

    def _unsettled(self) -> asyncio.Future[None] | None:
        return self._tail if self._tail is not None and not self._tail.done() else None

    async def _execute_with(
        self,
        make: Callable[[], Awaitable[list[Command]]],
        actor_id: uuid.UUID | None,
        advance_first: bool,
        after: Callable[[], None] | None,
    ) -> list[Event]:
        refused: RoutingError | None = None
        events: list[Event] = []
        done: asyncio.Future[None] | None
        async with self.lock:
            while True:
                if self._broken:
                    await self._settle()  # the failed batch's followers have failed too
                commands = await make()
                # A commit that failed while `make` awaited left the engine ahead of the
                # database: rebuild and decide again (nothing may apply on top of it).
                if not self._broken:
                    break
            steps: list[_Step] = []
            if commands:
                now = self._now()
                at_us = to_us(now)
                fired = self.engine.advance(now) if advance_first else []
                if fired:
                    steps.append(_Step("advance", at_us, None, fired))
                for command in commands:
                    try:
                        handled = self.engine.handle(command, now)
                    except RoutingError as error:
                        refused = refused or error
                        continue
                    events.extend(handled)
                    # An idle tick changes nothing worth replaying, nor do offers sent in time;
                    # any other command is logged.
                    if handled or not isinstance(command, Tick | OffersSent):
                        steps.append(_Step("command", at_us, command.to_dict(), handled))
            # No await from the check of `_broken` above to here: the step joins the queue of
            # the engine it was applied to.
            if steps:
                try:
                    done = self._submit(steps, actor_id)
                except BaseException:
                    self._broken = True  # applied but not queued: rebuild before the next
                    raise
            else:
                # Nothing to write, but the answer may rest on steps not yet committed.
                done = self._unsettled()
            if commands and after is not None:
                after()
        # Answered once on disk; the lock is free meanwhile for the next commands.
        if done is not None:
            await asyncio.shield(done)
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

    def _submit(
        self, steps: list[_Step], actor_id: uuid.UUID | None, *, force_snapshot: bool = False
    ) -> asyncio.Future[None]:
        """Under the lock, right after the steps were applied: follow their events (audiences
        are who saw a contact or agent just before an event and who sees it just after, so
        they are worked out in order, now), queue them for the next group commit and return
        the future resolved once they are committed."""
        directory = self.directory
        position = self.position
        entries: list[tuple[int, str, int, dict[str, Any] | None]] = []
        records: list[_Record] = []
        offers: list[tuple[str, int]] = []
        try:
            for step in steps:
                position += 1
                entries.append((position, step.kind, step.at_us, step.command))
                for event in step.events:
                    if isinstance(event, OfferCreated):
                        offers.append((event.offer_id, step.at_us))
                    seen = directory.observe_one(event)
                    records.append(_Record(to_domain(event), seen.audience, seen.resync_teams))
                directory.end_step()
            for card, audience in self._cards():
                records.append(_Record(card, audience, frozenset()))
        finally:
            directory.placed.clear()
            directory.arrived.clear()
        snapshot = None
        if force_snapshot or position - self.snapshot_position >= self.snapshot_every:
            state = {**self.engine.snapshot(), SERVICE_KEY: directory.service_state()}
            snapshot = (position, state)
            self.snapshot_position = position
        self.position = position
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Write(entries, records, snapshot, actor_id, done, offers))
        self._tail = done
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(
                self._commit_batches(), name=f"routing-commit-{self.tenant_id}"
            )
        return done

    async def _commit_batches(self) -> None:
        """Write what is queued, one transaction per batch: all the steps applied while the
        previous batch was being written (so a batch is a few milliseconds of commands), in
        the order they were applied. Each caller is answered, and the batch's events
        published, only after its commit. If a commit fails, every step of that batch and of
        those queued after it (applied on top of it) fails, and the host is marked broken: it
        reloads from the database before the next command (docs/adr/0015-group-commit.md)."""
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self.write_lock:
                    await self._write(batch)
            except BaseException as error:
                # From here to the end nothing awaits: no step can join the queue meanwhile.
                failed = batch + self._queue
                self._queue = []
                self._broken = True
                now = time.monotonic()
                log.exception(
                    "routing steps not persisted; reloading",
                    tenant=str(self.tenant_id),
                    write_lock_holders=[h.describe(now) for h in self.db.write_holders()],
                )
                for write in failed:
                    if not write.done.done():
                        lost = StepNotPersisted("routing step not persisted; retry")
                        lost.__cause__ = error
                        write.done.set_exception(lost)
                        write.done.exception()  # retrieved: a caller gone is no error
                if not isinstance(error, Exception):
                    raise
                return
            for write in batch:
                if not write.done.done():
                    write.done.set_result(None)
            self._offers_sent(batch)
            if any(write.snapshot is not None for write in batch):
                self.compactor.start()

    def _offers_sent(self, batch: list[_Write]) -> None:
        """The batch is committed and its events published: its offers have been sent to their
        agents now. Those made a while ago (the commit or the line before it was slow) get the
        whole offer timeout from now, in a step of their own (logged, so replay agrees); an
        agent is not punished for the server's delay. A task: the committer cannot wait for a
        step that it is itself to write."""
        sent_us = int(self.clock() * 1_000_000)
        late = tuple(
            offer_id
            for write in batch
            for offer_id, at_us in write.offers
            if sent_us - at_us >= OFFER_SEND_SLACK_US
        )
        if not late:
            return
        task = asyncio.create_task(
            self._extend(OffersSent(late, from_us(sent_us))), name=f"routing-sent-{self.tenant_id}"
        )
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _extend(self, command: OffersSent) -> None:
        try:
            await self.execute(command)
        except Exception:
            # The offers keep their first deadline: the agent may get less time, nothing else.
            log.exception(
                "routing: moving sent offers' deadlines failed", tenant=str(self.tenant_id)
            )

    async def _write(self, batch: list[_Write]) -> None:
        session = self.db.session(self.tenant_id)
        try:
            uow = UnitOfWork(session, self.bus, tenant_id=self.tenant_id)
            # The batch's log entries in one plain INSERT, like the events (eventlog.append):
            # as ORM objects their flush cost several times the insert, and it sent more than
            # one statement per batch (measured with `omnidesk bench server`).
            entries = [
                {
                    "tenant_id": self.tenant_id,
                    "position": position,
                    "kind": kind,
                    "at_us": at_us,
                    "command": command,
                }
                for write in batch
                for position, kind, at_us, command in write.entries
            ]
            if entries:
                await session.execute(insert(_ROUTING_LOG), entries)
            for write in batch:
                for record in write.records:
                    audience = record.audience
                    if record.resync_teams:
                        audience = replace(
                            audience,
                            scope_change_for=await _supervisors(session, record.resync_teams),
                        )
                    uow.record(record.event, audience, actor_id=write.actor_id)
                if write.snapshot is not None:
                    position, state = write.snapshot
                    session.add(RoutingSnapshot(position=position, state=state))
            await uow.commit()
        finally:
            await session.close()

    def _cards(self) -> list[tuple[ContactPlaced, Audience]]:
        """The whole card of each contact that took a new place in this step (moved queue,
        transferred, requeued, or arrived with an earlier place than its arrival): its events
        alone do not say where it now stands in line, and the viewers of its new queue may
        never have seen it. Sent after the step's events, with the contact's final state."""
        directory = self.directory
        engine = self.engine
        cards = []
        for contact_id in dict.fromkeys([*directory.placed, *directory.arrived]):
            try:
                status = engine.contact(contact_id)
            except RoutingError:
                continue  # it left routing in the same step
            if contact_id not in directory.placed and (
                status.queued_at.isoformat() == directory.arrived[contact_id]
            ):
                continue  # an arrival whose place is its arrival: its events say it all
            if not is_consult_leg(status) and status.queue_id is not None:
                audience = directory.queue_audience(status.queue_id)
                cards.append((ContactPlaced(**contact_card(status)), audience))
        return cards

    async def _run_timers(self) -> None:
        while True:
            # Clock-based rules are retried (a Tick) at least every tick_seconds.
            deadline = self.engine.next_deadline()
            delay = self.settings.tick_seconds
            if deadline is not None:
                delay = min(delay, max(0.0, (deadline - self._now()).total_seconds()))
            await asyncio.sleep(delay)
            try:
                await self.tick()
            except Exception:
                log.exception("routing timer step failed", tenant=str(self.tenant_id))


async def _supervisors(session: AsyncSession, teams: frozenset[uuid.UUID]) -> frozenset[uuid.UUID]:
    rows = await session.scalars(
        select(TeamMember.user_id).where(
            TeamMember.team_id.in_(teams), TeamMember.role == TeamRole.SUPERVISOR
        )
    )
    return frozenset(rows)
