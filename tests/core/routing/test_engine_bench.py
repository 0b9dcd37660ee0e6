"""The routing benchmark runs end to end at a small size and reports what the CLI prints."""

from __future__ import annotations

import json

import pytest

from omnidesk.core.routing.bench import run


def test_small_benchmark_reports_its_figures() -> None:
    result = run(agents=60, queues=6, skills=4, contacts=300, seed=7)
    json.dumps(result)
    assert result["params"] == {
        "agents": 60,
        "queues": 6,
        "skills": 4,
        "contacts": 300,
        "seed": 7,
    }
    assert result["decisions"] >= 300  # every contact is offered at least once
    assert result["decisions_per_second"] > 0 and result["decisions_per_cpu_second"] > 0
    for key in ("latency_us", "cpu_latency_us"):
        figures = result[key]
        assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    assert result["memory_per_waiting_contact_bytes"] > 0
    assert result["calibration_ms"] > 0


def test_same_seed_same_workload() -> None:
    one = run(agents=30, queues=3, skills=3, contacts=100, seed=1, memory=False)
    two = run(agents=30, queues=3, skills=3, contacts=100, seed=1, memory=False)
    assert (one["commands"], one["decisions"]) == (two["commands"], two["decisions"])


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        run(agents=0, queues=1, skills=1, contacts=1)
