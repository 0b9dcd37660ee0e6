"""What analytics asks of the email channel, through the composition root (the channels sit
above the domains and are never imported here): whether an address is one of the tenant's
email accounts that can send, and handing a composed mail to that account's relay."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Protocol


class MailFailed(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ReportMail(Protocol):
    async def sender_problem(self, tenant_id: uuid.UUID, address: str) -> str | None:
        """None when `address` is an active email account of the tenant with SMTP settings;
        else why it cannot send."""
        ...

    async def send(self, tenant_id: uuid.UUID, address: str, mail: EmailMessage) -> None:
        """Send `mail` (From and Message-ID are set here) through the account's relay;
        MailFailed with the relay's or the account's words when it is not taken."""
        ...
