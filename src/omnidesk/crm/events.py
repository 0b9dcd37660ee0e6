"""Events of the CRM. Payloads name what changed (ids, kinds, field names, case numbers and
states), never personal values: a client fetches the record it is shown, and erasing a customer
leaves nothing personal behind in the append-only event log.

Who sees them besides admins (audiences.py): the user who made the change, the agents handling
one of the customer's open interactions (and the supervisors of their teams), a case's owner.
"""

from __future__ import annotations

import uuid

from omnidesk.platform.events import DomainEvent, event_type


class _CustomerEvent(DomainEvent):
    customer_id: uuid.UUID

    def subject_id(self) -> str:
        return str(self.customer_id)


@event_type("customer.created", subject="customer")
class CustomerCreated(_CustomerEvent):
    source: str  # api | resolve | import
    identity_kinds: list[str] = []


@event_type("customer.updated", subject="customer")
class CustomerUpdated(_CustomerEvent):
    changed: list[str]


@event_type("customer.consent_changed", subject="customer")
class ConsentChanged(_CustomerEvent):
    changed: list[str]
    source: str


@event_type("customer.note_added", subject="customer")
class NoteAdded(_CustomerEvent):
    note_id: uuid.UUID
    interaction_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None


@event_type("customer.merged", subject="customer")
class CustomerMerged(_CustomerEvent):
    """`customer_id` is the survivor; `merged_id` now points to it."""

    merge_id: uuid.UUID
    merged_id: uuid.UUID
    moved: dict[str, int]


@event_type("customer.merge_undone", subject="customer")
class MergeUndone(_CustomerEvent):
    merge_id: uuid.UUID
    restored_id: uuid.UUID


@event_type("customer.split", subject="customer")
class CustomerSplit(_CustomerEvent):
    """`identity_id` moved from `customer_id` to `to_customer_id` (new when `created`)."""

    identity_id: uuid.UUID
    to_customer_id: uuid.UUID
    created: bool
    interactions_moved: int


@event_type("customer.erased", subject="customer")
class CustomerErased(_CustomerEvent):
    recordings_deleted: int


class _IdentityEvent(_CustomerEvent):
    identity_id: uuid.UUID
    kind: str


@event_type("identity.added", subject="customer")
class IdentityAdded(_IdentityEvent):
    pass


@event_type("identity.removed", subject="customer")
class IdentityRemoved(_IdentityEvent):
    pass


class _CaseEvent(DomainEvent):
    case_id: uuid.UUID
    number: str
    customer_id: uuid.UUID

    def subject_id(self) -> str:
        return str(self.case_id)


@event_type("case.created", subject="case")
class CaseCreated(_CaseEvent):
    type: str
    status: str
    priority: str
    owner_id: uuid.UUID | None


@event_type("case.updated", subject="case")
class CaseUpdated(_CaseEvent):
    changed: list[str]
    status: str


@event_type("case.reopened", subject="case")
class CaseReopened(_CaseEvent):
    reopened_count: int


class _InteractionEvent(DomainEvent):
    interaction_id: uuid.UUID
    contact_id: str
    channel: str
    direction: str
    kind: str
    state: str
    customer_id: uuid.UUID | None
    case_id: uuid.UUID | None
    agent_ids: list[str]
    queue_ids: list[str]

    def subject_id(self) -> str:
        return str(self.interaction_id)


@event_type("interaction.created", subject="interaction")
class InteractionCreated(_InteractionEvent):
    pass


@event_type("interaction.updated", subject="interaction")
class InteractionUpdated(_InteractionEvent):
    pass


@event_type("crm.settings_updated", subject="crm_settings")
class SettingsUpdated(DomainEvent):
    changed: list[str]

    def subject_id(self) -> str:
        return "settings"


@event_type("crm.field_changed", subject="crm_field")
class FieldChanged(DomainEvent):
    entity: str
    key: str
    action: str  # created | updated | deleted

    def subject_id(self) -> str:
        return f"{self.entity}.{self.key}"


@event_type("crm.case_type_created", subject="crm_case_type")
class CaseTypeCreated(DomainEvent):
    key: str

    def subject_id(self) -> str:
        return self.key


@event_type("crm.disposition_changed", subject="crm_disposition")
class DispositionChanged(DomainEvent):
    code: str
    action: str  # created | updated
    changed: list[str] = []

    def subject_id(self) -> str:
        return self.code


@event_type("crm.contact_identified", subject="contact")
class ContactIdentified(DomainEvent):
    """Routing accepted a contact whose customer the CRM resolved on arrival: the projection
    attaches its interaction to the customer (and the open case, the repeat). Ids only."""

    contact_id: str
    channel: str
    customer_id: uuid.UUID
    identity_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    repeat_of: uuid.UUID | None = None
    reason: str | None = None

    def subject_id(self) -> str:
        return self.contact_id


@event_type("offer.customer_card", subject="offer")
class OfferCustomerCard(DomainEvent):
    """An offer's contact is from a known customer: the card to show with the offer is
    `GET /crm/contacts/{contact_id}/card` (ids here, the personal part is fetched: see
    docs/adr/0016-crm-in-routing.md). To the offered agent and their teams' supervisors."""

    offer_id: str
    contact_id: str
    agent_id: str
    customer_id: uuid.UUID
    interaction_id: uuid.UUID
    case_id: uuid.UUID | None = None
    repeat: bool = False

    def subject_id(self) -> str:
        return self.offer_id


@event_type("crm.channel_switched", subject="contact")
class ChannelSwitched(DomainEvent):
    """A matter moved channel: `to_contact_id` (a new contact on `to_channel`) continues
    `from_contact_id`, for the same customer and case, preferring the agent who had it. The
    projection links the new interaction to the earlier one (`switched_from`). Ids only: the
    number or address it moved to is the customer's identity, not the log's."""

    from_contact_id: str
    from_interaction_id: uuid.UUID
    from_channel: str
    to_contact_id: str
    to_channel: str
    kind: str  # callback | conversation
    customer_id: uuid.UUID
    case_id: uuid.UUID | None = None
    preferred_agent_id: str | None = None
    conversation_id: uuid.UUID | None = None

    def subject_id(self) -> str:
        return self.to_contact_id
