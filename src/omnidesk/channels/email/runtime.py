"""The email channel's long-lived parts, started and stopped by the composition root: the SMTP
listener (only when `email_smtp_enabled`) and the IMAP poller (it reads the accounts that have
an `imap_host`; with none it only looks now and then)."""

from __future__ import annotations

from pathlib import Path

from omnidesk.channels.conversations.service import ConversationService
from omnidesk.channels.email.adapter import EmailAdapter
from omnidesk.channels.email.imap import ImapPoller
from omnidesk.channels.email.inbound import EmailInbound
from omnidesk.channels.email.smtp import SmtpListener


class EmailChannel:
    def __init__(
        self,
        service: ConversationService,
        adapter: EmailAdapter,
        data_dir: Path,
        *,
        smtp_enabled: bool,
        smtp_host: str,
        smtp_port: int,
        smtp_hostname: str | None,
        max_message_bytes: int,
        imap_poll_seconds: float,
        imap_idle_seconds: float,
        reopen_limit: int,
        reopen_window_seconds: float,
    ) -> None:
        adapter.attach(service)
        self.inbound = EmailInbound(
            service,
            adapter,
            data_dir,
            reopen_limit=reopen_limit,
            reopen_window_seconds=reopen_window_seconds,
        )
        self.listener = (
            SmtpListener(
                self.inbound,
                smtp_host,
                smtp_port,
                max_bytes=max_message_bytes,
                hostname=smtp_hostname,
            )
            if smtp_enabled
            else None
        )
        self.poller = ImapPoller(
            self.inbound, poll_seconds=imap_poll_seconds, idle_seconds=imap_idle_seconds
        )

    async def start(self) -> None:
        if self.listener is not None:
            await self.listener.start()
        self.poller.start()

    async def stop(self) -> None:
        await self.poller.stop()
        if self.listener is not None:
            await self.listener.stop()

    def accounts_changed(self) -> None:
        """An email account was created or deactivated: the listener's recipients and the
        poller's mailboxes follow at once."""
        self.inbound.forget_accounts()
        self.poller.refresh()
