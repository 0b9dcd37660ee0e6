"""API shapes of workforce management: the staffing table and single Erlang figures.

Ranges (rates > 0, targets < 1, ...) are checked once, by the pure functions in
omnidesk.wfm.erlang / staffing, whose errors name the field and the interval; the shapes here
only fix types and sizes.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_INTERVALS = 20_000


class Input(BaseModel):
    """Request bodies refuse unknown fields: a misspelt target must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Targets(Input):
    """What every interval must meet (each may be overridden per interval), and the model."""

    model: Literal["c", "a"] = "c"
    answer_time: float = Field(description="Service-level threshold T in seconds.")
    target_sl: float | None = Field(None, description="Service level to reach, e.g. 0.8.")
    target_asa: float | None = Field(None, description="Largest acceptable ASA in seconds.")
    max_occupancy: float | None = Field(None, description="Occupancy cap, e.g. 0.85.")
    max_abandon: float | None = Field(None, description="Abandonment cap (model a only).")
    shrinkage: float = Field(0.0, description="Share of paid time off the phones, e.g. 0.3.")
    patience: float | None = Field(None, description="Mean patience in seconds (model a).")


class StaffingInterval(Input):
    start: datetime
    calls: float
    aht: float
    answer_time: float | None = None
    target_sl: float | None = None
    target_asa: float | None = None
    max_occupancy: float | None = None
    max_abandon: float | None = None
    shrinkage: float | None = None
    patience: float | None = None


class StaffingIn(Targets):
    interval_seconds: float = Field(description="Length of every interval, e.g. 1800.")
    intervals: list[StaffingInterval] = Field(min_length=1, max_length=MAX_INTERVALS)


class StaffingIntervalOut(BaseModel):
    start: datetime
    calls: float
    aht: float
    offered_load: float
    agents: int
    agents_with_shrinkage: int
    service_level: float
    p_wait: float
    asa: float
    occupancy: float
    p_abandon: float | None = None


class StaffingTotals(BaseModel):
    """Calls-weighted service level and P(abandon), answered-weighted ASA, occupancy = carried
    workload / staffed agent time; agent hours = sum of agents x interval length."""

    calls: float
    workload_hours: float
    agent_hours: float
    agent_hours_with_shrinkage: float
    peak_agents: int
    peak_agents_with_shrinkage: int
    service_level: float
    asa: float
    occupancy: float
    p_abandon: float | None = None


class StaffingOut(BaseModel):
    model: Literal["c", "a"]
    interval_seconds: float
    intervals: list[StaffingIntervalOut]
    totals: StaffingTotals


class ErlangIn(Input):
    """`b`: load and lines. `c`: calls, interval_seconds, aht, agents, answer_time.
    `a`: as c plus patience."""

    model: Literal["b", "c", "a"]
    load: float | None = None
    lines: int | None = None
    calls: float | None = None
    interval_seconds: float | None = None
    aht: float | None = None
    agents: int | None = None
    answer_time: float | None = None
    patience: float | None = None


class ErlangOut(BaseModel):
    model: Literal["b", "c", "a"]
    blocking: float | None = None
    offered_load: float | None = None
    p_wait: float | None = None
    service_level: float | None = None
    asa: float | None = Field(None, description="null when the queue is unstable (infinite)")
    occupancy: float | None = None
    p_abandon: float | None = None
    mean_wait: float | None = None
    mean_queue: float | None = None


# --- what-if through the digital twin ------------------------------------------------------


class WhatIfForecastIn(Input):
    id: uuid.UUID = Field(description="A stored forecast (GET /wfm/forecasts).")
    day: date = Field(
        description="The forecast's day to simulate, in the KPI settings' time zone; the whole "
        "local day must lie inside the forecast."
    )
    reference_day: date | None = Field(
        None,
        description="The recorded day whose patience, wrap-up share and presence of agents "
        "are used; default: the latest day on the forecast day's weekday (up to 8 weeks back, "
        "not after today) with contacts in the forecast's queue and channel.",
    )


class WhatIfIn(Input):
    """Exactly one source of volumes: `day` (a recorded day) or `forecast`."""

    day: date | None = Field(
        None,
        description="A recorded day of the tenant's own traffic (in the KPI settings' time "
        "zone); its volumes, handle times, patience and who was logged in drive the "
        "simulation. Not with `forecast`.",
    )
    forecast: WhatIfForecastIn | None = Field(
        None,
        description="A day of a stored forecast instead: volumes and AHT from the forecast, "
        "patience, wrap-up share and agents' presence from a recorded reference day.",
    )
    queues: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=100,
        description="The change: queue definitions by `id` (the fields given replace the "
        "queue's current ones; a new id adds a queue), as in PUT /routing/queues/{id}.",
    )
    replications: int = Field(10, ge=2, le=50, description="Simulated days per side.")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class WhatIfStreamOut(BaseModel):
    queue_id: str
    channel: str
    contacts: float = Field(
        description="Contacts that arrived in this queue and channel that day (a forecast's "
        "expected volume may be fractional)."
    )
    handle_seconds: float | None = Field(description="Mean talk + hold of the answered.")
    wrap_up_seconds: float | None
    patience_seconds: float | None = Field(
        description="Mean patience (censored maximum likelihood); null: nobody gave up."
    )


WhatIfSource = Literal["recorded_day", "forecast"]


class WhatIfSourcesOut(BaseModel):
    """Where each input of the simulation came from."""

    volumes: WhatIfSource
    handle: WhatIfSource = Field(
        description="forecast: the forecast's AHT, split into talk + hold and wrap-up by the "
        "reference day's shares."
    )
    wrap_up: WhatIfSource
    patience: Literal["recorded_day"]
    agents: Literal["recorded_day"] = Field(
        description="Routing's agents as they are now, logged in as on the reference day."
    )
    reference_day: date = Field(
        description="The recorded day behind the recorded_day inputs (with a recorded day: "
        "that day)."
    )
    reference_chosen: Literal["day", "given", "same_weekday"] = Field(
        description="day: the request's recorded day; given: the forecast's reference_day; "
        "same_weekday: the latest recorded day on the forecast day's weekday with contacts."
    )
    forecast_id: uuid.UUID | None = None


class WhatIfOut(BaseModel):
    day: date = Field(description="The simulated day (recorded or forecast).")
    timezone: str
    agents: int = Field(description="Agents logged in at some time that day.")
    sources: WhatIfSourcesOut
    streams: list[WhatIfStreamOut]
    study: dict[str, Any] = Field(
        description="The twin's report (docs/wfm.md, Digital twin): `runs` (baseline and "
        "change: service level, ASA, abandons per queue and overall, each with its 95 % "
        "confidence half-width) and `differences` (change minus baseline, paired on the same "
        "customers, with their confidence intervals)."
    )
