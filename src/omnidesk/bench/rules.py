"""`omnidesk bench rules`: micro-benchmark of rule evaluation.

Measures evaluations per second for a few typical rules against a pool of agents, evaluated the
way the engine does it (one `now` per routing pass, many agents). No assertions: figures vary
with the machine, so they are reported, not tested.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from omnidesk.core.routing.rules import EvaluationContext
from omnidesk.core.routing.rules.rule import compile_uncached

RULES = {
    "typical": "skills.lang.de >= 4 AND contact.priority > 2",
    "membership": 'contact.channel IN ["chat", "email"] AND agent.skills HAS "billing"',
    "nested": (
        "(skills.lang.de >= 3 OR skills.lang.en >= 4) AND NOT contact.attributes.vip == true "
        'AND agent.team != "trainees"'
    ),
    "clock": 'local_time("Europe/Berlin") BETWEEN "08:00" AND "18:00" AND skills.billing >= 1',
    "follow_the_sun": "within_working_hours(agent) AND skills.support >= 2",
}


def _agents(count: int) -> list[dict[str, object]]:
    zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
    hours = {day: ["08:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    return [
        {
            "id": f"a{i}",
            "team": "trainees" if i % 7 == 0 else "core",
            "skills": {"lang.de": i % 6, "lang.en": (i + 2) % 6, "billing": i % 3, "support": 3},
            "timezone": zones[i % len(zones)],
            "working_hours": hours,
        }
        for i in range(count)
    ]


def run(seconds: float, agents: int) -> dict[str, dict[str, float]]:
    pool = _agents(agents)
    contact = {"priority": 3, "channel": "chat", "attributes": {"vip": False}}
    start = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
    # One routing pass = one instant; ten passes a second apart, reused round-robin.
    instants = [start + timedelta(seconds=s) for s in range(10)]
    passes = [[EvaluationContext(contact, agent, now) for agent in pool] for now in instants]
    results: dict[str, dict[str, float]] = {}
    for name, source in RULES.items():
        compile_started = time.perf_counter()
        for _ in range(100):
            rule = compile_uncached(source)
        compile_us = (time.perf_counter() - compile_started) / 100 * 1e6
        matches = rule.matches
        evaluations = matched = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            for contexts in passes:
                for ctx in contexts:
                    matched += matches(ctx)
                evaluations += len(contexts)
        elapsed = time.perf_counter() - started
        # The same, building the context for each evaluation as a caller without reuse would.
        built = 0
        now = start
        started = time.perf_counter()
        deadline = started + seconds / 2
        while time.perf_counter() < deadline:
            now += timedelta(seconds=1)
            for agent in pool:
                matches(EvaluationContext(contact, agent, now))
            built += len(pool)
        built_elapsed = time.perf_counter() - started
        results[name] = {
            "evaluations_per_second": round(evaluations / elapsed),
            "ns_per_evaluation": round(elapsed / evaluations * 1e9, 1),
            "with_context_per_second": round(built / built_elapsed),
            "match_ratio": round(matched / evaluations, 3),
            "compile_us": round(compile_us, 1),
        }
    return results
