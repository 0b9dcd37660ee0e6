"""Rounds of a conversation that the business opens rather than a customer's message: a
matter moved here from another channel (a channel switch, crm/switches.py), and the transcript
an agent on another channel reads of a conversation."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.adapter import Account
from omnidesk.channels.conversations.models import Conversation, Message
from omnidesk.channels.conversations.service import ConversationService, choose_language
from omnidesk.crm.models import Customer
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict


async def open_switched(
    service: ConversationService,
    account: Account,
    peer_id: str,
    *,
    customer_id: uuid.UUID,
    identity_id: uuid.UUID,
    note: str,
    preferred_agent_id: str | None,
    preferred_for_seconds: float,
    attributes: Mapping[str, Any],
) -> tuple[uuid.UUID, str, bool]:
    """A new round of the account's conversation with `peer_id` (created if there is none)
    for the customer, started by the business rather than by a message: routed at once,
    preferring the given agent. 409 while that conversation's contact is still in
    routing. Returns (conversation id, contact id, whether routing took it)."""
    tenant = account.tenant_id
    async with service.unit(tenant) as uow:
        conv = await uow.session.scalar(
            select(Conversation).where(
                Conversation.account_id == account.id, Conversation.peer_id == peer_id
            )
        )
        current = conv.contact_id if conv is not None else None
    live, _ = await service.live_agent(tenant, current)
    if live:
        raise Conflict(
            "the customer's conversation on that account is with routing already",
            field="address",
            contact_id=current,
        )
    now = utcnow()
    async with service.unit(tenant) as uow:
        session = uow.session
        conv = await session.scalar(
            select(Conversation).where(
                Conversation.account_id == account.id, Conversation.peer_id == peer_id
            )
        )
        if conv is None:
            conv = Conversation(
                id=uuid.uuid4(),
                account_id=account.id,
                channel=service.adapter(account).channel,
                peer_id=peer_id,
                status="open",
                rounds=0,
                agent_ids=[],
                routing_pending=False,
                created_at=now,
            )
            session.add(conv)
            await session.flush()
        conv.customer_id, conv.identity_id = customer_id, identity_id
        choose_language(conv, None, await session.get(Customer, customer_id), None)
        conv.last_message_at = now
        # Opened by the business, not reopened by the customer: no "wrote again" message.
        conv.status, conv.closed_at = "open", None
        contact_id = service.new_round(uow, conv, account)
        row = store.system_message(conv, "switched", note)
        session.add(row)
        uow.record(store.added(conv, row), service.routing.queue_audience(tenant, account.queue_id))
        conversation_id = conv.id
    routed = await service.route(
        tenant,
        conversation_id,
        preferred_agent_id=preferred_agent_id,
        preferred_for_seconds=preferred_for_seconds,
        attributes=attributes,
    )
    return conversation_id, contact_id, routed


async def transcript(
    service: ConversationService, tenant_id: uuid.UUID, conversation_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    """The conversation's last `limit` messages, notes and system messages, oldest first,
    as lines of text (a card shows them; files are counted, fetched from the
    conversation)."""
    async with service.unit(tenant_id) as uow:
        rows = list(
            await uow.session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(limit)
            )
        )
        files = await store.attachments_of(uow.session, [r.id for r in rows])
    return [
        {
            "at": r.created_at,
            "kind": r.kind,
            "direction": r.direction,
            "sender_type": r.sender_type,
            "sender_id": r.sender_id,
            "text": r.text if r.text is not None or r.html is None else store.text_of_html(r.html),
            "attachments": len(files[r.id]),
        }
        for r in reversed(rows)
    ]
