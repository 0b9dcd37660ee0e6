"""The visitor's side of web chat: the widget's public configuration, starting or resuming the
visitor's conversation (the pre-chat form's answers become its first message, so they are in
the transcript), sending messages and files (stored through the conversation service before
they are acknowledged; a retry with the same `client_id` is stored once), the offline form,
and reading the history. No agent session: the widget key (the account id) names the tenant,
the visitor is who chat/identity.py says.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.chat import views
from omnidesk.channels.chat.config import is_open
from omnidesk.channels.chat.identity import Visitor
from omnidesk.channels.chat.mail import TranscriptLimiter, transcript_mail, transcript_text
from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.adapter import (
    Account,
    InboundAttachment,
    InboundMessage,
    SendFailed,
)
from omnidesk.channels.conversations.models import Attachment, Conversation, Message
from omnidesk.channels.conversations.service import ConversationService
from omnidesk.channels.email.adapter import EmailAdapter, domain_of
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import (
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)
from omnidesk.platform.logging import get_logger
from omnidesk.platform.schemas import Input

log = get_logger(__name__)
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{8,64}$")]
Answer = Annotated[str, StringConstraints(max_length=1000)]
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


class ChatStartIn(Input):
    """The pre-chat form's answers, by field key."""

    prechat: dict[str, Answer] = Field(default_factory=dict, max_length=10)


class ChatMessageIn(Input):
    """`client_id`: the widget's own id for the message; sent again (a retry after a lost
    answer) it is stored once."""

    client_id: ClientId
    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class ChatOfflineIn(Input):
    client_id: ClientId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    message: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    # Answers to the widget's pre-chat questions, by field key (optional): kept with the message.
    answers: dict[str, Answer] = Field(default_factory=dict, max_length=10)


class ChatTranscriptIn(Input):
    """Where to mail the transcript. `conversation_id`, when given, must be the visitor's own
    conversation (the widget sends the one it shows)."""

    email: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    conversation_id: uuid.UUID | None = None


class EmailUnavailable(DomainError):
    status = 409
    code = "email_unavailable"
    title = "No email"


class RelayFailed(DomainError):
    status = 502
    code = "relay_failed"
    title = "The mail relay did not take the mail"


class WidgetService:
    def __init__(
        self, service: ConversationService, transcripts: TranscriptLimiter | None = None
    ) -> None:
        self.service = service
        self.transcripts = transcripts or TranscriptLimiter()

    async def email_account(self, account: Account) -> Account | None:
        """The widget's email account, if it names one that is (still) an active email account
        of the widget's tenant (checked when saved; deactivated since: None)."""
        raw = account.config.get("email_account_id")
        if not raw:
            return None
        try:
            found = await self.service.account(uuid.UUID(str(raw)), "email")
        except ValueError:
            return None
        if found is None or found.tenant_id != account.tenant_id:
            log.warning("chat.email_account_unavailable", account=str(account.id))
            return None
        return found

    def _mailer(self) -> EmailAdapter:
        adapter = self.service.adapters.get("email")
        assert isinstance(adapter, EmailAdapter), "the email channel is not installed"
        return adapter

    async def account(self, key: uuid.UUID, origin: str | None) -> Account:
        """The active chat account of a widget key, if `origin` may embed it."""
        account = await self.service.account(key, "chat")
        if account is None:
            log.info("chat.unknown_widget", key=str(key))
            raise NotFound("no such chat widget (check the widget key)")
        allowed = account.config.get("allowed_origins") or []
        if origin is not None and allowed and origin not in allowed:
            log.warning("chat.origin_refused", account=str(account.id), origin=origin[:200])
            raise Forbidden(f"the site {origin} may not embed this widget")
        return account

    async def config(self, account: Account) -> dict[str, Any]:
        async with self.service.db.read_session(account.tenant_id) as session:
            limits = store.limits_of(await store.settings_of(session, account.tenant_id))
        widget = account.config
        return {
            "key": str(account.id),
            "name": account.name,
            "title": widget.get("title", "Chat with us"),
            "greeting": widget.get("greeting", ""),
            "colour": widget.get("colour", "#1f6feb"),
            "text_colour": widget.get("text_colour", "#ffffff"),
            "prechat_fields": list(widget.get("prechat_fields", [])),
            "languages": list(widget.get("languages", ["en"])),
            "online": is_open(widget.get("business_hours"), utcnow()),
            "offline_message": widget.get("offline_message", ""),
            "require_identity": bool(widget.get("require_identity")),
            "transcript_by_email": bool(widget.get("email_account_id")),
            "attachment_max_bytes": limits.max_bytes,
            "attachment_types": list(limits.types),
        }

    async def conversation(self, account: Account, visitor: Visitor) -> Conversation | None:
        async with self.service.db.read_session(account.tenant_id) as session:
            conv = await session.scalar(
                select(Conversation).where(
                    Conversation.account_id == account.id,
                    Conversation.peer_id == visitor.peer_id,
                )
            )
            return _detached(session, conv)

    async def history(self, account: Account, visitor: Visitor) -> dict[str, Any]:
        conv = await self.conversation(account, visitor)
        if conv is None:
            return {"conversation": None, "messages": []}
        return {
            "conversation": views.conversation_view(conv),
            "messages": await self.messages(account, conv.id),
        }

    async def messages(
        self, account: Account, conversation_id: uuid.UUID, ids: list[uuid.UUID] | None = None
    ) -> list[dict[str, Any]]:
        """The visitor's view of the conversation's messages (or of `ids` among them)."""
        async with self.service.db.read_session(account.tenant_id) as session:
            return await messages_in(session, conversation_id, ids)

    async def start(self, account: Account, visitor: Visitor, body: ChatStartIn) -> dict[str, Any]:
        """Resume the visitor's conversation, or start it with the pre-chat form's answers (a
        conversation that is open keeps its transcript; the answers are asked again only once
        it was closed)."""
        conv = await self.conversation(account, visitor)
        if conv is not None and conv.status == "open":
            return await self.history(account, visitor)
        fields = {f["key"]: f for f in account.config.get("prechat_fields", [])}
        unknown = sorted(set(body.prechat) - set(fields))
        if unknown:
            raise Invalid(f"the pre-chat form has no field {unknown[0]!r}", field="prechat")
        answers = {k: v.strip() for k, v in body.prechat.items() if v.strip()}
        for key, spec in fields.items():
            value = answers.get(key)
            if spec.get("required") and not value:
                raise Invalid(f"{spec['label']} is required", field=f"prechat.{key}")
            if value and spec.get("type") == "email" and not EMAIL.match(value):
                raise Invalid(f"{spec['label']} is not an email address", field=f"prechat.{key}")
            languages = account.config.get("languages", ["en"])
            if value and spec.get("type") == "language" and value not in languages:
                raise Invalid(f"{value!r} is not a language of this widget", field=key)
        if not answers:
            return await self.history(account, visitor)
        language = next(
            (answers[k] for k, f in fields.items() if f.get("type") == "language" and k in answers),
            None,
        )
        lines = ["Pre-chat form"]
        lines += [f"{fields[k]['label']}: {v}" for k, v in answers.items()]
        await self.service.receive(
            account,
            InboundMessage(
                external_id=f"{views.PRECHAT}{uuid.uuid4().hex}",
                peer_id=visitor.peer_id,
                peer_name=answers.get("name"),
                text="\n".join(lines),
                language=language,
                # "Name: …, Email: …" is no sample of the visitor's language: their first
                # message is (until then the contact has the chosen language or none).
                detect_language=False,
            ),
        )
        return await self.history(account, visitor)

    async def send(self, account: Account, visitor: Visitor, body: ChatMessageIn) -> dict[str, Any]:
        return await self._receive(
            account, InboundMessage(f"w:{body.client_id}", visitor.peer_id, text=body.text)
        )

    async def upload(
        self,
        account: Account,
        visitor: Visitor,
        client_id: str,
        filename: str,
        content_type: str,
        data: bytes,
    ) -> dict[str, Any]:
        """A file from the visitor as a message of its own, within the tenant's limits (refused
        413/415 here, before anything is stored: the visitor is there to be told)."""
        async with self.service.db.read_session(account.tenant_id) as session:
            limits = store.limits_of(await store.settings_of(session, account.tenant_id))
        if len(data) > limits.max_bytes:
            raise PayloadTooLarge(f"files are limited to {limits.max_bytes} bytes")
        if not limits.allows(content_type):
            raise UnsupportedMediaType(
                f"files of type {content_type or 'unknown'} are not accepted",
                allowed=list(limits.types),
            )
        file = InboundAttachment(filename, content_type, data=data)
        return await self._receive(
            account,
            InboundMessage(f"w:{client_id}", visitor.peer_id, attachments=(file,)),
        )

    async def transcript(
        self, account: Account, visitor: Visitor, body: ChatTranscriptIn
    ) -> dict[str, Any]:
        """Mail the visitor's own conversation (what the widget shows of it, the pre-chat
        answers first) to `email` through the widget's email account's relay, marked
        Auto-Submitted: auto-generated. At most TRANSCRIPT_LIMIT per conversation an hour."""
        if not EMAIL.match(body.email.strip()):
            raise Invalid("not an email address", field="email")
        conv = await self.conversation(account, visitor)
        if conv is None or (body.conversation_id is not None and body.conversation_id != conv.id):
            # Another visitor's conversation is "not found", as everywhere in the widget.
            raise NotFound("no such conversation of yours")
        mailer = await self.email_account(account)
        if mailer is None:
            raise EmailUnavailable("this widget sends no transcripts (it has no email account)")
        wait = self.transcripts.take(conv.id)
        if wait is not None:
            log.info("chat.transcript_limited", account=str(account.id))
            raise TooManyRequests(
                "transcripts of this conversation are limited: try again later", wait
            )
        messages = await self.messages(account, conv.id)
        title = str(account.config.get("title") or account.name)
        mail = transcript_mail(
            sender_name=mailer.name,
            sender_address=str(mailer.config["address"]),
            to=body.email.strip(),
            title=title,
            text=transcript_text(title, messages),
        )
        try:
            await self._mailer().deliver(mailer, mail)
        except SendFailed as exc:
            log.warning("chat.transcript_failed", account=str(account.id), detail=exc.detail)
            raise RelayFailed("the transcript could not be sent now, try again later") from exc
        log.info("chat.transcript_sent", account=str(account.id), conversation=str(conv.id))
        return {"sent": True, "messages": len(messages)}

    async def offline(
        self, account: Account, visitor: Visitor, body: ChatOfflineIn
    ) -> dict[str, Any]:
        """The offline form. With an email account: an email conversation of the visitor's
        address on that account, routed as an `email` contact on its queue (the agent's reply
        goes out by mail). Without: a message of the visitor's chat conversation, routed as a
        chat contact marked `offline` (docs/channels.md)."""
        address = body.email.strip()
        if not EMAIL.match(address):
            raise Invalid("not an email address", field="email")
        fields = {f["key"]: f for f in account.config.get("prechat_fields", [])}
        unknown = sorted(set(body.answers) - set(fields))
        if unknown:
            raise Invalid(f"the form has no field {unknown[0]!r}", field="answers")
        answers = [
            f"{fields[k]['label']}: {v.strip()}" for k, v in body.answers.items() if v.strip()
        ]
        mailer = await self.email_account(account)
        if mailer is not None:
            return await self._offline_by_email(account, mailer, body, address, answers)
        text = f"Offline message from {body.name} <{address}>:\n{body.message}"
        if answers:
            text += "\n\n" + "\n".join(answers)
        sent = await self._receive(
            account,
            InboundMessage(
                f"{views.OFFLINE}{body.client_id}",
                visitor.peer_id,
                peer_name=body.name,
                text=text,
            ),
        )
        return {**sent, "delivery": "chat"}

    async def _offline_by_email(
        self,
        account: Account,
        mailer: Account,
        body: ChatOfflineIn,
        address: str,
        answers: list[str],
    ) -> dict[str, Any]:
        title = str(account.config.get("title") or account.name)
        text = "\n".join(
            [
                body.message,
                "",
                "--",
                f"Left with the offline form of the chat widget {account.name!r}.",
                f"Name: {body.name}",
                f"Email: {address}",
                *answers,
            ]
        )
        # Shaped like a Message-ID: the agent's reply names it in In-Reply-To and References,
        # and the customer's answer to that reply threads by it like any mail.
        external = f"offline.{body.client_id}.{account.id.hex}@{domain_of(mailer)}"
        received = await self.service.receive(
            mailer,
            InboundMessage(
                external_id=external,
                peer_id=address.lower(),
                peer_name=body.name,
                text=text,
                subject=f"Offline message: {title}",
            ),
        )
        log.info("chat.offline_emailed", account=str(account.id), email_account=str(mailer.id))
        (view,) = await self.messages(mailer, received.conversation_id, [received.message_id])
        return {
            "delivery": "email",
            "conversation": None,
            "message": view,
            "duplicate": received.duplicate,
        }

    async def _receive(self, account: Account, message: InboundMessage) -> dict[str, Any]:
        received = await self.service.receive(account, message)
        if received.rows is not None:  # as just stored: nothing to read back
            rows = received.rows
            return {
                "conversation": views.conversation_view(rows.conversation),
                "message": views.message_view(rows.message, rows.attachments),
                "duplicate": False,
            }
        async with self.service.db.read_session(account.tenant_id) as session:
            conv = await session.get(Conversation, received.conversation_id)
            assert conv is not None
            (view,) = await messages_in(session, conv.id, [received.message_id])
            return {
                "conversation": views.conversation_view(conv),
                "message": view,
                "duplicate": received.duplicate,
            }

    async def download(
        self, account: Account, visitor: Visitor, attachment_id: uuid.UUID
    ) -> tuple[Attachment, bytes]:
        conv = await self.conversation(account, visitor)
        async with self.service.unit(account.tenant_id) as uow:
            row = await uow.session.get(Attachment, attachment_id)
            message = (
                await uow.session.get(Message, row.message_id)
                if row is not None and row.message_id
                else None
            )
        if (
            conv is None
            or row is None
            or row.conversation_id != conv.id
            or row.state != "stored"
            or message is None
            or not views.visible(message)
        ):
            raise NotFound("no such file in your conversation")
        try:
            data = self.service.files.path(account.tenant_id, row.id).read_bytes()
        except FileNotFoundError:
            raise NotFound("the file is missing from the data directory") from None
        return row, data


def _detached(session: AsyncSession, row: Conversation | None) -> Conversation | None:
    """`row`, readable after its read session ends (which rolls back and so would expire it)."""
    if row is not None:
        session.expunge(row)
    return row


async def messages_in(
    session: AsyncSession, conversation_id: uuid.UUID, ids: list[uuid.UUID] | None = None
) -> list[dict[str, Any]]:
    # The messages with their files in one query (a visitor's socket reads this for every
    # message): a message without files comes once, with None for the file.
    query = (
        select(Message, Attachment)
        .outerjoin(Attachment, Attachment.message_id == Message.id)
        .where(Message.conversation_id == conversation_id, Message.kind == "message")
        .order_by(Message.created_at, Message.id, Attachment.created_at, Attachment.id)
    )
    if ids is not None:
        query = query.where(Message.id.in_(ids))
    rows: dict[uuid.UUID, Message] = {}
    files: dict[uuid.UUID, list[Attachment]] = {}
    for message, file in await session.execute(query):
        rows[message.id] = message
        found = files.setdefault(message.id, [])
        if file is not None:
            found.append(file)
    return [views.message_view(row, files[key]) for key, row in rows.items()]
