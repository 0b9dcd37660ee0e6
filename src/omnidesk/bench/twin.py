"""`omnidesk bench twin`: how fast the twin runs, beside ciw on the same queue.

- `compare_mmn(n, customers)`: M/M/n+M in ciw and in the twin with the same parameters (the
  CLI runs n = 100 and n = 1,000 with 100,000 customers): wall and CPU times, speed ratio, and
  both results (service level, P(abandon), ASA) next to Erlang A's exact figures.
- `run_day(agents, contacts)`: a multi-skill day (voice, chat and email; German, English and
  French; steps that relax), twin only; see `day_data`.

The queue: offered load 97 % of the agents (A = 0.97 n Erlangs), AHT 180 s, exponential
patience of 120 s, service-level threshold 20 s; no warm-up in either simulator (both start
empty; over 100,000 customers the start-up transient is negligible). ciw is an optional bench
dependency; without it (a) and (b) report the twin alone.
"""

from __future__ import annotations

import cProfile
import io
import math
import pstats
import time
from typing import Any

from omnidesk.wfm.erlang import erlang_a_point
from omnidesk.wfm.twin.arrivals import generate
from omnidesk.wfm.twin.simulator import simulate
from omnidesk.wfm.twin.stats import contact_metrics, tally
from omnidesk.wfm.twin.study import Study, study_from_data

AHT, PATIENCE, ANSWER_TIME, LOAD_PER_AGENT = 180.0, 120.0, 20.0, 0.97
START = "2025-01-06T00:00:00+00:00"


def _mmn_data(agents: int, customers: int) -> dict[str, Any]:
    # One-minute intervals at a constant rate; the last one partly filled so that about
    # `customers` arrive in all (a one-minute tail barely changes the load).
    per_minute = LOAD_PER_AGENT * agents / AHT * 60
    minutes = max(1, math.ceil(customers / per_minute))
    return {
        "name": f"M/M/{agents}+M",
        "start": START,
        "interval_minutes": 1,
        "intervals": minutes,
        "replications": 1,
        "queues": [
            {
                "id": "q",
                "channels": ["voice"],
                "service_level_seconds": ANSWER_TIME,
                "wrap_up_seconds": 0,
            }
        ],
        "agents": [{"id": "a", "count": agents, "capacity": {"voice": 1}, "queues": ["q"]}],
        "contacts": [
            {
                "queue": "q",
                "channel": "voice",
                "rates": [per_minute] * (minutes - 1) + [customers - per_minute * (minutes - 1)],
                "handle": {"kind": "exponential", "mean": AHT},
                "patience": {"kind": "exponential", "mean": PATIENCE},
            }
        ],
    }


def _run_twin(study: Study, seed: int, profile: bool) -> tuple[dict[str, Any], str | None]:
    started, cpu = time.perf_counter(), time.process_time()
    customers = generate(study.baseline, seed, 0)
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    outcome = simulate(study.baseline, customers)
    if profiler is not None:
        profiler.disable()
    counts = tally(study.baseline, outcome)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    figures = contact_metrics(counts.contacts.sum(axis=(1, 2)))
    result = {
        "customers": len(customers),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "customers_per_second": round(len(customers) / wall) if wall else 0,
        "engine_commands": outcome.commands,
        "engine_events": outcome.events,
        "service_level": float(figures["service_level"]),
        "p_abandon": float(figures["abandon_rate"]),
        "asa": float(figures["asa"]),
    }
    return result, _top(profiler) if profiler is not None else None


def _top(profiler: cProfile.Profile, rows: int = 25) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(rows)
    return out.getvalue()


def _run_ciw(agents: int, customers: int, seed: int) -> dict[str, Any] | None:
    try:
        import ciw  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    started, cpu = time.perf_counter(), time.process_time()
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(LOAD_PER_AGENT * agents / AHT)],
        service_distributions=[ciw.dists.Exponential(1 / AHT)],
        number_of_servers=[agents],
        reneging_time_distributions=[ciw.dists.Exponential(1 / PATIENCE)],
    )
    sim = ciw.Simulation(network)
    # "Finish": until this many customers have left, served or reneged.
    sim.simulate_until_max_customers(customers, method="Finish")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    records = sim.get_all_records()
    served = [r for r in records if r.record_type == "service"]
    reneged = sum(1 for r in records if r.record_type == "renege")
    total = len(served) + reneged
    return {
        "customers": total,
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "customers_per_second": round(total / wall) if wall else 0,
        "service_level": sum(1 for r in served if r.waiting_time <= ANSWER_TIME) / total,
        "p_abandon": reneged / total,
        "asa": sum(r.waiting_time for r in served) / len(served),
    }


def compare_mmn(
    agents: int, customers: int, seed: int = 0, *, ciw: bool = True, profile: bool = False
) -> dict[str, Any]:
    study = study_from_data(_mmn_data(agents, customers))
    twin, profile_text = _run_twin(study, seed, profile)
    peer = _run_ciw(agents, customers, seed) if ciw else None
    exact = erlang_a_point(
        calls=LOAD_PER_AGENT * agents / AHT * 3600,
        interval_seconds=3600,
        aht=AHT,
        agents=agents,
        answer_time=ANSWER_TIME,
        patience=PATIENCE,
    )
    result: dict[str, Any] = {
        "agents": agents,
        "offered_load": round(exact.offered_load, 3),
        "twin": twin,
        "ciw": peer,
        "erlang_a": {
            "service_level": exact.service_level,
            "p_abandon": exact.p_abandon,
            "asa": exact.asa,
        },
        "speed_ratio": round(peer["wall_seconds"] / twin["wall_seconds"], 2)
        if peer is not None and twin["wall_seconds"]
        else None,
        # The same in CPU time of this process: steadier on a shared machine.
        "cpu_speed_ratio": round(peer["cpu_seconds"] / twin["cpu_seconds"], 2)
        if peer is not None and twin["cpu_seconds"]
        else None,
    }
    if profile_text is not None:
        result["profile"] = profile_text
    return result


# --- the multi-skill day -------------------------------------------------------------------

_LANGUAGES = {"lang.de": 0.5, "lang.en": 0.35, "lang.fr": 0.15}
# (channel, share of contacts, handle distribution, patience mean or None, wrap-up seconds)
_CHANNELS = (
    ("voice", 0.5, {"kind": "lognormal", "mean": 240, "sd": 150}, 180.0, 10.0),
    ("chat", 0.3, {"kind": "gamma", "mean": 420, "sd": 200}, 400.0, 5.0),
    ("email", 0.2, {"kind": "lognormal", "mean": 300, "sd": 200}, None, 0.0),
)
# Agent groups: (share of agents, skills).
_GROUPS = (
    (0.30, {"lang.de": 4, "lang.en": 2}),
    (0.15, {"lang.de": 2, "lang.en": 4}),
    (0.25, {"lang.en": 5}),
    (0.10, {"lang.en": 3, "lang.fr": 5}),
    (0.10, {"lang.fr": 3, "lang.de": 3, "lang.en": 1}),
    (0.10, {"lang.de": 5, "lang.fr": 2, "lang.en": 3}),
)


def _group_defs(agents: int) -> list[tuple[str, int, dict[str, int]]]:
    out = []
    left = agents
    for g, (share, skills) in enumerate(_GROUPS):
        count = left if g == len(_GROUPS) - 1 else min(left, max(1, round(agents * share)))
        left -= count
        if count > 0:
            out.append((f"g{g}", count, skills))
    return out


def day_data(
    agents: int, contacts: int, hours: int = 16, *, contact_rules: bool = False
) -> dict[str, Any]:
    """A synthetic multi-skill, multi-language day (also used by the tests at tiny sizes).

    Default: a queue per channel and language (voice-de, chat-fr, ...), whose steps read only
    the agent: "skills.lang.de >= 3" for 20 s, then ">= 1" for 40 s, then also English
    speakers (level 3+). contact_rules: one queue per channel, the language a contact
    attribute, and the same steps written over it ("skill(contact.language_skill) >= 3", ...),
    which the engine must evaluate per candidate agent (docs/routing.md, "Rules in routing").
    """
    service_level = {"voice": 20, "chat": 60, "email": 3600}
    priority = {"voice": 10, "chat": 5, "email": 0}
    membership = {"voice": 2, "chat": 1, "email": 0}
    languages = [name.removeprefix("lang.") for name in _LANGUAGES]

    def queue(
        queue_id: str, channel: str, steps: list[dict[str, Any]], wrap: float
    ) -> dict[str, Any]:
        return {
            "id": queue_id,
            "channels": [channel],
            "priority": priority[channel],
            "service_level_seconds": service_level[channel],
            "steps": steps,
            "offer_timeout_seconds": 30,
            "wrap_up_seconds": wrap,
            "aging_per_minute": 1 if channel == "chat" else 0,
        }

    def stream(queue_id: str, channel: str, volume: float) -> dict[str, Any]:
        _, _, handle, patience, _ = next(c for c in _CHANNELS if c[0] == channel)
        return {
            "queue": queue_id,
            "channel": channel,
            "rates": volume / hours,
            "handle": handle,
            "patience": {"kind": "exponential", "mean": patience}
            if patience is not None
            else {"kind": "none"},
            "answer_delay": {"kind": "uniform", "low": 0.5, "high": 3},
        }

    queues: list[dict[str, Any]] = []
    streams: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    if contact_rules:
        steps: list[dict[str, Any]] = [
            {"target": "skill(contact.language_skill) >= 3", "timeout_seconds": 20},
            {"target": "skill(contact.language_skill) >= 1", "timeout_seconds": 40},
            {
                "target": "skill(contact.language_skill) >= 1 OR "
                "(contact.speaks_english == true AND skills.lang.en >= 3)"
            },
        ]
        for channel, share, _, _, wrap in _CHANNELS:
            queues.append(queue(channel, channel, steps, wrap))
            streams.append(stream(channel, channel, contacts * share))
        for group_id, count, skills in _group_defs(agents):
            groups.append({"id": group_id, "count": count, "skills": skills, "queues": membership})
    else:
        for channel, share, _, _, wrap in _CHANNELS:
            for language, language_share in zip(languages, _LANGUAGES.values(), strict=True):
                skill = f"skills.lang.{language}"
                steps = [
                    {"target": f"{skill} >= 3", "timeout_seconds": 20},
                    {"target": f"{skill} >= 1", "timeout_seconds": 40},
                    {"target": f"{skill} >= 1 OR skills.lang.en >= 3"},
                ]
                queue_id = f"{channel}-{language}"
                queues.append(queue(queue_id, channel, steps, wrap))
                streams.append(stream(queue_id, channel, contacts * share * language_share))
        for group_id, count, skills in _group_defs(agents):
            # A member of every queue it can serve: its own languages, and all of them as
            # an English speaker for the last step.
            spoken = {name.removeprefix("lang.") for name in skills}
            fallback = skills.get("lang.en", 0) >= 3
            groups.append(
                {
                    "id": group_id,
                    "count": count,
                    "skills": skills,
                    "queues": {
                        f"{channel}-{language}": membership[channel]
                        for channel, *_ in _CHANNELS
                        for language in languages
                        if language in spoken or fallback
                    },
                }
            )
    for group in groups:
        group["capacity"] = {"voice": 1, "chat": 3, "email": 2}
        group["blending"] = {"voice": []}
    return {
        "name": f"multi-skill day, {agents} agents",
        "start": START,
        "interval_minutes": 60,
        "intervals": hours,
        "replications": 1,
        "engine": {"missed_state": "available"},
        "queues": queues,
        "agents": groups,
        "defaults": {
            "attributes": {
                "language_skill": _LANGUAGES,
                "speaks_english": {True: 0.6, False: 0.4},
            }
        }
        if contact_rules
        else {},
        "contacts": streams,
    }


def run_day(
    agents: int,
    contacts: int,
    seed: int = 0,
    *,
    contact_rules: bool = False,
    profile: bool = False,
) -> dict[str, Any]:
    study = study_from_data(day_data(agents, contacts, contact_rules=contact_rules))
    twin, profile_text = _run_twin(study, seed, profile)
    result: dict[str, Any] = {
        "agents": agents,
        "queues": len(study.baseline.queues),
        "contact_rules": contact_rules,
        "twin": twin,
    }
    if profile_text is not None:
        result["profile"] = profile_text
    return result
