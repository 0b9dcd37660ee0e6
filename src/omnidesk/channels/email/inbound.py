"""One inbound mail, from whichever door (the SMTP listener, an IMAP mailbox), into the store.

1. parsed (`parse.py`; malformed mail is refused with the reason, nothing stored);
2. threaded (`threads.py`): the conversation it belongs to, if any;
3. a bounce (RFC 3464) marks the outbound message it reports on `failed`;
4. automated mail (auto-replies, lists, bounces, a null return path, our own address) never
   opens a round: in a known thread it is stored there (the agent sees the out-of-office),
   otherwise it is kept as a raw file under `data_dir/channels/email/unrouted/` and logged;
5. a person's mail goes through the conversation service like any channel's message (stored,
   committed, then routed) — unless its thread reopened too often lately (the per-thread
   reopen rate limit that stops mail loops): then it is stored without a new round;
6. a new round of an account with an `auto_reply` gets the acknowledgement, marked
   `Auto-Submitted: auto-replied`.
Only when `take` returns is the mail safe: the caller acknowledges after it (SMTP 250, the
IMAP flag), so a crash before loses nothing the sender or the mailbox does not still have.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.adapter import (
    Account,
    InboundMessage,
    OutboundMessage,
    SendFailed,
    StatusUpdate,
)
from omnidesk.channels.conversations.events import MessageStatusChanged
from omnidesk.channels.conversations.models import ChannelAccount, Conversation, Message
from omnidesk.channels.conversations.service import ConversationService, Received
from omnidesk.channels.email import threads
from omnidesk.channels.email.adapter import EmailAdapter
from omnidesk.channels.email.parse import Malformed, ParsedMail, parse
from omnidesk.platform.database import SYSTEM, utcnow
from omnidesk.platform.errors import Invalid
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)
ACCOUNT_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class Taken:
    outcome: str  # routed | joined | duplicate | automated | bounce | archived | limited
    conversation_id: uuid.UUID | None = None
    contact_id: str | None = None
    reason: str | None = None


class ReopenLimiter:
    """At most `limit` new rounds per thread within `window` seconds (per node, in memory):
    two systems answering each other's mail would otherwise open contacts forever
    (chatwoot#5131). Mail over the limit is still stored in its thread."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._opened: dict[uuid.UUID, deque[float]] = {}

    def exhausted(self, conversation_id: uuid.UUID | None) -> bool:
        if conversation_id is None:
            return False
        times = self._opened.get(conversation_id)
        if not times:
            return False
        now = time.monotonic()
        while times and now - times[0] > self.window:
            times.popleft()
        return len(times) >= self.limit

    def opened(self, conversation_id: uuid.UUID) -> None:
        self._opened.setdefault(conversation_id, deque()).append(time.monotonic())
        if len(self._opened) > 100_000:  # bounded: forget the oldest threads
            self._opened.pop(next(iter(self._opened)))


class EmailInbound:
    def __init__(
        self,
        service: ConversationService,
        adapter: EmailAdapter,
        data_dir: Path,
        *,
        reopen_limit: int = 3,
        reopen_window_seconds: float = 3600.0,
    ) -> None:
        self.service = service
        self.adapter = adapter
        self.unrouted = data_dir / "channels" / "email" / "unrouted"
        self.limiter = ReopenLimiter(reopen_limit, reopen_window_seconds)
        self._accounts: dict[str, tuple[float, Account | None]] = {}

    async def account_for(self, address: str) -> Account | None:
        """The active email account receiving at `address` (any tenant), cached briefly: the
        listener asks for every recipient of every mail."""
        key = address.strip().lower()
        cached = self._accounts.get(key)
        if cached is not None and time.monotonic() - cached[0] < ACCOUNT_CACHE_SECONDS:
            return cached[1]
        session = self.service.db.session(SYSTEM)
        try:
            rows = list(
                await session.scalars(
                    select(ChannelAccount).where(
                        ChannelAccount.kind == "email", ChannelAccount.active.is_(True)
                    )
                )
            )
        finally:
            await session.close()
        found = None
        for row in rows:
            if str((row.config or {}).get("address", "")).lower() == key:
                found = self.service.account_of(row)
                break
        self._accounts[key] = (time.monotonic(), found)
        return found

    def forget_accounts(self) -> None:
        self._accounts.clear()

    async def take(self, account: Account, raw: bytes, envelope_sender: str | None) -> Taken:
        """Store one mail; raises Malformed (refuse it) or anything else (try again later)."""
        mail = parse(raw, envelope_sender)
        own = str(account.config.get("address", "")).lower()
        if mail.sender == own and mail.automated is None:
            mail.automated = "sent from the account's own address"
        async with self.service.unit(account.tenant_id) as uow:
            conv_id, how = await threads.find(
                uow.session, account.id, mail.sender, mail.thread_ids, mail.subject
            )
            conv = await uow.session.get(Conversation, conv_id) if conv_id else None
            before = conv.contact_id if conv is not None else None
        if mail.bounce is not None and mail.bounce.failed:
            await self._bounced(account, mail)
        if mail.automated is not None:
            log.info("email.automated", account=str(account.id), reason=mail.automated)
            if conv_id is None:
                self._archive(account, raw, mail.automated)
                return Taken("archived", reason=mail.automated)
            result = await self._receive(account, mail, conv_id, open_round=False)
            kind = "bounce" if mail.bounce is not None else "automated"
            return Taken(kind, result.conversation_id, None, mail.automated)
        limited = how != "none" and self.limiter.exhausted(conv_id)
        if limited:
            log.warning("email.reopen_limited", account=str(account.id), thread=str(conv_id))
        result = await self._receive(account, mail, conv_id, open_round=not limited)
        if result.duplicate:
            return Taken("duplicate", result.conversation_id, result.contact_id)
        opened = result.contact_id is not None and result.contact_id != before
        if opened:
            self.limiter.opened(result.conversation_id)
            if account.config.get("auto_reply"):
                await self._acknowledge(account, result.conversation_id, mail)
        outcome = "limited" if limited else ("routed" if opened else "joined")
        return Taken(outcome, result.conversation_id, result.contact_id)

    async def _receive(
        self, account: Account, mail: ParsedMail, conv_id: uuid.UUID | None, *, open_round: bool
    ) -> Received:
        message = InboundMessage(
            external_id=mail.message_id,
            peer_id=mail.sender,
            peer_name=mail.sender_name,
            text=mail.text,
            html=mail.html,
            sent_at=mail.sent_at,
            attachments=tuple(mail.attachments),
            thread=conv_id,
            subject=mail.subject,
            open_round=open_round,
        )
        try:
            return await self.service.receive(account, message)
        except Invalid as exc:  # an address the CRM cannot take, HTML over the limit
            raise Malformed(str(exc)) from None

    async def _bounced(self, account: Account, mail: ParsedMail) -> None:
        bounce = mail.bounce
        assert bounce is not None
        error = {
            "detail": bounce.diagnostic or "the recipient's mail server refused the mail",
            "status": bounce.status,
            "recipient": bounce.recipient,
        }
        applied = False
        for original in bounce.original_ids:
            update = StatusUpdate(original, "failed", datetime.now(UTC), error)
            applied = await self.service.apply_status(account, update) or applied
        log.info("email.bounce", account=str(account.id), applied=applied, status=bounce.status)

    def _archive(self, account: Account, raw: bytes, reason: str) -> Path:
        """Automated mail outside any thread: kept as it came (atomically), never routed."""
        target = self.unrouted / str(account.tenant_id) / f"{uuid.uuid4()}.eml"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        with open(partial, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
        log.info("email.unrouted_kept", account=str(account.id), reason=reason, file=target.name)
        return target

    async def _acknowledge(
        self, account: Account, conversation_id: uuid.UUID, mail: ParsedMail
    ) -> None:
        """The account's automatic acknowledgement of a new round: stored like any outbound
        message (sender `system`), sent marked Auto-Submitted: auto-replied."""
        text = str(account.config["auto_reply"])
        now = utcnow()
        async with self.service.unit(account.tenant_id) as uow:
            conv = await uow.session.get(Conversation, conversation_id)
            assert conv is not None
            row = Message(
                id=uuid.uuid4(),
                conversation_id=conversation_id,
                account_id=account.id,
                kind="message",
                direction="outbound",
                sender_type="system",
                sender_id=None,
                text=text,
                status="queued",
                status_times={"queued": now.isoformat()},
                created_at=now,
            )
            uow.session.add(row)
            uow.record(store.added(conv, row), await self.service.audience(account, None))
            peer = conv.peer_id
        outbound = OutboundMessage(row.id, conversation_id, peer, text=text)
        failure = None
        external_id = None
        try:
            external_id = await self.adapter.send(account, outbound, automatic=True)
        except SendFailed as exc:
            log.warning("email.auto_reply_failed", detail=exc.detail)
            failure = {"detail": exc.detail}
        async with self.service.unit(account.tenant_id) as uow:
            sent = await uow.session.get(Message, row.id)
            conv = await uow.session.get(Conversation, conversation_id)
            assert sent is not None and conv is not None
            if failure is None:
                sent.external_id = external_id
                store.advance_status(sent, "sent", utcnow())
            else:
                store.advance_status(sent, "failed", utcnow(), failure)
            uow.record(
                MessageStatusChanged(
                    conversation_id=conversation_id, message_id=row.id, status=sent.status
                ),
                await self.service.audience(account, None),
            )
