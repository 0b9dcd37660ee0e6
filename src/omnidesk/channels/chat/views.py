"""What a visitor is shown of their conversation: customer and agent messages only (never an
internal note or a system message), without agents' ids or providers' data."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from omnidesk.channels.conversations.models import Attachment, Conversation, Message

PRECHAT = "prechat:"  # external id prefix of the message holding the pre-chat form's answers
OFFLINE = "offline:"  # ... and of one left with the offline form


def visible(row: Message) -> bool:
    return row.kind == "message"


def attachment_view(row: Attachment) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "state": row.state,
        "reason": row.reason,
    }


def message_view(row: Message, attachments: list[Attachment]) -> dict[str, Any]:
    external = row.external_id or ""
    form = "prechat" if external.startswith(PRECHAT) else None
    form = "offline" if external.startswith(OFFLINE) else form
    # A post-contact survey's invitation (channels/surveys.py): the widget shows its link as a
    # button.
    form = "survey" if row.event == "survey" else form
    return {
        "id": str(row.id),
        "direction": row.direction,
        "from": "visitor" if row.direction == "inbound" else "agent",
        "text": row.text,
        "html": row.html,
        "form": form,
        # The widget's own id of a message it sent (it matches its pending copy by it).
        "client_id": external[2:] if external.startswith("w:") else None,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "attachments": [attachment_view(a) for a in attachments],
    }


def conversation_view(row: Conversation) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "status": row.status,
        "language": row.language,
        "created_at": row.created_at.isoformat(),
    }


class ChatAttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int | None
    state: str
    reason: str | None


class ChatMessageOut(BaseModel):
    id: str
    direction: str
    # "from" is a keyword: the field is declared under another name with its wire alias.
    sender: str = Field(alias="from")
    text: str | None
    html: str | None
    form: str | None
    client_id: str | None
    status: str
    created_at: str
    attachments: list[ChatAttachmentOut]


class ChatConversationOut(BaseModel):
    id: str
    status: str
    language: str | None
    created_at: str


class ChatHistoryOut(BaseModel):
    conversation: ChatConversationOut | None
    messages: list[ChatMessageOut]


class ChatSentOut(BaseModel):
    conversation: ChatConversationOut
    message: ChatMessageOut
    duplicate: bool


class ChatVisitorOut(BaseModel):
    visitor_token: str


class ChatOfflineOut(BaseModel):
    """`delivery` `chat`: the message is in the visitor's chat conversation (shown there);
    `email`: it became an email conversation (answered by mail; `conversation` is null)."""

    delivery: Literal["chat", "email"]
    conversation: ChatConversationOut | None
    message: ChatMessageOut
    duplicate: bool


class ChatTranscriptOut(BaseModel):
    sent: bool
    # How many messages the transcript holds.
    messages: int
