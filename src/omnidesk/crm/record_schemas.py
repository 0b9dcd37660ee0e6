"""API shapes of the CRM's records: cases and orders, interactions, notes, the timeline,
merges and splits, the customer card, and data in/out (import, export, erasure)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omnidesk.crm.schemas import (
    ConsentOut,
    CustomerOut,
    FieldValue,
    IdentityIn,
    IdentityOut,
    Key,
    Name,
    Short,
)

CaseStatus = Literal["open", "pending", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Body = Annotated[str, Field(min_length=1, max_length=10_000)]
Price = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- cases and orders ----------------------------------------------------------------------


class CaseLineIn(_In):
    sku: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    description: Name
    quantity: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    unit_price: Price | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    status: Short = "open"


class CaseLineOut(BaseModel):
    id: uuid.UUID
    position: int
    sku: str | None
    description: str
    quantity: int
    unit_price: Decimal | None
    currency: str | None
    status: str


class CaseCreate(_In):
    customer_id: uuid.UUID
    type: Key = "service_request"
    title: Name
    status: CaseStatus = "open"
    priority: Priority = "normal"
    owner_id: uuid.UUID | None = None
    due_at: datetime | None = None
    fields: dict[str, FieldValue] = {}
    order_status: Short | None = None
    lines: Annotated[list[CaseLineIn], Field(max_length=500)] = []


class CaseUpdate(_In):
    """Only what is sent changes. Closing or resolving stamps `closed_at`; use reopen to
    reopen a closed case (it counts)."""

    title: Name | None = None
    status: CaseStatus | None = None
    priority: Priority | None = None
    owner_id: uuid.UUID | None = None
    due_at: datetime | None = None
    fields: dict[str, FieldValue] | None = None
    order_status: Short | None = None
    lines: Annotated[list[CaseLineIn], Field(max_length=500)] | None = None


class CaseOut(BaseModel):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    type: str
    title: str
    status: str
    priority: str
    owner_id: uuid.UUID | None
    due_at: datetime | None
    fields: dict[str, Any]
    order_status: str | None
    lines: list[CaseLineOut]
    reopened_count: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


# --- interactions and notes ----------------------------------------------------------------


class RecordingLink(BaseModel):
    id: str
    url: str


class InteractionOut(BaseModel):
    id: uuid.UUID
    contact_id: str
    call_id: str | None
    kind: str
    channel: str
    direction: str
    customer_id: uuid.UUID | None
    case_id: uuid.UUID | None
    queue_ids: list[str]
    agent_ids: list[str]
    steps: list[dict[str, Any]]
    state: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    disposition: str | None
    disposition_note: str | None
    resolved: bool | None = Field(description="The disposition code's resolved flag.")
    disposition_category: str | None
    reason: str | None = Field(description="The contact's `reason` attribute, if any.")
    repeat: bool = Field(description="A repeat of an earlier contact on the same case or reason.")
    repeat_of: uuid.UUID | None
    # The contact this one continues on another channel (a channel switch), its interaction.
    switched_from: uuid.UUID | None = None
    recordings: list[RecordingLink]
    transcript: list[dict[str, Any]] | None
    content_purged_at: datetime | None


class LinkCaseIn(_In):
    case_id: uuid.UUID | None


class LinkCustomerIn(_In):
    """Attach an interaction to a customer: by id, or by an identity (resolved, so an unknown
    one creates the customer)."""

    customer_id: uuid.UUID | None = None
    identity: IdentityIn | None = None


class NoteIn(_In):
    body: Body
    interaction_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None


class NoteOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    interaction_id: uuid.UUID | None
    case_id: uuid.UUID | None
    author_id: uuid.UUID | None
    body: str | None
    created_at: datetime
    purged_at: datetime | None


# --- timeline ------------------------------------------------------------------------------


class TimelineItem(BaseModel):
    id: str
    at: datetime
    kind: str
    ref_type: str
    ref_id: str
    data: dict[str, Any]
    interaction: InteractionOut | None = None
    note: NoteOut | None = None


class TimelineOut(BaseModel):
    items: list[TimelineItem]
    # Pass as `cursor` for the next (older) page; None at the end.
    next_cursor: str | None


# --- merge and split -----------------------------------------------------------------------


class MergeIn(_In):
    merged_id: uuid.UUID


class MergeOut(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    at: datetime
    by: uuid.UUID | None
    moved: dict[str, list[str]]
    filled: list[str]
    state: Literal["merged", "undone"]
    undone_at: datetime | None
    # Why it can no longer be undone (empty while it can).
    blocked_by: list[str]


class SplitIn(_In):
    identity_id: uuid.UUID
    # None: a new customer gets the identity.
    to_customer_id: uuid.UUID | None = None
    # Also move the interactions that came in through this identity.
    move_interactions: bool = True


class SplitOut(BaseModel):
    from_customer_id: uuid.UUID
    to_customer_id: uuid.UUID
    created: bool
    interactions_moved: int


# --- the customer card (for offers, phase 2) -----------------------------------------------


class CardCase(BaseModel):
    id: uuid.UUID
    number: str
    type: str
    title: str
    status: str


class CardContact(BaseModel):
    id: uuid.UUID
    channel: str
    direction: str
    started_at: datetime
    agent_ids: list[str]
    disposition: str | None
    resolved: bool | None = None


class CustomerCard(BaseModel):
    id: uuid.UUID
    display_name: str | None
    language: str | None
    tier: str | None
    vip: bool
    tags: list[str]
    identities: list[IdentityOut]
    open_cases: list[CardCase]
    last_contacts: list[CardContact]
    consent: ConsentOut


class TranscriptLine(BaseModel):
    """One line of an earlier conversation: a message (customer or agent), an internal note
    or a system message."""

    at: datetime
    kind: str  # message | note | system
    direction: str  # inbound | outbound | internal
    sender_type: str  # customer | agent | system
    sender_id: str | None
    text: str | None
    attachments: int = 0


class SwitchedFromContact(BaseModel):
    """The contact this one continues on another channel: everything before the switch, so the
    agent who picks it up need not ask again. A call's summary (times, agents, disposition and
    note, recordings); a conversation's messages (`messages`, oldest first, the last 200)."""

    interaction_id: uuid.UUID
    contact_id: str
    channel: str
    kind: str
    direction: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    end_reason: str | None
    agent_ids: list[str]
    queue_ids: list[str]
    case_id: uuid.UUID | None
    disposition: str | None
    disposition_note: str | None
    resolved: bool | None
    recordings: list[RecordingLink]
    transcript: list[dict[str, Any]] | None
    conversation_id: uuid.UUID | None
    # The retention job purged the contact's content: no transcript, no messages.
    purged: bool = False
    messages: list[TranscriptLine]


class ContactCard(BaseModel):
    """The card shown with an offer: the contact's customer, its case and whether it repeats.
    `customer.last_contacts` are the ones before this contact; `switched_from` the contact it
    continues on another channel (a channel switch), with its transcript."""

    contact_id: str
    interaction_id: uuid.UUID
    case_id: uuid.UUID | None
    repeat: bool
    customer: CustomerCard
    switched_from: SwitchedFromContact | None = None


class ChannelSwitchIn(_In):
    """Move a contact's matter to another channel. `channel`: `voice` (a callback), `email`,
    `messaging` (or `chat`) — what this server has. `address`: the number to call back, the
    email address, the messaging id; without it, the customer's identity of that kind (a new
    one becomes the customer's; another customer's is 409). `account_id`: the digital channel's
    account (default: the tenant's only active one of that channel). `queue_id`: a callback's
    queue (default: the queue the contact was last in). `case_id`: default the contact's case,
    else the customer's open case."""

    channel: Annotated[str, Field(min_length=1, max_length=32)]
    address: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    account_id: uuid.UUID | None = None
    queue_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    case_id: uuid.UUID | None = None


class ChannelSwitchOut(BaseModel):
    from_contact_id: str
    from_interaction_id: uuid.UUID
    from_channel: str
    contact_id: str
    channel: str
    kind: str  # callback | conversation
    customer_id: uuid.UUID
    case_id: uuid.UUID | None
    preferred_agent_id: str | None
    conversation_id: uuid.UUID | None
    # False: routing refused it for now (e.g. the queue went away); the channel retries.
    routed: bool


# --- data in and out -----------------------------------------------------------------------


class RowError(BaseModel):
    field: str | None
    message: str


class RejectedRow(BaseModel):
    row: int  # the line number in the file (the header is line 1)
    errors: list[RowError]


class ImportReport(BaseModel):
    dry_run: bool
    rows: int
    accepted: int
    rejected: list[RejectedRow]
    # True when the rows were written (a real run with no rejected row).
    applied: bool
    created_ids: list[uuid.UUID] = []


class CustomerExport(BaseModel):
    exported_at: datetime
    customer: CustomerOut
    cases: list[CaseOut]
    interactions: list[InteractionOut]
    notes: list[NoteOut]
    timeline: list[TimelineItem]
    merges: list[MergeOut]
    recordings: list[RecordingLink]


class EraseOut(BaseModel):
    customer_id: uuid.UUID
    erased_at: datetime
    customers: int  # the customer and those merged into it
    identities: int
    notes: int
    interactions: int
    cases: int
    recordings: int
    # Beyond the CRM: call records, conversations and events (routing, voice) taken out.
    calls: int = 0
    conversations: int = 0
    events: int = 0
    # Surveys sent about their contacts (links made unusable) and free-text answers blanked;
    # comments of quality evaluations of their contacts blanked (scores kept).
    surveys: int = 0
    survey_texts: int = 0
    evaluation_comments: int = 0
