"""What the surveys domain asks of the channels, through the composition root (the channels sit
above the domains and are never imported here): who an ended contact was with on which channel,
and delivering an invitation into that contact's conversation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EndedContact:
    channel: str  # chat | email | messaging
    conversation_id: uuid.UUID
    customer_id: uuid.UUID | None
    language: str | None
    # False: the conversation has no address to reach the customer at (erased, unknown).
    reachable: bool
    # False: the channel's reply window is closed (messaging: 24 h after the last message).
    window_open: bool


@dataclass(frozen=True)
class Invitation:
    conversation_id: uuid.UUID
    language: str
    text: str  # the invitation with the link, in the customer's language
    url: str


class DeliveryFailed(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SurveyChannels(Protocol):
    async def ended_contact(self, tenant_id: uuid.UUID, contact_id: str) -> EndedContact | None:
        """The contact's conversation, or None: not a contact of a digital channel."""
        ...

    async def deliver(self, tenant_id: uuid.UUID, invitation: Invitation) -> None:
        """Put the invitation into the conversation and send it; DeliveryFailed if refused."""
        ...
