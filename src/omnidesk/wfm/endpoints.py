"""Staffing over HTTP: a whole staffing table in one request, and single Erlang figures.

Supervisors and admins only. One vectorised `staff()` call covers every interval of a table;
ErlangInputError becomes a 422 naming the field (and the interval, by index and start).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from omnidesk.platform.errors import Invalid
from omnidesk.platform.http import Ctx
from omnidesk.wfm import erlang as erl
from omnidesk.wfm.schemas import (
    ErlangIn,
    ErlangOut,
    StaffingIn,
    StaffingOut,
)
from omnidesk.wfm.service import finite, invalid, require_planner, staffing_table

router = APIRouter(prefix="/wfm", tags=["wfm"])


@router.post("/staffing", response_model=StaffingOut, response_model_exclude_none=True)
async def staffing(body: StaffingIn, ctx: Ctx) -> StaffingOut:
    require_planner(ctx.principal)
    # Up to ~1 s of CPU for 20,000 Erlang A intervals with an ASA target: off the event loop.
    return await run_in_threadpool(
        partial(
            staffing_table,
            body,
            interval_seconds=body.interval_seconds,
            starts=[i.start for i in body.intervals],
            calls=np.array([i.calls for i in body.intervals], dtype=np.float64),
            aht=np.array([i.aht for i in body.intervals], dtype=np.float64),
            intervals=body.intervals,
        )
    )


def _required(body: ErlangIn, *names: str) -> list[Any]:
    values = [getattr(body, n) for n in names]
    for name, value in zip(names, values, strict=True):
        if value is None:
            raise Invalid(f"{name}: is required for model {body.model}", field=name)
    return values


# exclude_unset: each model reports its own measures; an infinite ASA stays as an explicit null.
@router.post("/erlang", response_model=ErlangOut, response_model_exclude_unset=True)
async def erlang(body: ErlangIn, ctx: Ctx) -> ErlangOut:
    require_planner(ctx.principal)
    try:
        if body.model == "b":
            load, lines = _required(body, "load", "lines")
            return ErlangOut(model="b", blocking=erl.erlang_b_value(load, lines))
        calls, seconds, aht, agents, answer = _required(
            body, "calls", "interval_seconds", "aht", "agents", "answer_time"
        )
        if body.model == "c":
            c = erl.erlang_c_point(
                calls=calls, interval_seconds=seconds, aht=aht, agents=agents, answer_time=answer
            )
            return ErlangOut(
                model="c",
                offered_load=c.offered_load,
                p_wait=c.p_wait,
                service_level=c.service_level,
                asa=finite(c.asa),
                occupancy=c.occupancy,
                mean_queue=finite(c.mean_queue),
            )
        (patience,) = _required(body, "patience")
        a = erl.erlang_a_point(
            calls=calls,
            interval_seconds=seconds,
            aht=aht,
            agents=agents,
            answer_time=answer,
            patience=patience,
        )
        return ErlangOut(
            model="a",
            offered_load=a.offered_load,
            p_wait=a.p_wait,
            service_level=a.service_level,
            asa=a.asa,
            occupancy=a.occupancy,
            p_abandon=a.p_abandon,
            mean_wait=a.mean_wait,
            mean_queue=a.mean_queue,
        )
    except erl.ErlangInputError as exc:
        raise invalid(exc) from None
