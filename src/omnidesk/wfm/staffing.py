"""Staffing: the least agents per interval that meet service targets, Erlang C or Erlang A.

Pure numpy/scipy, vectorised across intervals. Targets (each optional, at least one given):
service level (answered within answer_time / offered) >= target_sl, ASA <= target_asa,
P(abandon) <= max_abandon (Erlang A only), occupancy <= max_occupancy. The agent count is then
grossed up by shrinkage: agents_with_shrinkage = ceil(agents / (1 - shrinkage)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from omnidesk.wfm.erlang import (
    MAX_AGENTS,
    ErlangInputError,
    FloatArray,
    IntArray,
    _broadcast,
    _erlang_a_kernel,
    _erlang_c_kernel,
    _floats,
    _log_erlang_b,
    check_erlang_a_domain,
)

Model = Literal["c", "a"]
MODELS: Final = ("c", "a")
# Float slack for the exact-integer ceilings (shrinkage gross-up, occupancy bound): 14 / (1 - 0.3)
# is 20.000000000000004 in binary floating point and must stay 20 agents, not become 21.
_CEIL_SLACK: Final = 1e-9


@dataclass(frozen=True)
class StaffingPoint:
    agents: int
    agents_with_shrinkage: int
    offered_load: float
    service_level: float
    p_wait: float
    asa: float
    occupancy: float
    mean_queue: float
    p_abandon: float | None
    mean_wait: float | None


@dataclass(frozen=True)
class StaffingResult:
    """Per-interval staffing. p_abandon and mean_wait are None for Erlang C (nobody abandons).

    Intervals with zero calls (only when allowed) get 0 agents, service level 1 and zeros
    elsewhere.
    """

    model: Model
    agents: IntArray
    agents_with_shrinkage: IntArray
    offered_load: FloatArray
    service_level: FloatArray
    p_wait: FloatArray
    asa: FloatArray
    occupancy: FloatArray
    mean_queue: FloatArray
    p_abandon: FloatArray | None
    mean_wait: FloatArray | None

    def point(self, index: int = 0) -> StaffingPoint:
        def f(arr: FloatArray | None) -> float | None:
            return None if arr is None else float(arr.ravel()[index])

        return StaffingPoint(
            agents=int(self.agents.ravel()[index]),
            agents_with_shrinkage=int(self.agents_with_shrinkage.ravel()[index]),
            offered_load=float(self.offered_load.ravel()[index]),
            service_level=float(self.service_level.ravel()[index]),
            p_wait=float(self.p_wait.ravel()[index]),
            asa=float(self.asa.ravel()[index]),
            occupancy=float(self.occupancy.ravel()[index]),
            mean_queue=float(self.mean_queue.ravel()[index]),
            p_abandon=f(self.p_abandon),
            mean_wait=f(self.mean_wait),
        )


@dataclass(frozen=True)
class _Targets:
    sl: FloatArray | None
    asa: FloatArray | None
    abandon: FloatArray | None
    occupancy: FloatArray | None


def _ceil_exact(value: FloatArray) -> IntArray:
    return np.ceil(value * (1.0 - _CEIL_SLACK)).astype(np.int64)


def _optional(field: str, value: ArrayLike | None, *, high: float | None) -> FloatArray | None:
    if value is None:
        return None
    return _floats(field, value, high=high)


def _parse_targets(
    target_sl: ArrayLike | None,
    target_asa: ArrayLike | None,
    max_abandon: ArrayLike | None,
    max_occupancy: ArrayLike | None,
) -> _Targets:
    targets = _Targets(
        # SL of exactly 1 is never reached with random arrivals (Erlang C has C > 0), so it is
        # rejected up front rather than searched for up to 20,000 agents.
        sl=_optional("target_sl", target_sl, high=1.0),
        asa=_optional("target_asa", target_asa, high=None),
        abandon=_optional("max_abandon", max_abandon, high=1.0),
        occupancy=_optional("max_occupancy", max_occupancy, high=1.0),
    )
    if all(t is None for t in (targets.sl, targets.asa, targets.abandon, targets.occupancy)):
        raise ErlangInputError(
            "target_sl", "give at least one target (target_sl, target_asa, max_abandon, ...)"
        )
    return targets


def _spread(t: _Targets, shape: tuple[int, ...]) -> _Targets:
    """Broadcast each given target to the intervals' shape (a scalar target applies to all)."""

    def one(field: str, v: FloatArray | None) -> FloatArray | None:
        if v is None:
            return None
        try:
            return np.ascontiguousarray(np.broadcast_to(v, shape), dtype=np.float64).ravel()
        except ValueError as exc:
            raise ErlangInputError(field, f"shape does not match the intervals: {exc}") from exc

    return _Targets(
        sl=one("target_sl", t.sl),
        asa=one("target_asa", t.asa),
        abandon=one("max_abandon", t.abandon),
        occupancy=one("max_occupancy", t.occupancy),
    )


def _misses(
    t: _Targets,
    idx: IntArray,
    sl: FloatArray,
    asa: FloatArray,
    occ: FloatArray,
    p_ab: FloatArray | None,
) -> list[tuple[str, NDArray[np.bool_]]]:
    """(field, failing-mask) per target, in the order a user would fix them."""
    out: list[tuple[str, NDArray[np.bool_]]] = []
    if t.sl is not None:
        out.append(("target_sl", sl < t.sl[idx]))
    if t.asa is not None:
        out.append(("target_asa", asa > t.asa[idx]))
    if t.abandon is not None and p_ab is not None:
        out.append(("max_abandon", p_ab > t.abandon[idx]))
    if t.occupancy is not None:
        # Same slack as the occupancy start bound, so the bound and the check agree.
        out.append(("max_occupancy", occ > t.occupancy[idx] * (1.0 + _CEIL_SLACK)))
    return out


def _raise_infeasible(
    misses: list[tuple[str, NDArray[np.bool_]]],
    idx: IntArray,
    load: FloatArray,
    shape: tuple[int, ...],
    max_agents: int,
) -> None:
    for field, bad in misses:
        if bad.any():
            first = int(idx[np.flatnonzero(bad)[0]])
            where = f" (interval {first})" if shape else ""
            if field == "calls":
                message = f"an offered load of {load[first]:.6g} Erlangs needs more than"
            else:
                message = f"cannot be met at an offered load of {load[first]:.6g} Erlangs with"
            raise ErlangInputError(field, f"{message} {max_agents:,} agents{where}")


def _common(
    calls: ArrayLike,
    interval_seconds: ArrayLike,
    aht: ArrayLike,
    answer_time: ArrayLike,
    shrinkage: ArrayLike,
    allow_zero_calls: bool,
    max_agents: int,
) -> tuple[tuple[int, ...], FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    c = _floats("calls", calls, low_inclusive=allow_zero_calls)
    s = _floats("interval_seconds", interval_seconds)
    h = _floats("aht", aht)
    t = _floats("answer_time", answer_time, low_inclusive=True)
    k = _floats("shrinkage", shrinkage, low_inclusive=True, high=1.0)
    if not 1 <= max_agents <= MAX_AGENTS:
        raise ErlangInputError("max_agents", f"must be between 1 and {MAX_AGENTS:,}")
    shape, (fc, fs, fh, ft, fk) = _broadcast(c, s, h, t, k)
    return shape, fc * fh / fs, fh, ft, fk, fc


def _finish(
    model: Model,
    shape: tuple[int, ...],
    agents: IntArray,
    shrinkage: FloatArray,
    load: FloatArray,
    fields: dict[str, FloatArray],
) -> StaffingResult:
    gross = np.where(agents > 0, _ceil_exact(agents / (1.0 - shrinkage)), 0).astype(np.int64)

    def r(arr: FloatArray) -> FloatArray:
        return arr.reshape(shape)

    return StaffingResult(
        model=model,
        agents=agents.reshape(shape),
        agents_with_shrinkage=gross.reshape(shape),
        offered_load=r(load),
        service_level=r(fields["service_level"]),
        p_wait=r(fields["p_wait"]),
        asa=r(fields["asa"]),
        occupancy=r(fields["occupancy"]),
        mean_queue=r(fields["mean_queue"]),
        p_abandon=r(fields["p_abandon"]) if model == "a" else None,
        mean_wait=r(fields["mean_wait"]) if model == "a" else None,
    )


def _empty_fields(size: int) -> dict[str, FloatArray]:
    # Defaults are what an interval without calls reports: nothing waits, SL is met.
    names = ["p_wait", "asa", "occupancy", "mean_queue", "p_abandon", "mean_wait"]
    fields = {name: np.zeros(size) for name in names}
    fields["service_level"] = np.ones(size)
    return fields


def staff_erlang_c(
    *,
    calls: ArrayLike,
    interval_seconds: ArrayLike,
    aht: ArrayLike,
    answer_time: ArrayLike,
    target_sl: ArrayLike | None = None,
    target_asa: ArrayLike | None = None,
    max_occupancy: ArrayLike | None = None,
    shrinkage: ArrayLike = 0.0,
    max_agents: int = MAX_AGENTS,
    allow_zero_calls: bool = False,
) -> StaffingResult:
    """Least agents meeting the targets under Erlang C.

    The search starts at floor(load) + 1 (fewer agents give an unstable queue) or at the
    occupancy bound ceil(load / max_occupancy), whichever is larger, and walks up one agent at a
    time carrying the Erlang B recursion B(n+1) = A B(n) / (n + 1 + A B(n)): O(1) per candidate,
    so O(agents - load) per interval, for all intervals at once. The starting B comes from the
    O(1) log-space closed form, so nothing is recomputed from zero.
    """
    targets = _parse_targets(target_sl, target_asa, None, max_occupancy)
    shape, load, aht_f, t_f, shrink, calls_f = _common(
        calls, interval_seconds, aht, answer_time, shrinkage, allow_zero_calls, max_agents
    )
    targets = _spread(targets, shape)
    size = load.size
    agents = np.zeros(size, dtype=np.int64)
    fields = _empty_fields(size)
    todo = np.flatnonzero(calls_f > 0)

    start = np.floor(load[todo]).astype(np.int64) + 1
    if targets.occupancy is not None:
        start = np.maximum(start, _ceil_exact(load[todo] / targets.occupancy[todo]))

    # Feasibility at the cap first (all targets are monotone in n), so the walk below is
    # guaranteed to stop and the error names the target that cannot be met.
    cap = np.full(todo.size, float(max_agents))
    a_t = load[todo]
    unstable = np.floor(a_t) + 1 > max_agents
    _raise_infeasible(
        [("calls", unstable), ("max_occupancy", start > max_agents)], todo, load, shape, max_agents
    )
    b_cap = np.exp(_log_erlang_b(a_t, cap))
    _, sl_cap, asa_cap, _, occ_cap = _erlang_c_kernel(a_t, cap, aht_f[todo], t_f[todo], b_cap)
    _raise_infeasible(
        _misses(targets, todo, sl_cap, asa_cap, occ_cap, None), todo, load, shape, max_agents
    )

    n = start.astype(np.float64)
    b = np.exp(_log_erlang_b(a_t, n))
    idx = todo
    while idx.size:
        c, sl, asa, queue, occ = _erlang_c_kernel(a_t, n, aht_f[idx], t_f[idx], b)
        ok = np.ones(idx.size, dtype=bool)
        for _, bad in _misses(targets, idx, sl, asa, occ, None):
            ok &= ~bad
        done = idx[ok]
        agents[done] = n[ok].astype(np.int64)
        for name, arr in (
            ("p_wait", c),
            ("service_level", sl),
            ("asa", asa),
            ("mean_queue", queue),
            ("occupancy", occ),
        ):
            fields[name][done] = arr[ok]
        keep = ~ok
        idx, a_t, n, b = idx[keep], a_t[keep], n[keep], b[keep]
        ab = a_t * b
        n = n + 1.0
        b = ab / (n + ab)
    return _finish("c", shape, agents, shrink, load, fields)


def staff_erlang_a(
    *,
    calls: ArrayLike,
    interval_seconds: ArrayLike,
    aht: ArrayLike,
    answer_time: ArrayLike,
    patience: ArrayLike,
    target_sl: ArrayLike | None = None,
    target_asa: ArrayLike | None = None,
    max_abandon: ArrayLike | None = None,
    max_occupancy: ArrayLike | None = None,
    shrinkage: ArrayLike = 0.0,
    max_agents: int = MAX_AGENTS,
    allow_zero_calls: bool = False,
) -> StaffingResult:
    """Least agents meeting the targets under Erlang A (M/M/n+M).

    With abandonment, fewer agents than the offered load can meet a target (the queue stays
    finite because callers leave), so the search does not start at the load. It starts from a
    true lower bound (served throughput <= n mu, hence SL <= 1 - P(abandon) <= n / load, so
    n >= target_sl * load and n >= (1 - max_abandon) * load), gallops up until a probe meets the
    targets, then bisects, relying on every measure being monotone in n. Each probe is O(1) per
    interval (closed-form Erlang B and incomplete-gamma formulas), so an interval costs
    O(log n) evaluations, all intervals probed together.
    """
    targets = _parse_targets(target_sl, target_asa, max_abandon, max_occupancy)
    shape, load, aht_f, t_f, shrink, calls_f = _common(
        calls, interval_seconds, aht, answer_time, shrinkage, allow_zero_calls, max_agents
    )
    pat = _floats("patience", patience)
    targets = _spread(targets, shape)
    try:
        pat_f = np.ascontiguousarray(np.broadcast_to(pat, shape), dtype=np.float64).ravel()
    except ValueError as exc:
        raise ErlangInputError("patience", f"shape does not match the intervals: {exc}") from exc
    check_erlang_a_domain(np.full(load.size, float(max_agents)), pat_f, aht_f, shape)
    size = load.size
    agents = np.zeros(size, dtype=np.int64)
    fields = _empty_fields(size)
    todo = np.flatnonzero(calls_f > 0)

    cheap = _Targets(sl=targets.sl, asa=None, abandon=targets.abandon, occupancy=targets.occupancy)

    def evaluate(
        idx: IntArray, n: FloatArray, everywhere: bool
    ) -> tuple[dict[str, FloatArray], NDArray[np.bool_]]:
        """Measures and target check at n agents. ASA needs a quadrature (the costly part), so
        unless asked for `everywhere` it is computed only where the other targets already pass;
        elsewhere it is left infinite."""
        args = (load[idx], n, aht_f[idx], t_f[idx], pat_f[idx])
        res = _erlang_a_kernel(*args, want_asa=False)
        sl, occ, p_ab = res["service_level"], res["occupancy"], res["p_abandon"]
        ok = np.ones(idx.size, dtype=bool)
        for _, bad in _misses(cheap, idx, sl, sl, occ, p_ab):
            ok &= ~bad
        if everywhere or targets.asa is not None:
            sub = np.arange(idx.size) if everywhere else np.flatnonzero(ok)
            asa = np.full(idx.size, np.inf)
            if sub.size:
                part = _erlang_a_kernel(*(arr[sub] for arr in args), want_asa=True)
                asa[sub] = part["asa"]
            res["asa"] = asa
            if targets.asa is not None:
                ok &= asa <= targets.asa[idx]
        return res, ok

    cap = np.full(todo.size, float(max_agents))
    res_cap, _ = evaluate(todo, cap, False)
    _raise_infeasible(
        _misses(
            targets,
            todo,
            res_cap["service_level"],
            res_cap.get("asa", np.zeros(todo.size)),
            res_cap["occupancy"],
            res_cap["p_abandon"],
        ),
        todo,
        load,
        shape,
        max_agents,
    )

    # Invariant: lo is infeasible (or 0), hi is feasible.
    need = np.zeros(todo.size)
    if targets.sl is not None:
        need = np.maximum(need, targets.sl[todo] * load[todo])
    if targets.abandon is not None:
        need = np.maximum(need, (1.0 - targets.abandon[todo]) * load[todo])
    lo = np.maximum(_ceil_exact(need) - 1, 0).astype(np.int64)
    hi = np.full(todo.size, max_agents, dtype=np.int64)
    # Gallop up from the lower bound before bisecting: the answer is almost always within a few
    # sqrt(load) of max(load, bound), so this brackets it in one or two probes and the
    # bisection then needs ~log2(5 sqrt(load)) probes instead of log2(20,000).
    gap = np.ceil(5.0 * np.sqrt(load[todo])).astype(np.int64) + 5
    base = np.maximum(lo, np.floor(load[todo]).astype(np.int64))
    active = np.arange(todo.size)
    while active.size:
        probe = np.minimum(base[active] + gap[active], hi[active])
        _, ok = evaluate(todo[active], probe.astype(np.float64), False)
        hi[active] = np.where(ok, probe, hi[active])
        lo[active] = np.where(ok, lo[active], np.maximum(lo[active], probe))
        base[active] = probe
        gap[active] *= 2
        active = active[~ok & (probe < hi[active])]
    active = np.flatnonzero(hi - lo > 1)
    while active.size:
        mid = (lo[active] + hi[active]) // 2
        _, ok = evaluate(todo[active], mid.astype(np.float64), False)
        hi[active] = np.where(ok, mid, hi[active])
        lo[active] = np.where(ok, lo[active], mid)
        active = active[hi[active] - lo[active] > 1]

    agents[todo] = hi
    final, _ = evaluate(todo, hi.astype(np.float64), True)
    for name in (
        "p_wait",
        "service_level",
        "asa",
        "mean_queue",
        "occupancy",
        "p_abandon",
        "mean_wait",
    ):
        fields[name][todo] = final[name]
    return _finish("a", shape, agents, shrink, load, fields)


def staff(
    model: str,
    *,
    calls: ArrayLike,
    interval_seconds: ArrayLike,
    aht: ArrayLike,
    answer_time: ArrayLike,
    target_sl: ArrayLike | None = None,
    target_asa: ArrayLike | None = None,
    max_abandon: ArrayLike | None = None,
    max_occupancy: ArrayLike | None = None,
    shrinkage: ArrayLike = 0.0,
    patience: ArrayLike | None = None,
    max_agents: int = MAX_AGENTS,
    allow_zero_calls: bool = False,
) -> StaffingResult:
    """Dispatch on the model name ("c" or "a"), validating the model-specific inputs."""
    if model not in MODELS:
        raise ErlangInputError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")
    if model == "c":
        if max_abandon is not None:
            raise ErlangInputError("max_abandon", "needs model a (Erlang C has no abandonment)")
        return staff_erlang_c(
            calls=calls,
            interval_seconds=interval_seconds,
            aht=aht,
            answer_time=answer_time,
            target_sl=target_sl,
            target_asa=target_asa,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
            max_agents=max_agents,
            allow_zero_calls=allow_zero_calls,
        )
    if patience is None:
        raise ErlangInputError("patience", "is required for model a (mean patience in seconds)")
    return staff_erlang_a(
        calls=calls,
        interval_seconds=interval_seconds,
        aht=aht,
        answer_time=answer_time,
        patience=patience,
        target_sl=target_sl,
        target_asa=target_asa,
        max_abandon=max_abandon,
        max_occupancy=max_occupancy,
        shrinkage=shrinkage,
        max_agents=max_agents,
        allow_zero_calls=allow_zero_calls,
    )
