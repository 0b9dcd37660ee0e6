"""Routing benchmark: `run(agents, queues, skills, contacts, seed) -> dict`.

The CLI `omnidesk bench routing --agents 10000 --queues 500 --skills 50 --contacts 200000 --json`
prints what `run` returns. Everything is synthetic and seeded, so two runs with the same seed
drive the engine with the same commands (timings differ, events do not).

Workload (see docs/routing.md, "Reading the benchmark"):
- `skills` skills s0..; each queue serves one channel (voice, chat, email in turn) and has a
  three-step workflow on its primary skill: "skills.sK >= 3" for 20 s, then "skills.sK >= 1"
  for 40 s, then any member. Agents have 4 skills (levels 1-5), capacity voice 1 / chat 3 /
  email 2, no chat or email while on a call, and belong to up to 5 queues of their skills.
- Throughput phase, on a virtual clock: all agents log in, then `contacts` contacts arrive as a
  Poisson stream at ~100% of the agents' capacity. Agents answer an offer after 1-6 s (5%
  reject it, 2% let it time out), talk an exponential 120-300 s, wrap up 10 s (ended by the
  engine's timer). A tick every virtual second. Every `Engine.handle` call is timed.
- Memory phase: a fresh engine with the same queues and agents, all agents offline, and all
  `contacts` contacts arriving; tracemalloc's peak over the arrivals divided by the contacts.

Figures:
- decisions_per_second: routing decisions (offers made) per second of engine time, where
  engine time is the sum of all `handle` calls (every command, not only the routing ones).
- latency_us p50/p99/max: wall clock per `handle` call of any command; cpu_latency_us the same
  in CPU time of the thread (immune to other processes; each reading costs ~1 us itself).
  Measured with the garbage collector on, as the server runs: a collection that falls inside a
  `handle` call counts in its latency. `gc` says how many collections ran and how long they
  paused the run (including those that fell between commands).
- gc_off (only with `gc_off=True`): the throughput phase again on a fresh engine with the
  collector disabled, for comparison; never the headline figures.
- per_command: count, mean, p50, p99 per command type; "contact_arrived" is the decision "who
  takes this contact, or wait"; timers that fall due are handled inside whichever command
  comes next, so their cost shows up there.
- calibration_ms: a fixed pure-Python loop, to compare figures across machines.
- memory_per_waiting_contact_bytes: see the memory phase.
"""

from __future__ import annotations

import gc
import heapq
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from omnidesk.core.routing.commands import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    Command,
    ContactArrived,
    EndContact,
    RejectOffer,
    SetAgentState,
    Tick,
)
from omnidesk.core.routing.engine import Engine
from omnidesk.core.routing.events import OfferAccepted, OfferCreated
from omnidesk.core.routing.model import AgentDef, EngineSettings, QueueDef, Step

CHANNELS = ("voice", "chat", "email")
CAPACITY = {"voice": 1, "chat": 3, "email": 2}
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
# What `gc_off` repeats of the throughput phase (the same workload, so the same decisions).
GC_OFF_FIGURES = (
    "decisions",
    "decisions_per_second",
    "decisions_per_cpu_second",
    "commands_per_second",
    "latency_us",
    "cpu_latency_us",
)


def _definitions(
    agents: int, queues: int, skills: int, rng: random.Random
) -> tuple[list[QueueDef], list[AgentDef]]:
    queue_defs = []
    by_skill: dict[int, list[str]] = {}
    for q in range(queues):
        skill = q % skills
        queue_id = f"q{q}"
        by_skill.setdefault(skill, []).append(queue_id)
        queue_defs.append(
            QueueDef(
                id=queue_id,
                channels=(CHANNELS[q % len(CHANNELS)],),
                steps=(
                    Step(target=f"skills.s{skill} >= 3", timeout_seconds=20),
                    Step(target=f"skills.s{skill} >= 1", timeout_seconds=40),
                    Step(target=None),
                ),
                offer_timeout_seconds=15,
                wrap_up_seconds=10,
                aging_per_minute=1.0,
            )
        )
    agent_defs = []
    for a in range(agents):
        own = rng.sample(range(skills), k=min(4, skills))
        candidates = [queue_id for s in own for queue_id in by_skill.get(s, [])]
        member_of = rng.sample(candidates, k=min(5, len(candidates)))
        agent_defs.append(
            AgentDef(
                id=f"a{a}",
                skills={f"s{s}": rng.randint(1, 5) for s in own},
                capacity=CAPACITY,
                blending={"voice": ()},
                queues={queue_id: rng.randint(0, 2) for queue_id in member_of},
            )
        )
    return queue_defs, agent_defs


def _setup(queue_defs: list[QueueDef], agent_defs: list[AgentDef]) -> Engine:
    engine = Engine(EngineSettings(missed_state="available"))
    for queue in queue_defs:
        engine.handle(AddQueue(queue), START)
    for agent in agent_defs:
        engine.handle(AddAgent(agent), START)
    return engine


def _calibrate() -> float:
    """Milliseconds for a fixed pure-Python loop (best of 3): how fast this interpreter and
    core are, so figures from different machines can be compared."""
    best = float("inf")
    for _ in range(3):
        table: dict[int, int] = {}
        start = time.perf_counter()
        for i in range(1_000_000):
            table[i & 1023] = i
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def _percentile(sorted_values: list[int], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index] / 1000.0


class _GcPauses:
    """Collections and their pauses while installed in `gc.callbacks`."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.pauses: list[int] = []  # ns
        self._started = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
            return
        self.pauses.append(time.perf_counter_ns() - self._started)
        self.collections[info["generation"]] += 1

    def figures(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "collections": dict(zip(("gen0", "gen1", "gen2"), self.collections, strict=True)),
            "pause_ms_total": round(sum(self.pauses) / 1e6, 2),
            "pause_ms_max": round(max(self.pauses, default=0) / 1e6, 2),
        }


def _throughput(
    engine: Engine,
    queue_defs: list[QueueDef],
    agent_defs: list[AgentDef],
    contacts: int,
    seed: int,
    *,
    collector: bool = True,
) -> dict[str, Any]:
    rng = random.Random(seed + 1)
    # Arrival rate at about the agents' capacity: slots per agent / mean handle time.
    mean_handle = 210.0 + 10.0 + 3.5
    slots = len(agent_defs) * sum(CAPACITY.values()) / len(CAPACITY)
    rate = slots / mean_handle
    plan: list[tuple[float, int, Command]] = []
    seq = 0

    def at(offset: float, command: Command) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(plan, (offset, seq, command))

    for agent in agent_defs:
        at(0.0, SetAgentState(agent.id, "available"))
    clock = 0.0
    for c in range(contacts):
        clock += rng.expovariate(rate)
        queue = queue_defs[rng.randrange(len(queue_defs))]
        priority = 1 if rng.random() < 0.1 else 0
        at(clock, ContactArrived(f"c{c}", queue.id, queue.channels[0], priority=priority))
    horizon = clock + 600
    for second in range(int(horizon) + 1):
        at(float(second), Tick())

    latencies: list[int] = []  # wall clock per handle call, ns
    cpu: list[int] = []  # CPU time of this thread per handle call, ns
    by_type: dict[str, list[int]] = {}
    offers = 0
    perf = time.perf_counter_ns
    thread = time.thread_time_ns
    gc.collect()  # every run starts from the same clean heap
    # The server runs with the collector on, so the headline figures do too; `collector=False`
    # is the labelled comparison (gc_off), never the figure a server would see.
    pauses = _GcPauses()
    if collector:
        gc.callbacks.append(pauses)
    else:
        gc.disable()
    try:
        while plan:
            offset, _, command = heapq.heappop(plan)
            now = START + timedelta(seconds=offset)
            c0 = thread()
            t0 = perf()
            try:
                events = engine.handle(command, now)
            except Exception:
                events = []
            elapsed = perf() - t0
            cpu.append(thread() - c0)
            latencies.append(elapsed)
            by_type.setdefault(command.type, []).append(elapsed)
            for event in events:
                if isinstance(event, OfferCreated):
                    offers += 1
                    draw = rng.random()
                    if draw < 0.02:
                        continue  # never answered: the offer times out
                    delay = rng.uniform(1.0, 6.0)
                    answer: Command = (
                        RejectOffer(event.offer_id, event.agent_id)
                        if draw < 0.07
                        else AcceptOffer(event.offer_id, event.agent_id)
                    )
                    at(offset + delay, answer)
                elif isinstance(event, OfferAccepted):
                    at(offset + rng.expovariate(1 / 210.0), EndContact(event.contact_id))
    finally:
        if collector:
            gc.callbacks.remove(pauses)
        gc.enable()
    wall_seconds = sum(latencies) / 1e9
    cpu_seconds = sum(cpu) / 1e9
    latencies.sort()
    cpu.sort()
    per_command = {}
    for kind, values in sorted(by_type.items()):
        values.sort()
        per_command[kind.removeprefix("routing.")] = {
            "count": len(values),
            "mean_us": round(sum(values) / len(values) / 1000, 1),
            "p50_us": _percentile(values, 0.50),
            "p99_us": _percentile(values, 0.99),
        }
    return {
        "commands": len(latencies),
        "decisions": offers,
        "engine_seconds": round(wall_seconds, 3),
        "engine_cpu_seconds": round(cpu_seconds, 3),
        "decisions_per_second": round(offers / wall_seconds) if wall_seconds else 0,
        "decisions_per_cpu_second": round(offers / cpu_seconds) if cpu_seconds else 0,
        "commands_per_second": round(len(latencies) / wall_seconds) if wall_seconds else 0,
        "latency_us": {
            "p50": _percentile(latencies, 0.50),
            "p99": _percentile(latencies, 0.99),
            "max": _percentile(latencies, 1.0),
        },
        "cpu_latency_us": {
            "p50": _percentile(cpu, 0.50),
            "p99": _percentile(cpu, 0.99),
            "max": _percentile(cpu, 1.0),
        },
        "per_command": per_command,
        "simulated_seconds": round(horizon),
        "gc": pauses.figures() if collector else {"enabled": False},
    }


def _memory(queue_defs: list[QueueDef], agent_defs: list[AgentDef], contacts: int) -> float:
    engine = _setup(queue_defs, agent_defs)
    commands = [
        ContactArrived(
            f"m{c}", queue_defs[c % len(queue_defs)].id, queue_defs[c % len(queue_defs)].channels[0]
        )
        for c in range(contacts)
    ]
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    now = START + timedelta(seconds=1)
    for command in commands:
        engine.handle(command, now)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / contacts if contacts else 0.0


def run(
    agents: int = 10_000,
    queues: int = 500,
    skills: int = 50,
    contacts: int = 200_000,
    seed: int = 0,
    *,
    memory: bool = True,
    gc_off: bool = False,
) -> dict[str, Any]:
    if min(agents, queues, skills) < 1 or contacts < 0:
        raise ValueError("agents, queues and skills must be positive, contacts not negative")
    rng = random.Random(seed)
    queue_defs, agent_defs = _definitions(agents, queues, skills, rng)
    setup_start = time.perf_counter()
    engine = _setup(queue_defs, agent_defs)
    setup_seconds = time.perf_counter() - setup_start
    result: dict[str, Any] = {
        "params": {
            "agents": agents,
            "queues": queues,
            "skills": skills,
            "contacts": contacts,
            "seed": seed,
        },
        "setup_seconds": round(setup_seconds, 3),
        "calibration_ms": _calibrate(),
    }
    result.update(_throughput(engine, queue_defs, agent_defs, contacts, seed))
    if gc_off:
        fresh = _setup(queue_defs, agent_defs)
        off = _throughput(fresh, queue_defs, agent_defs, contacts, seed, collector=False)
        result["gc_off"] = {key: off[key] for key in GC_OFF_FIGURES}
    if memory:
        per_contact = _memory(queue_defs, agent_defs, contacts)
        result["memory_per_waiting_contact_bytes"] = round(per_contact)
    return result
