"""`omnidesk bench voice` at a tiny size: the JSON's shape, and that every call was up and
recorded at once. Figures are printed, never asserted (the machine is shared)."""

from __future__ import annotations

import json
import shutil

import pytest

from omnidesk_cli import run_omnidesk

pytestmark = [
    pytest.mark.skipif(
        not (shutil.which("sipp") and shutil.which("sox")), reason="needs sipp and sox"
    ),
    pytest.mark.slow,
]


def test_bench_voice_five_recorded_calls() -> None:
    done = run_omnidesk("bench", "voice", "--calls", "5", "--seconds", "3", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)  # the whole of stdout; the server's logs are on stderr
    print(figures)
    assert figures["calls"] == 5 and figures["seconds"] == 3.0
    # Every call was connected to an agent and recorded, all at the same time, all through the
    # measured window; every caller's sipp call ended cleanly.
    assert figures["concurrent_recorded_peak"] == 5
    assert figures["concurrent_recorded_min"] == 5
    assert figures["callers_exit"] == 0
    interval = figures["send_interval_ms"]
    assert set(interval) == {"p50", "p99"}
    assert all(isinstance(interval[k], float) and interval[k] > 0 for k in interval)
    assert figures["packets_received"] > 0
    for key in ("packets_lost", "loss_pct", "cpu_pct", "rss_mb"):
        assert isinstance(figures[key], int | float) and figures[key] >= 0, key
