"""What agents do with conversations: read them, reply (text, HTML, a canned response, a
template, attachments), write internal notes, upload and download attachments, close.

Who may: admins any conversation of their tenant; supervisors those of their teams' queues (the
rule routing's realtime views follow: a supervisor sees a queue's contacts when an agent of a
team they supervise serves the queue), the account's queue or any queue a round of it passed
through; an agent a conversation whose contact is offered to them or that they handle, and
afterwards every conversation they were offered or handled (remembered in `agent_ids`, and in
the CRM's interaction records of its rounds), and those they took over. Supervision
(whisper, take over, who is viewing) is in supervision.py.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.adapter import OutboundFile, OutboundMessage, SendFailed
from omnidesk.channels.conversations.attachments import digest, safe_filename
from omnidesk.channels.conversations.events import (
    ConversationClosed,
    MessageStatusChanged,
)
from omnidesk.channels.conversations.models import (
    Attachment,
    CannedResponse,
    ChannelAccount,
    Conversation,
    Message,
)
from omnidesk.channels.conversations.schemas import ReplyIn
from omnidesk.channels.conversations.service import ConversationService
from omnidesk.crm.models import Interaction
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import CancelContact, EndContact, RoutingError

log = get_logger(__name__)


class OutsideWindow(DomainError):
    status = 409
    code = "outside_service_window"
    title = "Outside the customer-service window"


class Desk:
    def __init__(self, service: ConversationService) -> None:
        self.service = service

    # --- access ---------------------------------------------------------------------------

    async def _open(
        self, by: Principal, conversation_id: uuid.UUID
    ) -> tuple[Conversation, ChannelAccount, str | None]:
        """The conversation if `by` may see it, its account, and the agent on its contact."""
        async with self.service.unit(by.tenant_id) as uow:
            conv = await uow.session.get(Conversation, conversation_id)
            account = (
                await uow.session.get(ChannelAccount, conv.account_id) if conv is not None else None
            )
        if conv is None or account is None:
            raise NotFound("no such conversation", conversation_id=str(conversation_id))
        _, agent = await self.service.live_agent(by.tenant_id, conv.contact_id)
        me = str(by.user_id)
        if by.role is Role.SUPERVISOR:
            async with self.service.unit(by.tenant_id) as uow:
                rounds = await _rounds(uow.session, [conv])
            if not await self._supervises(by, conv, account.queue_id, rounds):
                raise NotFound("no such conversation", conversation_id=str(conversation_id))
        if by.role is Role.AGENT and me not in (conv.agent_ids or []):
            if agent != me and not await self._holds(by, conv.contact_id):
                async with self.service.unit(by.tenant_id) as uow:
                    handled = await store.handled_by(uow.session, conv)
                if me not in handled:
                    # Not theirs: as if it did not exist, like another tenant's.
                    raise NotFound("no such conversation", conversation_id=str(conversation_id))
            async with self.service.unit(by.tenant_id) as uow:
                row = await uow.session.get(Conversation, conversation_id)
                assert row is not None
                row.agent_ids = [*(row.agent_ids or []), str(by.user_id)]
                conv = row
        return conv, account, agent

    async def _holds(self, by: Principal, contact_id: str | None) -> bool:
        """Whether routing has the contact on the agent (offered, active or in wrap-up): an
        agent whose contact was transferred or taken over wraps it up and reads it now. Asked
        of routing, not of the CRM's interaction records: their projection of the agent's
        acceptance may not have caught up yet."""
        if contact_id is None:
            return False
        me = str(by.user_id)
        status = await self.service.routing.read(by.tenant_id, lambda r: r.agent(me))
        return status is not None and contact_id in status.contacts

    def _window(self, account: ChannelAccount) -> float | None:
        adapter = self.service.adapters.get(account.kind)
        return adapter.reply_window_hours(self.service.account_of(account)) if adapter else None

    # --- reading ----------------------------------------------------------------------------

    async def get(self, by: Principal, conversation_id: uuid.UUID) -> dict[str, Any]:
        conv, account, _ = await self._open(by, conversation_id)
        return store.conversation_view(conv, account, self._window(account))

    async def conversations(
        self,
        by: Principal,
        status: str | None,
        limit: int,
        *,
        contact_id: str | None = None,
        customer_id: uuid.UUID | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first, those `by` may read (see the module's doc), optionally only the
        conversation of a routing contact (any of its rounds) or a customer's."""
        mine: set[str] = set()
        if by.role is Role.AGENT:
            agent = await self.service.routing.read(
                by.tenant_id, lambda r: r.agent(str(by.user_id))
            )
            mine = set(agent.contacts) if agent is not None else set()
        async with self.service.unit(by.tenant_id) as uow:
            query = select(Conversation).order_by(
                Conversation.last_message_at.desc(), Conversation.created_at.desc()
            )
            # Agents and supervisors are filtered below, after the query: read more for them.
            query = query.limit(limit if by.is_admin else 1000)
            if status:
                query = query.where(Conversation.status == status)
            if customer_id is not None:
                query = query.where(Conversation.customer_id == customer_id)
            if contact_id is not None:
                query = query.where(
                    or_(
                        Conversation.contact_id == contact_id,
                        Conversation.id.in_(await _conversations_of(uow.session, contact_id)),
                    )
                )
            rows = list(await uow.session.scalars(query))
            accounts = {a.id: a for a in await uow.session.scalars(select(ChannelAccount))}
            rounds = await _rounds(uow.session, rows) if not by.is_admin else {}
        if by.role is Role.AGENT:
            me = str(by.user_id)
            rows = [
                r
                for r in rows
                if me in (r.agent_ids or [])
                or r.contact_id in mine
                or any(me in agents for _, agents in rounds.get(r.id, []))
            ]
        elif by.role is Role.SUPERVISOR:
            rows = [
                r
                for r in rows
                if await self._supervises(by, r, accounts[r.account_id].queue_id, rounds)
            ]
        return [
            store.conversation_view(r, accounts[r.account_id], self._window(accounts[r.account_id]))
            for r in rows[:limit]
        ]

    async def _supervises(
        self,
        by: Principal,
        conv: Conversation,
        account_queue: str,
        rounds: dict[uuid.UUID, list[tuple[list[str], list[str]]]],
    ) -> bool:
        """Whether a supervisor sees the conversation: routing's rule for a queue's contacts
        (`Principal.sees` the queue's audience) for the account's queue, the live contact's
        queue, or a queue one of its rounds passed through; and one they took over stays theirs
        to read."""
        if str(by.user_id) in (conv.agent_ids or []):
            return True
        queues = {account_queue}
        for passed, _ in rounds.get(conv.id, []):
            queues.update(passed)
        live = conv.contact_id
        # Read even without a contact: it loads the tenant's routing, whose queue audiences
        # are answered from memory.
        status = await self.service.routing.read(
            by.tenant_id, lambda r: r.contact(live) if live else None
        )
        if status is not None and status.queue_id:
            queues.add(status.queue_id)
        return any(
            by.sees(self.service.routing.queue_audience(by.tenant_id, q)) for q in sorted(queues)
        )

    async def messages(
        self, by: Principal, conversation_id: uuid.UUID, limit: int
    ) -> list[dict[str, Any]]:
        await self._open(by, conversation_id)
        async with self.service.unit(by.tenant_id) as uow:
            rows = list(
                await uow.session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.created_at, Message.id)
                    .limit(limit)
                )
            )
            files = await store.attachments_of(uow.session, [r.id for r in rows])
        return [store.message_view(r, files[r.id]) for r in rows]

    # --- writing ----------------------------------------------------------------------------

    async def reply(
        self, by: Principal, conversation_id: uuid.UUID, body: ReplyIn
    ) -> dict[str, Any]:
        conv, account_row, agent = await self._open(by, conversation_id)
        account = self.service.account_of(account_row)
        adapter = self.service.adapter(account)
        text, html = body.text, store.sanitise_html(body.html)
        template = body.template.model_dump() if body.template else None
        async with self.service.unit(by.tenant_id) as uow:
            if body.canned_response_id is not None:
                canned = await uow.session.get(CannedResponse, body.canned_response_id)
                if canned is None:
                    raise NotFound("no such canned response", field="canned_response_id")
                text = text or canned.text
        if not (text or html or template or body.attachment_ids):
            raise Invalid("say something: text, html, a canned response, a template or files")
        if template is not None:
            known = {
                (t.get("name"), t.get("language")) for t in account.config.get("templates", [])
            }
            if (template["name"], template["language"]) not in known:
                raise Invalid("the account has no such template", field="template")
        window = adapter.reply_window_hours(account)
        if window is not None and template is None:
            last = conv.last_inbound_at
            if last is None or last + timedelta(hours=window) <= utcnow():
                raise OutsideWindow(
                    f"the customer's last message is more than {window:g} hours old: only a "
                    "template message can be sent",
                    templates=account.config.get("templates", []),
                )
        files: list[Attachment] = []
        now = utcnow()
        async with self.service.unit(by.tenant_id, by.user_id) as uow:
            row = Message(
                id=uuid.uuid4(),
                conversation_id=conv.id,
                account_id=account.id,
                kind="message",
                direction="outbound",
                sender_type="agent",
                sender_id=str(by.user_id),
                text=text,
                html=html,
                template=template,
                status="queued",
                status_times={"queued": now.isoformat()},
                created_at=now,
            )
            uow.session.add(row)
            await uow.session.flush()
            for attachment_id in body.attachment_ids:
                item = await uow.session.get(Attachment, attachment_id)
                if (
                    item is None
                    or item.conversation_id != conv.id
                    or item.message_id is not None
                    or item.state != "stored"
                ):
                    raise Invalid(
                        "an attachment must be uploaded to this conversation and not sent yet",
                        field="attachment_ids",
                    )
                item.message_id = row.id
                files.append(item)
            live = await uow.session.get(Conversation, conv.id)
            assert live is not None
            live.last_message_at = now
            if by.role is Role.AGENT or agent == str(by.user_id):
                live.last_agent_id = str(by.user_id)
            if str(by.user_id) not in (live.agent_ids or []) and by.role is Role.AGENT:
                live.agent_ids = [*(live.agent_ids or []), str(by.user_id)]
            uow.record(
                store.added(conv, row, len(files)),
                await self.service.audience(account, agent),
            )
        outbound = OutboundMessage(
            message_id=row.id,
            conversation_id=conv.id,
            peer_id=conv.peer_id,
            text=text,
            html=html,
            template=template,
            attachments=tuple(
                OutboundFile(
                    f.filename, f.content_type, self.service.files.path(by.tenant_id, f.id)
                )
                for f in files
            ),
        )
        external_id: str | None = None
        failure: dict[str, Any] | None = None
        try:
            external_id = await adapter.send(account, outbound)
        except SendFailed as exc:
            log.warning("conversation.send_failed", detail=exc.detail)
            failure = {"detail": exc.detail, **exc.info}
        async with self.service.unit(by.tenant_id, by.user_id) as uow:
            sent = await uow.session.get(Message, row.id)
            assert sent is not None
            if failure is None:
                sent.external_id = external_id
                store.advance_status(sent, "sent", utcnow())
            else:
                store.advance_status(sent, "failed", utcnow(), failure)
            uow.record(
                MessageStatusChanged(
                    conversation_id=conv.id, message_id=row.id, status=sent.status
                ),
                await self.service.audience(account, agent),
            )
        if failure is None:
            await self.service.sent(account, external_id)
        async with self.service.unit(by.tenant_id) as uow:
            final = await uow.session.get(Message, row.id)
            assert final is not None
            attached = await store.attachments_of(uow.session, [row.id])
        return store.message_view(final, attached[row.id])

    async def note(self, by: Principal, conversation_id: uuid.UUID, text: str) -> dict[str, Any]:
        conv, account_row, agent = await self._open(by, conversation_id)
        async with self.service.unit(by.tenant_id, by.user_id) as uow:
            row = store.note_message(conv, by.user_id, text)
            uow.session.add(row)
            uow.record(
                store.added(conv, row),
                await self.service.audience(self.service.account_of(account_row), agent),
            )
        return store.message_view(row, [])

    async def upload(
        self,
        by: Principal,
        conversation_id: uuid.UUID,
        filename: str,
        content_type: str,
        data: bytes,
    ) -> dict[str, Any]:
        conv, _, _ = await self._open(by, conversation_id)
        async with self.service.unit(by.tenant_id, by.user_id) as uow:
            limits = store.limits_of(await store.settings_of(uow.session, by.tenant_id))
            if len(data) > limits.max_bytes:
                raise PayloadTooLarge(f"attachments are limited to {limits.max_bytes} bytes")
            if not limits.allows(content_type):
                raise UnsupportedMediaType(
                    f"attachments of type {content_type or 'unknown'} are not allowed here",
                    allowed=list(limits.types),
                )
            row = Attachment(
                id=uuid.uuid4(),
                conversation_id=conv.id,
                filename=safe_filename(filename),
                content_type=content_type,
                size=len(data),
                sha256=digest(data),
                state="stored",
                attempts=0,
                uploaded_by=by.user_id,
                created_at=utcnow(),
            )
            self.service.files.write(by.tenant_id, row.id, data)
            uow.session.add(row)
        return store.attachment_view(row)

    async def download(
        self, by: Principal, conversation_id: uuid.UUID, attachment_id: uuid.UUID
    ) -> tuple[Attachment, bytes]:
        conv, _, _ = await self._open(by, conversation_id)
        async with self.service.unit(by.tenant_id) as uow:
            row = await uow.session.get(Attachment, attachment_id)
        if row is None or row.conversation_id != conv.id or row.state != "stored":
            raise NotFound("no such attachment", attachment_id=str(attachment_id))
        try:
            data = self.service.files.path(by.tenant_id, row.id).read_bytes()
        except FileNotFoundError:
            raise NotFound("the attachment's file is missing from the data directory") from None
        return row, data

    async def close(self, by: Principal, conversation_id: uuid.UUID) -> dict[str, Any]:
        conv, account, agent = await self._open(by, conversation_id)
        if conv.status == "closed":
            raise Conflict("the conversation is closed already")
        live, _ = await self.service.live_agent(by.tenant_id, conv.contact_id)
        if live and conv.contact_id:
            status = await self.service.routing.read(
                by.tenant_id, lambda r: r.contact(conv.contact_id or "")
            )
            command: EndContact | CancelContact = (
                EndContact(conv.contact_id)
                if status is not None and status.state == "active"
                else CancelContact(conv.contact_id, reason="closed")
            )
            try:
                await self.service.routing.execute(by.tenant_id, command, by.user_id)
            except RoutingError as exc:
                log.info("conversation.close_routing", code=exc.code)
        async with self.service.unit(by.tenant_id, by.user_id) as uow:
            row = await uow.session.get(Conversation, conversation_id)
            assert row is not None
            row.status, row.closed_at = "closed", utcnow()
            row.routing_pending = False
            uow.session.add(store.system_message(row, "closed", "Conversation closed."))
            uow.record(
                ConversationClosed(conversation_id=row.id, contact_id=row.contact_id),
                await self.service.audience(self.service.account_of(account), agent),
            )
        return store.conversation_view(row, account, self._window(account))


async def _rounds(
    session: AsyncSession, rows: list[Conversation]
) -> dict[uuid.UUID, list[tuple[list[str], list[str]]]]:
    """(queues passed, agents who handled it) of every round of each conversation, from the
    CRM's interaction records (projected from routing's events: durable)."""
    by_contact = {
        store.round_contact_id(r.id, n): r.id for r in rows for n in range(1, r.rounds + 1)
    }
    found: dict[uuid.UUID, list[tuple[list[str], list[str]]]] = {r.id: [] for r in rows}
    contacts = list(by_contact)
    for start in range(0, len(contacts), 500):  # bounded IN lists
        result = await session.execute(
            select(Interaction.contact_id, Interaction.queue_ids, Interaction.agent_ids).where(
                Interaction.contact_id.in_(contacts[start : start + 500])
            )
        )
        for contact, queues, agents in result.all():
            found[by_contact[contact]].append((list(queues or []), list(agents or [])))
    return found


async def _conversations_of(session: AsyncSession, contact_id: str) -> list[uuid.UUID]:
    """The conversation a routing contact was a round of (its interaction record says), for a
    round that is no longer the conversation's current one."""
    row = await session.scalar(select(Interaction).where(Interaction.contact_id == contact_id))
    found = []
    for entry in row.steps if row is not None else []:
        detail = entry.get("detail")
        raw = detail.get("conversation_id") if isinstance(detail, dict) else None
        if entry.get("step") == "conversation_opened" and raw:
            with contextlib.suppress(ValueError):
                found.append(uuid.UUID(str(raw)))
    return found
