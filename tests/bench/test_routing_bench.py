"""The routing benchmark runs end to end at a small size and reports what the CLI prints."""

from __future__ import annotations

import gc
import json

import pytest

from omnidesk.bench.routing import GC_OFF_FIGURES, run


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


def test_latency_is_measured_with_the_collector_on_as_the_server_runs() -> None:
    # At this size the engine allocates too little for the default thresholds to collect at
    # all; a low threshold shows whether the collector could run inside the timed phase.
    threshold = gc.get_threshold()
    gc.set_threshold(50)
    try:
        result = run(agents=30, queues=3, skills=3, contacts=150, seed=1, memory=False, gc_off=True)
    finally:
        gc.set_threshold(*threshold)
    collector = result["gc"]
    assert collector["enabled"] is True
    assert sum(collector["collections"].values()) > 0  # it did collect during the timed run
    assert 0 <= collector["pause_ms_max"] <= collector["pause_ms_total"]
    # The comparison without the collector is labelled and runs the same workload.
    off = result["gc_off"]
    assert set(off) == set(GC_OFF_FIGURES)
    assert off["decisions"] == result["decisions"]
    assert gc.isenabled()
    assert "gc_off" not in run(agents=30, queues=3, skills=3, contacts=20, memory=False)
