"""Erlang B, C and A: exact, vectorised queueing formulas for contact-center staffing.

Pure numpy/scipy, no I/O. Every function takes scalars or arrays (broadcast together) and returns
arrays of the broadcast shape; the ``*_point`` wrappers return plain floats for one interval.

Units: times in seconds, loads in Erlangs. Notation used in the comments:
  lambda = calls / interval_seconds (arrivals per second), aht = 1/mu, patience = 1/theta,
  A = lambda * aht (offered load), n = agents, r = patience / aht = mu / theta,
  a = n * r, x = A * r (the Erlang A parameters, "agents" and "load" in patience units).
The formulas and their derivations are in docs/wfm.md.

Numerics: no factorials anywhere. Erlang B is either the classic recursion (exact, O(n)) or, where
O(1) random access in n is needed (Erlang A, staffing seeds), a log-space closed form through the
regularised incomplete gamma function. Both agree to ~1e-12 relative; tests hold them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAX_AGENTS: Final = 20_000
"""Largest agent count the staffing searches consider (and the tested range of the formulas)."""

MAX_PATIENCE_RATIO: Final = 1e5
"""Erlang A accepts patience up to this many AHTs. Why a cap: the Erlang A series parameter is
agents x patience / AHT, and scipy's hyp1f1 is verified exact only up to ~2.5e9 of it (beyond
~2e10 it returns NaN). 10^5 AHTs (months of waiting) is far past any real caller; for callers who
never abandon use Erlang C, which Erlang A approaches like 1 / patience."""

# The Erlang B recursion walks up to the line count, so cap it where a call still takes about a
# second; no contact center or trunk group comes near it.
MAX_LINES: Final = 1_000_000

_LOG_2PI: Final = math.log(2.0 * math.pi)
# Window of the Erlang A waiting-time quadrature: integrate until the integrand has fallen by
# e^-60 (~1e-26) on both sides of its peak; 48 Gauss-Legendre nodes per side then reach the
# rounding floor (~1e-13 relative against 128 nodes over a, x in 1e-3..1e7).
_QUAD_DROP: Final = 60.0
_QUAD_NODES: Final = 48


class ErlangInputError(ValueError):
    """Bad input to an Erlang calculation; ``field`` names the offending parameter.

    Raised by the pure functions so that the CLI (exit code 2) and the HTTP API (422) can both
    render it without re-validating.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _where(arr: NDArray[np.generic], bad: NDArray[np.bool_]) -> str:
    """' (interval 3)' for arrays, '' for scalars: a message must point at the bad row."""
    if arr.ndim == 0:
        return ""
    return f" (interval {int(np.flatnonzero(bad.ravel())[0])})"


def _floats(
    field: str,
    value: ArrayLike,
    *,
    low: float = 0.0,
    low_inclusive: bool = False,
    high: float | None = None,
    high_inclusive: bool = False,
) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ErlangInputError(field, f"must be a number, got {value!r}") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ErlangInputError(field, f"must be a finite number{_where(arr, bad)}")
    bad = arr < low if low_inclusive else arr <= low
    if bad.any():
        op = ">=" if low_inclusive else ">"
        got = arr.ravel()[np.flatnonzero(bad.ravel())[0]]
        raise ErlangInputError(
            field, f"must be {op} {low:,.15g}, got {got:,.15g}{_where(arr, bad)}"
        )
    if high is not None:
        bad = arr > high if high_inclusive else arr >= high
        if bad.any():
            op = "<=" if high_inclusive else "<"
            got = arr.ravel()[np.flatnonzero(bad.ravel())[0]]
            raise ErlangInputError(
                field, f"must be {op} {high:,.15g}, got {got:,.15g}{_where(arr, bad)}"
            )
    return arr


def _ints(field: str, value: ArrayLike, *, low: int, high: int = MAX_LINES) -> IntArray:
    arr = _floats(field, value, low=float(low), low_inclusive=True, high=high, high_inclusive=True)
    bad = arr != np.floor(arr)
    if bad.any():
        raise ErlangInputError(field, f"must be a whole number{_where(arr, bad)}")
    return arr.astype(np.int64)


def _broadcast(*arrays: NDArray[np.generic]) -> tuple[tuple[int, ...], list[FloatArray]]:
    """Broadcast to one shape and flatten; the kernels below work on 1-D float arrays."""
    try:
        shaped = np.broadcast_arrays(*arrays)
    except ValueError as exc:
        raise ErlangInputError("calls", f"array shapes do not match: {exc}") from exc
    shape = shaped[0].shape
    return shape, [np.ascontiguousarray(s, dtype=np.float64).ravel() for s in shaped]


def offered_load(calls: ArrayLike, interval_seconds: ArrayLike, aht: ArrayLike) -> FloatArray:
    """Offered load in Erlangs: calls x AHT / interval length."""
    shape, (c, s, h) = _broadcast(
        _floats("calls", calls), _floats("interval_seconds", interval_seconds), _floats("aht", aht)
    )
    return (c * h / s).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Special-function helpers (all in log space so nothing overflows at 20,000 agents)
# ---------------------------------------------------------------------------------------------


def _stirlerr(b: FloatArray) -> FloatArray:
    """log Gamma(b+1) - [(b+1/2) log b - b + log(2 pi)/2], the Stirling remainder.

    Why not gammaln directly: log Gamma(b+1) - b log z + z cancels catastrophically when b ~ z ~
    10^4..10^6 (we need it to 1e-16 relative, gammaln gives 1e-16 of a 10^7-sized number). The
    remainder is small, so the big terms can be combined analytically instead.
    """
    out = np.empty_like(b)
    big = b >= 15.0
    x = b[big]
    x2 = 1.0 / (x * x)
    # Asymptotic series; at b >= 15 the first omitted term is < 1e-17.
    out[big] = (1 / 12 - x2 * (1 / 360 - x2 * (1 / 1260 - x2 * (1 / 1680 - x2 / 1188)))) / x
    s = b[~big]
    # Small b: the terms are O(10), so the direct form loses nothing.
    out[~big] = special.gammaln(s + 1.0) - (s + 0.5) * np.log(s) + s - 0.5 * _LOG_2PI
    return out


def _log_d(b: FloatArray, z: FloatArray) -> FloatArray:
    """log(e^-z z^b / Gamma(b+1)) for b > 0, z >= 0: the Poisson pmf generalised to real b."""
    with np.errstate(divide="ignore"):
        d = (z - b) / b
        # b * (d - log1p(d)) is the relative-entropy form: exact even when z ~ b.
        return np.asarray(
            -b * (d - np.log1p(d)) - 0.5 * (_LOG_2PI + np.log(b)) - _stirlerr(b),
            dtype=np.float64,
        )


def _log_f(b: FloatArray, z: FloatArray) -> FloatArray:
    """log of F(b, z) = 1F1(1; b+1; z) = sum_{j>=0} z^j / ((b+1)(b+2)...(b+j)), b > 0, z >= 0.

    This sum is the Erlang A queue-length generating series. Below the diagonal (z <= b) it is
    O(sqrt(b)) at most and scipy's hyp1f1 is accurate to ~1e-14 there; above it the sum explodes
    (~e^z) but equals P(b, z) / D(b, z) with P(b, z) >= ~1/2, so the log form cannot underflow.
    """
    out = np.empty_like(b)
    low = z <= b
    with np.errstate(invalid="ignore", over="ignore"):
        out[low] = np.log(special.hyp1f1(1.0, b[low] + 1.0, z[low]))
    # hyp1f1 is verified to b ~ 2.5e9 (the domain check keeps us below 2e9); should it ever give
    # up anyway (NaN), the incomplete-gamma form is the better answer than a NaN.
    high = ~low | ~np.isfinite(out)
    hb, hz = b[high], z[high]
    with np.errstate(divide="ignore"):
        out[high] = np.log(special.gammainc(hb, hz)) - _log_d(hb, hz)
    return out


@lru_cache(maxsize=1)
def _gauss_legendre() -> tuple[FloatArray, FloatArray]:
    nodes, weights = np.polynomial.legendre.leggauss(_QUAD_NODES)
    # Map from [-1, 1] to [0, 1].
    return (
        np.asarray((nodes + 1.0) / 2.0, dtype=np.float64),
        np.asarray(weights / 2.0, dtype=np.float64),
    )


# ---------------------------------------------------------------------------------------------
# Erlang B
# ---------------------------------------------------------------------------------------------


def _erlang_b_recursion(load: FloatArray, lines: FloatArray) -> FloatArray:
    """B(0)=1, B(k) = A B(k-1) / (k + A B(k-1)) up to each entry's own line count.

    Vectorised over entries: sorting by line count descending makes the entries still recursing
    at step k a prefix of the array, so each step touches only the rows that need it.
    """
    n = lines.astype(np.int64)
    order = np.argsort(-n, kind="stable")
    a = load[order]
    n_sorted = n[order]
    b = np.ones_like(a)
    top = int(n_sorted[0]) if n_sorted.size else 0
    # rows[k-1] = number of entries with lines >= k.
    rows = np.searchsorted(-n_sorted, -np.arange(1, top + 1), side="right")
    for k in range(1, top + 1):
        m = int(rows[k - 1])
        ab = a[:m] * b[:m]
        # Why this form: all terms are positive, so there is no cancellation; errors damp out
        # (each step multiplies the relative error by k / (k + A B) < 1).
        b[:m] = ab / (k + ab)
    out = np.empty_like(b)
    out[order] = b
    return out


def _log_erlang_b(load: FloatArray, lines: FloatArray) -> FloatArray:
    """log B(n, A) in O(1) per entry, for any n >= 0 (no underflow even where B < 1e-308).

    n >= A: B = pmf(n) / cdf(n) of a Poisson(A); the cdf is then >= ~1/2 (gammaincc exact), the
    pmf is taken in the Stirling-stable log form.
    n < A: the cdf can underflow, so sum 1/B = sum_{m=0}^{n} n!/((n-m)! A^m) directly; its terms
    shrink at least like (n/A)^m * exp(-m^2/2n), so it converges in at most ~sqrt(74 n) terms.
    """
    out = np.zeros_like(load)
    pos = lines > 0
    upper = pos & (lines >= load)
    n_u, a_u = lines[upper], load[upper]
    out[upper] = _log_d(n_u, a_u) - np.log(special.gammaincc(n_u + 1.0, a_u))
    lower = np.flatnonzero(pos & (lines < load))
    if lower.size:
        n_l, a_l = lines[lower], load[lower]
        total = np.ones_like(n_l)
        term = np.ones_like(n_l)
        idx = np.arange(n_l.size)
        m = 0
        while idx.size:
            term[idx] *= np.maximum(n_l[idx] - m, 0.0) / a_l[idx]
            total[idx] += term[idx]
            m += 1
            idx = idx[term[idx] > 1e-17 * total[idx]]
        out[lower] = -np.log(total)
    return out


def erlang_b(load: ArrayLike, lines: ArrayLike) -> FloatArray:
    """Blocking probability of an M/M/n/n loss system (Erlang B), by the exact recursion."""
    a = _floats("load", load)
    n = _ints("lines", lines, low=0)
    shape, (fa, fn) = _broadcast(a, n)
    return _erlang_b_recursion(fa, fn).reshape(shape)


def erlang_b_value(load: float, lines: int) -> float:
    return float(erlang_b(load, lines))


# ---------------------------------------------------------------------------------------------
# Erlang C (M/M/n, infinite patience)
# ---------------------------------------------------------------------------------------------


def _c_from_b(load: FloatArray, agents: FloatArray, b: FloatArray) -> FloatArray:
    """C = B / (1 - rho (1 - B)); 1 when the queue is unstable (A >= n)."""
    stable = agents > load
    with np.errstate(divide="ignore", invalid="ignore"):
        c = b / (1.0 - (load / agents) * (1.0 - b))
    return np.where(stable, c, 1.0)


def erlang_c(load: ArrayLike, agents: ArrayLike) -> FloatArray:
    """Probability that a contact waits, M/M/n (Erlang C). 1.0 when agents <= load."""
    a = _floats("load", load)
    n = _ints("agents", agents, low=1)
    shape, (fa, fn) = _broadcast(a, n)
    return _c_from_b(fa, fn, _erlang_b_recursion(fa, fn)).reshape(shape)


@dataclass(frozen=True)
class ErlangCPoint:
    offered_load: float
    p_wait: float
    service_level: float
    asa: float
    mean_queue: float
    occupancy: float


@dataclass(frozen=True)
class ErlangCMetrics:
    """Per-interval Erlang C results; unstable intervals (agents <= load) have p_wait 1,
    service level 0, occupancy 1 and infinite ASA / mean queue."""

    offered_load: FloatArray
    p_wait: FloatArray
    service_level: FloatArray
    asa: FloatArray
    mean_queue: FloatArray
    occupancy: FloatArray

    def point(self, index: int = 0) -> ErlangCPoint:
        return ErlangCPoint(
            **{name: float(getattr(self, name).ravel()[index]) for name in _C_FIELDS}
        )


_C_FIELDS: Final = ("offered_load", "p_wait", "service_level", "asa", "mean_queue", "occupancy")


def _erlang_c_kernel(
    load: FloatArray, agents: FloatArray, aht: FloatArray, answer_time: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """(p_wait, service_level, asa, mean_queue, occupancy) from a known Erlang B value."""
    c = _c_from_b(load, agents, b)
    stable = agents > load
    gap = np.where(stable, agents - load, 1.0)
    sl = np.where(stable, 1.0 - c * np.exp(-gap * answer_time / aht), 0.0)
    asa = np.where(stable, c * aht / gap, np.inf)
    queue = np.where(stable, c * load / gap, np.inf)
    occ = np.where(stable, load / agents, 1.0)
    return c, sl, asa, queue, occ


def erlang_c_metrics(
    *,
    calls: ArrayLike,
    interval_seconds: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    answer_time: ArrayLike,
) -> ErlangCMetrics:
    """Erlang C KPIs. SL(T) = 1 - C e^{-(n-A) T / AHT}; ASA = C AHT / (n-A); Lq = C A / (n-A)."""
    load = offered_load(calls, interval_seconds, aht)
    n = _ints("agents", agents, low=1)
    t = _floats("answer_time", answer_time, low_inclusive=True)
    h = _floats("aht", aht)
    shape, (fa, fn, fh, ft) = _broadcast(load, n, h, t)
    c, sl, asa, queue, occ = _erlang_c_kernel(fa, fn, fh, ft, _erlang_b_recursion(fa, fn))
    return ErlangCMetrics(
        offered_load=fa.reshape(shape),
        p_wait=c.reshape(shape),
        service_level=sl.reshape(shape),
        asa=asa.reshape(shape),
        mean_queue=queue.reshape(shape),
        occupancy=occ.reshape(shape),
    )


def erlang_c_point(
    *, calls: float, interval_seconds: float, aht: float, agents: int, answer_time: float
) -> ErlangCPoint:
    return erlang_c_metrics(
        calls=calls,
        interval_seconds=interval_seconds,
        aht=aht,
        agents=agents,
        answer_time=answer_time,
    ).point()


# ---------------------------------------------------------------------------------------------
# Erlang A (M/M/n+M, exponential patience)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangAPoint:
    offered_load: float
    p_wait: float
    service_level: float
    asa: float
    mean_queue: float
    occupancy: float
    p_abandon: float
    mean_wait: float


@dataclass(frozen=True)
class ErlangAMetrics:
    """Per-interval Erlang A results.

    service_level = contacts answered within T / offered (abandoned contacts count as missed);
    asa = mean wait of answered contacts; mean_wait = mean time in queue over all offered
    contacts (answered or abandoned); mean_queue = mean number waiting; occupancy = carried
    load / agents.
    """

    offered_load: FloatArray
    p_wait: FloatArray
    service_level: FloatArray
    asa: FloatArray
    mean_queue: FloatArray
    occupancy: FloatArray
    p_abandon: FloatArray
    mean_wait: FloatArray

    def point(self, index: int = 0) -> ErlangAPoint:
        return ErlangAPoint(
            **{name: float(getattr(self, name).ravel()[index]) for name in _A_FIELDS}
        )


_A_FIELDS: Final = (*_C_FIELDS, "p_abandon", "mean_wait")


def _served_wait_mean_u(a: FloatArray, x: FloatArray) -> FloatArray:
    """Mean offered wait, in units of patience, of the contacts that wait and are then served.

    Those waits have density proportional to exp(psi(u)), psi(u) = -(a+1) u + x (1 - e^-u)
    (u = wait / patience); no closed form for its mean exists in standard special functions, so
    integrate. psi is concave with its peak at u* = max(0, log(x/(a+1))): Gauss-Legendre on each
    side of the peak, out to where the integrand has fallen by e^-60, is exact to rounding.
    Around the peak psi(u* + w) - psi(u*) = -c1 w - c2 (w - 1 + e^-w) with c2 = x e^-u*,
    c1 = a + 1 - c2 >= 0 (and c1 = 0 left of an interior peak).
    """
    u_star = np.maximum(0.0, np.log(x / (a + 1.0)))
    c2 = np.minimum(x, a + 1.0)
    c1 = np.maximum(a + 1.0 - c2, 0.0)
    nodes, weights = _gauss_legendre()

    # Right of the peak: solve c1 w + c2 (w + expm1(-w)) = drop for the window width. Newton
    # started at an upper bound of the root of this convex increasing function converges
    # monotonically (a handful of steps in practice; the cap is only a guard).
    w_r = (_QUAD_DROP + c2) / (c1 + c2)
    for _ in range(100):
        f = c1 * w_r + c2 * (w_r + np.expm1(-w_r)) - _QUAD_DROP
        step = f / (c1 - c2 * np.expm1(-w_r))
        w_r = w_r - step
        if np.all(step <= 1e-12 * w_r):
            break
    wr = w_r[:, None] * nodes[None, :]
    # The peak value is factored out, so nothing overflows even when psi(u*) ~ 10^6.
    right = np.exp(-c1[:, None] * wr - c2[:, None] * (wr + np.expm1(-wr)))
    mass = w_r * (right @ weights)
    moment = w_r * (((u_star[:, None] + wr) * right) @ weights)

    # Left of an interior peak (c1 = 0 there): c2 (expm1(w) - w) = drop, capped at w = u*.
    side = np.flatnonzero(u_star > 0)
    if side.size:
        us, cs = u_star[side], c2[side]
        # expm1(w) - w >= w^2/2, so sqrt(2 drop / c2) bounds the root from above.
        w_l = np.minimum(us, np.sqrt(2.0 * _QUAD_DROP / cs))
        for _ in range(100):
            g = cs * (np.expm1(w_l) - w_l) - _QUAD_DROP
            # g > 0 implies w_l > 0, so the guarded step never divides by zero.
            step = np.where(g > 0, g / np.where(g > 0, cs * np.expm1(w_l), 1.0), 0.0)
            w_l = w_l - step
            if np.all(step <= 1e-12 * w_l):
                break
        wl = w_l[:, None] * nodes[None, :]
        left = np.exp(-cs[:, None] * (np.expm1(wl) - wl))
        mass[side] += w_l * (left @ weights)
        moment[side] += w_l * (((us[:, None] - wl) * left) @ weights)
    return np.asarray(moment / mass, dtype=np.float64)


def check_erlang_a_domain(
    agents: FloatArray, patience: FloatArray, aht: FloatArray, shape: tuple[int, ...] = ()
) -> None:
    """Erlang A's verified range: agents <= MAX_AGENTS, patience <= MAX_PATIENCE_RATIO x AHT."""
    bad = agents > MAX_AGENTS
    if bad.any():
        where = f" (interval {int(np.flatnonzero(bad)[0])})" if shape else ""
        raise ErlangInputError("agents", f"must be at most {MAX_AGENTS:,} for Erlang A{where}")
    bad = patience > MAX_PATIENCE_RATIO * aht
    if bad.any():
        where = f" (interval {int(np.flatnonzero(bad)[0])})" if shape else ""
        raise ErlangInputError(
            "patience",
            f"must be at most {MAX_PATIENCE_RATIO:,.0f} x AHT; for callers who never abandon use "
            f"Erlang C{where}",
        )


def _erlang_a_kernel(
    load: FloatArray,
    agents: FloatArray,
    aht: FloatArray,
    answer_time: FloatArray,
    patience: FloatArray,
    *,
    want_asa: bool = True,
) -> dict[str, FloatArray]:
    """All Erlang A measures on flat arrays (see docs/wfm.md for the derivation).

    With pi_n = P(exactly n in system) and J = F(a, x) = sum_j pi_{n+j} / pi_n:
      P(wait) = B J / (1 - B + B J)
      P(served | waited) mass = pi_n a/(a+1) F(a+1, x)
      P(served after T) mass = pi_n a/(a+1) exp(psi(T)) F(a+1, x e^{-theta T})
      P(abandon) = pi_n 1F1(2; a+2; x)/(a+1)          (x < a, avoids a cancellation)
                 = P(wait)(1 - a/x) + pi_n a/x          (x >= a)
    """
    r = patience / aht
    a = agents * r
    x = load * r
    log_b = _log_erlang_b(load, agents)
    log_j = _log_f(a, x)
    b = np.exp(log_b)
    # Odds form: P(wait) / (1 - P(wait)) = B J / (1 - B); stays finite when J ~ e^(10^5).
    log_odds = log_b + log_j - np.log1p(-b)
    p_wait = special.expit(log_odds)
    log_pi_n = special.log_expit(log_odds) - log_j
    pi_n = np.exp(log_pi_n)
    log_ratio = np.log(a / (a + 1.0))

    p_ab = np.empty_like(load)
    low = x < a
    with np.errstate(invalid="ignore", over="ignore"):
        p_ab[low] = pi_n[low] * special.hyp1f1(2.0, a[low] + 2.0, x[low]) / (a[low] + 1.0)
    hi = ~low | ~np.isfinite(p_ab)
    p_ab[hi] = p_wait[hi] * (1.0 - a[hi] / x[hi]) + pi_n[hi] * a[hi] / x[hi]
    p_ab = np.clip(p_ab, 0.0, 1.0)

    theta_t = answer_time / patience
    psi_t = -(a + 1.0) * theta_t - x * np.expm1(-theta_t)
    served_late = np.exp(log_pi_n + log_ratio + psi_t + _log_f(a + 1.0, x * np.exp(-theta_t)))
    service_level = np.clip(1.0 - p_ab - served_late, 0.0, 1.0)

    out = {
        "offered_load": load,
        "p_wait": np.asarray(p_wait, dtype=np.float64),
        "service_level": service_level,
        "mean_queue": x * p_ab,
        "occupancy": load * (1.0 - p_ab) / agents,
        "p_abandon": p_ab,
        "mean_wait": p_ab * patience,
    }
    if want_asa:
        served_after_wait = np.exp(log_pi_n + log_ratio + _log_f(a + 1.0, x))
        mean_u = _served_wait_mean_u(a, x)
        out["asa"] = served_after_wait / (1.0 - p_ab) * mean_u * patience
    return out


def erlang_a_metrics(
    *,
    calls: ArrayLike,
    interval_seconds: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    answer_time: ArrayLike,
    patience: ArrayLike,
) -> ErlangAMetrics:
    """Erlang A (M/M/n+M) KPIs; stable for any agents >= 1, including agents < load."""
    load = offered_load(calls, interval_seconds, aht)
    n = _ints("agents", agents, low=1)
    t = _floats("answer_time", answer_time, low_inclusive=True)
    h = _floats("aht", aht)
    p = _floats("patience", patience)
    shape, (fa, fn, fh, ft, fp) = _broadcast(load, n, h, t, p)
    check_erlang_a_domain(fn, fp, fh, shape)
    res = _erlang_a_kernel(fa, fn, fh, ft, fp)
    return ErlangAMetrics(**{name: res[name].reshape(shape) for name in _A_FIELDS})


def erlang_a_point(
    *,
    calls: float,
    interval_seconds: float,
    aht: float,
    agents: int,
    answer_time: float,
    patience: float,
) -> ErlangAPoint:
    return erlang_a_metrics(
        calls=calls,
        interval_seconds=interval_seconds,
        aht=aht,
        agents=agents,
        answer_time=answer_time,
        patience=patience,
    ).point()
