"""Erlang B / C / A: published reference values, independent numerical checks, properties."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import brentq
from scipy.sparse.linalg import expm_multiply, spsolve

from omnidesk.wfm import erlang as erl
from omnidesk.wfm.erlang import ErlangInputError

# ---------------------------------------------------------------------------------------------
# Independent reference implementations (deliberately different from the module's methods)
# ---------------------------------------------------------------------------------------------


def erlang_b_fraction(load: Fraction, lines: int) -> Fraction:
    """Textbook definition in exact rational arithmetic: (A^N/N!) / sum_k A^k/k!."""
    terms = [Fraction(1)]
    for k in range(1, lines + 1):
        terms.append(terms[-1] * load / k)
    return terms[-1] / sum(terms)


def erlang_c_logsum(load: float, agents: int) -> float:
    """Erlang C from its definition via log-space sums (math.lgamma), independent of the
    Erlang B recursion the module uses."""
    k = np.arange(agents)
    log_terms = k * math.log(load) - np.array([math.lgamma(i + 1.0) for i in k])
    log_last = (
        agents * math.log(load) - math.lgamma(agents + 1.0) + math.log(agents / (agents - load))
    )
    top = max(log_terms.max(), log_last)
    head = np.exp(log_terms - top).sum()
    tail = math.exp(log_last - top)
    return tail / (head + tail)


def mmn_m_chain(
    calls: float, interval: float, aht: float, agents: int, answer_time: float, patience: float
) -> dict[str, float]:
    """M/M/n+M by brute force: the stationary law of the truncated birth-death chain, and the
    tagged customer's fate (served / abandoned, and when) as an absorbing Markov chain."""
    lam, mu, theta = calls / interval, 1.0 / aht, 1.0 / patience
    x = lam / theta
    extra = int(max(80, 1.5 * x + 40 * math.sqrt(x + 1) + 80))
    top = agents + extra
    log_p = np.zeros(top + 1)
    for k in range(1, top + 1):
        death = min(k, agents) * mu + max(k - agents, 0) * theta
        log_p[k] = log_p[k - 1] + math.log(lam / death)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    assert p[-1] < 1e-20  # truncation is harmless
    queue = np.maximum(np.arange(top + 1) - agents, 0)
    p_wait = p[agents:].sum()
    p_ab = theta * (queue * p).sum() / lam
    # Tagged arrival finding j waiting: state j = customers ahead. Leaves state j at rate
    # n mu + j theta (someone ahead served or gone), is served from state 0 at rate n mu and
    # abandons at rate theta from any state.
    size = extra
    rates = agents * mu + np.arange(size) * theta
    gen = sparse.diags([-(rates + theta), rates[1:]], [0, -1], shape=(size, size), format="csc")
    # diags(offset -1) puts rates[1:] at (j, j-1): the move from j ahead to j-1 ahead.
    serve = np.zeros(size)
    serve[0] = agents * mu
    served = spsolve(-gen, serve)  # P(served | j ahead)
    served_time = spsolve(-gen, served)  # E[wait * 1{served} | j ahead]
    late = expm_multiply(gen * answer_time, served)  # P(served after T | j ahead)
    pj = p[agents : agents + size]
    return {
        "p_wait": p_wait,
        "p_abandon": p_ab,
        "service_level": (1.0 - p_wait) + float((pj * (served - late)).sum()),
        "asa": float((pj * served_time).sum()) / (1.0 - p_ab),
        "mean_queue": float((queue * p).sum()),
        "mean_wait": p_ab / theta,
        "occupancy": (lam / mu) * (1.0 - p_ab) / agents,
    }


# ---------------------------------------------------------------------------------------------
# Erlang B
# ---------------------------------------------------------------------------------------------


def test_erlang_b_exact_small_cases() -> None:
    # By hand: B(A=1, N=1) = 1/2; B(A=2, N=2) = (4/2) / (1 + 2 + 2) = 2/5.
    assert erl.erlang_b_value(1.0, 1) == pytest.approx(0.5, rel=1e-15)
    assert erl.erlang_b_value(2.0, 2) == pytest.approx(0.4, rel=1e-15)
    assert erl.erlang_b_value(3.0, 0) == 1.0


def test_erlang_b_textbook_value() -> None:
    # Erlang B loss tables: 10 Erlangs offered to 15 lines -> 3.65 % blocking.
    assert erl.erlang_b_value(10.0, 15) == pytest.approx(0.0365, abs=5e-5)
    # Exact rational value of the same point, to full double precision.
    exact = float(erlang_b_fraction(Fraction(10), 15))
    assert erl.erlang_b_value(10.0, 15) == pytest.approx(exact, rel=1e-14)


def test_erlang_b_calculator_manual_example() -> None:
    # erlang.com calculator manual, "How much traffic can a trunk group handle?": 15 lines at
    # 1 % blocking carry at most 8.108 Erlangs.
    carried = brentq(lambda a: erl.erlang_b_value(a, 15) - 0.01, 1.0, 15.0)
    assert round(carried, 3) == 8.108


# Table of Erlang B (traffic in Erlangs that N channels carry at a given blocking), Appendix A of
# D. Collins, "Carrier Grade Voice over IP", 2nd ed., McGraw-Hill (reproduced by GlobalSpec).
# Columns: blocking 0.01 %, 0.05 %, 0.1 %, 0.2 % ... 0.9 %, 1 %, 2 %, 3 %, 4 %, 5 %.
_GOS = (0.0001, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01,
        0.02, 0.03, 0.04, 0.05)  # fmt: skip
_COLLINS_TABLE = {
    3: (0.1, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.4, 0.4, 0.4, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    5: (0.5, 0.6, 0.8, 0.9, 1.0, 1.1, 1.1, 1.2, 1.2, 1.3, 1.3, 1.4, 1.7, 1.9, 2.1, 2.2),
    7: (1.1, 1.4, 1.6, 1.8, 1.9, 2.1, 2.2, 2.2, 2.3, 2.4, 2.4, 2.5, 2.9, 3.2, 3.5, 3.7),
    9: (1.8, 2.3, 2.6, 2.9, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8, 4.3, 4.7, 5.1, 5.4),
}


@pytest.mark.parametrize("channels", sorted(_COLLINS_TABLE))
def test_erlang_b_published_table(channels: int) -> None:
    for gos, expected in zip(_GOS, _COLLINS_TABLE[channels], strict=True):
        traffic = brentq(lambda a, g=gos: erl.erlang_b_value(a, channels) - g, 1e-9, 50.0)
        assert round(traffic, 1) == expected, (channels, gos)


@pytest.mark.parametrize(
    ("load", "lines"), [(0.5, 3), (7, 4), (10, 15), (48, 55), (100, 90), (37.25, 60)]
)
def test_erlang_b_matches_exact_rationals(load: float, lines: int) -> None:
    exact = float(erlang_b_fraction(Fraction(load), lines))
    assert erl.erlang_b_value(load, lines) == pytest.approx(exact, rel=1e-13)


def test_erlang_b_closed_form_agrees_with_recursion() -> None:
    # The O(1) log-space form (used by Erlang A and the staffing seed) against the recursion,
    # across 1..20,000 lines, both sides of the load, including deep under- and overload.
    rng = np.random.default_rng(7)
    load = rng.uniform(0.05, 20_000, 4000)
    lines = np.floor(load * rng.uniform(0.05, 1.4, 4000)) + 1
    rec = erl._erlang_b_recursion(load, lines)
    closed = np.exp(erl._log_erlang_b(load, lines))
    ok = rec > 1e-290  # below that the recursion itself underflows
    np.testing.assert_allclose(closed[ok], rec[ok], rtol=1e-11)


def test_erlang_b_vectorised_and_no_overflow_at_20000() -> None:
    loads = np.array([[1.0, 10.0, 19_000.0], [19_990.0, 5.0, 20_000.0]])
    lines = np.array([[1, 15, 20_000], [20_000, 20_000, 20_000]])
    out = erl.erlang_b(loads, lines)
    assert out.shape == (2, 3)
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
    for i, j in np.ndindex(out.shape):
        assert out[i, j] == erl.erlang_b_value(float(loads[i, j]), int(lines[i, j]))
    assert out[1, 1] == 0.0  # 5 Erlangs on 20,000 lines: underflows cleanly to 0


# ---------------------------------------------------------------------------------------------
# Erlang C
# ---------------------------------------------------------------------------------------------


def test_erlang_c_call_centre_helper_worked_example() -> None:
    # Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example": 100 calls
    # per 30 minutes, AHT 180 s, target 80 % in 20 s -> A = 10 Erlangs. With 11 agents
    # P(wait) = 0.6821; with 14 agents P(wait) = 0.1741, SL = 88.8 %, ASA 7.8 s, occupancy
    # 71.4 %. The same figures, to 7 digits, are printed by pyworkforce 0.1.0's README
    # (service_level 0.8883500191794669, waiting_probability 0.1741319335950498) and by the CRAN
    # package ErlangC 0.1.0's README (wait 0.1741319, SL 0.88835, ASA 7.83593701177724 s).
    p11 = erl.erlang_c_point(calls=100, interval_seconds=1800, aht=180, agents=11, answer_time=20)
    assert p11.p_wait == pytest.approx(0.6821182, abs=5e-8)
    p14 = erl.erlang_c_point(calls=100, interval_seconds=1800, aht=180, agents=14, answer_time=20)
    assert p14.offered_load == 10.0
    assert p14.p_wait == pytest.approx(0.1741319335950498, rel=1e-12)
    assert p14.service_level == pytest.approx(0.8883500191794669, rel=1e-12)
    assert p14.asa == pytest.approx(7.83593701177724, rel=1e-12)
    assert p14.occupancy == pytest.approx(0.7142857142857143, rel=1e-15)
    # Little's law: Lq = lambda * ASA.
    assert p14.mean_queue == pytest.approx(100 / 1800 * p14.asa, rel=1e-12)


@pytest.mark.parametrize(
    ("load", "agents"),
    [
        (0.3, 1),
        (10.0, 11),
        (48.0, 55),
        (99.5, 100),
        (1234.5, 1300),
        (19_000.0, 19_500),
        (19_999.0, 20_000),
    ],
)
def test_erlang_c_matches_log_space_sum(load: float, agents: int) -> None:
    got = float(erl.erlang_c(load, agents))
    assert got == pytest.approx(erlang_c_logsum(load, agents), rel=1e-10)


def test_erlang_c_unstable_queue() -> None:
    m = erl.erlang_c_metrics(
        calls=[100, 100], interval_seconds=1800, aht=180, agents=[9, 10], answer_time=20
    )
    assert m.p_wait.tolist() == [1.0, 1.0]
    assert m.service_level.tolist() == [0.0, 0.0]
    assert np.isinf(m.asa).all() and np.isinf(m.mean_queue).all()
    assert m.occupancy.tolist() == [1.0, 1.0]


def test_erlang_c_vectorised_matches_scalar() -> None:
    rng = np.random.default_rng(3)
    calls = rng.uniform(1, 3000, 500)
    aht = rng.uniform(30, 900, 500)
    load = calls * aht / 1800
    agents = np.floor(load * rng.uniform(0.9, 1.5, 500)) + 1
    t = rng.uniform(0, 60, 500)
    m = erl.erlang_c_metrics(
        calls=calls, interval_seconds=1800, aht=aht, agents=agents, answer_time=t
    )
    for i in range(0, 500, 37):
        p = erl.erlang_c_point(
            calls=float(calls[i]),
            interval_seconds=1800,
            aht=float(aht[i]),
            agents=int(agents[i]),
            answer_time=float(t[i]),
        )
        assert p == m.point(i)


@settings(max_examples=60, deadline=None)
@given(
    load=st.floats(0.01, 5000, allow_nan=False),
    extra=st.integers(1, 200),
    t=st.floats(0, 600),
)
def test_erlang_c_properties(load: float, extra: int, t: float) -> None:
    n = math.floor(load) + extra
    agents = np.array([n, n + 1])
    m = erl.erlang_c_metrics(
        calls=load, interval_seconds=1.0, aht=1.0, agents=agents, answer_time=t
    )
    b = erl.erlang_b(load, agents)
    assert np.all(m.p_wait >= b)  # queueing never beats blocking: C >= B
    assert m.service_level[1] >= m.service_level[0]  # SL monotone in agents
    assert m.asa[1] <= m.asa[0]
    assert np.all((m.service_level >= 0) & (m.service_level <= 1))


# ---------------------------------------------------------------------------------------------
# Erlang A
# ---------------------------------------------------------------------------------------------

_A_CASES = [
    # calls, interval, aht, agents, answer_time, patience
    (100, 1800, 180, 14, 20, 60),
    (100, 1800, 180, 8, 20, 120),  # agents < load (10 Erlangs)
    (100, 1800, 180, 10, 20, 120),  # agents = load
    (360, 1800, 240, 40, 15, 300),  # agents < load (48 Erlangs)
    (360, 1800, 240, 55, 0, 30),  # T = 0: SL = 1 - P(wait)
    (20, 3600, 300, 1, 30, 100),  # a single agent
    (50, 1800, 600, 3, 60, 10),  # very impatient, heavily overloaded
    (5000, 1800, 200, 520, 20, 600),  # large and overloaded (555 Erlangs)
    (200, 1800, 180, 25, 20, 1e5),  # nearly Erlang C
]


@pytest.mark.parametrize("case", _A_CASES)
def test_erlang_a_matches_birth_death_chain(case: tuple[float, ...]) -> None:
    calls, interval, aht, agents, t, patience = case
    ref = mmn_m_chain(calls, interval, aht, int(agents), t, patience)
    got = erl.erlang_a_point(
        calls=calls,
        interval_seconds=interval,
        aht=aht,
        agents=int(agents),
        answer_time=t,
        patience=patience,
    )
    for key, value in ref.items():
        assert getattr(got, key) == pytest.approx(value, rel=1e-9, abs=1e-15), key


def test_erlang_a_vectorised_matches_scalar() -> None:
    cols = np.array(_A_CASES, dtype=float).T
    m = erl.erlang_a_metrics(
        calls=cols[0],
        interval_seconds=cols[1],
        aht=cols[2],
        agents=cols[3],
        answer_time=cols[4],
        patience=cols[5],
    )
    assert m.p_abandon.shape == (len(_A_CASES),)
    for i, (calls, interval, aht, agents, t, patience) in enumerate(_A_CASES):
        p = erl.erlang_a_point(
            calls=calls,
            interval_seconds=interval,
            aht=aht,
            agents=int(agents),
            answer_time=t,
            patience=patience,
        )
        for key, value in vars(p).items():
            assert getattr(m.point(i), key) == pytest.approx(value, rel=1e-13), key


def test_erlang_a_extreme_sizes_stay_finite() -> None:
    # 20,000 agents, and 1 agent facing 20,000 Erlangs: nothing overflows or turns NaN.
    m = erl.erlang_a_metrics(
        calls=[200_000, 200_000, 100, 200_000],
        interval_seconds=1800,
        aht=180,
        agents=[20_000, 1, 20_000, 19_000],
        answer_time=20,
        patience=[600, 600, 60, 1e4],
    )
    for name in ("p_wait", "service_level", "asa", "p_abandon", "mean_wait", "mean_queue"):
        assert np.all(np.isfinite(getattr(m, name))), name
    assert m.p_abandon[1] == pytest.approx(1 - 1 / 20_000, rel=1e-3)  # 1 agent serves 1 Erlang
    assert m.mean_queue[3] == pytest.approx((200_000 - 19_000 * 10) / 1800 * 1e4, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    load=st.floats(0.5, 2000),
    rel_agents=st.floats(0.5, 1.5),
    patience_ratio=st.floats(0.05, 20),
    t=st.floats(0, 300),
)
def test_erlang_a_monotone_in_agents(
    load: float, rel_agents: float, patience_ratio: float, t: float
) -> None:
    n = max(1, int(load * rel_agents))
    aht = 180.0
    m = erl.erlang_a_metrics(
        calls=load * 1800 / aht,
        interval_seconds=1800,
        aht=aht,
        agents=[n, n + 1],
        answer_time=t,
        patience=patience_ratio * aht,
    )
    tol = 1e-12
    assert m.service_level[1] >= m.service_level[0] - tol
    assert m.p_abandon[1] <= m.p_abandon[0] + tol
    assert m.p_wait[1] <= m.p_wait[0] + tol
    assert m.asa[1] <= m.asa[0] * (1 + 1e-9) + tol
    assert m.occupancy[1] <= m.occupancy[0] + tol
    assert np.all((m.p_abandon >= 0) & (m.p_abandon <= m.p_wait + tol))


@settings(max_examples=40, deadline=None)
@given(load=st.floats(0.2, 1000), margin=st.floats(0.1, 1.0), t=st.floats(0, 120))
def test_erlang_a_tends_to_erlang_c_as_patience_grows(load: float, margin: float, t: float) -> None:
    # Patience at the cap, 10^5 AHTs. Away from critical load (agents >= 1.1 x load + 1) the
    # gap to Erlang C is then below 1e-5.
    n = math.ceil(load * (1.0 + margin)) + 1
    common = {"calls": load * 10, "interval_seconds": 1800, "aht": 180, "answer_time": t}
    c = erl.erlang_c_metrics(agents=n, **common).point()
    a = erl.erlang_a_metrics(agents=n, patience=180 * erl.MAX_PATIENCE_RATIO, **common).point()
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-5)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-5)
    assert a.asa == pytest.approx(c.asa, rel=1e-3, abs=1e-9)
    assert a.p_abandon < 1e-5


@pytest.mark.parametrize(("load", "agents"), [(0.3, 1), (50.2, 60), (480.0, 500)])
def test_erlang_a_gap_to_erlang_c_shrinks_like_one_over_patience(load: float, agents: int) -> None:
    # The first-order effect of a small abandonment rate theta is linear in theta, so ten times
    # the patience must give a tenth of the gap, in every measure. This also shows the formulas
    # stay exact deep into the near-Erlang-C regime (a = agents x patience / AHT up to 5e7).
    common = {"calls": load * 10, "interval_seconds": 1800, "aht": 180, "answer_time": 7}
    c = erl.erlang_c_metrics(agents=agents, **common).point()
    gaps = []
    for ratio in (1e3, 1e4, 1e5):
        a = erl.erlang_a_metrics(agents=agents, patience=180 * ratio, **common).point()
        gaps.append(np.array([a.p_wait - c.p_wait, a.service_level - c.service_level,
                              a.asa / c.asa - 1]))  # fmt: skip
    np.testing.assert_allclose(gaps[0] / gaps[1], 10.0, rtol=0.02)
    np.testing.assert_allclose(gaps[1] / gaps[2], 10.0, rtol=0.002)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"calls": 0}, "calls"),
        ({"calls": -5}, "calls"),
        ({"aht": 0}, "aht"),
        ({"interval_seconds": -1}, "interval_seconds"),
        ({"agents": 0}, "agents"),
        ({"agents": 2.5}, "agents"),
        ({"answer_time": -1}, "answer_time"),
        ({"patience": 0}, "patience"),
        ({"patience": 180e5 * 1.01}, "patience"),  # above MAX_PATIENCE_RATIO x AHT
        ({"agents": 20_001}, "agents"),
        ({"calls": float("nan")}, "calls"),
        ({"calls": [10, -1]}, "calls"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "calls": 100,
        "interval_seconds": 1800,
        "aht": 180,
        "agents": 14,
        "answer_time": 20,
        "patience": 60,
    }
    args.update(kwargs)
    with pytest.raises(ErlangInputError) as info:
        erl.erlang_a_metrics(**args)  # type: ignore[arg-type]
    assert info.value.field == field
    assert field in str(info.value)


def test_bad_erlang_b_input() -> None:
    with pytest.raises(ErlangInputError, match="load"):
        erl.erlang_b(0.0, 3)
    with pytest.raises(ErlangInputError, match="lines"):
        erl.erlang_b(1.0, -1)
    with pytest.raises(ErlangInputError, match=r"interval 1"):
        erl.erlang_b([1.0, -2.0], 3)
