"""`omnidesk bench server`: the path from a new contact to an agent's screen, end to end.

    omnidesk bench server --agents 1000 --rate 20 --seconds 60 [--database-url URL] --json

Everything real, on loopback (docs/routing.md, "Measuring the server path"):
- Server: `omnidesk serve` in its own process (so the load client's CPU is not counted as the
  server's) on a fresh database: a SQLite file in a temporary directory, or for a PostgreSQL
  --database-url a throwaway database on that server, dropped afterwards. `omnidesk
  create-tenant` and `create-user` make a tenant and its admin; the rest through the API: an
  admin API token, one queue `bench` (channel chat, no wrap-up, `offer_timeout_seconds` as
  given) and N agents with passwords and a routing profile: member of `bench`, capacity chat 1.
  Capacity 1 makes every contact take a whole agent, so every offer, accept and end also
  changes the agent's state (busy, available): the most events per contact, which is what
  the realtime fan-out pays for.
- Agents (omnidesk.bench.server_agents), all in this process on one event loop: log in with a
  password (session cookie + CSRF header), one WebSocket each to /api/v1/realtime (register,
  snapshot, events), go available; accept each offer as it arrives on the socket, talk a
  random --talk-seconds, end.
- Load: an integration (the admin's API token) creates contacts at --rate per second for
  --seconds, each in its own task (an open loop: a slow answer never delays the next create).
  Then a drain of at most --drain-seconds until every contact created has ended; whatever is
  still in flight then is cancelled and reported, so the run always ends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import httpx2 as httpx

from omnidesk.bench import server_process as proc
from omnidesk.bench.server_agents import Agent, ContactRecord, Ledger, Shared, request
from omnidesk.bench.server_report import EndState, Window, figures

QUEUE = "bench"
CHANNEL = "chat"
SETUP_CONCURRENCY = 16
HTTP_TIMEOUT_S = 120.0  # an answer later than this counts as none (the issue saw 67 s)
FINAL_READ_TIMEOUT_S = 60.0  # the server's view after the drain; it may still be backlogged
T = TypeVar("T")


class Phases:
    """How long each part of the setup took (seconds), for the report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.monotonic()

    def done(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[phase] = round(now - self._mark, 1)
        self._mark = now


@dataclass(frozen=True)
class Params:
    agents: int
    rate: float
    seconds: float
    talk_seconds: tuple[float, float] = (1.0, 5.0)
    drain_seconds: float = 30.0
    offer_timeout_seconds: float = 30.0
    seed: int = 0


async def _bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def _ok(response: httpx.Response, expected: int = 200) -> Any:
    if response.status_code != expected:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: "
                           f"{response.status_code} {response.text[:500]}")  # fmt: skip
    return response.json()


async def _admin_token(http: httpx.AsyncClient, admin: proc.Admin) -> dict[str, str]:
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


async def _configure(shared: Shared, admin: dict[str, str], params: Params) -> list[Agent]:
    """The queue and N agents with a password and a routing profile (through the API)."""
    http = shared.http
    queue = {"id": QUEUE, "name": "Bench", "channels": [CHANNEL], "wrap_up_seconds": 0,
             "offer_timeout_seconds": params.offer_timeout_seconds}  # fmt: skip
    _ok(await http.post("/api/v1/routing/queues", headers=admin, json=queue), 201)
    profile = {"queues": {QUEUE: 1}, "capacity": {CHANNEL: 1}}

    async def agent(i: int) -> Agent:
        name = f"agent{i:05d}"
        user = {"username": name, "display_name": f"Agent {i}", "role": "agent",
                "password": shared.password}  # fmt: skip
        user_id = _ok(await http.post("/api/v1/users", headers=admin, json=user), 201)["id"]
        _ok(await http.put(f"/api/v1/routing/agents/{user_id}", headers=admin, json=profile))
        return Agent(shared, user_id, name)

    return await _bounded(SETUP_CONCURRENCY, [partial(agent, i) for i in range(params.agents)])


async def _bring_online(agents: list[Agent], phases: Phases) -> list[asyncio.Task[None]]:
    """Log in, open the sockets, go available; the listeners run until the end."""
    await _bounded(SETUP_CONCURRENCY, [a.login for a in agents])
    phases.done("logins")
    await _bounded(SETUP_CONCURRENCY, [a.connect for a in agents])
    phases.done("sockets")
    listeners = [asyncio.create_task(a.listen()) for a in agents]
    await _bounded(SETUP_CONCURRENCY, [partial(a.set_state, "available") for a in agents])
    try:  # each agent's own event says so, on its socket
        await asyncio.wait_for(asyncio.gather(*(a.available.wait() for a in agents)), 60)
    except TimeoutError:
        raise RuntimeError("agents did not all become available within 60 s") from None
    phases.done("available")
    return listeners


async def _create(shared: Shared, admin: dict[str, str], contact_id: str) -> None:
    ledger = shared.ledger
    record = ContactRecord(sent_at=time.monotonic())
    # Known before the request goes out: the offer may reach a socket before the answer.
    ledger.contacts[contact_id] = record
    body = {"queue_id": QUEUE, "channel": CHANNEL, "contact_id": contact_id}
    r = await request(shared, "create", "POST", "/api/v1/routing/contacts", admin, json=body)
    if r is None:
        return
    record.status = r.status_code
    if r.status_code == 201:
        ledger.create_ms.append((time.monotonic() - record.sent_at) * 1000.0)
        ledger.created += 1


async def _load(
    shared: Shared, admin: dict[str, str], params: Params, in_flight: set[asyncio.Task[None]]
) -> float:
    """Creates at `rate`/s for `seconds`, each in its own task (kept in `in_flight` until
    done); returns the worst lag of a send behind its schedule (this process too busy)."""
    start, lag = time.monotonic(), 0.0
    for i in range(max(1, round(params.rate * params.seconds))):
        due = start + i / params.rate
        if (delay := due - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        lag = max(lag, time.monotonic() - due)
        task = asyncio.create_task(_create(shared, admin, f"b{i:07d}"))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    return lag


async def _drain(ledger: Ledger, in_flight: set[asyncio.Task[None]], limit_s: float) -> bool:
    """Until every create has its answer and every contact created has ended, or the limit."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if not in_flight and ledger.ended >= ledger.created:
            return True
        await asyncio.sleep(0.05)
    return False


async def _end_state(shared: Shared, admin: dict[str, str], agents: list[Agent]) -> EndState:
    """The server's view of the agents and the line after the drain, and the agents' own."""
    states: Counter[str] = Counter()
    free = None
    listed = await request(
        shared, "final", "GET", "/api/v1/routing/agents", admin, timeout=FINAL_READ_TIMEOUT_S
    )
    if listed is not None and listed.status_code == 200:
        free = 0
        for entry in listed.json():
            status = entry["status"]
            states[status["state"] + (f" ({status['reason']})" if status["reason"] else "")] += 1
            # "available" includes an agent holding an offer it has not accepted yet.
            free += status["state"] == "available" and not status["contacts"]
    queue = await request(
        shared, "final", "GET", f"/api/v1/routing/queues/{QUEUE}", admin,
        timeout=FINAL_READ_TIMEOUT_S,
    )  # fmt: skip
    waiting = ready = None
    if queue is not None and queue.status_code == 200:
        status = queue.json()["status"]
        waiting, ready = status["waiting"], status["ready_agents"].get(CHANNEL, 0)
    on_sockets = sum(1 for a in agents if a.state != "available")
    return EndState(dict(states), free, on_sockets, waiting, ready)


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Measured:
    window: Window
    server: dict[str, Any]
    client: dict[str, Any]


async def _idle_cpu_pct(server_pid: int, seconds: float = 2.0) -> float:
    # The server with every socket open and nothing happening: its baseline before the load.
    cpu0 = proc.cpu_seconds(server_pid)
    await asyncio.sleep(seconds)
    return round(100.0 * (proc.cpu_seconds(server_pid) - cpu0) / seconds, 1)


async def _measure(
    shared: Shared, admin: dict[str, str], params: Params, server_pid: int,
    in_flight: set[asyncio.Task[None]],
) -> Measured:  # fmt: skip
    """The load, then the drain; CPU of the server and of this process over both."""
    idle = await _idle_cpu_pct(server_pid)
    counters0 = await proc.server_counters(shared.http)
    cpu0, self0, wall0 = proc.cpu_seconds(server_pid), _cpu_self(), time.monotonic()
    waited0 = proc.runqueue_wait_seconds(server_pid)
    lag = await _load(shared, admin, params, in_flight)
    load_seconds = time.monotonic() - wall0
    drained = await _drain(shared.ledger, in_flight, params.drain_seconds)
    wall = time.monotonic() - wall0
    cpu, cpu_self = proc.cpu_seconds(server_pid) - cpu0, _cpu_self() - self0
    waited = proc.runqueue_wait_seconds(server_pid) - waited0
    counters = proc.counters_since(await proc.server_counters(shared.http), counters0)
    return Measured(
        Window(load_seconds, wall - load_seconds, drained, wall0),
        server={"cpu_seconds": round(cpu, 2), "cpu_pct": round(100.0 * cpu / wall, 1),
                "runqueue_wait_seconds": round(waited, 2), "idle_cpu_pct": idle,
                **proc.memory_mb(server_pid), **counters},
        client={"cpu_seconds": round(cpu_self, 2), "cpu_pct": round(100.0 * cpu_self / wall, 1),
                "max_send_lag_ms": round(lag * 1000.0, 1)},
    )  # fmt: skip


async def _run(
    server: proc.ServerProcess, admin: proc.Admin, params: Params, info: dict[str, Any],
    phases: Phases,
) -> dict[str, Any]:  # fmt: skip
    ledger = Ledger()
    # One pool for all agents (each request carries its agent's cookie and CSRF header; the
    # pool keeps no cookies) and no limit below the agents' count, as N browsers would have.
    # Idle connections are dropped before the server's keep-alive timeout (uvicorn: 5 s) so
    # that a request never races the server closing the connection it is sent on.
    limits = httpx.Limits(
        max_connections=params.agents + 200, max_keepalive_connections=None, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=HTTP_TIMEOUT_S, limits=limits, trust_env=False,
        cookies=_no_cookies(),
    ) as http:  # fmt: skip
        shared = Shared(server.base_url, admin.tenant, f"agent-{admin.password}", http, ledger,
                        params.talk_seconds, random.Random(params.seed))  # fmt: skip
        token = await _admin_token(http, admin)
        agents = await _configure(shared, token, params)
        phases.done("users_and_profiles")
        listeners = await _bring_online(agents, phases)
        in_flight: set[asyncio.Task[None]] = set()
        try:
            measured = await _measure(shared, token, params, server.pid, in_flight)
            end = await _end_state(shared, token, agents)
        finally:
            # Whatever is still in flight after the drain limit is abandoned (and reported).
            shared.stopping = True
            for listener in listeners:  # a socket reader that died left its agent deaf
                if listener.done() and not listener.cancelled() and listener.exception():
                    ledger.client_errors[f"socket: {type(listener.exception()).__name__}"] += 1
            for task in [*listeners, *in_flight]:
                task.cancel()
            await asyncio.gather(*(a.close() for a in agents), return_exceptions=True)
    return figures(
        ledger, measured.window, end, agents=params.agents, setup=phases.seconds,
        server=measured.server, client=measured.client, **info,
    )  # fmt: skip


def _no_cookies() -> Any:
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    # Refuse every cookie: the pool is shared by all agents, each sends its own explicitly.
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _event_loop_runner() -> asyncio.Runner:
    try:
        import uvloop  # with uvicorn[standard]; the same loop the server runs on
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def run(params: Params, database_url: str | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the figures (docs/routing.md, "Measuring the server path")."""
    phases = Phases()
    machine: dict[str, Any] = {
        "cores": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    proc.raise_open_files_limit()
    # A log line per request of the load client would cost this process more than the load.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    with proc.workdir() as tmp, proc.fresh_database(database_url, tmp) as url:
        info = {"machine": machine, "params": {
            "agents": params.agents, "rate": params.rate, "seconds": params.seconds,
            "talk_seconds": list(params.talk_seconds), "drain_limit_seconds": params.drain_seconds,
            "offer_timeout_seconds": params.offer_timeout_seconds, "channel": CHANNEL,
            "capacity": 1, "backend": proc.backend_of(url),
        }}  # fmt: skip
        admin = proc.create_tenant_and_admin(url)
        server = proc.ServerProcess(url, tmp / "server.log")
        try:
            server.start()
            phases.done("database_and_server")
            with _event_loop_runner() as runner:
                result = runner.run(_run(server, admin, params, info, phases))
        except Exception as exc:
            raise RuntimeError(f"{exc}\n--- server log (tail) ---\n{server.log_tail()}") from exc
        finally:
            server.stop()
    result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return result
