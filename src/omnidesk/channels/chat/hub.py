"""Visitors' sockets: the realtime protocol's register / snapshot / resume-by-id for one
conversation (docs/realtime.md), over `/api/v1/chat/widget/{key}/socket`.

Ids are the tenant's event sequence numbers (the events of the visitor's conversation). A
socket is indexed under its conversation *before* it reads its snapshot or replay; whenever an
event of that conversation is published it reads the conversation's events after its position
from the log (on the subject index). Sequence numbers are handed out in commit order, so when
one is published every earlier one is readable: reading "after my position" never leaves a
hole, and an event published late or twice finds nothing new. So a reconnect with the last id
continues with no missed and no doubled message, whatever order the bus delivers in.

Ephemeral things (typing, queue position and estimated wait) are not events: they are pushed
to the sockets of the conversation in memory and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from omnidesk.channels.chat.widget import WidgetService, messages_in
from omnidesk.channels.conversations.adapter import Account, StatusUpdate
from omnidesk.platform import eventlog
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import utcnow
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import Routing

log = get_logger(__name__)
TYPING_SECONDS = 6.0  # a typing indicator lapses unless renewed
NO_CONTACT: dict[str, Any] = {"state": "none"}
PAGE = 500  # events read at a time when catching up
VISIBLE_EVENTS = (
    "conversation.message_added",
    "conversation.closed",
    "conversation.contact_opened",
)


@dataclass(frozen=True)
class _Page:
    events: list[PublishedEvent]
    messages: dict[str, dict[str, Any]]  # the visitor's view of the messages added, by id


class VisitorSocket:
    def __init__(
        self,
        hub: VisitorHub,
        websocket: WebSocket,
        account: Account,
        conversation_id: uuid.UUID,
        contact_id: str | None,
    ) -> None:
        self.hub = hub
        self.websocket = websocket
        self.account = account
        self.conversation_id = conversation_id
        self.contact_id = contact_id
        self.position = 0
        self.dirty = True
        self.wake = asyncio.Event()
        self.outbox: deque[dict[str, Any]] = deque(maxlen=100)
        self.queue_state: dict[str, Any] | None = None

    def changed(self) -> None:
        self.dirty = True
        self.wake.set()

    def push(self, message: dict[str, Any]) -> None:
        self.outbox.append(message)
        self.wake.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def start(self, last: int | None) -> None:
        """A snapshot (no id, or one the log does not have) or the events after `last`."""
        head = await self.hub.head(self.account.tenant_id)
        if last is None or last > head:
            await self.snapshot("register" if last is None else "unknown_event_id")
        else:
            self.position = last
            await self.catch_up()
        await self.send({"type": "ready", "last_event_id": self.position})
        await self.queue()  # where the visitor stands, at once

    async def snapshot(self, reason: str) -> None:
        db = self.hub.widgets.service.db
        # The head and the messages in one transaction: every message up to `head`, none after.
        async with db.snapshot_session(self.account.tenant_id) as session:
            head = await eventlog.last_seq(session, self.account.tenant_id)
            messages = await messages_in(session, self.conversation_id)
        self.position = head
        await self.send(
            {
                "type": "snapshot",
                "reason": reason,
                "last_event_id": head,
                "messages": messages,
            }
        )
        await self._delivered(messages)

    async def catch_up(self) -> None:
        self.dirty = False
        while True:
            page = await self._read_after()
            sent: list[dict[str, Any]] = []
            for record in page.events:
                if record.seq <= self.position:
                    continue
                self.position = record.seq
                if record.type == "conversation.message_added":
                    message = page.messages.get(record.payload.get("message_id", ""))
                    if message is not None:
                        await self.send(
                            {"type": "event", "id": record.seq, "event": "message", "data": message}
                        )
                        sent.append(message)
                elif record.type == "conversation.closed":
                    await self.send(
                        {"type": "event", "id": record.seq, "event": "closed", "data": {}}
                    )
                elif record.type == "conversation.contact_opened":
                    self.contact_id = record.payload.get("contact_id")
            await self._delivered(sent)
            if len(page.events) < PAGE:
                return

    async def _read_after(self) -> _Page:
        """The conversation's events after the position and the visitor's view of the messages
        they add, in one read that never waits for (or holds up) a writer."""
        db = self.hub.widgets.service.db
        async with db.read_session(self.account.tenant_id) as session:
            records = await eventlog.read_subject_after(
                session, "conversation", str(self.conversation_id), self.position, limit=PAGE
            )
            events = [r.to_published() for r in records]
            wanted = [
                uuid.UUID(e.payload["message_id"])
                for e in events
                if e.type == "conversation.message_added" and e.payload.get("kind") == "message"
            ]
            found = await messages_in(session, self.conversation_id, wanted) if wanted else []
        return _Page(events, {m["id"]: m for m in found})

    async def _delivered(self, messages: Iterable[dict[str, Any]]) -> None:
        """Agents' messages that reached the browser are `delivered`."""
        for message in messages:
            if message["direction"] == "outbound" and message["status"] in ("queued", "sent"):
                await self.hub.status(self.account, message["id"], "delivered")

    async def queue(self) -> None:
        """The contact's place in line and estimated wait, now (the hub's ticker follows them
        for every waiting socket at once)."""
        states = await self.hub.queue_states(self.account.tenant_id, [self.contact_id])
        self.queue_changed(states.get(self.contact_id or "", NO_CONTACT))

    def queue_changed(self, state: dict[str, Any]) -> None:
        if state != self.queue_state:
            self.queue_state = state
            self.push({"type": "queue", **state})

    async def pump(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            if self.dirty:
                contact = self.contact_id
                await self.catch_up()
                if self.contact_id != contact:  # a new round: where it stands now
                    await self.queue()
            while self.outbox:
                await self.send(self.outbox.popleft())

    async def read_client(self) -> None:
        """typing, read receipts and pings from the widget."""
        while True:
            raw = await self.websocket.receive_text()
            try:
                message = json.loads(raw)
                kind = message.get("type")
            except (ValueError, AttributeError):
                self.push(
                    {"type": "error", "status": 400, "detail": "messages must be JSON objects"}
                )
                continue
            if kind == "ping":
                self.push({"type": "pong", "last_event_id": self.position})
            elif kind == "typing":
                self.hub.visitor_typing(self.conversation_id, bool(message.get("active")))
            elif kind == "read":
                ids = message.get("message_ids")
                if isinstance(ids, list):
                    await self.hub.read(self.account, self.conversation_id, ids[:200])
            else:
                self.push({"type": "error", "status": 400, "detail": f"unknown type {kind!r}"})


class VisitorHub:
    def __init__(
        self,
        widgets: WidgetService,
        bus: EventBus,
        routing: Routing,
        *,
        queue_interval: float = 3.0,
    ) -> None:
        self.widgets = widgets
        self.routing = routing
        self.queue_interval = queue_interval
        self._sockets: dict[uuid.UUID, set[VisitorSocket]] = {}
        self._typing: dict[uuid.UUID, float] = {}
        self._subscription = bus.subscribe(self._on_event)
        self._ticker: asyncio.Task[None] | None = None
        # Benchmarks and tests observe deliveries here (no cost when None).
        self.on_sent: Callable[[uuid.UUID, dict[str, Any]], None] | None = None

    def _on_event(self, published: PublishedEvent) -> None:
        if published.subject_type != "conversation" or published.type not in VISIBLE_EVENTS:
            return
        with contextlib.suppress(ValueError):
            for socket in self._sockets.get(uuid.UUID(published.subject_id), ()):
                socket.changed()

    def attach(self, socket: VisitorSocket) -> None:
        self._sockets.setdefault(socket.conversation_id, set()).add(socket)

    def detach(self, socket: VisitorSocket) -> None:
        sockets = self._sockets.get(socket.conversation_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[socket.conversation_id]

    def count(self) -> int:
        return sum(len(s) for s in self._sockets.values())

    def push(self, conversation_id: uuid.UUID, message: dict[str, Any]) -> int:
        sockets = self._sockets.get(conversation_id, set())
        for socket in sockets:
            socket.push(message)
        return len(sockets)

    # --- typing ---------------------------------------------------------------------------

    def visitor_typing(self, conversation_id: uuid.UUID, active: bool) -> None:
        if active:
            self._typing[conversation_id] = time.monotonic() + TYPING_SECONDS
        else:
            self._typing.pop(conversation_id, None)

    def is_typing(self, conversation_id: uuid.UUID) -> bool:
        until = self._typing.get(conversation_id)
        if until is None or until < time.monotonic():
            self._typing.pop(conversation_id, None)
            return False
        return True

    # --- reads ----------------------------------------------------------------------------

    async def head(self, tenant_id: uuid.UUID) -> int:
        async with self.widgets.service.db.read_session(tenant_id) as session:
            return await eventlog.last_seq(session, tenant_id)

    async def queue_states(
        self, tenant_id: uuid.UUID, contact_ids: Iterable[str | None]
    ) -> dict[str, dict[str, Any]]:
        """Place in line and estimated wait of contacts, in one read of routing."""
        wanted = {c for c in contact_ids if c}
        if not wanted:
            return {}

        def read(r: Any) -> dict[str, dict[str, Any]]:
            states: dict[str, dict[str, Any]] = {}
            for contact_id in wanted:
                status = r.contact(contact_id)
                if status is None:
                    states[contact_id] = NO_CONTACT
                elif status.state != "waiting":
                    states[contact_id] = {"state": status.state}
                else:
                    estimate = r.wait_estimate(contact_id)
                    states[contact_id] = {
                        "state": "waiting",
                        "position": estimate.position,
                        "estimated_wait_seconds": estimate.estimated_wait_seconds,
                    }
            return states

        return await self.routing.read(tenant_id, read)

    # --- the queue ticker -----------------------------------------------------------------

    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick_forever(), name="chat-queue-ticker")

    async def stop(self) -> None:
        self._subscription.close()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker

    async def tick(self) -> None:
        """Every connected visitor's place in line, one routing read per tenant (not one per
        socket): a thousand waiting visitors cost a handful of lock holds per interval."""
        now = time.monotonic()
        for conversation_id in [c for c, until in self._typing.items() if until < now]:
            del self._typing[conversation_id]  # lapsed indicators nobody asked about
        by_tenant: dict[uuid.UUID, list[VisitorSocket]] = {}
        for sockets in self._sockets.values():
            for socket in sockets:
                by_tenant.setdefault(socket.account.tenant_id, []).append(socket)
        for tenant_id, group in by_tenant.items():
            states = await self.queue_states(tenant_id, (s.contact_id for s in group))
            for socket in group:
                socket.queue_changed(states.get(socket.contact_id or "", NO_CONTACT))

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.queue_interval)
            try:
                await self.tick()
            except Exception:
                log.exception("chat.queue_tick_failed")

    # --- statuses -------------------------------------------------------------------------

    async def status(self, account: Account, message_id: str, status: str) -> None:
        update = StatusUpdate(external_id=message_id, status=status, at=utcnow())  # type: ignore[arg-type]
        await self.widgets.service.apply_status(account, update)

    async def read(self, account: Account, conversation_id: uuid.UUID, ids: list[Any]) -> None:
        """Read receipts: only agents' messages of this visitor's own conversation."""
        wanted: list[uuid.UUID] = []
        for raw in ids:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                wanted.append(uuid.UUID(str(raw)))
        if not wanted:
            return
        for message in await self.widgets.messages(account, conversation_id, wanted):
            if message["direction"] == "outbound" and message["status"] != "read":
                await self.status(account, message["id"], "read")


async def run(socket: VisitorSocket, last: int | None) -> None:
    """Serve one registered socket until it closes."""
    hub = socket.hub
    hub.attach(socket)  # before anything is read: nothing published meanwhile is missed
    reader: asyncio.Task[None] | None = None
    try:
        await socket.start(last)
        reader = asyncio.create_task(socket.read_client())
        pump = asyncio.create_task(socket.pump())
        done, pending = await asyncio.wait({reader, pump}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, (WebSocketDisconnect, RuntimeError)):
                raise exc
    finally:
        if reader is not None and not reader.done():
            reader.cancel()
        hub.detach(socket)
