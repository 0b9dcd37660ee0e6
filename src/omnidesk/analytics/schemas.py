"""API shapes of analytics (prefixed Kpi*: OpenAPI schema names are unique across the app)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from omnidesk.analytics.mail_texts import MailLanguage
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
    csat_answers: int = Field(
        description="CSAT answers (1-5) of surveys of contacts the agent handled that ended "
        "in the interval."
    )
    csat_satisfied: int = Field(description="Of those, answers of 4 or 5.")
    evaluations: int = Field(
        default=0,
        description="Quality evaluations of contacts the agent handled that ended in the interval.",
    )
    quality_score_sum: float = Field(
        default=0.0, description="The sum of those evaluations' scores (percent each)."
    )
    fcr_resolved: int = Field(
        description="Contacts the agent handled last that ended resolved in the interval."
    )
    fcr_repeated: int = Field(description="Of those, contacts a repeat contact followed.")
    fcr_first_contact_resolved: int = Field(description="fcr_resolved - fcr_repeated.")
    fcr_provisional: int = Field(
        description="First-contact resolved so far; their repeat window is still open."
    )
    scheduled_seconds: float = Field(
        description="Time scheduled working or on a break in the agent's published schedule "
        "(up to now)."
    )
    in_adherence_seconds: float = Field(
        description="Of it, time whose activity matched the schedule (wfm's 60 s grace applied)."
    )


class KpiAgentFigures(BaseModel):
    aht_seconds: float | None
    occupancy: float | None
    csat: float | None = Field(
        description="csat_satisfied ÷ csat_answers (0-1); null: no CSAT answer."
    )
    quality_score: float | None = Field(
        default=None,
        description="quality_score_sum ÷ evaluations: the mean evaluation score in percent "
        "(0-100, 2 decimals); null: no evaluation.",
    )
    fcr: float | None = Field(
        description="fcr_first_contact_resolved ÷ fcr_resolved; null: nothing resolved."
    )
    adherence: float | None = Field(
        description="in_adherence_seconds ÷ scheduled_seconds; null: no scheduled time (no "
        "published schedule, or none of it in the interval)."
    )


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
    total: KpiAgentInterval = Field(
        description="The report's agents together over the whole range: their sums added, "
        "the KPIs of those sums (with `team_id`: the team's figures)."
    )


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


class KpiFcrRow(BaseModel):
    key: str | None = Field(
        description="The queue, agent or channel (by `by`); null: the total, or contacts "
        "without a queue or agent."
    )
    resolved: int = Field(
        description="Contacts resolved (a resolving disposition) that ended in the range."
    )
    repeated: int = Field(description="Of those, contacts a repeat contact followed.")
    first_contact_resolved: int
    fcr: float | None = Field(description="first_contact_resolved ÷ resolved; null: none resolved.")
    provisional: int = Field(
        description="First-contact resolved so far, but their repeat window has not passed yet."
    )


class KpiFcrReport(BaseModel):
    start: datetime
    end: datetime
    timezone: str
    window_days: int = Field(description="The CRM's repeat window (days).")
    by: str
    rows: list[KpiFcrRow]
    total: KpiFcrRow


ScheduleReport = Literal["queues", "agents", "contacts"]
SchedulePeriod = Literal["previous_day", "previous_week", "previous_month"]
ScheduleCadence = Literal["daily", "weekly", "monthly"]
# The languages a scheduled mail's words exist in.
ScheduleLanguage = MailLanguage
MailAddress = Annotated[
    str,
    Field(min_length=3, max_length=254, pattern=r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.\-]{1,189}$"),
]


class KpiReportScheduleIn(Input):
    """A report mailed on a cadence (docs/kpis.md, "Scheduled report emails"). The filters are
    the export routes' (`queue_id` and `channel` for queues and contacts, `agent_id` for agents;
    `interval` for queues and agents); the period is the whole previous day, week (Monday to
    Monday) or month in the tenant's zone before the due date."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    report: ScheduleReport
    queue_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    channel: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    agent_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    interval: Interval = "60m"
    period: SchedulePeriod
    format: Literal["csv", "xlsx"] = "csv"
    cadence: ScheduleCadence
    weekday: Annotated[int, Field(ge=0, le=6, description="0 = Monday; weekly only")] | None = None
    at: Annotated[
        str,
        Field(
            pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
            description="HH:MM, local time in the tenant's zone",
        ),
    ]
    recipients: Annotated[list[MailAddress], Field(min_length=1, max_length=50)]
    sender_address: MailAddress = Field(
        description="The email channel account (with SMTP settings) the mail is sent from."
    )
    language: ScheduleLanguage | None = Field(
        default=None,
        description="The language of the mail's subject and text (the attached file is not "
        "translated). Omitted: en for a new schedule; on PUT the schedule keeps its language.",
    )
    version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="On PUT: the version the change was made on (stale: 409)."
    )


class KpiReportRunOut(BaseModel):
    id: str
    due_at: datetime
    manual: bool
    period_start: datetime
    period_end: datetime
    status: Literal["pending", "sent", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    reason: str | None
    finished_at: datetime | None


class KpiReportScheduleOut(BaseModel):
    id: str
    name: str
    report: ScheduleReport
    queue_id: str | None
    channel: str | None
    agent_id: str | None
    interval: Interval
    period: SchedulePeriod
    format: Literal["csv", "xlsx"]
    cadence: ScheduleCadence
    weekday: int | None
    at: str
    recipients: list[str]
    sender_address: str
    language: ScheduleLanguage
    owner_id: str
    next_due_at: datetime
    last_run: KpiReportRunOut | None
    created_at: datetime
    updated_at: datetime
    version: int


class KpiTeamSums(BaseModel):
    """The answered side of the queue sums, over the visits the team's agents answered."""

    handled: int = Field(description="Visits answered by an agent of the team.")
    answered_in_sl: int
    transferred: int = Field(description="Of those, moved on to another queue after the answer.")
    wait_answered_seconds: float
    talk_seconds: float
    hold_seconds: float
    wrap_seconds: float


class KpiTeamFigures(BaseModel):
    asa_seconds: float | None
    aht_seconds: float | None


class KpiTeamInterval(BaseModel):
    start: datetime
    end: datetime
    sums: KpiTeamSums
    kpis: KpiTeamFigures


class KpiTeamReport(BaseModel):
    team_id: str
    name: str | None = Field(description="The team's name now; null: the team was deleted.")
    intervals: list[KpiTeamInterval]
    total: KpiTeamInterval


class KpiTeamsReport(BaseModel):
    start: datetime
    end: datetime
    interval: Interval
    timezone: str
    teams: list[KpiTeamReport]


class KpiDispositionSums(BaseModel):
    handled: int = Field(description="Answered visits left with this disposition.")
    talk_seconds: float
    hold_seconds: float
    wrap_seconds: float
    handle_seconds: float = Field(description="Talk + hold + wrap-up.")


class KpiDispositionFigures(BaseModel):
    aht_seconds: float | None


class KpiDispositionInterval(BaseModel):
    start: datetime
    end: datetime
    sums: KpiDispositionSums
    kpis: KpiDispositionFigures


class KpiDispositionReport(BaseModel):
    disposition: str | None = Field(description="The wrap-up code; null: none was given.")
    intervals: list[KpiDispositionInterval]
    total: KpiDispositionInterval


class KpiDispositionsReport(BaseModel):
    start: datetime
    end: datetime
    interval: Interval
    timezone: str
    queue_id: str | None
    dispositions: list[KpiDispositionReport]
    total: KpiDispositionInterval = Field(
        description="Every disposition together: the queue report's handled, talk, hold, "
        "wrap-up and AHT."
    )


class KpiJourneyRow(BaseModel):
    key: str | None = Field(
        description="The queue or channel (by `by`); null: the total, or contacts without a queue."
    )
    contacts: int = Field(description="Contacts that started in the range.")
    repeats: int = Field(description="Of those, repeat contacts (the CRM's `repeat_of` is set).")
    repeat_rate: float | None = Field(description="repeats ÷ contacts; null: no contacts.")
    switches: int = Field(
        description="Links from a contact of the range to a later contact of its matter on "
        "another channel (the later contact's `switched_from`, else its `repeat_of`)."
    )
    switch_rate: float | None = Field(description="switches ÷ contacts; null: no contacts.")
    breaks: int = Field(
        description="Contacts of the range not resolved that the same customer followed with a "
        "contact on another channel within the repeat window (not a switch made from it)."
    )
    break_rate: float | None = Field(description="breaks ÷ contacts; null: no contacts.")
    provisional: int = Field(
        description="Contacts of the range whose repeat window has not passed yet: their "
        "switches and breaks may still grow."
    )
    resolved_matters: int = Field(
        description="Matters (a case, or a chain of repeat contacts without a case) whose last "
        "contact ended in the range with a resolving disposition."
    )
    contacts_per_matter: float | None = Field(description="Mean contacts of a resolved matter.")
    channels_per_matter: float | None = Field(
        description="Mean number of distinct channels of a resolved matter."
    )
    handle_seconds_per_matter: float | None = Field(
        description="Mean total handle time (talk + hold + wrap-up) of a resolved matter's "
        "contacts."
    )
    elapsed_seconds_per_matter: float | None = Field(
        description="Mean time from a resolved matter's first contact's start to its resolution."
    )


class KpiJourneySwitch(BaseModel):
    from_channel: str
    to_channel: str
    switches: int


class KpiJourneyReport(BaseModel):
    start: datetime
    end: datetime
    timezone: str
    window_days: int = Field(description="The CRM's repeat window (days).")
    by: str
    rows: list[KpiJourneyRow]
    total: KpiJourneyRow
    switch_matrix: list[KpiJourneySwitch] = Field(
        description="The total's switches from one channel to another, one entry per pair "
        "with any, sorted by from and to channel."
    )
