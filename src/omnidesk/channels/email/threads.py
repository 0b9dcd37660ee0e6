"""Email threading: which conversation a mail belongs to, and the headers a reply carries.

Order of evidence for an inbound mail (chatwoot#10028, zammad#5716 got this wrong):
1. any id in In-Reply-To or References that is a message of the account (ours or the
   customer's): the thread, whoever writes (a colleague on Cc, the customer's other address);
2. the ticket token in the subject (`[#1A2B3C4D]`, "Re:"/"Fwd:"/"AW:" prefixes ignored) for
   clients that drop the reference headers (zammad#3022) — only when the sender has written in
   that thread before: a stranger quoting a ticket number is not attached (zammad#5064);
3. otherwise the sender's conversation on the account (one per address, reopened).
A reply carries Message-ID (ours, its id in the store), In-Reply-To (the last inbound mail) and
References (every earlier id of the conversation, oldest first).
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.conversations.models import Conversation, Message

TOKEN = re.compile(r"\[#([0-9A-Fa-f]{8})\]")
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|antw|ref|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
MAX_REFERENCES = 50  # a References header is folded, but not endless


def token(conversation_id: uuid.UUID) -> str:
    return conversation_id.hex[:8].upper()


def clean_subject(subject: str | None) -> str:
    """The subject without reply/forward prefixes and our token."""
    text = TOKEN.sub("", subject or "")
    return " ".join(_PREFIX.sub("", text).split())


def reply_subject(subject: str | None, conversation_id: uuid.UUID) -> str:
    base = clean_subject(subject) or "Your message"
    return f"Re: {base} [#{token(conversation_id)}]"


async def find(
    session: AsyncSession,
    account_id: uuid.UUID,
    sender: str,
    thread_ids: tuple[str, ...],
    subject: str | None,
) -> tuple[uuid.UUID | None, str]:
    """(the conversation, how it was found: header | token | sender | none)."""
    if thread_ids:
        row = await session.scalar(
            select(Message.conversation_id)
            .where(
                Message.account_id == account_id,
                Message.external_id.in_(list(thread_ids[:MAX_REFERENCES])),
            )
            .order_by(Message.created_at.desc())
            .limit(1)
        )
        if row is not None:
            return row, "header"
    for found in TOKEN.findall(subject or ""):
        # The token is the id's first 8 hex digits; the id's text starts with them on both
        # databases (SQLite stores the hex, PostgreSQL shows the dashed form).
        candidates = await session.scalars(
            select(Conversation).where(
                Conversation.account_id == account_id,
                func.lower(cast(Conversation.id, String)).like(f"{found.lower()}%"),
            )
        )
        for conv in candidates:
            if await _participant(session, conv, sender):
                return conv.id, "token"
    conv_id = await session.scalar(
        select(Conversation.id).where(
            Conversation.account_id == account_id, Conversation.peer_id == sender
        )
    )
    return conv_id, "sender" if conv_id is not None else "none"


async def _participant(session: AsyncSession, conv: Conversation, sender: str) -> bool:
    if conv.peer_id == sender:
        return True
    wrote = await session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conv.id,
            Message.direction == "inbound",
            Message.sender_id == sender,
        )
        .limit(1)
    )
    return wrote is not None


async def reply_headers(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> tuple[list[str], str | None, str | None]:
    """(References: the conversation's earlier mail ids oldest first, In-Reply-To: the last
    inbound one, the subject to answer) for an outbound message."""
    rows = (
        await session.execute(
            select(Message.external_id, Message.direction, Message.subject)
            .where(
                Message.conversation_id == conversation_id,
                Message.kind == "message",
                Message.id != message_id,
            )
            .order_by(Message.created_at, Message.id)
        )
    ).all()
    references = [r.external_id for r in rows if r.external_id]
    inbound = [r for r in rows if r.direction == "inbound" and r.external_id]
    in_reply_to = inbound[-1].external_id if inbound else (references[-1] if references else None)
    subjects = [r.subject for r in rows if r.subject]
    return references[-MAX_REFERENCES:], in_reply_to, subjects[-1] if subjects else None
