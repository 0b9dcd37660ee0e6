"""The digital channels as the surveys domain's port (surveys/ports.py): which conversation an
ended contact was, and an invitation delivered into it like any outbound message (stored, shown
to the agent and, for chat, to the visitor's widget through the event bus; email through the
account's relay, marked Auto-Submitted; messaging through its provider).

The invitation is a message of sender `system` whose `event` is `survey`: the widget and the
desk tell it from an agent's reply by that."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.adapter import OutboundMessage, SendFailed
from omnidesk.channels.conversations.events import MessageStatusChanged
from omnidesk.channels.conversations.models import ChannelAccount, Conversation, Message
from omnidesk.channels.conversations.service import ConversationService
from omnidesk.channels.email.adapter import EmailAdapter
from omnidesk.platform.database import utcnow
from omnidesk.surveys.ports import DeliveryFailed, EndedContact, Invitation


class ConversationSurveys:
    def __init__(self, service: ConversationService) -> None:
        self.service = service

    async def ended_contact(self, tenant_id: uuid.UUID, contact_id: str) -> EndedContact | None:
        async with self.service.db.snapshot_session(tenant_id) as session:
            conv = await session.scalar(
                select(Conversation).where(Conversation.contact_id == contact_id)
            )
            row = await session.get(ChannelAccount, conv.account_id) if conv else None
            if conv is None or row is None:
                return None
            # Read inside the session: its end expires the rows.
            account = self.service.account_of(row)
            window = self.service.adapter(account).reply_window_hours(account)
            last = conv.last_inbound_at
            return EndedContact(
                channel=conv.channel,
                conversation_id=conv.id,
                customer_id=conv.customer_id,
                language=conv.language,
                reachable=row.active and not conv.peer_id.startswith("erased:"),
                window_open=window is None
                or (last is not None and last + timedelta(hours=window) > utcnow()),
            )

    async def deliver(self, tenant_id: uuid.UUID, invitation: Invitation) -> None:
        now = utcnow()
        async with self.service.unit(tenant_id) as uow:
            conv = await uow.session.get(Conversation, invitation.conversation_id)
            row_account = await uow.session.get(ChannelAccount, conv.account_id) if conv else None
            if conv is None or row_account is None:
                raise DeliveryFailed("the conversation is gone")
            account = self.service.account_of(row_account)
            row = Message(
                id=uuid.uuid4(),
                conversation_id=conv.id,
                account_id=account.id,
                kind="message",
                direction="outbound",
                sender_type="system",
                sender_id=None,
                event="survey",
                text=invitation.text,
                status="queued",
                status_times={"queued": now.isoformat()},
                created_at=now,
            )
            uow.session.add(row)
            uow.record(store.added(conv, row), await self.service.audience(account, None))
            peer = conv.peer_id
        outbound = OutboundMessage(row.id, invitation.conversation_id, peer, text=invitation.text)
        adapter = self.service.adapter(account)
        failure: dict[str, str] | None = None
        external_id: str | None = None
        try:
            if isinstance(adapter, EmailAdapter):
                # Our own automatic mail: other systems must not answer it (RFC 3834).
                external_id = await adapter.send(account, outbound, automatic=True)
            else:
                external_id = await adapter.send(account, outbound)
        except SendFailed as exc:
            failure = {"detail": exc.detail}
        async with self.service.unit(tenant_id) as uow:
            sent = await uow.session.get(Message, row.id)
            assert sent is not None
            if failure is None:
                sent.external_id = external_id
                store.advance_status(sent, "sent", utcnow())
            else:
                store.advance_status(sent, "failed", utcnow(), failure)
            uow.record(
                MessageStatusChanged(
                    conversation_id=invitation.conversation_id,
                    message_id=row.id,
                    status=sent.status,
                ),
                await self.service.audience(account, None),
            )
        if failure is not None:
            raise DeliveryFailed(failure["detail"])
        await self.service.sent(account, external_id)
