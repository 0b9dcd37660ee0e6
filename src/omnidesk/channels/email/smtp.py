"""The built-in SMTP listener (aiosmtpd), in the app's own event loop.

Recipients are the email accounts' addresses (any tenant); any other is refused at RCPT
(550 5.1.1), so the listener is no open relay. DATA is answered only after the mail is stored
for every recipient account: 250 means committed. A mail that cannot be taken is refused with
the reason (550 5.6.0) and logged; a failure of ours (the database away) is 451, so the
sending server keeps the mail and tries again — a redelivery is recognised by its Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from omnidesk.channels.email.inbound import EmailInbound
from omnidesk.channels.email.parse import Malformed
from omnidesk.platform.errors import TooManyRequests
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)


class _Handler:
    def __init__(self, inbound: EmailInbound) -> None:
        self.inbound = inbound

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if await self.inbound.account_for(address) is None:
            log.info("email.recipient_refused")
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        assert isinstance(raw, bytes)
        sender = envelope.mail_from if envelope.mail_from is not None else None
        try:
            for address in dict.fromkeys(a.lower() for a in envelope.rcpt_tos):
                account = await self.inbound.account_for(address)
                if account is None:  # deactivated since RCPT
                    return "451 4.3.0 The mailbox is not available now, try again later"
                await self.inbound.take(account, raw, sender or "")
        except Malformed as exc:
            log.warning("email.malformed_refused", reason=str(exc))
            return f"550 5.6.0 Message refused: {_one_line(str(exc))}"
        except TooManyRequests:
            # Routing is overloaded and the mail would open a new contact: the sending server
            # keeps it and tries again (mail of recipients before it was stored: a retry of
            # those is recognised by its Message-ID).
            log.info("email.deferred_overload")
            return "451 4.3.2 Busy now, try again later"
        except Exception:
            log.exception("email.store_failed")
            return "451 4.3.0 The message could not be stored now, try again later"
        return "250 2.0.0 Stored"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


class SmtpListener:
    def __init__(
        self,
        inbound: EmailInbound,
        host: str,
        port: int,
        *,
        max_bytes: int,
        hostname: str | None = None,
    ) -> None:
        self.inbound = inbound
        self.host = host
        self.port = port
        self.max_bytes = max_bytes
        self.hostname = hostname
        self._server: asyncio.Server | None = None

    def _protocol(self) -> SMTP:
        return SMTP(
            _Handler(self.inbound),
            data_size_limit=self.max_bytes,
            enable_SMTPUTF8=True,
            hostname=self.hostname,
            ident="Omnidesk ESMTP",
        )

    async def start(self) -> None:
        # aiosmtpd logs every command of every session at INFO: our own events say enough.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        # Port 0 asks the system for a free one: the one it gave.
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("email.smtp_listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Open sessions end with the process; do not wait on a slow client for long.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5.0)
            self._server = None
