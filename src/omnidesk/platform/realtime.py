"""The realtime protocol over WebSocket (docs/adr/0003-realtime-protocol.md).

client → {"type": "register", "last_event_id": null | N}
server → {"type": "snapshot", "last_event_id": S, "state": {...}}     (when null, unknown or resync)
server → {"type": "event", "id": N, ...}             (in order, each exactly once)
client → {"type": "ping"}  server → {"type": "pong", "last_event_id": N}
server → {"type": "error", "status": 4xx, "detail": "..."} then close 44xx

Ids are the tenant's gapless event sequence. A connection subscribes to the bus *before* it reads
the snapshot or replays, keeps a cursor (the last id it has dealt with, sent or filtered), drops
anything at or below the cursor and fills any hole above it from the event log: so nothing is
missed and nothing is sent twice, whatever order the bus delivers in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any, Protocol

from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.models import User
from omnidesk.platform import eventlog
from omnidesk.platform.auth.models import AuthSession
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.service import principal_of
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, utcnow
from omnidesk.platform.errors import DomainError
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.http import authenticate, services_of
from omnidesk.platform.logging import get_logger
from omnidesk.platform.services import AppServices

log = get_logger(__name__)
REGISTER_TIMEOUT = 15.0


class SnapshotProvider(Protocol):
    """One section of the snapshot. A provider whose state is not read from the database (the
    routing engine, in memory) also has `hold(principal)`: an async context manager that keeps
    that state still, held while every section and the last event id are read."""

    name: str

    async def build(self, session: AsyncSession, principal: Principal) -> Any: ...


class _Closed(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Hub:
    """Fans committed events out to the connections of their tenant."""

    def __init__(self, services: AppServices, providers: list[SnapshotProvider]) -> None:
        self.services = services
        self.providers = providers
        self._connections: dict[uuid.UUID, set[Connection]] = {}
        self._subscription = services.bus.subscribe(self._on_event)

    def _on_event(self, published: PublishedEvent) -> None:
        for connection in list(self._connections.get(published.tenant_id, ())):
            connection.offer(("event", published))

    def attach(self, connection: Connection) -> None:
        self._connections.setdefault(connection.principal.tenant_id, set()).add(connection)
        self.services.metrics.realtime_clients.inc()

    def detach(self, connection: Connection) -> None:
        peers = self._connections.get(connection.principal.tenant_id)
        if peers and connection in peers:
            peers.discard(connection)
            self.services.metrics.realtime_clients.dec()

    def close(self) -> None:
        self._subscription.close()


class Connection:
    def __init__(self, hub: Hub, websocket: WebSocket, principal: Principal) -> None:
        self.hub = hub
        self.websocket = websocket
        self.principal = principal
        self.cursor = 0
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
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

    def offer(self, item: tuple[str, Any]) -> None:
        if self._overflowed:
            return
        if self.inbox.qsize() >= self._limit:
            # A client that cannot keep up is cut off; it reconnects with its last id and the
            # log replays what it missed, so memory stays bounded and nothing is lost.
            self._overflowed = True
            self.inbox.put_nowait(("overflow", None))
            return
        self.inbox.put_nowait(item)

    async def send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def send_snapshot(self, reason: str) -> None:
        db = self.hub.services.db
        async with contextlib.AsyncExitStack() as held:
            # Held before the database session is opened, as writers take them: the state of a
            # holding provider and the last event id then describe the same instant (no event of
            # that provider can commit in between).
            for provider in self.hub.providers:
                hold = getattr(provider, "hold", None)
                if hold is not None:
                    await held.enter_async_context(hold(self.principal))
            async with db.snapshot_session(self.principal.tenant_id) as session:
                state = {p.name: await p.build(session, self.principal) for p in self.hub.providers}
                seq = await eventlog.last_seq(session, self.principal.tenant_id)
        self.cursor = seq
        await self.send(
            {"type": "snapshot", "reason": reason, "last_event_id": seq, "state": state}
        )

    async def replay(self, until: int | None = None) -> None:
        """Deal with every logged event after the cursor (up to `until`), in order."""
        page = self.hub.services.settings.realtime_page_size
        while True:
            async with self.hub.services.db.snapshot_session(self.principal.tenant_id) as session:
                rows = await eventlog.read_after(session, self.cursor, until=until, limit=page)
                events = [row.to_published() for row in rows]
            for published in events:
                # deliver() skips what a snapshot, sent while handling an earlier one, covered.
                await self.deliver(published)
            if len(events) < page:
                return

    async def deliver(self, published: PublishedEvent) -> None:
        if published.seq <= self.cursor:
            return
        if published.seq > self.cursor + 1:
            await self.replay(until=published.seq - 1)
            if published.seq <= self.cursor:
                return
        self.cursor = published.seq
        if self.principal.sees(published.audience):
            await self.send(published.to_wire())
        if self.principal.user_id in published.audience.scope_change_for:
            self.principal = await self._reload_principal()
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

            user = await session.get(User, old.user_id)
            if user is None or not user.active:
                raise _Closed(4401, "the account is disabled")
            return principal_of(
                user,
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


async def _authenticate(websocket: WebSocket, services: AppServices) -> Principal:
    session = services.db.session(SYSTEM)
    try:
        principal = await authenticate(websocket, session)
        await session.commit()
        return principal
    finally:
        await session.close()


async def serve(websocket: WebSocket) -> None:
    services = services_of(websocket)
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    connection: Connection | None = None
    reader: asyncio.Task[None] | None = None
    try:
        try:
            principal = await _authenticate(websocket, services)
        except DomainError as exc:
            raise _Closed(4000 + exc.status, exc.detail) from exc
        if websocket.headers.get("authorization") is None and not _origin_allowed(
            websocket, services
        ):
            raise _Closed(4403, "origin not allowed")
        last = await _register_message(websocket)
        connection = Connection(hub, websocket, principal)
        hub.attach(connection)  # before any read: see the module docstring
        async with services.db.snapshot_session(principal.tenant_id) as session:
            head = await eventlog.last_seq(session, principal.tenant_id)
        if last is None:
            await connection.send_snapshot("register")
        elif last > head:
            await connection.send_snapshot("unknown_event_id")
        else:
            connection.cursor = last
            await connection.replay()
        reader = asyncio.create_task(_read_client(websocket, connection))
        while True:
            kind, item = await connection.next_item()
            if kind == "event":
                await connection.deliver(item)
            elif kind == "ping":
                await connection.send({"type": "pong", "last_event_id": connection.cursor})
            elif kind == "overflow":
                raise _Closed(4408, "client too slow; reconnect with your last event id")
            elif kind == "bad":
                raise _Closed(4400, str(item))
            elif kind == "gone":
                return
            elif kind == "expired":
                raise _Closed(4401, "the session has expired; log in again")
    except _Closed as closed:
        with contextlib.suppress(Exception):
            await websocket.send_text(
                json.dumps({"type": "error", "status": closed.code - 4000, "detail": closed.detail})
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
