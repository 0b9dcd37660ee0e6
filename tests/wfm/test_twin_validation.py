"""The twin against queueing theory: M/M/n (Erlang C) and M/M/n+M (Erlang A).

Each scenario runs 10 replications of 8 measured hours (after a one-hour warm-up) through
the real routing engine; every figure must fall within 3 standard errors (the spread of the
replications' own figures) of the exact value from omnidesk.wfm.erlang. Fixed seeds, so the
outcome is the same on every run; a simulator that queued, timed or counted wrongly would be
off by many standard errors at these sizes (about 18,000 customers per scenario).
"""

from __future__ import annotations

from typing import Any

import pytest
from scipy import stats

from omnidesk.wfm.erlang import erlang_a_point, erlang_c_point
from omnidesk.wfm.twin import run_study, study_from_data

AGENTS, AHT, LOAD, ANSWER_TIME, REPLICATIONS = 12, 180.0, 10.0, 20.0, 10
CALLS_PER_HOUR = LOAD * 3600 / AHT  # 200


def _scenario(patience: float | None, seed: int) -> dict[str, Any]:
    return {
        "start": "2025-01-06T08:00:00+00:00",
        "interval_minutes": 60,
        "intervals": 9,
        "warmup_minutes": 60,
        "replications": REPLICATIONS,
        "seed": seed,
        "queues": [
            {
                "id": "q",
                "channels": ["voice"],
                "service_level_seconds": ANSWER_TIME,
                "wrap_up_seconds": 0,
            }
        ],
        "agents": [{"id": "a", "count": AGENTS, "capacity": {"voice": 1}, "queues": ["q"]}],
        "contacts": [
            {
                "queue": "q",
                "channel": "voice",
                "rates": CALLS_PER_HOUR,
                "handle": {"kind": "exponential", "mean": AHT},
                "patience": {"kind": "none"}
                if patience is None
                else {"kind": "exponential", "mean": patience},
            }
        ],
    }


def _within_3_se(total: dict[str, Any], key: str, exact: float) -> tuple[bool, str]:
    figure = total[key]
    se = figure["half_width"] / stats.t.ppf(0.975, REPLICATIONS - 1)
    gap = abs(figure["mean"] - exact)
    return gap <= 3 * se, f"{key}: twin {figure['mean']:.4f} ± {se:.4f} (SE), exact {exact:.4f}"


@pytest.mark.parametrize("seed", [11, 12])
def test_mmn_matches_erlang_c(seed: int) -> None:
    report = run_study(study_from_data(_scenario(None, seed)))
    total = report["runs"][0]["total"]
    exact = erlang_c_point(
        calls=CALLS_PER_HOUR,
        interval_seconds=3600,
        aht=AHT,
        agents=AGENTS,
        answer_time=ANSWER_TIME,
    )
    assert total["offered"]["mean"] > 1500 and total["abandoned"]["mean"] == 0
    for key, value in (
        ("p_wait", exact.p_wait),
        ("service_level", exact.service_level),
        ("asa", exact.asa),
        ("occupancy", exact.occupancy),
    ):
        ok, text = _within_3_se(total, key, value)
        assert ok, text


@pytest.mark.parametrize("seed", [21, 22])
def test_mmn_plus_m_matches_erlang_a(seed: int) -> None:
    patience = 120.0
    report = run_study(study_from_data(_scenario(patience, seed)))
    total = report["runs"][0]["total"]
    exact = erlang_a_point(
        calls=CALLS_PER_HOUR,
        interval_seconds=3600,
        aht=AHT,
        agents=AGENTS,
        answer_time=ANSWER_TIME,
        patience=patience,
    )
    for key, value in (
        ("p_wait", exact.p_wait),
        ("service_level", exact.service_level),
        ("asa", exact.asa),
        ("abandon_rate", exact.p_abandon),
        ("mean_wait", exact.mean_wait),
        ("occupancy", exact.occupancy),
    ):
        ok, text = _within_3_se(total, key, value)
        assert ok, text


def test_the_check_has_power() -> None:
    """The same test rejects a twin staffed with one agent fewer than the formula assumes:
    the 3-SE band is narrow enough to notice a real difference."""
    data = _scenario(120.0, 21)
    data["agents"][0]["count"] = AGENTS - 1
    total = run_study(study_from_data(data))["runs"][0]["total"]
    exact = erlang_a_point(
        calls=CALLS_PER_HOUR,
        interval_seconds=3600,
        aht=AHT,
        agents=AGENTS,
        answer_time=ANSWER_TIME,
        patience=120.0,
    )
    assert not _within_3_se(total, "service_level", exact.service_level)[0]
    assert not _within_3_se(total, "abandon_rate", exact.p_abandon)[0]
