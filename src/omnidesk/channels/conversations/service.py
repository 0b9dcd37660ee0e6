"""The conversation service: inbound messages and statuses from any channel adapter into the
store, each new round of a conversation into routing, and attachments fetched from providers.

Order of work for an inbound message (docs/adr/0017-conversation-store.md):
1. a redelivery (same provider message id) is recognised and stored nothing new; only its
   attachments still waiting for their bytes are fetched again (a dedupe never blocks a retry).
   This look, and the conversation the message joins, are read without the write lock;
2. one transaction: the customer (CRM resolve), the conversation (created or reopened), the
   message and its attachment rows, and the events; committed before the sender is answered.
   The transaction is shared with the tenant's other inbound messages of the moment (group
   commit, docs/adr/0034-group-commit-for-inbound-messages.md): one write lock per batch.
   A message joining a contact that routing has (waiting, offered, active) needs no CRM
   resolve: the round took its customer when it opened. The message's unique provider id
   refuses a redelivery racing this one; a conversation that moved on since step 1 (another
   message opened its next round) is decided again;
3. if the conversation has no contact in routing (new, closed, or its last contact ended) and
   no round waiting to be handed to routing, a new round: a contact arrives at the account's
   queue with the language and the customer on it, preferring the last agent. A failure here
   leaves the round marked pending; the sweep routes it again. A message while a round is
   pending joins it (one open round per conversation at most), like one joining a live contact;
4. attachments announced by id are fetched with retries (only when the message has some); ones
   that still fail stay pending for the sweep and for the provider's next redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.conversations import language, store
from omnidesk.channels.conversations.adapter import (
    Account,
    ChannelAdapter,
    InboundAttachment,
    InboundMessage,
    StatusUpdate,
)
from omnidesk.channels.conversations.attachments import (
    AttachmentFiles,
    Limits,
    digest,
    safe_filename,
)
from omnidesk.channels.conversations.events import (
    AttachmentStored,
    ContactOpened,
    MessageStatusChanged,
)
from omnidesk.channels.conversations.group_commit import GroupCommit
from omnidesk.channels.conversations.models import (
    Attachment,
    ChannelAccount,
    Conversation,
    Message,
)
from omnidesk.crm import identities, normalize
from omnidesk.crm.models import Customer
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import SYSTEM, Database, utcnow
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.api import ContactArrived, CustomerRef, Routing, RoutingError

log = get_logger(__name__)
MEDIA_ATTEMPTS_NOW = 3  # in the request, before answering the provider
MEDIA_ATTEMPTS_MAX = 12  # then by the sweep, until the attachment is marked failed
SWEEP_SECONDS = 30.0
EARLY_STATUSES = 1000  # statuses kept for messages whose send has not returned yet
# A message raced by its own redelivery, or by its conversation's next round: opened (the
# contact changes) and then handed to routing (no longer pending) are two moves of one round.
RECEIVE_ATTEMPTS = 4


@dataclass(frozen=True)
class StoredRows:
    """The rows an inbound message was stored as, as committed (readable after the commit)."""

    conversation: Conversation
    message: Message
    attachments: list[Attachment]


@dataclass(frozen=True)
class Received:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    duplicate: bool
    contact_id: str | None
    # None for a duplicate: an answer showing the message need not read it back otherwise.
    rows: StoredRows | None = None


@dataclass(frozen=True)
class Seen:
    """What an inbound message joins, as read before the write lock: the conversation, its
    round's routing contact (None, None: the customer's first message) and whether that round
    still waits to be handed to routing (a message then joins it: one open round at most)."""

    conversation_id: uuid.UUID | None
    contact_id: str | None
    pending: bool = False

    @classmethod
    def of(cls, conv: Conversation | None) -> Seen:
        if conv is None:
            return cls(None, None)
        return cls(conv.id, conv.contact_id, bool(conv.routing_pending))

    def moved(self, conv: Conversation | None, live: bool) -> bool:
        """Whether the conversation changed in a way that changes the decision. A round seen
        live stays joined even if its pending flag was cleared meanwhile (routing took it just
        before); a round seen pending and now handed over may be live or ended already, which
        only a new look at routing tells."""
        now = Seen.of(conv)
        if live:
            return (now.conversation_id, now.contact_id) != (self.conversation_id, self.contact_id)
        return now != self


@dataclass(frozen=True)
class Content:
    """An inbound message's text as stored: sanitised HTML, the text, its detected language."""

    text: str | None
    html: str | None
    detected: str | None


@dataclass(frozen=True)
class Stored:
    received: Received
    route: str | None  # a new round's contact, to hand to routing
    media_pending: bool  # attachments announced by id, still to fetch


class ConversationMoved(Exception):
    """The conversation changed between the look and the write lock: decide again."""


@dataclass(frozen=True)
class _Inbound:
    """An inbound message as looked at, waiting for its batch's transaction."""

    account: Account
    message: InboundMessage
    seen: Seen
    content: Content
    live: bool
    agent: str | None
    limits: Limits


class ConversationService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        routing: Routing,
        data_dir: Path,
        adapters: Mapping[str, ChannelAdapter],
        *,
        sealing_key: bytes,
        media_backoff: tuple[float, ...] = (0.2, 1.0),
    ) -> None:
        self.db = db
        self.sealing_key = sealing_key
        self.bus = bus
        self.routing = routing
        self.files = AttachmentFiles(data_dir)
        self.adapters = dict(adapters)
        self.media_backoff = media_backoff
        self._sweeper: asyncio.Task[None] | None = None
        # Statuses of messages whose send has not returned yet (a fast provider's webhook can
        # overtake its own answer): applied when the send records the provider's id.
        self._early: OrderedDict[tuple[uuid.UUID, str], list[StatusUpdate]] = OrderedDict()
        # Inbound messages of a tenant arriving together are stored in one transaction.
        self._inbound: GroupCommit[_Inbound, Stored] = GroupCommit(
            self.unit,
            self._write_inbound,
            prepare=self._prepare_inbound,
            isolated=(ConversationMoved,),
            name="conversations-inbound",
        )

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="conversations-sweep")

    async def stop(self) -> None:
        await self._inbound.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    @contextlib.asynccontextmanager
    async def unit(
        self, tenant_id: uuid.UUID, actor_id: uuid.UUID | None = None
    ) -> AsyncIterator[UnitOfWork]:
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id, actor_id=actor_id) as uow:
                yield uow
        finally:
            await session.close()

    def adapter(self, account: Account) -> ChannelAdapter:
        return self.adapters[account.kind]

    async def account(self, account_id: uuid.UUID, kind: str | None = None) -> Account | None:
        """An active account by id, across tenants (a provider's webhook names it). Read
        without the write lock: every inbound request asks this first."""
        async with self.db.read_session(SYSTEM) as session:
            row = await session.get(ChannelAccount, account_id)
            if row is None or not row.active or (kind is not None and row.kind != kind):
                return None
            return self.account_of(row)

    def account_of(self, row: ChannelAccount) -> Account:
        return store.account_of(row, self.sealing_key)

    async def audience(self, account: Account, agent_id: str | None) -> Audience:
        """The agent on the conversation's contact and the supervisors of its queue."""
        return self.audience_of(account.tenant_id, account.queue_id, agent_id)

    def audience_of(self, tenant_id: uuid.UUID, queue_id: str, agent_id: str | None) -> Audience:
        queue = self.routing.queue_audience(tenant_id, queue_id)
        users = set(queue.users)
        if agent_id:
            with contextlib.suppress(ValueError):
                users.add(uuid.UUID(agent_id))
        return Audience.of(users, queue.teams)

    async def live_agent(
        self, tenant_id: uuid.UUID, contact_id: str | None
    ) -> tuple[bool, str | None]:
        """(whether the contact is still in routing, the agent it is offered to or with)."""
        if not contact_id:
            return False, None
        status = await self.routing.read(tenant_id, lambda r: r.contact(contact_id))
        return (status is not None, status.agent_id if status is not None else None)

    # --- inbound --------------------------------------------------------------------------

    async def receive(self, account: Account, message: InboundMessage) -> Received:
        attempt = 1
        while True:
            try:
                return await self._receive_once(account, message)
            except (IntegrityError, ConversationMoved) as exc:
                # The same message (or a first message of the same customer) delivered twice
                # at once: the other delivery stored it, and once more finds it (or the
                # conversation). Or the conversation moved on between the look and the lock
                # (another message opened its next round): decided again on what is there now.
                if attempt == RECEIVE_ATTEMPTS:
                    raise
                attempt += 1
                log.info(
                    "conversation.receive_raced", account=str(account.id), exc=type(exc).__name__
                )

    async def _receive_once(self, account: Account, message: InboundMessage) -> Received:
        tenant = account.tenant_id
        # A look without the write lock (SQLite's is one for the whole database): whether it is
        # a redelivery, what it joins, the tenant's languages and limits. The one transaction
        # that stores the message checks the conversation again under the lock.
        async with self.db.read_session(tenant) as session:
            existing = (
                await session.execute(
                    select(Message.id, Message.conversation_id).where(
                        Message.account_id == account.id,
                        Message.external_id == message.external_id,
                    )
                )
            ).first()
            conv = await _conversation_of(session, account, message)
            seen = Seen.of(conv)
            settings = await store.settings_of(session, tenant)
            languages = list(settings.languages)
            limits = store.limits_of(settings)
        if existing is not None:
            log.info("conversation.duplicate_ignored", account=str(account.id))
            await self.fetch_pending(account, existing.id)
            return Received(existing.id, existing.conversation_id, True, None)
        html = store.sanitise_html(message.html)
        text = message.text if message.text is not None else (html and store.text_of_html(html))
        if text is not None and len(text) > store.MAX_TEXT_CHARS:
            text = text[: store.MAX_TEXT_CHARS]
        live, agent = await self.live_agent(tenant, seen.contact_id)
        if not live and not seen.pending and message.open_round:
            # It would open a new contact: under overload that is refused before anything is
            # stored (429; the provider, mail server or widget delivers it again), while
            # messages of live contacts, or of a round waiting to be handed to routing, still
            # go through.
            self.routing.admit_new_contact(tenant)
        detected = (
            None
            if message.language or not message.detect_language
            else await language.detect(text, languages)
        )
        content = Content(text, html, detected)
        stored = await self._store_inbound(account, message, seen, content, live, agent, limits)
        result, route = stored.received, stored.route
        # A message that joined a pending round needs no second look: the round is the one
        # that goes to routing (its opener hands it over, or the sweep does).
        if route is None and live and result.contact_id is not None and message.open_round:
            # The contact was live when we looked; if it left routing since (the agent ended
            # it meanwhile), this message would wait for nobody: it opens the next round.
            still, _ = await self.live_agent(tenant, result.contact_id)
            if not still:
                route = await self._next_round(account, result.conversation_id, result.contact_id)
        if route is not None:
            await self.route(tenant, result.conversation_id)
        if stored.media_pending:
            await self.fetch_pending(account, result.message_id)
        return result

    async def _next_round(
        self, account: Account, conversation_id: uuid.UUID, ended: str
    ) -> str | None:
        async with self.unit(account.tenant_id) as uow:
            conv = await uow.session.get(Conversation, conversation_id)
            if conv is None or conv.contact_id != ended or conv.routing_pending:
                return None  # someone else opened it already
            return self.new_round(uow, conv, account)

    async def _store_inbound(
        self,
        account: Account,
        message: InboundMessage,
        seen: Seen,
        content: Content,
        live: bool,
        agent: str | None,
        limits: Limits,
    ) -> Stored:
        """One transaction, shared with the tenant's other inbound messages of the moment
        (group commit, ADR 0034): committed before this returns, its events published after
        the commit."""
        item = _Inbound(account, message, seen, content, live, agent, limits)
        return await self._inbound.submit(account.tenant_id, item)

    async def _prepare_inbound(self, uow: UnitOfWork, items: Sequence[_Inbound]) -> None:
        """The conversations a batch joins, in one read: each member's look then finds its
        conversation in the session without a statement of its own."""
        ids = {item.seen.conversation_id for item in items if item.seen.conversation_id}
        if ids:
            await uow.session.execute(select(Conversation).where(Conversation.id.in_(ids)))

    async def _write_inbound(self, uow: UnitOfWork, item: _Inbound) -> Stored:
        """One message's part of its batch's transaction: the message (its unique provider id
        refuses a redelivery racing this one, at the latest when the batch commits), its
        attachment rows, the conversation's changes and the events. A message joining a live
        contact needs nothing more: the conversation knows its customer, and routing has the
        contact. Raises ConversationMoved before writing anything."""
        account, message, seen, content = item.account, item.message, item.seen, item.content
        live, agent = item.live, item.agent
        session = uow.session
        conv = (
            await session.get(Conversation, seen.conversation_id)
            if seen.conversation_id is not None
            else await _conversation_of(session, account, message)
        )
        if seen.moved(conv, live):
            raise ConversationMoved()  # nothing of this message is written
        # A round opened and not yet in routing (refused and left for the sweep, or between
        # its transaction and routing's create): the message joins it, as it would join
        # the contact once routing has it. Never a second round for one conversation.
        joins = live or seen.pending
        # Someone else writing into a customer's thread (a colleague on Cc, the customer's
        # other address) joins it; the conversation stays the customer's.
        guest = conv is not None and conv.peer_id != message.peer_id
        if conv is None:
            conv = self._new_conversation(account, message)
            session.add(conv)
        if joins and not guest:
            conv.peer_name = message.peer_name or conv.peer_name
            _language_of_join(conv, message.language, content.detected)
        elif not guest:
            await self._resolve_customer(uow, account, conv, message, content.detected)
        row = _inbound_row(conv, account, message, content)
        session.add(row)
        if message.attachments:
            # A redelivery racing this one is refused here, before its files are written.
            # Without files the batch's commit decides it: one flush for the whole batch.
            await session.flush()
        files = self._add_attachments(session, account, conv, row, message.attachments, item.limits)
        conv.last_inbound_at = conv.last_message_at = row.created_at
        if live and agent:
            _remember(conv, agent)
        route = None
        if not joins and message.open_round:
            route = self.new_round(uow, conv, account)
        audience = await self.audience(account, agent if live else None)
        uow.record(store.added(conv, row, len(message.attachments)), audience)
        rows = StoredRows(conv, row, files)
        result = Received(row.id, conv.id, False, conv.contact_id, rows)
        return Stored(result, route, any(f.state == "pending" for f in files))

    def _new_conversation(self, account: Account, message: InboundMessage) -> Conversation:
        return Conversation(
            id=uuid.uuid4(),
            account_id=account.id,
            channel=self.adapter(account).channel,
            peer_id=message.peer_id,
            status="open",
            rounds=0,
            agent_ids=[],
            routing_pending=False,
            created_at=utcnow(),
        )

    async def _resolve_customer(
        self,
        uow: UnitOfWork,
        account: Account,
        conv: Conversation,
        message: InboundMessage,
        detected: str | None,
    ) -> None:
        """The customer behind the message's address (the CRM creates one, named from the
        provider's profile, for an address it has never seen), and the language they get."""
        adapter = self.adapter(account)
        key = normalize.identity(
            adapter.identity_kind,
            message.peer_id,
            provider=account.provider if adapter.identity_kind == "messaging" else None,
            field="from",
        )
        resolution = await identities.resolve(uow, key, source="contact")
        customer = await uow.session.get(Customer, resolution.customer_id)
        if customer is not None and resolution.created and message.peer_name:
            customer.display_name = message.peer_name[:200]
        conv.peer_name = message.peer_name or conv.peer_name
        conv.customer_id, conv.identity_id = resolution.customer_id, resolution.identity_id
        choose_language(conv, message.language, customer, detected)

    def new_round(self, uow: UnitOfWork, conv: Conversation, account: Account) -> str:
        reopened = conv.status == "closed" or conv.rounds > 0
        if conv.status == "closed":
            uow.session.add(store.system_message(conv, "reopened", "The customer wrote again."))
        conv.status, conv.closed_at = "open", None
        conv.rounds += 1
        conv.contact_id = store.round_contact_id(conv.id, conv.rounds)
        conv.routing_pending = True
        uow.record(
            ContactOpened(
                conversation_id=conv.id,
                contact_id=conv.contact_id,
                channel=conv.channel,
                account_id=account.id,
                customer_id=conv.customer_id,
                identity_id=conv.identity_id,
                language=conv.language,
                reopened=reopened,
            ),
            self.routing.queue_audience(account.tenant_id, account.queue_id),
        )
        return conv.contact_id

    def _add_attachments(
        self,
        session: AsyncSession,
        account: Account,
        conv: Conversation,
        message: Message,
        files: tuple[InboundAttachment, ...],
        limits: Limits,
    ) -> list[Attachment]:
        rows = []
        for item in files:
            row = Attachment(
                id=uuid.uuid4(),
                conversation_id=conv.id,
                message_id=message.id,
                filename=safe_filename(item.filename),
                content_type=item.content_type[:127] or "application/octet-stream",
                sha256=item.sha256,
                provider_media_id=item.media_id,
                attempts=0,
                created_at=utcnow(),
            )
            if item.data is not None:
                refusal = limits.refusal(row.content_type, len(item.data))
                if refusal is None:
                    self.files.write(account.tenant_id, row.id, item.data)
                    row.state, row.size, row.sha256 = "stored", len(item.data), digest(item.data)
                else:
                    log.warning("conversation.attachment_refused", reason=refusal)
                    row.state, row.size, row.reason = "refused", len(item.data), refusal
            elif item.media_id:
                if limits.allows(row.content_type):
                    row.state = "pending"
                else:
                    refusal = f"type {row.content_type} is not allowed"
                    log.warning("conversation.attachment_refused", reason=refusal)
                    row.state, row.reason = "refused", refusal
            else:
                row.state, row.reason = "failed", "neither content nor a media id"
            session.add(row)
            rows.append(row)
        return rows

    # --- routing ---------------------------------------------------------------------------

    async def route(
        self,
        tenant_id: uuid.UUID,
        conversation_id: uuid.UUID,
        *,
        preferred_agent_id: str | None = None,
        preferred_for_seconds: float = 30.0,
        attributes: Mapping[str, Any] | None = None,
    ) -> bool:
        """Hand the conversation's pending round to routing; True when routing took it. The
        contact arrives from the conversation's customer (routing's CRM hooks put their
        attributes on it and link it to their open case); `preferred_agent_id` is offered it
        first (a channel switch's earlier agent), `attributes` added to its own."""
        async with self.unit(tenant_id) as uow:
            conv = await uow.session.get(Conversation, conversation_id)
            if conv is None or not conv.routing_pending or conv.contact_id is None:
                return False
            account = await uow.session.get(ChannelAccount, conv.account_id)
            assert account is not None
            if conv.last_agent_id is None:
                handled = await store.handled_by(uow.session, conv)
                conv.last_agent_id = handled[-1] if handled else None
            command = ContactArrived(
                contact_id=conv.contact_id,
                queue_id=account.queue_id,
                channel=conv.channel,
                attributes={
                    **_attributes(conv, account),
                    **self._adapter_attributes(account),
                    **(attributes or {}),
                },
                last_agent_id=conv.last_agent_id,
                preferred_agent_id=preferred_agent_id,
                preferred_for_seconds=preferred_for_seconds,
            )
            customer = CustomerRef(customer_id=conv.customer_id) if conv.customer_id else None
        try:
            # Not strict: a customer the CRM cannot read (merged meanwhile) must not keep the
            # customer's message from an agent; the contact then routes without attributes.
            await self.routing.arrive(tenant_id, command, customer, strict=False)
        except RoutingError as exc:
            if exc.code != "duplicate_id":  # taken before a crash: done already
                log.warning(
                    "conversation.routing_refused",
                    conversation=str(conversation_id),
                    code=exc.code,
                    detail=str(exc),
                )
                return False
        async with self.unit(tenant_id) as uow:
            conv = await uow.session.get(Conversation, conversation_id)
            if conv is not None and conv.contact_id == command.contact_id:
                conv.routing_pending = False
        return True

    def _adapter_attributes(self, row: ChannelAccount) -> dict[str, Any]:
        """What the channel itself puts on a new round's contact (the chat widget: whether it
        arrived outside business hours); an adapter without `contact_attributes` adds none."""
        adapter = self.adapters.get(row.kind)
        extra = getattr(adapter, "contact_attributes", None)
        return dict(extra(self.account_of(row))) if extra is not None else {}

    # --- statuses --------------------------------------------------------------------------

    async def apply_status(self, account: Account, update: StatusUpdate) -> bool:
        # Routing is asked first, outside any unit of work: a routing read waits for routing's
        # pending commit, which on SQLite needs the write lock a unit of work holds (a
        # deadlock until the busy timeout). The agent only chooses the event's audience.
        async with self.db.snapshot_session(account.tenant_id) as snapshot:
            contact_id = await snapshot.scalar(
                select(Conversation.contact_id)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.account_id == account.id, Message.external_id == update.external_id)
            )
        _, agent = await self.live_agent(account.tenant_id, contact_id)
        async with self.unit(account.tenant_id) as uow:
            row = await uow.session.scalar(
                select(Message).where(
                    Message.account_id == account.id, Message.external_id == update.external_id
                )
            )
            if row is None or row.direction != "outbound":
                log.info("conversation.status_unknown_message", status=update.status)
                self._keep_early(account, update)
                return False
            changed = store.advance_status(row, update.status, update.at, update.error)
            if changed:
                conv = await uow.session.get(Conversation, row.conversation_id)
                assert conv is not None
                uow.record(
                    MessageStatusChanged(
                        conversation_id=row.conversation_id, message_id=row.id, status=row.status
                    ),
                    await self.audience(account, agent or conv.last_agent_id),
                )
        return changed

    def _keep_early(self, account: Account, update: StatusUpdate) -> None:
        key = (account.id, update.external_id)
        self._early.setdefault(key, []).append(update)
        self._early.move_to_end(key)
        while len(self._early) > EARLY_STATUSES:
            self._early.popitem(last=False)

    async def sent(self, account: Account, external_id: str | None) -> None:
        """The provider took a message under `external_id`: statuses that came first apply."""
        for update in self._early.pop((account.id, external_id or ""), []):
            await self.apply_status(account, update)

    # --- media -----------------------------------------------------------------------------

    async def fetch_pending(
        self, account: Account, message_id: uuid.UUID, *, sweep: bool = False
    ) -> None:
        async with self.db.read_session(account.tenant_id) as session:
            pending = list(
                await session.scalars(
                    select(Attachment.id).where(
                        Attachment.message_id == message_id, Attachment.state == "pending"
                    )
                )
            )
            if not pending:
                return
            limits = store.limits_of(await store.settings_of(session, account.tenant_id))
        for attachment_id in pending:
            await self._fetch_one(
                account, attachment_id, limits, attempts=1 if sweep else MEDIA_ATTEMPTS_NOW
            )

    async def _fetch_one(
        self, account: Account, attachment_id: uuid.UUID, limits: Limits, *, attempts: int
    ) -> None:
        adapter = self.adapter(account)
        for attempt in range(attempts):
            async with self.unit(account.tenant_id) as uow:
                row = await uow.session.get(Attachment, attachment_id)
                if row is None or row.state != "pending" or not row.provider_media_id:
                    return
                media_id = row.provider_media_id
                contact_id = await uow.session.scalar(
                    select(Conversation.contact_id).where(Conversation.id == row.conversation_id)
                )
            error: str | None = None
            try:
                media = await adapter.fetch_media(account, media_id)
            except Exception as exc:  # any failure is retried: the provider, the network, a hash
                error = f"{type(exc).__name__}: {exc}"[:300]
                media = None
            # Routing is asked before the unit of work, never inside it (see apply_status).
            _, agent = await self.live_agent(account.tenant_id, contact_id)
            async with self.unit(account.tenant_id) as uow:
                row = await uow.session.get(Attachment, attachment_id)
                if row is None or row.state != "pending":
                    return
                row.attempts += 1
                if media is not None:
                    refusal = limits.refusal(
                        media.content_type or row.content_type, len(media.data)
                    )
                    if refusal is None:
                        self.files.write(account.tenant_id, row.id, media.data)
                        row.state, row.size, row.sha256 = (
                            "stored",
                            len(media.data),
                            digest(media.data),
                        )
                        row.reason = None
                    else:
                        row.state, row.size, row.reason = "refused", len(media.data), refusal
                elif row.attempts >= MEDIA_ATTEMPTS_MAX:
                    row.state, row.reason = "failed", error
                else:
                    row.reason = error
                if row.state != "pending":
                    uow.record(
                        AttachmentStored(
                            conversation_id=row.conversation_id,
                            message_id=row.message_id,
                            attachment_id=row.id,
                            state=row.state,
                        ),
                        await self.audience(account, agent),
                    )
                    return
            log.warning("conversation.media_fetch_failed", attempt=attempt + 1, error=error)
            if attempt + 1 < attempts:
                await asyncio.sleep(self.media_backoff[min(attempt, len(self.media_backoff) - 1)])

    # --- the sweep -------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Route rounds left pending and fetch attachments left pending (after a failure or a
        restart)."""
        session = self.db.session(SYSTEM)
        try:
            pending = list(
                (
                    await session.execute(
                        select(Conversation.tenant_id, Conversation.id).where(
                            Conversation.routing_pending.is_(True)
                        )
                    )
                ).all()
            )
            media = list(
                (
                    await session.execute(
                        select(Attachment.message_id, Message.account_id)
                        .join(Message, Message.id == Attachment.message_id)
                        .where(Attachment.state == "pending")
                        .distinct()
                    )
                ).all()
            )
        finally:
            await session.close()
        for tenant_id, conversation_id in pending:
            await self.route(tenant_id, conversation_id)
        for message_id, account_id in media:
            account = await self.account(account_id)
            if account is not None and message_id is not None:
                await self.fetch_pending(account, message_id, sweep=True)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("conversation.sweep_failed")
            await asyncio.sleep(SWEEP_SECONDS)


async def _conversation_of(
    session: AsyncSession, account: Account, message: InboundMessage
) -> Conversation | None:
    """The conversation the channel threaded the message into, else the peer's."""
    if message.thread is not None:
        conv = await session.get(Conversation, message.thread)
        if conv is not None and conv.account_id == account.id:
            return conv
    return await session.scalar(
        select(Conversation).where(
            Conversation.account_id == account.id, Conversation.peer_id == message.peer_id
        )
    )


def _inbound_row(
    conv: Conversation, account: Account, message: InboundMessage, content: Content
) -> Message:
    now = utcnow()
    return Message(
        id=uuid.uuid4(),
        conversation_id=conv.id,
        account_id=account.id,
        kind="message",
        direction="inbound",
        sender_type="customer",
        sender_id=message.peer_id,
        text=content.text,
        html=content.html,
        subject=message.subject[:300] if message.subject else None,
        external_id=message.external_id,
        status="received",
        status_times={"received": (message.sent_at or now).isoformat()},
        created_at=now,
    )


def _language_of_join(conv: Conversation, explicit: str | None, detected: str | None) -> None:
    """A message joining a live contact: its round took the customer and their CRM language
    when it opened; the message can still choose a language or tell one by its text, never
    over a choice or the CRM's."""
    if explicit or conv.language_source != "crm":
        choose_language(conv, explicit, None, detected)


def _remember(conv: Conversation, agent: str) -> None:
    conv.last_agent_id = agent
    if agent not in (conv.agent_ids or []):
        conv.agent_ids = [*(conv.agent_ids or []), agent]


def choose_language(
    conv: Conversation, explicit: str | None, customer: Customer | None, detected: str | None
) -> None:
    """An explicit choice wins, then one made before in this conversation, then the CRM's
    language of the customer, then what the text says."""
    if explicit:
        conv.language, conv.language_source = explicit.split("-")[0].lower()[:16], "explicit"
    elif conv.language_source == "explicit":
        return
    elif customer is not None and customer.language:
        conv.language, conv.language_source = customer.language.split("-")[0].lower(), "crm"
    elif detected:
        conv.language, conv.language_source = detected, "detected"


def _attributes(conv: Conversation, account: ChannelAccount) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "conversation_id": str(conv.id),
        "account_id": str(account.id),
        "provider": account.provider,
    }
    if conv.customer_id is not None:
        attributes["customer_id"] = str(conv.customer_id)
    if conv.language:
        attributes["language"] = conv.language
        attributes["language_source"] = conv.language_source
        attributes["language_skill"] = f"lang.{conv.language}"
    return attributes
