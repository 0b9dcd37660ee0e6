"""Staffing searches: published worked example, minimality against brute force, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnidesk.wfm import erlang as erl
from omnidesk.wfm import staffing
from omnidesk.wfm.erlang import ErlangInputError


def test_call_centre_helper_worked_example() -> None:
    # Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example": 100 calls
    # per 30 min, AHT 180 s, 80 % in 20 s, max occupancy 85 %, shrinkage 30 % -> 14 agents
    # (SL 88.8 %, occupancy 71.4 %), 20 with shrinkage. pyworkforce 0.1.0's README prints the
    # same: raw_positions 14, positions 20, service_level 0.8883500191794669.
    r = staffing.staff_erlang_c(
        calls=100,
        interval_seconds=1800,
        aht=180,
        answer_time=20,
        target_sl=0.8,
        max_occupancy=0.85,
        shrinkage=0.3,
    ).point()
    assert r.agents == 14
    # 14 / 0.7 is 20.000000000000004 in floating point: must not round up to 21.
    assert r.agents_with_shrinkage == 20
    assert r.service_level == pytest.approx(0.8883500191794669, rel=1e-12)
    assert r.p_wait == pytest.approx(0.1741319335950498, rel=1e-12)
    assert r.occupancy == pytest.approx(10 / 14, rel=1e-15)
    assert r.p_abandon is None and r.mean_wait is None


def _brute_force_c(calls: float, aht: float, t: float, target: float) -> int:
    """Walk n = floor(A)+1, ... with the public (recursion-based) metrics until SL >= target."""
    load = calls * aht / 1800
    n = math.floor(load) + 1
    while True:
        p = erl.erlang_c_point(calls=calls, interval_seconds=1800, aht=aht, agents=n, answer_time=t)
        if p.service_level >= target:
            return n
        n += 1


def test_erlang_c_vectorised_equals_brute_force() -> None:
    rng = np.random.default_rng(11)
    calls = rng.uniform(1, 2500, 300)
    aht = rng.uniform(60, 600, 300)
    t = rng.choice([10.0, 20.0, 30.0, 60.0], 300)
    target = rng.uniform(0.5, 0.95, 300)
    res = staffing.staff_erlang_c(
        calls=calls, interval_seconds=1800, aht=aht, answer_time=t, target_sl=target
    )
    assert res.agents.shape == (300,)
    for i in range(0, 300, 7):
        expected = _brute_force_c(float(calls[i]), float(aht[i]), float(t[i]), float(target[i]))
        assert res.agents[i] == expected, i
    # Every reported figure is the Erlang C figure at the chosen agent count.
    m = erl.erlang_c_metrics(
        calls=calls, interval_seconds=1800, aht=aht, agents=res.agents, answer_time=t
    )
    np.testing.assert_allclose(res.service_level, m.service_level, rtol=1e-12)
    np.testing.assert_allclose(res.asa, m.asa, rtol=1e-12)
    assert np.all(res.service_level >= target)


def test_erlang_c_asa_and_occupancy_targets() -> None:
    common = {"calls": 100, "interval_seconds": 1800, "aht": 180, "answer_time": 20}
    asa_only = staffing.staff_erlang_c(target_asa=5.0, **common).point()
    assert asa_only.asa <= 5.0
    below = erl.erlang_c_point(agents=asa_only.agents - 1, **common)
    assert below.asa > 5.0
    # A tight occupancy cap binds before the SL target: ceil(10 / 0.6) = 17 agents.
    capped = staffing.staff_erlang_c(target_sl=0.8, max_occupancy=0.6, **common).point()
    assert capped.agents == 17
    # Load exactly on the cap boundary: 8.5 Erlangs at 85 % -> exactly 10 agents, not 11.
    exact = staffing.staff_erlang_c(
        calls=85, interval_seconds=1800, aht=180, answer_time=20, max_occupancy=0.85
    ).point()
    assert exact.agents == 10


def test_erlang_c_large_load_is_exact_and_linear_time() -> None:
    # 19,000 Erlangs: the answer sits a little above the load; the walk starts from the O(1)
    # closed-form seed at floor(A)+1 instead of recursing 19,000 steps per candidate.
    res = staffing.staff_erlang_c(
        calls=190_000, interval_seconds=1800, aht=180, answer_time=20, target_sl=0.8
    ).point()
    assert 19_000 < res.agents < 19_100
    above = erl.erlang_c_point(
        calls=190_000, interval_seconds=1800, aht=180, agents=res.agents, answer_time=20
    )
    below = erl.erlang_c_point(
        calls=190_000, interval_seconds=1800, aht=180, agents=res.agents - 1, answer_time=20
    )
    assert above.service_level >= 0.8 > below.service_level


def _feasible_a(p: erl.ErlangAPoint, sl: float | None, asa: float | None, ab: float | None) -> bool:
    return (
        (sl is None or p.service_level >= sl)
        and (asa is None or p.asa <= asa)
        and (ab is None or p.p_abandon <= ab)
    )


@settings(max_examples=40, deadline=None)
@given(
    load=st.floats(0.5, 800),
    patience_ratio=st.floats(0.05, 10),
    target=st.floats(0.3, 0.95),
    t=st.sampled_from([0.0, 10.0, 20.0, 60.0]),
    use_asa=st.booleans(),
    use_abandon=st.booleans(),
)
def test_erlang_a_is_least_feasible(
    load: float, patience_ratio: float, target: float, t: float, use_asa: bool, use_abandon: bool
) -> None:
    aht = 240.0
    common = {
        "calls": load * 1800 / aht,
        "interval_seconds": 1800,
        "aht": aht,
        "answer_time": t,
        "patience": patience_ratio * aht,
    }
    asa = 30.0 if use_asa else None
    ab = 0.05 if use_abandon else None
    res = staffing.staff_erlang_a(target_sl=target, target_asa=asa, max_abandon=ab, **common)
    n = int(res.agents)
    at_n = erl.erlang_a_point(agents=n, **common)
    assert _feasible_a(at_n, target, asa, ab)
    if n > 1:
        assert not _feasible_a(erl.erlang_a_point(agents=n - 1, **common), target, asa, ab)
    assert float(res.service_level) == pytest.approx(at_n.service_level, rel=1e-12)
    assert res.p_abandon is not None
    assert float(res.p_abandon) == pytest.approx(at_n.p_abandon, rel=1e-12, abs=1e-300)


def test_erlang_a_can_staff_below_the_load() -> None:
    # Impatient callers (mean patience 30 s, AHT 300 s): abandonment keeps the queue short, so
    # 60/20 is met with fewer agents than the 50 Erlangs offered. A search that starts at the
    # load (as pyworkforce's does) cannot find this answer.
    common = {
        "calls": 300,
        "interval_seconds": 1800,
        "aht": 300,
        "answer_time": 20,
        "patience": 30,
    }
    res = staffing.staff_erlang_a(target_sl=0.6, **common).point()
    assert res.agents < 50
    assert res.service_level >= 0.6
    below = erl.erlang_a_point(agents=res.agents - 1, **common)
    assert below.service_level < 0.6
    # Erlang C would need more than the load.
    c = staffing.staff_erlang_c(
        calls=300, interval_seconds=1800, aht=300, answer_time=20, target_sl=0.6
    ).point()
    assert c.agents > 50 > res.agents


def test_erlang_a_vectorised_matches_scalar_calls() -> None:
    rng = np.random.default_rng(5)
    calls = rng.uniform(5, 1500, 60)
    aht = rng.uniform(100, 500, 60)
    patience = rng.uniform(20, 600, 60)
    res = staffing.staff_erlang_a(
        calls=calls,
        interval_seconds=1800,
        aht=aht,
        answer_time=20,
        patience=patience,
        target_sl=0.8,
        max_abandon=0.05,
        shrinkage=0.35,
    )
    for i in range(60):
        one = staffing.staff_erlang_a(
            calls=float(calls[i]),
            interval_seconds=1800,
            aht=float(aht[i]),
            answer_time=20,
            patience=float(patience[i]),
            target_sl=0.8,
            max_abandon=0.05,
            shrinkage=0.35,
        ).point()
        assert one.agents == res.agents[i]
        assert one.agents_with_shrinkage == math.ceil(one.agents / 0.65 - 1e-9)


def test_zero_call_intervals_when_allowed() -> None:
    calls = np.array([0.0, 100.0, 0.0])
    with pytest.raises(ErlangInputError) as info:
        staffing.staff_erlang_c(
            calls=calls, interval_seconds=1800, aht=180, answer_time=20, target_sl=0.8
        )
    assert info.value.field == "calls"
    for model in ("c", "a"):
        res = staffing.staff(
            model,
            calls=calls,
            interval_seconds=1800,
            aht=180,
            answer_time=20,
            target_sl=0.8,
            patience=120,
            shrinkage=0.3,
            allow_zero_calls=True,
        )
        assert res.agents[0] == res.agents[2] == 0
        assert res.agents_with_shrinkage[0] == 0
        assert res.service_level[0] == 1.0
        assert res.agents[1] > 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target_sl": 1.0}, "target_sl"),
        ({"target_sl": 0.0}, "target_sl"),
        ({"target_sl": None}, "target_sl"),  # no target at all
        ({"max_occupancy": 1.0}, "max_occupancy"),
        ({"max_occupancy": 1.2}, "max_occupancy"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"shrinkage": -0.1}, "shrinkage"),
        ({"target_asa": 0.0}, "target_asa"),
        ({"aht": -3}, "aht"),
        ({"calls": 1e6}, "calls"),  # 100,000 Erlangs: more than 20,000 agents
        ({"max_occupancy": 0.2, "calls": 60_000}, "max_occupancy"),  # 50,000 agents
        ({"target_asa": 1e-3, "target_sl": None, "calls": 199_000}, "target_asa"),
    ],
)
def test_erlang_c_bad_input(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "calls": 100,
        "interval_seconds": 1800,
        "aht": 180,
        "answer_time": 20,
        "target_sl": 0.8,
    }
    args.update(kwargs)
    with pytest.raises(ErlangInputError) as info:
        staffing.staff_erlang_c(**args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_dispatcher_errors() -> None:
    common = {"calls": 100, "interval_seconds": 1800, "aht": 180, "answer_time": 20}
    with pytest.raises(ErlangInputError) as info:
        staffing.staff("b", target_sl=0.8, **common)
    assert info.value.field == "model"
    with pytest.raises(ErlangInputError) as info:
        staffing.staff("a", target_sl=0.8, **common)
    assert info.value.field == "patience"
    with pytest.raises(ErlangInputError) as info:
        staffing.staff("c", target_sl=0.8, max_abandon=0.1, **common)
    assert info.value.field == "max_abandon"
    # 25,000 Erlangs: with abandonment SL <= agents / load, so 85 % needs over 20,000 agents.
    with pytest.raises(ErlangInputError) as info:
        staffing.staff("a", target_sl=0.85, patience=60, **{**common, "calls": 250_000})
    assert info.value.field == "target_sl"
    assert "20,000" in info.value.message
