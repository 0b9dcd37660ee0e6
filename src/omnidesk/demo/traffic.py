"""`omnidesk demo traffic`: calls and agents played into a running server, so that a
supervisor's screens move (docs/getting-started.md).

Who takes part: sipp callers dialling the demo number (callers.py), sipp customers answering
callbacks, the simulated agents with baresip softphones (agents.py), and a watcher — the demo
admin on the realtime socket — that counts what the server reports and writes the progress
line. The counts are the server's view: calls started, answered, and how each ended as the
call history API gives it. Stopping (Ctrl-C, SIGTERM or --seconds): no new calls; calls in
progress get `DRAIN_S` to end, then the admin hangs up the rest; the agents log off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import shutil
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from rich.console import Console

from omnidesk.bench.baresip import BARESIP
from omnidesk.demo.agents import SimAgent, softphone
from omnidesk.demo.callers import SippProcess, start_callers, start_customers
from omnidesk.demo.client import ApiError, ApiUser
from omnidesk.demo.manifest import Manifest

DRAIN_S = 20.0
TONES = (1000, 1200, 800, 1400)  # each agent's phone "voice", told apart in recordings


class TrafficError(RuntimeError):
    """The traffic cannot start; the message says why."""


@dataclass(frozen=True)
class Traffic:
    url: str
    manifest: Manifest
    sip_port: int
    calls_per_minute: float = 6.0
    agents: int = 0
    seconds: float | None = None


@dataclass
class Watcher:
    """Counts the demo number's calls as the server reports them, for the progress line."""

    admin: ApiUser
    number: str
    placed: int = 0
    answered: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)
    live: set[str] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)
    agent_states: dict[str, str] = field(default_factory=dict)
    quiet: asyncio.Event = field(default_factory=asyncio.Event)  # set: no live call
    _lookups: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self) -> None:
        async with self.admin.realtime() as realtime:
            state = realtime.snapshot["state"]
            self.live = set((state.get("voice") or {}).get("calls", {}))
            for agent_id, agent in ((state.get("routing") or {}).get("agents") or {}).items():
                self.agent_states[agent_id] = agent.get("state", "offline")
            self._quieted()
            async for event in realtime.events():
                self._apply(event["event"], event.get("data") or {})
                self._quieted()

    def _quieted(self) -> None:
        if self.live:
            self.quiet.clear()
        else:
            self.quiet.set()

    def _apply(self, kind: str, data: dict[str, Any]) -> None:
        call_id = str(data.get("call_id", ""))
        if kind == "voice.call_started":
            self.live.add(call_id)
            if data.get("direction") == "inbound":
                self.placed += 1
        elif kind == "voice.call_state_changed":
            if data.get("state") == "queued":
                self.waiting.add(call_id)
            elif data.get("state") == "connected":
                self.waiting.discard(call_id)
                self.answered.add(call_id)
        elif kind == "voice.call_ended":
            self.live.discard(call_id)
            self.waiting.discard(call_id)
            task = asyncio.create_task(self._outcome(call_id))
            self._lookups.add(task)
            task.add_done_callback(self._lookups.discard)
        elif kind == "routing.agent_state_changed":
            self.agent_states[str(data["agent_id"])] = str(data["state"])

    async def _outcome(self, call_id: str) -> None:
        # How it ended, as the call history says (the same words a supervisor reads there).
        with contextlib.suppress(ApiError):
            record = await self.admin.get(f"/api/v1/voice/call-history/{call_id}")
            self.outcomes[str(record["outcome"])] += 1

    async def settled(self) -> None:
        while self._lookups:
            await asyncio.gather(*list(self._lookups), return_exceptions=True)

    def line(self, elapsed: float, agents: list[SimAgent]) -> str:
        busy = sum(1 for s in self.agent_states.values() if s == "busy")
        wrap = sum(1 for s in self.agent_states.values() if s == "wrap_up")
        staffed = sum(1 for s in self.agent_states.values() if s != "offline")
        o = self.outcomes
        return (
            f"{elapsed:5.0f}s  calls placed {self.placed} · answered {len(self.answered)} · "
            f"abandoned {o['abandoned']} · voicemail {o['voicemail']} · callback "
            f"{o['callback']} · live {len(self.live)} ({len(self.waiting)} waiting) · agents "
            f"busy {busy}, wrap-up {wrap}, logged in {staffed}"
            + (f" (simulated {len(agents)})" if agents else "")
        )


def _check(plan: Traffic) -> None:
    missing = [tool for tool in ("sipp", "sox") if shutil.which(tool) is None]
    if plan.agents and not Path(BARESIP).exists():
        missing.append("baresip")
    if missing:
        raise TrafficError(f"needs {', '.join(missing)} (make install installs them)")
    available = plan.manifest.agents()
    if plan.agents > len(available):
        raise TrafficError(
            f"the demo has {len(available)} agents with a softphone ({', '.join(available)}): "
            f"--agents {plan.agents} is too many"
        )


async def run_traffic(plan: Traffic, err: Console) -> str:
    """Play the traffic until stopped; returns the summary."""
    _check(plan)
    # One line per request would bury the progress line.
    for name in ("httpx2", "httpcore2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    workdir = Path(tempfile.mkdtemp(prefix="omnidesk-demo-traffic-"))
    try:
        async with httpx2.AsyncClient(base_url=plan.url, timeout=30) as http:
            return await _play(plan, http, workdir, stop, err)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        shutil.rmtree(workdir, ignore_errors=True)


async def _login(http: httpx2.AsyncClient, manifest: Manifest, username: str) -> ApiUser:
    try:
        return await ApiUser.login(http, manifest.tenant, username, manifest.passwords[username])
    except (ApiError, httpx2.HTTPError) as exc:
        raise TrafficError(f"cannot log in as {username} at {http.base_url}: {exc}") from exc


async def _play(
    plan: Traffic, http: httpx2.AsyncClient, workdir: Path, stop: asyncio.Event, err: Console
) -> str:
    manifest = plan.manifest
    admin = await _login(http, manifest, "admin")
    watcher = Watcher(admin, manifest.number)
    tasks = [asyncio.create_task(watcher.run(), name="watcher")]
    rng = random.Random()
    agents: list[SimAgent] = []
    processes: list[SippProcess] = []
    started = time.monotonic()
    try:
        for index, name in enumerate(manifest.agents()[: plan.agents]):
            phone = softphone(workdir / name, manifest.sip[name], manifest.sip_domain,
                              plan.sip_port, TONES[index % len(TONES)])  # fmt: skip
            agent = SimAgent(await _login(http, manifest, name), phone, rng)
            try:
                await agent.start()
            except BaseException:
                await phone.stop()  # started or not: no baresip is left behind
                raise
            agents.append(agent)
            tasks.append(asyncio.create_task(agent.run(), name=name))
        processes.append(await start_customers(workdir, manifest.customers_port))
        callers = await start_callers(
            workdir, f"127.0.0.1:{plan.sip_port}", manifest.number, plan.calls_per_minute
        )
        processes.append(callers)
        await _until_stopped(plan, stop, started, watcher, agents, callers, tasks, err)
        await _drain(callers, watcher, admin, err)
    finally:
        for agent in agents:
            await agent.stop()
        for process in processes:
            await process.stop()
        await watcher.settled()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.monotonic() - started
    o = watcher.outcomes
    handled = sum(agent.handled for agent in agents)
    return (
        f"{elapsed:.0f} s of demo traffic: {watcher.placed} calls placed, "
        f"{len(watcher.answered)} answered, {o['abandoned']} abandoned, {o['voicemail']} "
        f"voicemail, {o['callback']} callback requests"
        + (f"; the {len(agents)} simulated agents handled {handled} contacts" if agents else "")
        + ". Their records: GET /api/v1/voice/call-history."
    )


async def _until_stopped(
    plan: Traffic,
    stop: asyncio.Event,
    started: float,
    watcher: Watcher,
    agents: list[SimAgent],
    callers: SippProcess,
    tasks: list[asyncio.Task[None]],
    err: Console,
) -> None:
    last_line = 0.0
    while not stop.is_set():
        elapsed = time.monotonic() - started
        if plan.seconds is not None and elapsed >= plan.seconds:
            return
        if not callers.running():
            raise TrafficError(f"sipp (the callers) stopped:\n{callers.tail()}")
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise TrafficError(f"{task.get_name()} failed: {task.exception()}")
        # A terminal gets one line rewritten in place; a log a line every 10 s.
        if err.is_terminal:
            err.print(watcher.line(elapsed, agents), end="\r", highlight=False, soft_wrap=True)
        elif elapsed - last_line >= 10:
            err.print(watcher.line(elapsed, agents), highlight=False, soft_wrap=True)
            last_line = elapsed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def _drain(callers: SippProcess, watcher: Watcher, admin: ApiUser, err: Console) -> None:
    err.print(
        "\nstopping: no new calls; the calls in progress get a moment to end", highlight=False
    )
    callers.soft_stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watcher.quiet.wait(), DRAIN_S)
    for call_id in list(watcher.live):
        with contextlib.suppress(ApiError):
            await admin.post(f"/api/v1/voice/calls/{call_id}/hangup")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(callers.process.wait(), 15)
