"""The one interface every digital channel implements, and the shapes it speaks.

A channel adapter turns the outside world into `Inbound` (messages and delivery statuses, parsed
from a provider's request after it has been authenticated) and delivers an agent's
`OutboundMessage`. Everything else (the customer through the CRM, the conversation, storage,
language, routing, realtime) is the conversation service's, the same for every channel: adding a
channel is an adapter and its webhook/listener, never a change to the store or to routing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

DeliveryStatus = Literal["sent", "delivered", "read", "failed"]


@dataclass(frozen=True)
class Account:
    """A channel account as adapters see it (a copy of its row)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    name: str
    provider: str
    queue_id: str
    config: dict[str, Any]
    secrets: dict[str, str]

    def secret(self, key: str) -> str:
        return self.secrets.get(key, "")


@dataclass(frozen=True)
class InboundAttachment:
    """A file with a message: its bytes now (`data`), or a provider's id to fetch it by."""

    filename: str
    content_type: str
    data: bytes | None = None
    media_id: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    external_id: str  # the provider's message id: duplicates are recognised by it
    peer_id: str  # the customer's address on the channel (CRM identity value)
    peer_name: str | None = None
    text: str | None = None
    html: str | None = None  # sanitised before it is stored
    # A language the customer chose (a pre-chat form, a bot's menu): wins over detection.
    language: str | None = None
    # False: the text says nothing of the customer's language (a form's answers): not detected.
    detect_language: bool = True
    sent_at: datetime | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    # The conversation the channel matched by its own threading (email: Message-ID headers, a
    # ticket token in the subject). None: the one of this peer on the account, as always.
    thread: uuid.UUID | None = None
    subject: str | None = None  # email's subject line, kept with the message
    # False: stored in its conversation, but never opens a round in routing (automated mail,
    # a bounce, a thread over its reopen rate limit). A live contact still gets it.
    open_round: bool = True


@dataclass(frozen=True)
class StatusUpdate:
    external_id: str  # the provider's id of one of our outbound messages
    status: DeliveryStatus
    at: datetime
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Inbound:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)


@dataclass(frozen=True)
class OutboundFile:
    filename: str
    content_type: str
    path: Path


@dataclass(frozen=True)
class OutboundMessage:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    peer_id: str
    text: str | None = None
    html: str | None = None
    template: dict[str, Any] | None = None
    attachments: tuple[OutboundFile, ...] = ()


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes
    content_type: str
    sha256: str | None = None


class SendFailed(Exception):
    """The provider refused or could not be reached; `detail` is stored on the message."""

    def __init__(self, detail: str, **info: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.info = info


class ChannelAdapter(Protocol):
    kind: str  # the account kind it serves: whatsapp, webhook, (email, chat)
    channel: str  # the routing channel its contacts arrive on: messaging, email, chat
    identity_kind: str  # the CRM identity kind of its peers: messaging, email, webchat

    def reply_window_hours(self, account: Account) -> float | None:
        """Hours after the customer's last message during which free-form replies may be sent;
        None: no window (outside it only templates may be sent)."""
        ...

    async def send(self, account: Account, message: OutboundMessage) -> str | None:
        """Deliver; the provider's message id (for its status updates). Raises SendFailed."""
        ...

    async def fetch_media(self, account: Account, media_id: str) -> FetchedMedia:
        """The bytes of an attachment announced by id (raises on any failure: retried)."""
        ...
