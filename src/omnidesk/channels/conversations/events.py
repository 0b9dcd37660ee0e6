"""Events of the conversation store. Like the CRM's, payloads carry ids, kinds and states, never
message text or addresses: a desk fetches the conversation it shows, and the append-only event log
keeps nothing personal.

Audience: the agent handling the conversation's contact (and whoever was offered it) and the
supervisors of its queue's teams; admins see all.
"""

from __future__ import annotations

import uuid

from omnidesk.platform.events import DomainEvent, event_type


class _ConversationEvent(DomainEvent):
    conversation_id: uuid.UUID

    def subject_id(self) -> str:
        return str(self.conversation_id)


@event_type("conversation.contact_opened", subject="conversation")
class ContactOpened(_ConversationEvent):
    """A round of the conversation became routing contact `contact_id` (the CRM's interaction
    takes its customer from here)."""

    contact_id: str
    channel: str
    account_id: uuid.UUID
    customer_id: uuid.UUID | None
    identity_id: uuid.UUID | None
    language: str | None
    reopened: bool


@event_type("conversation.message_added", subject="conversation")
class MessageAdded(_ConversationEvent):
    message_id: uuid.UUID
    contact_id: str | None
    kind: str  # message | note | system
    direction: str  # inbound | outbound | internal
    status: str
    attachments: int


@event_type("conversation.message_status_changed", subject="conversation")
class MessageStatusChanged(_ConversationEvent):
    message_id: uuid.UUID
    status: str


@event_type("conversation.attachment_stored", subject="conversation")
class AttachmentStored(_ConversationEvent):
    message_id: uuid.UUID | None
    attachment_id: uuid.UUID
    state: str


@event_type("conversation.closed", subject="conversation")
class ConversationClosed(_ConversationEvent):
    contact_id: str | None


@event_type("conversation.taken_over", subject="conversation")
class ConversationTakenOver(_ConversationEvent):
    """A supervisor took the conversation from the agent handling it: routing moved its contact
    to `to_agent_id`; `from_agent_id` (in the audience even though no longer on the contact)
    learns of it from here."""

    contact_id: str
    from_agent_id: str | None
    to_agent_id: str


@event_type("conversation.viewing_started", subject="conversation")
class ViewingStarted(_ConversationEvent):
    """`user_id` opened the conversation on their screen (an agent in their tab, a supervisor
    monitoring it): the others show "X is viewing"."""

    user_id: uuid.UUID
    name: str
    role: str


@event_type("conversation.viewing_stopped", subject="conversation")
class ViewingStopped(_ConversationEvent):
    """`user_id` closed it, or their last realtime socket closed."""

    user_id: uuid.UUID
