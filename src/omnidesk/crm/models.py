"""The CRM's tables: customers and their identities, cases, interactions, the timeline, merges.

Search has two helper tables (crm_search_docs, crm_search_terms) whose full-text and trigram
indexes the migration creates per backend (docs/adr/0011-crm-search.md). Personal data lives in
these tables only; the CRM's events carry ids, kinds and field names, never values, so erasing a
customer does not have to rewrite the append-only event log.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY; the FTS5 tables
# are keyed by these integers (a table's implicit rowid may change on VACUUM).
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class CrmSettings(TenantScoped, Base):
    """One row per tenant, created on first use."""

    __tablename__ = "crm_settings"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_crm_settings_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # ISO 3166 region for phone numbers written without a country code (None: they are refused).
    default_region: Mapped[str | None] = mapped_column(String(2))
    # Days after which an ended interaction's content (notes, transcript) is purged; None: kept.
    retention_days: Mapped[int | None]
    case_prefix: Mapped[str] = mapped_column(String(8), default="C-")
    # The last case number handed out; incremented under the row lock (like event sequences).
    last_case_number: Mapped[int] = mapped_column(BigInteger, default=1000)
    # A contact of the same customer on the same case or reason within this many days of an
    # earlier one is a repeat (first-contact resolution's basis).
    repeat_window_days: Mapped[int] = mapped_column(Integer, default=7)
    # How long a returning customer's contact on an open case waits for the agent who last
    # worked it before anyone else may take it (routing's preferred-agent step).
    prefer_last_agent_seconds: Mapped[int] = mapped_column(Integer, default=30)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Disposition(TenantScoped, Base):
    """A wrap-up code of the tenant: what the agent says came of a contact. A code is never
    deleted (records name it): retiring one makes it `active = False`."""

    __tablename__ = "crm_dispositions"
    __table_args__ = (UniqueConstraint("tenant_id", "code", name="uq_crm_dispositions_code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    resolved: Mapped[bool] = mapped_column(default=False)
    category: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(TenantScoped, Base):
    __tablename__ = "crm_customers"
    __table_args__ = (
        Index("ix_crm_customers_created", "tenant_id", "created_at"),
        Index("ix_crm_customers_merged_into", "tenant_id", "merged_into"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # None for a customer known only by an identity (an unknown caller).
    display_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(32))
    vip: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Custom field values by key, typed as their definitions say (date as ISO text).
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"recording": {"value", "source", "at"}, "marketing": {...}, "opt_out": {channel: {...}}}
    consent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|merged|erased
    merged_into: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[datetime | None]


class Identity(TenantScoped, Base):
    """A phone number (E.164), email address (lower case), messaging id (per provider) or web
    chat visitor id that resolves to one customer. The unique key is what makes resolve() safe
    under concurrency: two racing first contacts create one customer, not two."""

    __tablename__ = "crm_identities"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "provider", "value", name="uq_crm_identities_key"),
        Index("ix_crm_identities_customer", "tenant_id", "customer_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))  # phone | email | messaging | webchat
    provider: Mapped[str] = mapped_column(String(32), default="")  # messaging only
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchDoc(TenantScoped, Base):
    """A customer's name, folded (lower case, ASCII), under an integer key for the full-text
    index: FTS5 on SQLite, a GIN tsvector index on PostgreSQL (created by the migration)."""

    __tablename__ = "crm_search_docs"
    __table_args__ = (UniqueConstraint("customer_id", name="uq_crm_search_docs_customer"),)

    num: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text)


class SearchTerm(TenantScoped, Base):
    """Every distinct folded name word of a tenant: the vocabulary a misspelt word is matched
    against (trigram index: FTS5 trigram on SQLite, pg_trgm on PostgreSQL). Insert-only, so
    resolving and renaming never contend on a counter; a stale word only expands to nothing."""

    __tablename__ = "crm_search_terms"
    __table_args__ = (UniqueConstraint("tenant_id", "term", name="uq_crm_search_terms_term"),)

    num: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(String(64))


class FieldDefinition(TenantScoped, Base):
    __tablename__ = "crm_field_definitions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "entity", "key", name="uq_crm_field_definitions_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    entity: Mapped[str] = mapped_column(String(16))  # customer | case
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))  # text | number | date | choice
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FieldValue(TenantScoped, Base):
    """A customer's custom field value, folded, for search by value."""

    __tablename__ = "crm_field_values"
    __table_args__ = (Index("ix_crm_field_values_value", "tenant_id", "value", "key"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class CaseType(TenantScoped, Base):
    """A tenant's own case type (the built-in ones are in code: cases.BUILTIN_TYPES)."""

    __tablename__ = "crm_case_types"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_crm_case_types_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    has_lines: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(TenantScoped, Base):
    __tablename__ = "crm_cases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number", name="uq_crm_cases_number"),
        Index("ix_crm_cases_customer", "tenant_id", "customer_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_customers.id"))
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None]
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    order_status: Mapped[str | None] = mapped_column(String(32))
    reopened_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class CaseLine(TenantScoped, Base):
    """A line item of an order (a case whose type has lines)."""

    __tablename__ = "crm_case_lines"
    __table_args__ = (Index("ix_crm_case_lines_case", "tenant_id", "case_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_cases.id", ondelete="CASCADE"))
    position: Mapped[int]
    sku: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32), default="open")


class Interaction(TenantScoped, Base):
    """One contact on record, projected from the event log (interactions.py).

    `contact_id` is the routing contact's id, or the call id of a call that never became a
    routing contact; `last_seq` is the last event applied, so nothing is applied twice.
    """

    __tablename__ = "crm_interactions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "contact_id", name="uq_crm_interactions_contact"),
        Index("ix_crm_interactions_call", "tenant_id", "call_id"),
        Index("ix_crm_interactions_customer", "tenant_id", "customer_id", "started_at"),
        Index("ix_crm_interactions_ended", "tenant_id", "state", "ended_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contact_id: Mapped[str] = mapped_column(String(128))
    call_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(
        String(16), default="contact"
    )  # contact|call|callback|voicemail
    channel: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(16))  # inbound | outbound | internal
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("crm_customers.id"))
    identity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_identities.id", ondelete="SET NULL")
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_cases.id", ondelete="SET NULL")
    )
    queue_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    agent_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | ended
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(64))
    # Filled from routing's wrap-up (phase 2); kept here so the record is whole.
    disposition: Mapped[str | None] = mapped_column(String(64))
    disposition_note: Mapped[str | None] = mapped_column(Text)
    # The code's flags as they were when it was given (a code edited later keeps its records).
    resolved: Mapped[bool | None]
    disposition_category: Mapped[str | None] = mapped_column(String(64))
    # Why the customer got in touch, as the channel or IVR gave it (contact attribute `reason`).
    reason: Mapped[str | None] = mapped_column(String(64))
    # The earlier interaction of the same customer and case (or reason) this one repeats.
    repeat_of: Mapped[uuid.UUID | None]
    # The interaction this contact continues on another channel (a channel switch).
    switched_from: Mapped[uuid.UUID | None]
    recording_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    transcript: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    content_purged_at: Mapped[datetime | None]
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Note(TenantScoped, Base):
    __tablename__ = "crm_notes"
    __table_args__ = (
        Index("ix_crm_notes_customer", "tenant_id", "customer_id"),
        Index("ix_crm_notes_interaction", "tenant_id", "interaction_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_customers.id"))
    interaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_interactions.id", ondelete="SET NULL")
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_cases.id", ondelete="SET NULL")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str | None] = mapped_column(Text)  # None once purged or erased
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None]


class TimelineEntry(TenantScoped, Base):
    """One line of a customer's journey; interactions are joined in when read (their record
    keeps changing while they run), everything else keeps what happened in `data`."""

    __tablename__ = "crm_timeline"
    __table_args__ = (Index("ix_crm_timeline_customer", "tenant_id", "customer_id", "at", "id"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_customers.id"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    ref_type: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Merge(TenantScoped, Base):
    """A merge of `merged_id` into `survivor_id`, with what moved (ids per kind) and the
    survivor's profile before, so it can be explained and undone (merge.py)."""

    __tablename__ = "crm_merges"
    __table_args__ = (
        Index("ix_crm_merges_survivor", "tenant_id", "survivor_id"),
        Index("ix_crm_merges_merged", "tenant_id", "merged_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_customers.id"))
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_customers.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[uuid.UUID | None]
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    survivor_before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="merged")  # merged | undone
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[uuid.UUID | None]


class ProjectionCursor(TenantScoped, Base):
    """The last event-log sequence number the interaction projection has applied."""

    __tablename__ = "crm_projection_cursors"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_crm_projection_cursors_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
