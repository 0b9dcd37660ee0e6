"""API shapes of analytics (prefixed Kpi*: OpenAPI schema names are unique across the app)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from omnidesk.platform.schemas import Input

Interval = Literal["15m", "30m", "60m", "day", "week", "month"]
AbandonsInSl = Literal["met", "missed", "ignored"]


class KpiSettingsIn(Input):
    short_abandon_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        description="An unanswered contact abandoned within this wait (inclusive) is a short "
        "abandon: not offered for service level, not in the abandon rate."
    )
    abandons_in_sl: AbandonsInSl = Field(
        description="Abandons after the short threshold in service level: met (those within "
        "the queue's threshold count as met), missed (in the denominator only), ignored."
    )
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="IANA zone of the tenant's reports (days, weeks, months)."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class KpiSettingsOut(BaseModel):
    short_abandon_seconds: float
    abandons_in_sl: AbandonsInSl
    timezone: str
    rebuilding: bool = Field(
        False, description="The rollups are being computed again (the short threshold changed)."
    )


class KpiQueueSums(BaseModel):
    offered: int
    answered: int
    answered_in_sl: int
    abandoned: int
    short_abandoned: int
    abandoned_in_sl: int
    overflowed: int
    transferred: int
    handled: int
    wait_answered_seconds: float
    wait_abandoned_seconds: float
    talk_seconds: float
    hold_seconds: float
    wrap_seconds: float


class KpiQueueFigures(BaseModel):
    service_level: float | None = Field(description="null when nothing counts for it")
    asa_seconds: float | None
    aht_seconds: float | None
    abandon_rate: float | None


class KpiQueueInterval(BaseModel):
    start: datetime
    end: datetime
    sums: KpiQueueSums
    kpis: KpiQueueFigures


class KpiQueueReport(BaseModel):
    start: datetime
    end: datetime
    interval: Interval
    timezone: str
    queue_id: str | None
    channel: str | None
    intervals: list[KpiQueueInterval]
    total: KpiQueueInterval


class KpiAgentSums(BaseModel):
    handled: int
    talk_seconds: float
    hold_seconds: float
    wrap_seconds: float
    state_seconds: dict[str, float] = Field(
        description="Logged-in time per state; away per reason as 'away:<reason>'."
    )


class KpiAgentFigures(BaseModel):
    aht_seconds: float | None
    occupancy: float | None


class KpiAgentInterval(BaseModel):
    start: datetime
    end: datetime
    sums: KpiAgentSums
    kpis: KpiAgentFigures


class KpiAgentReport(BaseModel):
    agent_id: str
    intervals: list[KpiAgentInterval]
    total: KpiAgentInterval


class KpiAgentsReport(BaseModel):
    start: datetime
    end: datetime
    interval: Interval
    timezone: str
    agents: list[KpiAgentReport]


VisitOutcome = Literal[
    "waiting", "answered", "abandoned", "short_abandoned", "overflowed", "transferred"
]


class KpiContactVisit(BaseModel):
    """One stay of a contact in one queue (a transfer or overflow starts another)."""

    contact_id: str
    visit: int = Field(description="1 for the contact's first queue, 2 after a move, …")
    channel: str
    queue_id: str
    queue_name: str | None
    customer_id: str | None = Field(description="The CRM's customer, when one is on record.")
    agent_id: str | None = Field(description="The agent who answered in this queue.")
    agent_name: str | None
    agents: list[str] = Field(description="Every agent of the contact (CRM record).")
    offered_at: datetime = Field(description="Arrival in the queue.")
    answered_at: datetime | None
    ended_at: datetime | None = Field(description="Left the queue: ended or moved on.")
    wait_seconds: float | None = Field(description="Answered: the queue wait; else until left.")
    talk_seconds: float
    hold_seconds: float
    wrap_seconds: float
    handle_seconds: float = Field(description="Talk + hold + wrap-up.")
    outcome: VisitOutcome
    abandoned: bool = Field(description="The customer gave up (short abandons included).")
    disposition: str | None


class KpiContactVisits(BaseModel):
    start: datetime
    end: datetime
    timezone: str
    limit: int = Field(description="The most contacts a range may hold (more: 422).")
    visits: list[KpiContactVisit]
