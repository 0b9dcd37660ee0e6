"""The agents of `omnidesk bench server`: each logs in like a browser (session cookie + CSRF
header), keeps one realtime WebSocket (register, snapshot, events; reconnect from its last
event id if the server cuts it off), goes available, and on every offer on its socket accepts
at once, "talks" for a random time and ends the contact. What they see goes into a `Ledger`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

SESSION_COOKIE = "omnidesk_session"
# A snapshot names every user the agent may see; 1,000 users pass websockets' 1 MiB default.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
RECONNECT_PAUSE_S = 0.5


@dataclass
class ContactRecord:
    """One contact the load driver created, and what became of it."""

    sent_at: float  # time.monotonic() when the create request was sent
    status: int | None = None  # the create's HTTP status; None until (or unless) answered
    offered_at: float | None = None  # when its first offer reached an agent's socket
    accepted: bool = False
    ended: bool = False


@dataclass
class Ledger:
    """Everything the run observed: latencies in ms, counts, refusals by operation and status."""

    contacts: dict[str, ContactRecord] = field(default_factory=dict)
    create_ms: list[float] = field(default_factory=list)
    offer_ms: list[float] = field(default_factory=list)
    accept_ms: list[float] = field(default_factory=list)
    end_ms: list[float] = field(default_factory=list)
    http_errors: dict[str, Counter[int]] = field(default_factory=dict)
    client_errors: Counter[str] = field(default_factory=Counter)
    offers_received: int = 0  # offer_created on the agents' sockets, re-offers included
    offer_outcomes: Counter[str] = field(default_factory=Counter)  # timed_out, rejected, ...
    missed_events: int = 0  # an agent put away "missed" (its offer timed out or was refused)
    socket_closes: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    created: int = 0
    ended: int = 0
    last_first_offer_at: float | None = None

    def refused(self, operation: str, status: int) -> None:
        self.http_errors.setdefault(operation, Counter())[status] += 1


@dataclass
class Shared:
    """What every agent of the run uses: the server, one HTTP connection pool, the ledger."""

    base_url: str
    tenant: str
    password: str
    http: httpx.AsyncClient
    ledger: Ledger
    talk_seconds: tuple[float, float]
    rng: random.Random
    stopping: bool = False


def _ms(since: float) -> float:
    return (time.monotonic() - since) * 1000.0


async def request(
    shared: Shared, operation: str, method: str, url: str, headers: dict[str, str], **kw: Any
) -> httpx.Response | None:
    """One API call; a refusal is counted by operation and status, a failure to get any
    answer (timeout, connection) by operation and exception. None when there was no answer."""
    try:
        response = await shared.http.request(method, url, headers=headers, **kw)
    except httpx.HTTPError as exc:
        shared.ledger.client_errors[f"{operation}: {type(exc).__name__}"] += 1
        return None
    if response.status_code >= 400:
        shared.ledger.refused(operation, response.status_code)
    return response


class Agent:
    def __init__(self, shared: Shared, user_id: str, username: str) -> None:
        self.shared = shared
        self.user_id = user_id
        self.username = username
        self.state = "offline"  # as the agent's own events say
        self.reason: str | None = None
        self.available = asyncio.Event()  # set while `state` is "available"
        self.headers: dict[str, str] = {}
        self.cookie = ""
        self.socket: ClientConnection | None = None
        self.last_event_id: int | None = None
        self.handled_offers: set[str] = set()
        self.work: set[asyncio.Task[None]] = set()

    async def login(self) -> None:
        body = {"tenant": self.shared.tenant, "username": self.username,
                "password": self.shared.password}  # fmt: skip
        response = await self.shared.http.post("/api/v1/auth/login", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"login of {self.username}: {response.status_code} {response.text}")
        self.cookie = response.cookies[SESSION_COOKIE]
        # The browser's double submit: the session cookie, and the CSRF token echoed in a header.
        self.headers = {"cookie": f"{SESSION_COOKIE}={self.cookie}",
                        "X-CSRF-Token": response.json()["csrf_token"]}  # fmt: skip

    async def connect(self) -> None:
        """Open the socket and register: a snapshot on the first connection, the events after
        the last one seen on a reconnect (or a snapshot if the server no longer has them)."""
        ws_url = self.shared.base_url.replace("http://", "ws://", 1) + "/api/v1/realtime"
        self.socket = await connect(
            ws_url,
            origin=Origin(self.shared.base_url),
            additional_headers={"cookie": f"{SESSION_COOKIE}={self.cookie}"},
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=None,  # browsers send no protocol pings; a slow server must not cut us
            proxy=None,
            open_timeout=60,
        )
        await self.socket.send(
            json.dumps({"type": "register", "last_event_id": self.last_event_id})
        )
        if self.last_event_id is None:
            self._on_message(json.loads(await self.socket.recv()))

    async def set_state(self, state: str) -> None:
        response = await request(
            self.shared, "state", "POST", f"/api/v1/routing/agents/{self.user_id}/state",
            self.headers, json={"state": state},
        )  # fmt: skip
        if response is None or response.status_code != 200:
            raise RuntimeError(f"{self.username} could not go {state}")

    async def listen(self) -> None:
        """Read the socket until the run stops; reconnect when the server closes it."""
        while not self.shared.stopping:
            assert self.socket is not None
            try:
                async for raw in self.socket:
                    self._on_message(json.loads(raw))
                code: int | str = self.socket.close_code or "none"
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else "abnormal"
            if self.shared.stopping:
                return
            self.shared.ledger.socket_closes[str(code)] += 1
            await self._reconnect()

    async def _reconnect(self) -> None:
        while not self.shared.stopping:
            await asyncio.sleep(RECONNECT_PAUSE_S)
            try:
                await self.connect()
            except (OSError, InvalidHandshake, TimeoutError):
                continue
            self.shared.ledger.reconnects += 1
            return

    async def close(self) -> None:
        for task in self.work:
            task.cancel()
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.socket.close(), 5)

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "snapshot":
            self.last_event_id = message["last_event_id"]
            self._apply_snapshot(message["state"].get("routing", {}))
        elif kind == "event":
            self.last_event_id = message["id"]
            self._on_event(message["event"], message["data"])

    def _apply_snapshot(self, routing: dict[str, Any]) -> None:
        me = routing.get("agents", {}).get(self.user_id)
        if me is None:
            return
        self._set_state(me["state"], me["reason"])
        for contact_id, held in me.get("contacts", {}).items():
            if held["state"] == "offered" and held.get("offer_id"):
                self._offered(held["offer_id"], contact_id)

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        if data.get("agent_id") != self.user_id:
            return
        ledger = self.shared.ledger
        if event == "routing.agent_state_changed":
            self._set_state(data["state"], data["reason"])
            if data["state"] == "away" and data["reason"] == "missed":
                ledger.missed_events += 1
        elif event == "routing.offer_created":
            ledger.offers_received += 1
            self._offered(data["offer_id"], data["contact_id"])
        elif event in ("routing.offer_timed_out", "routing.offer_rejected",
                       "routing.offer_revoked"):  # fmt: skip
            ledger.offer_outcomes[event.removeprefix("routing.offer_")] += 1

    def _set_state(self, state: str, reason: str | None) -> None:
        self.state, self.reason = state, reason
        if state == "available":
            self.available.set()
        else:
            self.available.clear()

    def _offered(self, offer_id: str, contact_id: str) -> None:
        if offer_id in self.handled_offers:
            return
        self.handled_offers.add(offer_id)
        ledger = self.shared.ledger
        record = ledger.contacts.get(contact_id)
        if record is not None and record.offered_at is None:
            record.offered_at = time.monotonic()
            ledger.last_first_offer_at = record.offered_at
            ledger.offer_ms.append((record.offered_at - record.sent_at) * 1000.0)
        task = asyncio.create_task(self._handle(offer_id, contact_id, record))
        self.work.add(task)
        task.add_done_callback(self.work.discard)

    async def _handle(self, offer_id: str, contact_id: str, record: ContactRecord | None) -> None:
        """Accept at once, talk, end (the queue has no wrap-up: the agent is free again)."""
        shared, ledger = self.shared, self.shared.ledger
        started = time.monotonic()
        accepted = await request(
            shared, "accept", "POST", f"/api/v1/routing/offers/{quote(offer_id, safe='')}/accept",
            self.headers,
        )  # fmt: skip
        if accepted is None or accepted.status_code != 200:
            return  # counted; the offer went back to the queue or elsewhere
        ledger.accept_ms.append(_ms(started))
        if record is not None:
            record.accepted = True
        await asyncio.sleep(shared.rng.uniform(*shared.talk_seconds))
        started = time.monotonic()
        ended = await request(
            shared, "end", "POST", f"/api/v1/routing/contacts/{quote(contact_id, safe='')}/end",
            self.headers,
        )  # fmt: skip
        if ended is not None and ended.status_code == 200:
            ledger.end_ms.append(_ms(started))
            if record is not None and not record.ended:
                record.ended = True
                ledger.ended += 1
