"""`omnidesk bench erlang`: Erlang C staffing over many intervals, beside pyworkforce.

Omnidesk staffs every interval in one vectorised call; the peer, pyworkforce (the optional
`bench` extra), is called once per interval, as its API is meant to be used. Both get the same
random half-hour intervals and the same target (80 % answered within 20 s), and the agent
counts are compared interval by interval: a speed figure is only worth reading if both give
the same answers.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omnidesk.wfm.staffing import staff_erlang_c

INTERVAL_SECONDS = 1800
ANSWER_TIME = 20.0
TARGET_SL = 0.8


def workload(intervals: int, seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Volumes 10..2,000 calls per 30 min and AHT 120..600 s: 0.7..670 Erlangs, the range of a
    real day from a small queue to a large one."""
    rng = np.random.default_rng(seed)
    return rng.uniform(10, 2_000, intervals), rng.uniform(120, 600, intervals)


def _omnidesk(calls: NDArray[np.float64], aht: NDArray[np.float64], repeats: int) -> Any:
    best = float("inf")
    result = None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = staff_erlang_c(
            calls=calls,
            interval_seconds=INTERVAL_SECONDS,
            aht=aht,
            answer_time=ANSWER_TIME,
            target_sl=TARGET_SL,
        )
        best = min(best, time.perf_counter() - start)
    return best, result


def _pyworkforce(
    calls: NDArray[np.float64], aht: NDArray[np.float64]
) -> tuple[float, NDArray[np.int64]] | None:
    try:
        from pyworkforce.queuing import ErlangC  # optional benchmark dependency
    except ImportError:
        return None
    start = time.perf_counter()
    agents = [
        # pyworkforce's `asa` argument is the answer-time threshold of the service level.
        ErlangC(
            transactions=float(c), aht=float(a), asa=ANSWER_TIME, interval=INTERVAL_SECONDS
        ).required_positions(service_level=TARGET_SL)["raw_positions"]
        for c, a in zip(calls.tolist(), aht.tolist(), strict=True)
    ]
    return time.perf_counter() - start, np.asarray(agents, dtype=np.int64)


def run(
    intervals: int = 10_000, *, seed: int = 2024, repeats: int = 3, peers: bool = True
) -> dict[str, Any]:
    """Time both; Omnidesk's time is the best of `repeats` (it is a few milliseconds, so
    scheduler noise would dominate one run), the peer's is one run (seconds)."""
    calls, aht = workload(intervals, seed)
    seconds, result = _omnidesk(calls, aht, repeats)
    figures: dict[str, Any] = {
        "intervals": intervals,
        "seed": seed,
        "omnidesk": {
            "seconds": seconds,
            "intervals_per_second": intervals / seconds if seconds > 0 else float("inf"),
            "total_agents": int(result.agents.sum()),
            "max_agents": int(result.agents.max()) if intervals else 0,
            "mean_service_level": float(result.service_level.mean()) if intervals else 0.0,
        },
        "pyworkforce": None,
        "speed_ratio": None,
        "identical_agent_counts": None,
        "differing_intervals": None,
    }
    peer = _pyworkforce(calls, aht) if peers else None
    if peer is not None:
        peer_seconds, peer_agents = peer
        differing = np.flatnonzero(peer_agents != result.agents)
        figures["pyworkforce"] = {
            "seconds": peer_seconds,
            "intervals_per_second": intervals / peer_seconds if peer_seconds > 0 else 0.0,
            "total_agents": int(peer_agents.sum()),
        }
        figures["speed_ratio"] = peer_seconds / seconds if seconds > 0 else float("inf")
        figures["identical_agent_counts"] = int(len(calls) - len(differing))
        figures["differing_intervals"] = [int(i) for i in differing[:20]]
    return figures
