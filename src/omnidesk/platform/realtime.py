"""The realtime protocol over WebSocket (docs/adr/0004-realtime-protocol.md).

client → {"type": "register", "last_event_id": null | N}
server → {"type": "snapshot", "last_event_id": S, "state": {...}}     (when null, unknown or resync)
server → {"type": "event", "id": N, ...}             (in order, each exactly once)
client → {"type": "ping"}  server → {"type": "pong", "last_event_id": N}
server → {"type": "error", "status": 4xx, "detail": "..."} then close 44xx

Ids are the tenant's gapless event sequence. The hub hands each connection the events it may see,
in order and each once (realtime_fanout: the tenant's head, holes filled from the log once per
tenant). A connection is attached to the hub *before* it reads its snapshot or replays, and
drops whatever arrives at or below the position that snapshot or replay brought it to: so
nothing is missed and nothing is sent twice, whatever order the bus delivers in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform import eventlog
from omnidesk.platform.auth.models import AuthSession
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.service import active_identity
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, utcnow
from omnidesk.platform.errors import DomainError
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.http import authenticated, services_of
from omnidesk.platform.logging import get_logger
from omnidesk.platform.realtime_fanout import Outgoing, TenantFanout
from omnidesk.platform.realtime_snapshot import TenantSnapshots
from omnidesk.platform.services import AppServices

log = get_logger(__name__)
REGISTER_TIMEOUT = 15.0


class SnapshotProvider(Protocol):
    """One section of the snapshot. A provider whose state is not read from the database (the
    routing engine, in memory) also has `hold(principal)`: an async context manager that keeps
    that state still, held while every section and the last event id are read.

    Snapshots are built in rounds per tenant (realtime_snapshot): `hold` keeps the *tenant's*
    state still (it is entered once for several principals of the tenant), and `build` may
    depend on the principal only through what it may see (every admin gets the same section,
    built once for all of them) — unless the provider says `personal = True`: its section is
    the user's own (their messages, their read markers), and every user gets a view of their
    own."""

    name: str

    async def build(self, session: AsyncSession, principal: Principal) -> Any: ...


class PresenceHook(Protocol):
    """Told when a user's first realtime socket of a tenant opens and when their last one
    closes (a browser closed, a network lost): what a domain makes of it (routing: take an agent
    out after a grace period) is the domain's. Called synchronously from the hub: schedule the
    work, never block."""

    def first_opened(self, principal: Principal) -> None: ...

    def last_closed(self, principal: Principal) -> None: ...


class _Closed(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class _TenantLog:
    """A tenant's event log, as the fan-out reads it when the bus leaves a hole."""

    def __init__(self, services: AppServices, tenant_id: uuid.UUID) -> None:
        self.services = services
        self.tenant_id = tenant_id

    async def head(self) -> int:
        async with self.services.db.snapshot_session(self.tenant_id) as session:
            return await eventlog.last_seq(session, self.tenant_id)

    async def read(self, after: int, until: int) -> list[PublishedEvent]:
        page = self.services.settings.realtime_page_size
        async with self.services.db.snapshot_session(self.tenant_id) as session:
            rows = await eventlog.read_after(session, after, until=until, limit=page)
            return [row.to_published() for row in rows]


class Hub:
    """Fans committed events out to the connections that may see them, and builds their
    snapshots; both per tenant (realtime_fanout, realtime_snapshot)."""

    def __init__(self, services: AppServices, providers: list[SnapshotProvider]) -> None:
        self.services = services
        self.providers = providers
        self._fanouts: dict[uuid.UUID, TenantFanout] = {}
        self._snapshots: dict[uuid.UUID, TenantSnapshots] = {}
        self._attached: set[Connection] = set()
        # Open sockets per (tenant, user), for the presence hooks.
        self._sockets: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
        self._presence: list[PresenceHook] = []
        # Bounds the sockets' own database work (authenticating, replaying): see `db_turn`.
        self._turns = asyncio.Semaphore(services.settings.realtime_db_turns)
        self.turns_waiting = 0  # for tests and benchmarks: sockets waiting for a turn
        self._subscription = services.bus.subscribe(self._on_event)

    @contextlib.asynccontextmanager
    async def db_turn(self) -> AsyncIterator[None]:
        """One of `realtime_db_turns` turns for a socket's own database work: authenticating
        it, reading the log for its replay. Why: in a reconnect storm every socket does that
        work at once; each piece is a few queries whose rows are decoded in the one event
        loop, so a hundred at once finish no sooner, they only make each hold its pooled
        connection for the CPU time of all the others: replays drained the pool and sockets
        (and commands) failed with the pool's TimeoutError. A turn is taken before any
        connection (nobody holds one while waiting here, and waiting has no timeout) and
        given back after the connection is returned; turns are never nested."""
        self.turns_waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self.turns_waiting -= 1
        try:
            yield
        finally:
            self._turns.release()

    @contextlib.asynccontextmanager
    async def log_session(self, tenant_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A snapshot session for a connection's read of the event log, in a turn."""
        async with self.db_turn(), self.services.db.snapshot_session(tenant_id) as session:
            yield session

    def on_presence(self, hook: PresenceHook) -> None:
        self._presence.append(hook)

    def connected(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Whether the user has a realtime socket of the tenant open on this node."""
        return self._sockets.get((tenant_id, user_id), 0) > 0

    def _on_event(self, published: PublishedEvent) -> None:
        fanout = self._fanouts.get(published.tenant_id)
        if fanout is not None:  # nobody of that tenant is connected
            fanout.publish(published)

    def fanout(self, tenant_id: uuid.UUID) -> TenantFanout | None:
        return self._fanouts.get(tenant_id)

    def snapshots(self, tenant_id: uuid.UUID) -> TenantSnapshots:
        found = self._snapshots.get(tenant_id)
        if found is None:
            found = TenantSnapshots(tenant_id, self.services.db, self.providers)
            self._snapshots[tenant_id] = found
        return found

    def head(self, tenant_id: uuid.UUID) -> int | None:
        """Every event of the tenant up to this id has been handed to its connections."""
        fanout = self._fanouts.get(tenant_id)
        return None if fanout is None else fanout.head

    async def attach(self, connection: Connection) -> None:
        """Index the connection, then wait until the tenant's head is known: every event after
        it that the connection may see will be offered to it."""
        tenant_id = connection.principal.tenant_id
        fanout = self._fanouts.get(tenant_id)
        if fanout is None:
            recent = self.services.settings.realtime_replay_buffer
            fanout = TenantFanout(tenant_id, _TenantLog(self.services, tenant_id), recent=recent)
            self._fanouts[tenant_id] = fanout
        fanout.add(connection)
        self._attached.add(connection)
        self.services.metrics.realtime_clients.inc()
        self._count(connection.principal, +1)
        await fanout.ready()

    def reindex(self, connection: Connection) -> None:
        """The connection's principal changed: index it by the new one."""
        fanout = self._fanouts.get(connection.principal.tenant_id)
        if fanout is not None and fanout.remove(connection):
            fanout.add(connection)

    def unindex(self, connection: Connection) -> None:
        """Offer the connection nothing more (it is being cut off)."""
        fanout = self._fanouts.get(connection.principal.tenant_id)
        if fanout is not None:
            fanout.remove(connection)

    def detach(self, connection: Connection) -> None:
        if connection not in self._attached:
            return
        self._attached.discard(connection)
        self.services.metrics.realtime_clients.dec()
        self._count(connection.principal, -1)
        tenant_id = connection.principal.tenant_id
        fanout = self._fanouts.get(tenant_id)
        if fanout is not None:
            fanout.remove(connection)
            if not fanout:
                # Nobody left to follow the tenant: the next connection reads its head afresh.
                fanout.close()
                del self._fanouts[tenant_id]

    def _count(self, principal: Principal, step: int) -> None:
        key = (principal.tenant_id, principal.user_id)
        count = self._sockets.get(key, 0) + step
        if count > 0:
            self._sockets[key] = count
        else:
            self._sockets.pop(key, None)
        if (step > 0 and count == 1) or (step < 0 and count == 0):
            for hook in self._presence:
                try:
                    (hook.first_opened if step > 0 else hook.last_closed)(principal)
                except Exception:  # one hook's failure must not break the socket's life
                    log.exception("realtime: a presence hook failed")

    def connections(self, tenant_id: uuid.UUID | None = None) -> list[Connection]:
        return [c for c in self._attached if tenant_id in (None, c.principal.tenant_id)]

    def close(self) -> None:
        self._subscription.close()
        for fanout in self._fanouts.values():
            fanout.close()
        for snapshots in self._snapshots.values():
            snapshots.close()


class Connection:
    def __init__(self, hub: Hub, websocket: WebSocket, principal: Principal) -> None:
        self.hub = hub
        self.websocket = websocket
        self.principal = principal
        # The id this client has been brought up to: every event up to it that it may see has
        # been sent (or was in its snapshot), so a client resuming from it misses nothing. It
        # moves with each event sent, and to the tenant's head whenever the inbox is empty:
        # events between that this client was not offered are ones it may not see.
        self.position = 0
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        # Events the hub offered this connection (each one a queue put and a wake-up).
        self.wakeups = 0
        self._limit = hub.services.settings.realtime_queue_size
        self._overflowed = False

    async def next_item(self) -> tuple[str, Any]:
        """The next inbox item, or ("expired", None) when the credential's lifetime ends."""
        expires_at = self.principal.expires_at
        if expires_at is None:
            return await self.inbox.get()
        remaining = (expires_at - utcnow()).total_seconds()
        if remaining <= 0:
            return ("expired", None)
        try:
            return await asyncio.wait_for(self.inbox.get(), remaining)
        except TimeoutError:
            return ("expired", None)

    def offer(self, item: Outgoing) -> None:
        """Called by the hub for each event this connection may see; never blocks."""
        self.wakeups += 1
        if self._overflowed:
            return
        if self.inbox.qsize() >= self._limit:
            # A client that cannot keep up is cut off; it reconnects with its last id and the
            # log replays what it missed, so memory stays bounded and nothing is lost. What
            # waits is dropped and the hub offers it nothing more: it costs nobody anything.
            self._overflowed = True
            while not self.inbox.empty():
                self.inbox.get_nowait()
            self.inbox.put_nowait(("overflow", None))
            self.hub.unindex(self)
            return
        self.inbox.put_nowait(("event", item))

    def fail(self) -> None:
        """The hub lost the tenant's order (the log could not be read): close, to be resumed."""
        self.inbox.put_nowait(("failed", None))

    async def send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def start(self, last: int | None) -> None:
        """Attach to the hub, then bring the client up to date: a snapshot, or a replay of
        what it missed after `last`."""
        await self.hub.attach(self)  # before any read: see the module docstring
        if last is None:
            await self.send_snapshot("register")
        elif last > await self._head_for(last):
            await self.send_snapshot("unknown_event_id")
        else:
            self.position = last
            await self.replay()

    async def _head_for(self, last: int) -> int:
        head = self.hub.head(self.principal.tenant_id)
        if head is not None and last <= head:
            return head
        # The hub may lag behind the log (an event committed, not yet published).
        async with self.hub.log_session(self.principal.tenant_id) as session:
            return await eventlog.last_seq(session, self.principal.tenant_id)

    async def pump(self) -> None:
        """Send what the inbox holds until the client leaves or has to be cut off."""
        while True:
            kind, item = await self.next_item()
            if kind == "event":
                await self.deliver(item)
            elif kind == "ping":
                await self.send({"type": "pong", "last_event_id": self.caught_up()})
            elif kind == "overflow":
                raise _Closed(4408, "client too slow; reconnect with your last event id")
            elif kind == "bad":
                raise _Closed(4400, str(item))
            elif kind == "gone":
                return
            elif kind == "expired":
                raise _Closed(4401, "the session has expired; log in again")
            elif kind == "failed":
                raise _Closed(1011, "server error; reconnect with your last event id")

    def caught_up(self) -> int:
        """The position, moved to the tenant's head if nothing offered waits to be sent: every
        event up to the head that this client may see was offered to it (it was attached
        before), and all of those are sent."""
        if self.inbox.empty():
            head = self.hub.head(self.principal.tenant_id)
            if head is not None and head > self.position:
                self.position = head
        return self.position

    async def send_snapshot(self, reason: str) -> None:
        snapshot = await self.hub.snapshots(self.principal.tenant_id).snapshot(self.principal)
        self.position = snapshot.last_event_id
        await self.websocket.send_text(snapshot.message(reason))

    async def replay(self) -> None:
        """Deal with every event after the position: from the hub's recent events if it still
        has them all, else from the log; in order."""
        fanout = self.hub.fanout(self.principal.tenant_id)
        recent = None if fanout is None else fanout.recent_after(self.position)
        if fanout is not None and recent is not None:
            head = fanout.head
            for item in recent:
                await self.deliver(item)
            # Later events are offered to this (attached) connection through its inbox.
            self.position = max(self.position, head or 0)
            return
        page = self.hub.services.settings.realtime_page_size
        while True:
            async with self.hub.log_session(self.principal.tenant_id) as session:
                rows = await eventlog.read_after(session, self.position, limit=page)
                events = [row.to_published() for row in rows]
            for published in events:
                await self.deliver(Outgoing(published))
            if len(events) < page:
                return

    async def deliver(self, item: Outgoing) -> None:
        if item.seq <= self.position:
            return  # covered by the snapshot or the replay
        self.position = item.seq
        audience = item.event.audience
        if self.principal.sees(audience):
            await self.websocket.send_text(item.text)
        if self.principal.user_id in audience.scope_change_for:
            self.principal = await self._reload_principal()
            self.hub.reindex(self)  # before the snapshot is read, as when registering
            await self.send_snapshot("scope_changed")

    async def _reload_principal(self) -> Principal:
        session = self.hub.services.db.session(SYSTEM)
        try:
            old = self.principal
            if old.session_id is not None:
                found = await session.get(AuthSession, old.session_id)
                if found is None:
                    raise _Closed(4401, "the session has ended")
            session.info[SCOPE_KEY] = old.tenant_id
            try:
                identity = await active_identity(session, self.hub.services.identities, old.user_id)
            except DomainError as exc:
                raise _Closed(4401, exc.detail) from exc
            return Principal.of(
                identity,
                session_id=old.session_id,
                csrf_token=old.csrf_token,
                token_id=old.token_id,
                expires_at=old.expires_at,
            )
        finally:
            await session.close()


async def _register_message(websocket: WebSocket) -> int | None:
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), REGISTER_TIMEOUT)
    except TimeoutError as exc:
        raise _Closed(4408, "no register message received") from exc
    try:
        message = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _Closed(4400, "messages must be JSON") from exc
    if not isinstance(message, dict) or message.get("type") != "register":
        raise _Closed(4400, 'the first message must be {"type": "register", "last_event_id": ...}')
    extra = set(message) - {"type", "last_event_id"}
    if extra:
        raise _Closed(4400, f"unknown fields in register: {sorted(extra)}")
    last = message.get("last_event_id")
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 0):
        raise _Closed(4400, "last_event_id must be null or a non-negative integer")
    return last


def _origin_allowed(websocket: WebSocket, services: AppServices) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    allowed = services.settings.allowed_origins
    if allowed:
        return origin in allowed
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def serve(websocket: WebSocket) -> None:
    services = services_of(websocket)
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    connection: Connection | None = None
    reader: asyncio.Task[None] | None = None
    try:
        try:
            async with hub.db_turn():  # a storm of sockets must not drain the pool
                principal = await authenticated(websocket)
        except DomainError as exc:
            raise _Closed(4000 + exc.status, exc.detail) from exc
        if websocket.headers.get("authorization") is None and not _origin_allowed(
            websocket, services
        ):
            raise _Closed(4403, "origin not allowed")
        last = await _register_message(websocket)
        connection = Connection(hub, websocket, principal)
        await connection.start(last)
        reader = asyncio.create_task(_read_client(websocket, connection))
        await connection.pump()
    except _Closed as closed:
        with contextlib.suppress(Exception):
            # 44xx carry their HTTP status; 1011 (a server error) is a 500.
            status = closed.code - 4000 if closed.code >= 4000 else 500
            await websocket.send_text(
                json.dumps({"type": "error", "status": status, "detail": closed.detail})
            )
            await websocket.close(code=closed.code, reason=closed.detail[:120])
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        if reader is not None:
            reader.cancel()
        if connection is not None:
            hub.detach(connection)


async def _read_client(websocket: WebSocket, connection: Connection) -> None:
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                message = json.loads(raw)
            except json.JSONDecodeError:
                connection.inbox.put_nowait(("bad", "messages must be JSON"))
                return
            if isinstance(message, dict) and message.get("type") == "ping":
                connection.inbox.put_nowait(("ping", None))
            else:
                connection.inbox.put_nowait(("bad", "unknown message; expected ping"))
                return
    except (WebSocketDisconnect, RuntimeError):
        connection.inbox.put_nowait(("gone", None))
