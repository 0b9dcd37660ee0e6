"""`omnidesk bench chat`: web chat visitors on their sockets, and how fast a visitor's message
reaches the desk's socket.

    omnidesk bench chat --visitors 1000 --messages 2000 --rate 200 [--database-url URL] --json

Everything real, on loopback: `omnidesk serve` in its own process on a fresh database (as
`bench server`: omnidesk.bench.server_process), set up through the API: a queue serving
`chat`, a chat widget account, an admin's desk socket (/api/v1/realtime with the admin's API
token: admins receive every conversation's events). Then N visitors, each with its token, its
conversation started with the pre-chat form and its socket registered to the widget; the
server's resident memory before and after the sockets gives the memory per connection. Then
--messages visitor messages at --rate per second (an open loop, random visitors): the delivery
time is from just before the visitor's POST to the `conversation.message_added` event of that
message on the desk's socket (the POST answers after the message is stored and routed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import time
from collections import Counter
from typing import Any

import httpx2 as httpx
from websockets.asyncio.client import ClientConnection, connect

from omnidesk.bench import server_process as proc

QUEUE = "web"
SETUP_CONCURRENCY = 16
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def _ok(response: httpx.Response, expected: int = 200) -> Any:
    if response.status_code != expected:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: "
                           f"{response.status_code} {response.text[:500]}")  # fmt: skip
    return response.json()


def _percentiles(values: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)

    def at(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"count": len(ordered), "p50": at(0.5), "p99": at(0.99),
            "max": round(ordered[-1], 2) if ordered else None}  # fmt: skip


async def _admin(http: httpx.AsyncClient, admin: proc.Admin) -> dict[str, str]:
    login = {"tenant": admin.tenant, "username": admin.username, "password": admin.password}
    r = await http.post("/api/v1/auth/login", json=login)
    me = _ok(r)
    browser = {"cookie": f"omnidesk_session={r.cookies['omnidesk_session']}",
               "X-CSRF-Token": me["csrf_token"]}  # fmt: skip
    token = _ok(
        await http.post("/api/v1/api-tokens", headers=browser,
                        json={"name": "bench", "user_id": me["user"]["id"]}),
        201,
    )["token"]  # fmt: skip
    return {"authorization": f"Bearer {token}"}


class Visitor:
    def __init__(self, index: int) -> None:
        self.index = index
        self.headers: dict[str, str] = {}
        self.socket: ClientConnection | None = None
        self.received = 0

    async def start(self, http: httpx.AsyncClient, base: str) -> None:
        token = _ok(await http.post(f"{base}/visitors"), 201)["visitor_token"]
        self.headers = {"X-Omnidesk-Visitor": token}
        body = {"prechat": {"name": f"Visitor {self.index}"}}
        _ok(await http.post(f"{base}/conversation", headers=self.headers, json=body))

    async def connect(self, ws_url: str) -> None:
        self.socket = await connect(ws_url, max_size=MAX_MESSAGE_BYTES, ping_interval=None,
                                    proxy=None, open_timeout=60)  # fmt: skip
        token = self.headers["X-Omnidesk-Visitor"]
        await self.socket.send(json.dumps({"type": "register", "last_event_id": None,
                                           "visitor_token": token}))  # fmt: skip
        while json.loads(await self.socket.recv())["type"] != "ready":
            pass

    async def drain(self) -> None:
        """Read what the server sends (its own messages coming back, queue updates)."""
        assert self.socket is not None
        async for _ in self.socket:
            self.received += 1


async def _bounded(limit: int, jobs: list[Any]) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def _run(
    server: proc.ServerProcess, admin: proc.Admin, visitors: int, messages: int, rate: float
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as http:
        auth = await _admin(http, admin)
        queue = {"id": QUEUE, "name": "Web chat", "channels": ["chat"]}
        _ok(await http.post("/api/v1/routing/queues", headers=auth, json=queue), 201)
        account = {"kind": "chat", "name": "Bench", "queue_id": QUEUE,
                   "secret": secrets.token_urlsafe(24),
                   "widget": {"prechat_fields": [{"key": "name", "label": "Name"}]}}  # fmt: skip
        key = _ok(await http.post("/api/v1/channels/accounts", headers=auth, json=account), 201)
        base = f"/api/v1/chat/widget/{key['id']}"
        ws_base = server.base_url.replace("http://", "ws://", 1)

        # The desk's socket: every conversation event, with the instant it arrived.
        arrived: dict[str, float] = {}
        came = asyncio.Event()
        desk = await connect(
            f"{ws_base}/api/v1/realtime",
            additional_headers=auth,
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=None,
            proxy=None,
        )
        await desk.send(json.dumps({"type": "register", "last_event_id": None}))
        await desk.recv()

        async def follow() -> None:
            async for raw in desk:
                now = time.monotonic()
                message = json.loads(raw)
                if message.get("event") == "conversation.message_added":
                    arrived[message["data"]["message_id"]] = now
                    came.set()

        follower = asyncio.create_task(follow())
        crowd = [Visitor(i) for i in range(visitors)]
        started = time.monotonic()
        await _bounded(SETUP_CONCURRENCY, [lambda v=v: v.start(http, base) for v in crowd])
        setup_seconds = time.monotonic() - started

        before = proc.memory_mb(server.pid)["rss_mb"]
        started = time.monotonic()
        await _bounded(SETUP_CONCURRENCY, [lambda v=v: v.connect(f"{ws_base}{base}/socket")
                                           for v in crowd])  # fmt: skip
        connect_seconds = time.monotonic() - started
        drains = [asyncio.create_task(v.drain()) for v in crowd]
        await asyncio.sleep(1.0)  # the sockets' first queue updates go out before measuring
        after = proc.memory_mb(server.pid)["rss_mb"]

        sent: list[tuple[str, float]] = []
        errors: Counter[str] = Counter()  # by HTTP status, "no answer" for none in time
        rng = random.Random(0)
        cpu_before = proc.cpu_seconds(server.pid)
        counters_before = await proc.server_counters(http)

        async def one(i: int) -> None:
            visitor = rng.choice(crowd)
            body = {"client_id": f"bench-{i:08d}", "text": f"Message {i} from a visitor"}
            t0 = time.monotonic()
            try:
                r = await http.post(f"{base}/conversation/messages", headers=visitor.headers,
                                    json=body)  # fmt: skip
            except httpx.HTTPError:  # no answer in time (a saturated server): counted, not fatal
                errors["no answer"] += 1
                return
            if r.status_code != 201:
                errors[str(r.status_code)] += 1
                return
            sent.append((r.json()["message"]["id"], t0))

        tasks = []
        load_started = time.monotonic()
        for i in range(messages):
            due = load_started + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        load_seconds = time.monotonic() - load_started
        deadline = time.monotonic() + 30
        # A bounded wait for the last events: woken by each arrival, given up at the deadline.
        while any(m not in arrived for m, _ in sent) and time.monotonic() < deadline:
            came.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(came.wait(), max(0.0, deadline - time.monotonic()))
        cpu = proc.cpu_seconds(server.pid) - cpu_before
        counters = proc.counters_since(await proc.server_counters(http), counters_before)
        statements = sum(counters["db_statements"].values())
        delivery = [(arrived[m] - t0) * 1000 for m, t0 in sent if m in arrived]
        follower.cancel()
        for task in drains:
            task.cancel()
        await desk.close()
        for visitor in crowd:
            if visitor.socket is not None:
                await visitor.socket.close()
        per_connection_kb = (after - before) * 1024 / visitors if visitors else 0.0
        return {
            "params": {"visitors": visitors, "messages": messages, "rate": rate,
                       "backend": proc.backend_of(server.database_url)},
            "delivery_ms": _percentiles(delivery),
            "messages_sent": len(sent),
            "messages_delivered": len(delivery),
            "lost": len(sent) - len(delivery),
            "http_errors": sum(errors.values()),
            "http_errors_by_status": dict(errors),
            "achieved_rate": round(len(sent) / load_seconds, 1) if load_seconds else None,
            "setup_seconds": round(setup_seconds, 1),
            "connect_seconds": round(connect_seconds, 1),
            "server": {
                "rss_before_sockets_mb": before,
                "rss_with_sockets_mb": after,
                "memory_per_connection_kb": round(per_connection_kb, 1),
                "cpu_seconds_during_load": round(cpu, 2),
                # Everything the server asked of its database while the messages came (the
                # visitors' sockets' reads included), per message sent.
                "db_statements": counters["db_statements"],
                "db_statements_per_message": round(statements / len(sent), 1) if sent else None,
                "peak_rss_mb": proc.memory_mb(server.pid)["peak_rss_mb"],
            },
        }  # fmt: skip


def run(
    visitors: int, messages: int, rate: float, database_url: str | None = None
) -> dict[str, Any]:
    proc.raise_open_files_limit()
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    machine = {
        "cores": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    with proc.workdir() as tmp, proc.fresh_database(database_url, tmp) as url:
        admin = proc.create_tenant_and_admin(url)
        server = proc.ServerProcess(url, tmp / "server.log")
        try:
            server.start()
            result = asyncio.run(_run(server, admin, visitors, messages, rate))
        except Exception as exc:
            raise RuntimeError(f"{exc}\n--- server log (tail) ---\n{server.log_tail()}") from exc
        finally:
            server.stop()
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return {**result, "machine": machine}
