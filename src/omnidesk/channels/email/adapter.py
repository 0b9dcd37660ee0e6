"""The email channel's adapter: agents' replies out by SMTP (aiosmtplib) to the account's relay.

A reply is a multipart mail from the account's address to the conversation's customer with the
agent's text (and HTML when given) and the attachments, threaded: Message-ID (our id, kept as
the message's external id so a reply to it finds the conversation), In-Reply-To and References
(docs/channels.md, threads.py). Mail we send on our own (the acknowledgement) carries
`Auto-Submitted: auto-replied` (RFC 3834), so other systems do not answer it.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

import aiosmtplib

from omnidesk.channels.conversations.adapter import (
    Account,
    FetchedMedia,
    OutboundMessage,
    SendFailed,
)
from omnidesk.channels.conversations.service import ConversationService
from omnidesk.channels.conversations.store import text_of_html
from omnidesk.channels.email import threads

SEND_TIMEOUT = 30.0


def domain_of(account: Account) -> str:
    return str(account.config.get("address", "omnidesk@localhost")).rsplit("@", 1)[-1]


def own_message_id(account: Account, message: OutboundMessage) -> str:
    return f"{message.message_id.hex}.{threads.token(message.conversation_id)}@{domain_of(account)}"


class EmailAdapter:
    kind = "email"
    channel = "email"
    identity_kind = "email"

    def __init__(self) -> None:
        self.service: ConversationService | None = None

    def attach(self, service: ConversationService) -> None:
        """The store, for a reply's threading headers (set by the composition root)."""
        self.service = service

    def reply_window_hours(self, account: Account) -> float | None:
        return None

    async def fetch_media(self, account: Account, media_id: str) -> FetchedMedia:
        raise ValueError("mail carries its files inline; there is nothing to fetch")

    async def close(self) -> None:
        return None

    async def compose(
        self, account: Account, message: OutboundMessage, *, automatic: bool = False
    ) -> EmailMessage:
        assert self.service is not None, "EmailAdapter.attach(service) first"
        async with self.service.unit(account.tenant_id) as uow:
            references, in_reply_to, subject = await threads.reply_headers(
                uow.session, message.conversation_id, message.message_id
            )
        mail = EmailMessage()
        mail["From"] = formataddr((account.name, str(account.config["address"])))
        mail["To"] = message.peer_id
        mail["Subject"] = threads.reply_subject(subject, message.conversation_id)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = f"<{own_message_id(account, message)}>"
        if in_reply_to:
            mail["In-Reply-To"] = f"<{in_reply_to}>"
        if references:
            # The policy folds it between ids (RFC 5322 2.2.3): never one endless line.
            mail["References"] = " ".join(f"<{r}>" for r in references)
        if automatic:
            mail["Auto-Submitted"] = "auto-replied"
            mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(message.text or _plain(message.html) or "")
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        for item in message.attachments:
            major, _, minor = item.content_type.partition("/")
            mail.add_attachment(
                item.path.read_bytes(),
                maintype=major or "application",
                subtype=minor or "octet-stream",
                filename=item.filename,
            )
        return mail

    async def send(
        self, account: Account, message: OutboundMessage, *, automatic: bool = False
    ) -> str | None:
        try:
            mail = await self.compose(account, message, automatic=automatic)
        except (ValueError, OSError) as exc:  # a header or a file we cannot send
            raise SendFailed(f"the mail could not be composed: {exc}"[:300]) from exc
        await self.deliver(account, mail)
        return own_message_id(account, message)

    async def deliver(self, account: Account, mail: EmailMessage) -> None:
        """Hand a composed mail to the account's relay (also what other channels use to mail
        on the account's behalf: the chat widget's transcripts). SendFailed when it is not
        taken."""
        config = account.config
        security = str(config.get("smtp_security") or "starttls")
        options: dict[str, Any] = {
            "hostname": str(config.get("smtp_host") or "127.0.0.1"),
            "port": int(config.get("smtp_port") or 25),
            "timeout": SEND_TIMEOUT,
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
        }
        if security != "none":
            options["tls_context"] = ssl.create_default_context()
        if config.get("smtp_username"):
            options["username"] = str(config["smtp_username"])
            options["password"] = account.secret("smtp_password")
        try:
            await aiosmtplib.send(mail, sender=str(config["address"]), **options)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"the mail relay did not take the mail: {exc}"[:300]) from exc


def _plain(html: str | None) -> str | None:
    return text_of_html(html) if html else None
