"""The email channel as analytics' report mail port (analytics/ports.py): a scheduled report
goes out from one of the tenant's email accounts through that account's relay, as its
replies do (adapter.py)."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy import select

from omnidesk.analytics.ports import MailFailed
from omnidesk.channels.conversations.adapter import Account, SendFailed
from omnidesk.channels.conversations.models import ChannelAccount
from omnidesk.channels.conversations.service import ConversationService
from omnidesk.channels.email.adapter import EmailAdapter, domain_of


class EmailReportMail:
    def __init__(self, service: ConversationService, adapter: EmailAdapter) -> None:
        self.service = service
        self.adapter = adapter

    async def _account(self, tenant_id: uuid.UUID, address: str) -> tuple[Account | None, str]:
        wanted = address.lower()
        async with self.service.db.read_session(tenant_id) as session:
            rows = list(
                await session.scalars(select(ChannelAccount).where(ChannelAccount.kind == "email"))
            )
            found = [r for r in rows if str(r.config.get("address", "")).lower() == wanted]
            if not found:
                return None, f"{address} is not an email account of this tenant"
            row = found[0]
            if not row.active:
                return None, f"the email account {address} is deactivated"
            if not row.config.get("smtp_host"):
                return None, f"the email account {address} has no SMTP settings"
            return self.service.account_of(row), ""

    async def sender_problem(self, tenant_id: uuid.UUID, address: str) -> str | None:
        account, problem = await self._account(tenant_id, address)
        return None if account is not None else problem

    async def send(self, tenant_id: uuid.UUID, address: str, mail: EmailMessage) -> None:
        account, problem = await self._account(tenant_id, address)
        if account is None:
            raise MailFailed(problem)
        mail["From"] = formataddr((account.name, str(account.config["address"])))
        mail["Message-ID"] = make_msgid(domain=domain_of(account))
        try:
            await self.adapter.deliver(account, mail)
        except SendFailed as exc:
            raise MailFailed(exc.detail) from exc
