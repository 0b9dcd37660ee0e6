"""The conversation store's part of a customer's erasure (platform/redaction.py): every message
body of their conversations (theirs, the agents' replies and internal notes), the attachment
files, their address and name on the channel, and the same in the conversations' events.

What stays is the shape: the conversation, its messages' kinds, directions, statuses and times,
so counts and response times still add up. The conversation's address becomes a placeholder
unique to it: a later message from the same address starts a new conversation (and, the
identity being gone, a new customer).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.conversations.attachments import AttachmentFiles
from omnidesk.channels.conversations.models import Attachment, Conversation, Message
from omnidesk.platform.redaction import Erasure, Expiry, redact_events, rows_of_any

# What the store's events and rows may carry in the customer's or an agent's own words.
TEXT_KEYS = frozenset(
    {"text", "html", "subject", "template", "peer_id", "peer_name", "filename", "name"}
)


class ConversationPersonalData:
    def __init__(self, data_dir: Path) -> None:
        self.files = AttachmentFiles(data_dir)

    async def erase(self, session: AsyncSession, erasure: Erasure) -> dict[str, int]:
        conversations = await _conversations(session, erasure)
        if not conversations:
            return {"conversations": 0}
        ids = [c.id for c in conversations]
        redaction = erasure.redaction.with_values(c.peer_id for c in conversations)
        redaction = type(redaction)(redaction.keys | TEXT_KEYS, redaction.values)
        for conversation in conversations:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(peer_id=f"erased:{conversation.id}", peer_name=None)
            )
        messages = await session.execute(
            update(Message)
            .where(Message.conversation_id.in_(ids))
            .values(text=None, html=None, subject=None, template=None, error=None)
        )
        await session.execute(
            update(Message)
            .where(Message.conversation_id.in_(ids), Message.sender_type == "customer")
            .values(sender_id=None)
        )
        attachments = list(
            await session.execute(
                select(Attachment.tenant_id, Attachment.id).where(
                    Attachment.conversation_id.in_(ids)
                )
            )
        )
        await session.execute(delete(Attachment).where(Attachment.conversation_id.in_(ids)))
        events = await redact_events(session, {"conversation": [str(i) for i in ids]}, redaction)
        # Files last: they cannot be rolled back (an erasure whose commit fails is asked
        # for again; the rows then still name files that are gone: 404).
        await asyncio.to_thread(self._remove, [(t, a) for t, a in attachments])
        return {
            "conversations": len(conversations),
            "messages": messages.rowcount,  # type: ignore[attr-defined]
            "attachments": len(attachments),
            "events": events,
        }

    async def expire(self, session: AsyncSession, expiry: Expiry) -> dict[str, int]:
        """Past retention, what was written goes: the bodies of messages older than the cutoff
        and their attachments, in every conversation (an open one keeps its recent part)."""
        old = Message.created_at < expiry.before
        messages = await session.execute(
            update(Message)
            .where(
                old,
                or_(
                    Message.text.is_not(None),
                    Message.html.is_not(None),
                    Message.subject.is_not(None),
                ),
            )
            .values(text=None, html=None, subject=None, template=None)
        )
        attached = select(Message.id).where(old).scalar_subquery()
        attachments = list(
            await session.execute(
                select(Attachment.tenant_id, Attachment.id).where(
                    Attachment.message_id.in_(attached)
                )
            )
        )
        if attachments:
            await session.execute(
                delete(Attachment).where(Attachment.id.in_([a for _, a in attachments]))
            )
            await asyncio.to_thread(self._remove, [(t, a) for t, a in attachments])
        return {
            "messages": messages.rowcount,  # type: ignore[attr-defined]
            "attachments": len(attachments),
        }

    def _remove(self, attachments: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        for tenant_id, attachment_id in attachments:
            self.files.remove(tenant_id, attachment_id)


async def _conversations(session: AsyncSession, erasure: Erasure) -> list[Conversation]:
    wanted: list[tuple[Any, list[Any]]] = [
        (Conversation.customer_id, list(erasure.customer_ids)),
        (Conversation.contact_id, list(erasure.contact_ids)),
    ]
    return await rows_of_any(session, Conversation, lambda conv: conv.id, wanted)
