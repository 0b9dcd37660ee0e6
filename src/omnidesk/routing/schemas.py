"""API shapes of routing. Queue definitions use the engine's own JSON form (docs/routing.md);
the engine checks them again (rules compile, overflow targets exist) and stays the judge."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from omnidesk.core.routing.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, WEEKDAYS
from omnidesk.platform.fields import NAME_PATTERN, Channel, Id
from omnidesk.platform.schemas import Input

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
assert get_args(Weekday) == WEEKDAYS  # the engine's list of weekdays, spelled for the schema
HHMM = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["09:00"])]
# [start, end]: a list of two (a tuple's prefixItems trips up OpenAPI 3.0 tooling).
Interval = Annotated[list[HHMM], Field(min_length=2, max_length=2)]
# Seconds as the engine takes them: positive, at most a year.
Seconds = Annotated[float, Field(gt=0, le=366 * 86400)]
Level = Annotated[int, Field(ge=MIN_SKILL_LEVEL, le=MAX_SKILL_LEVEL)]
# Higher is served first; negative priorities have no meaning for a membership.
MembershipPriority = Annotated[int, Field(ge=0, le=1000)]
Priority = Annotated[int, Field(ge=-1000, le=1000)]
Name = Annotated[str, Field(min_length=1, max_length=128, pattern=NAME_PATTERN)]  # the engine's
WorkingHours = dict[Weekday, list[Interval]]


class AgentProfile(Input):
    """An agent's routing profile; id, name and time zone come from the user, and teams from
    the user's teams unless given (a later membership change replaces them with those).
    `blending` may only name channels the agent has capacity for."""

    skills: dict[Name, Level] = Field(default_factory=dict)
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: {"voice": 1, "chat": 3, "email": 2}
    )
    blending: dict[Channel, list[Channel]] = Field(default_factory=dict)
    queues: dict[Id, MembershipPriority] = Field(default_factory=dict)
    languages: list[Name] = Field(default_factory=list)
    working_hours: WorkingHours = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)
    teams: Annotated[list[uuid.UUID], Field(max_length=100)] | None = None

    # A field validator (not a model validator) so that the refusal names `blending`, and the
    # admin console shows it on the blending inputs; `capacity` is declared before it.
    @field_validator("blending")
    @classmethod
    def _blends_known_channels(
        cls, blending: dict[str, list[str]], info: ValidationInfo
    ) -> dict[str, list[str]]:
        capacity = info.data.get("capacity")
        if capacity is None:  # capacity itself was refused: that refusal says enough
            return blending
        for held, allowed in blending.items():
            for channel in (held, *allowed):
                if channel not in capacity:
                    # A channel without capacity is never offered: naming it is a typo.
                    raise ValueError(
                        f"blending names channel {channel!r}, which is not in capacity "
                        f"({', '.join(sorted(capacity)) or 'none'})"
                    )
        return blending


class AgentAssignment(Input):
    """What a supervisor changes of an agent's profile: the queues they serve (with their
    membership priority) and their skills; each given field replaces the profile's."""

    queues: dict[Id, MembershipPriority] | None = None
    skills: dict[Name, Level] | None = None

    @model_validator(mode="after")
    def _something(self) -> AgentAssignment:
        if self.queues is None and self.skills is None:
            raise ValueError("give queues, skills or both")
        return self


# --- queues (the engine's QueueDef, field by field) -----------------------------------------


class OverflowIn(Input):
    """Where a contact goes that cannot wait: another queue (`queue_id`), or out of routing."""

    kind: Literal["queue", "voicemail", "callback", "disconnect"]
    queue_id: Id | None = None
    message: Annotated[str, Field(max_length=2000)] | None = None


class StepIn(Input):
    """`target` is a routing rule (null: any member); the last step has no timeout; a final
    step with only `overflow` sends the contact on."""

    target: Annotated[str, Field(min_length=1, max_length=10_000)] | None = None
    timeout_seconds: Seconds | None = None
    overflow: OverflowIn | None = None


_COUNTRY = (
    "ISO 3166 code whose public holidays (with `holiday_subdivision`'s) close the queue too, "
    "from the `holidays` package's calendars"
)


class HoursIn(Input):
    timezone: Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Berlin"])]
    weekly: WorkingHours = Field(default_factory=dict)
    holidays: Annotated[list[date], Field(max_length=1000)] = Field(default_factory=list)
    holiday_country: (
        Annotated[str, Field(pattern=r"^[A-Z]{2,3}$", examples=["DE"], description=_COUNTRY)] | None
    ) = None
    holiday_subdivision: (
        Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,10}$", examples=["BY"])] | None
    ) = None


class QueueFields(Input):
    channels: Annotated[list[Channel], Field(min_length=1, max_length=32)]
    name: Annotated[str, Field(max_length=200)] = ""
    priority: Priority = 0
    service_level_seconds: Seconds = 20.0
    service_level_target: Annotated[float, Field(gt=0, le=1)] = 0.8
    hours: HoursIn | None = None
    on_closed: OverflowIn | None = None
    max_wait_seconds: Seconds | None = None
    on_max_wait: OverflowIn | None = None
    max_size: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    on_full: OverflowIn | None = None
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=100)] = Field(
        default_factory=lambda: [StepIn()]
    )
    aging_per_minute: Annotated[float, Field(ge=0, le=1_000_000)] = 0.0
    selection: Literal["longest_idle", "most_skilled", "least_occupied", "round_robin"] = (
        "longest_idle"
    )
    offer_timeout_seconds: Seconds = 30.0
    wrap_up_seconds: Annotated[float, Field(ge=0, le=366 * 86400)] | None = None
    wrap_up_extension_seconds: Seconds | None = None
    default_handle_seconds: Seconds = 180.0
    overflow_waiting_on_close: bool = False
    disposition_required: bool = Field(
        False, description="Ending a wrap-up of this queue's contacts needs a disposition."
    )

    def definition(self, queue_id: str) -> dict[str, Any]:
        """The engine's JSON form: only what the client gave, so the engine's defaults apply."""
        data = self.model_dump(mode="json", exclude_unset=True)
        data.pop("id", None)
        data.pop("version", None)
        return {**data, "id": queue_id}


class QueueDefinition(QueueFields):
    id: Id


class QueueUpdate(QueueFields):
    id: Id | None = Field(None, description="Ignored: the path names the queue.")
    version: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="The queue's version the edit was made on (from GET): when the queue has "
        "changed since, the save is refused with 409 `version_conflict`. Without it the save "
        "replaces whatever is there.",
    )


class QueueSaved(QueueDefinition):
    """A queue's definition as saved, with the version a next edit names."""

    version: int


class QueueStatusOut(BaseModel):
    queue_id: str
    waiting: int
    offered: int
    active: int
    ready_agents: dict[str, int]
    oldest_queued_at: datetime | None
    average_handle_seconds: float


class QueueView(BaseModel):
    definition: QueueDefinition
    status: QueueStatusOut
    version: int = Field(description="Send it back with PUT to refuse a stale edit.")


class RuleCheckIn(Input):
    rule: Annotated[str, Field(max_length=10_000)]


class RuleErrorOut(BaseModel):
    message: str
    line: int = Field(description="1-based")
    column: int = Field(description="1-based")


class RuleCheckOut(BaseModel):
    """Whether a step's rule compiles, with the engine's parser's error when it does not."""

    ok: bool
    error: RuleErrorOut | None = None


# --- agents and contacts as routing shows them ----------------------------------------------


class AgentDefinition(BaseModel):
    id: str
    name: str
    skills: dict[str, int]
    teams: list[str]
    languages: list[str]
    timezone: str
    working_hours: dict[str, list[list[str]]]
    capacity: dict[str, int]
    blending: dict[str, list[str]]
    queues: dict[str, int]
    attributes: dict[str, Any]


class AgentStatusOut(BaseModel):
    agent_id: str
    state: Literal["offline", "available", "busy", "wrap_up", "away"]
    reason: str | None
    presence: str
    load: dict[str, int]
    contacts: dict[str, str] = Field(description="contact id -> offered / active / wrap_up")
    idle_since: datetime


class AgentView(BaseModel):
    definition: AgentDefinition
    status: AgentStatusOut


class ColleagueOut(BaseModel):
    """An agent of your tenant you may call, consult or transfer to: their name and routing
    state only (no skills, queues, hours or contacts: an agent's view of a colleague)."""

    id: str = Field(description="The agent's user id (the target of a call or transfer)")
    name: str
    state: Literal["offline", "available", "busy", "wrap_up", "away"]


class WaitEstimateOut(BaseModel):
    contact_id: str
    queue_id: str
    position: int
    waited_seconds: float
    estimated_wait_seconds: float | None


class ContactView(BaseModel):
    """A contact routing holds (waiting, offered or active); `estimate` while it waits."""

    contact_id: str
    queue_id: str | None
    channel: str
    state: Literal["waiting", "offered", "active"]
    priority: int
    emergency: bool
    step: int
    queued_at: datetime
    agent_id: str | None
    offer_id: str | None
    reserved_for: str | None
    consult_of: str | None
    consult_id: str | None
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="what the channel said about it (language, …)"
    )
    estimate: WaitEstimateOut | None = None


class ContactEnded(BaseModel):
    """A contact that left routing at once (overflowed on arrival: closed, full)."""

    contact_id: str
    state: Literal["ended"]


class EventOut(BaseModel):
    """One routing event; the members besides `type` and `at` depend on the type."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["routing.offer_accepted"])
    at: datetime


class EventsOut(BaseModel):
    events: list[EventOut]


class ConsultCreated(EventsOut):
    consult_id: str


class AgentStateIn(Input):
    state: Literal["available", "away", "offline"]
    reason: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class CustomerIn(Input):
    """Who the contact is from: an identity, or a customer id. The CRM resolves it (an unknown
    identity creates a customer) and puts the customer's attributes on the contact."""

    kind: Literal["phone", "email", "messaging", "webchat"] | None = None
    value: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    provider: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    customer_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one(self) -> CustomerIn:
        if (self.customer_id is None) == (self.kind is None or self.value is None):
            raise ValueError("give either customer_id or kind and value")
        return self


class ContactIn(Input):
    queue_id: Id
    channel: Channel
    contact_id: Id | None = None
    priority: Priority = 0
    attributes: dict[str, Any] = Field(default_factory=dict)
    emergency: bool = False
    preferred_agent_id: Id | None = None
    preferred_for_seconds: Annotated[float, Field(gt=0, le=86400)] = 30.0
    last_agent_id: Id | None = None
    sticky_for_seconds: Annotated[float, Field(gt=0, le=86400)] = 30.0
    customer: CustomerIn | None = None


class RejectIn(Input):
    reason: Annotated[str, Field(max_length=200)] | None = None


class WrapUpEndIn(Input):
    disposition: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="One of the tenant's disposition codes (GET /crm/dispositions)."
    )
    note: Annotated[str, Field(max_length=1000)] | None = None


class WrapUpExtendIn(Input):
    seconds: Annotated[float, Field(gt=0, le=3600)] | None = None


class TransferIn(Input):
    target_kind: Literal["agent", "queue", "external"]
    target: Annotated[str, Field(min_length=1, max_length=128)]
    reserve_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    # For whoever takes it next (kept as the contact's `transfer_note` attribute).
    note: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


class ConsultIn(Input):
    target_kind: Literal["agent", "queue"]
    target: Annotated[str, Field(min_length=1, max_length=128)]
    consult_id: Id | None = None  # generated when not given


class ConsultEndIn(Input):
    transfer: bool = False  # warm transfer: the consultant takes the contact over


class RequeueIn(Input):
    queue_id: Id | None = None


class PriorityIn(Input):
    priority: Priority


# --- queue history (admin console: versions, diff, restore) ---------------------------------


class VersionActor(BaseModel):
    """Who saved a version (an API token acts as its user). All null when the system saved
    it (CLI, demo loader); the names null when the user no longer exists."""

    user_id: uuid.UUID | None
    username: str | None
    name: str | None


class QueueVersion(BaseModel):
    version: int
    action: Literal["created", "updated", "restored", "deleted"] = Field(
        description="`restored`: a copy of version `restored_from`; `deleted`: the queue was "
        "removed while at this version (the entry has no definition of its own)."
    )
    restored_from: int | None
    at: datetime
    actor: VersionActor


class QueueVersionDetail(QueueVersion):
    definition: dict[str, Any] = Field(description="The queue's whole definition as saved.")


class DeletedQueue(BaseModel):
    """A queue removed and not added again: its last version restores it."""

    id: str
    name: str
    version: int = Field(description="The last saved version: restore it, naming it twice.")
    deleted_at: datetime
    actor: VersionActor


class QueueRestoreIn(Input):
    version: Annotated[int, Field(ge=1)] = Field(
        description="The queue's current version (from GET; for a deleted queue its last "
        "version): a restore on a stale view is refused with 409 `version_conflict`, like an "
        "edit."
    )
