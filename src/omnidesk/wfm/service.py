"""Staffing use cases shared by the staffing API and forecasting: a staffing table computed in
one vectorised `staff()` call, and who may plan.

ErlangInputError becomes a 422 naming the field (and the interval, by index and start).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import Forbidden, Invalid
from omnidesk.wfm import erlang as erl
from omnidesk.wfm.schemas import (
    StaffingInterval,
    StaffingIntervalOut,
    StaffingOut,
    StaffingTotals,
    Targets,
)
from omnidesk.wfm.staffing import staff

_OVERRIDABLE = (
    "answer_time",
    "target_sl",
    "target_asa",
    "max_occupancy",
    "max_abandon",
    "shrinkage",
    "patience",
)
_INTERVAL = re.compile(r" \(interval (\d+)\)$")


def require_planner(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise Forbidden("workforce management needs the supervisor or admin role")


def invalid(exc: erl.ErlangInputError, starts: Sequence[datetime] | None = None) -> Invalid:
    """The problem for a failed calculation; points at the interval when the message does."""
    extra: dict[str, Any] = {"field": exc.field}
    message = exc.message
    found = _INTERVAL.search(message)
    if found and starts is not None:
        index = int(found.group(1))
        extra["interval"] = index
        extra["interval_start"] = starts[index].isoformat()
        message = (
            f"{message[: found.start()]} (interval {index}, start {starts[index].isoformat()})"
        )
    return Invalid(f"{exc.field}: {message}", **extra)


def _column(
    field: str, common: float | None, intervals: Sequence[StaffingInterval]
) -> float | NDArray[np.float64] | None:
    """A scalar when no interval overrides the field, else one value per interval."""
    values = [getattr(i, field) for i in intervals]
    if all(v is None for v in values):
        return common
    if common is None and any(v is None for v in values):
        missing = next(k for k, v in enumerate(values) if v is None)
        raise Invalid(
            f"{field}: set on some intervals but not on interval {missing} "
            f"(start {intervals[missing].start.isoformat()}) and not in the common fields; "
            "give a common value or set it on every interval",
            field=field,
            interval=missing,
        )
    return np.array([common if v is None else v for v in values], dtype=np.float64)


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def staffing_table(
    targets: Targets,
    *,
    interval_seconds: float,
    starts: Sequence[datetime],
    calls: NDArray[np.float64],
    aht: NDArray[np.float64],
    intervals: Sequence[StaffingInterval] = (),
) -> StaffingOut:
    """Per-interval staffing and totals with one vectorised `staff()` call."""
    columns = {f: _column(f, getattr(targets, f), intervals) for f in _OVERRIDABLE}
    shrinkage = columns["shrinkage"]
    answer_time = columns["answer_time"]
    try:
        result = staff(
            targets.model,
            calls=calls,
            interval_seconds=interval_seconds,
            aht=aht,
            answer_time=answer_time if answer_time is not None else targets.answer_time,
            target_sl=columns["target_sl"],
            target_asa=columns["target_asa"],
            max_abandon=columns["max_abandon"],
            max_occupancy=columns["max_occupancy"],
            shrinkage=shrinkage if shrinkage is not None else 0.0,
            patience=columns["patience"],
            allow_zero_calls=True,
        )
    except erl.ErlangInputError as exc:
        raise invalid(exc, starts) from None
    abandon = result.p_abandon
    rows = [
        StaffingIntervalOut(
            start=starts[i],
            calls=float(calls[i]),
            aht=float(aht[i]),
            offered_load=float(result.offered_load[i]),
            agents=int(result.agents[i]),
            agents_with_shrinkage=int(result.agents_with_shrinkage[i]),
            service_level=float(result.service_level[i]),
            p_wait=float(result.p_wait[i]),
            asa=float(result.asa[i]),
            occupancy=float(result.occupancy[i]),
            p_abandon=None if abandon is None else float(abandon[i]),
        )
        for i in range(len(starts))
    ]
    hours = interval_seconds / 3600.0
    total_calls = float(calls.sum())
    answered = calls * (1.0 - abandon) if abandon is not None else calls
    carried = result.offered_load * (1.0 - abandon) if abandon is not None else result.offered_load
    staffed = float(result.agents.sum())

    def weighted(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
        total = float(weights.sum())
        return float((values * weights).sum()) / total if total > 0 else 0.0

    totals = StaffingTotals(
        calls=total_calls,
        workload_hours=float(result.offered_load.sum()) * hours,
        agent_hours=staffed * hours,
        agent_hours_with_shrinkage=float(result.agents_with_shrinkage.sum()) * hours,
        peak_agents=int(result.agents.max()),
        peak_agents_with_shrinkage=int(result.agents_with_shrinkage.max()),
        service_level=weighted(result.service_level, calls) if total_calls > 0 else 1.0,
        asa=weighted(result.asa, answered),
        occupancy=float(carried.sum()) / staffed if staffed > 0 else 0.0,
        p_abandon=None if abandon is None else weighted(abandon, calls),
    )
    return StaffingOut(
        model=targets.model, interval_seconds=interval_seconds, intervals=rows, totals=totals
    )
