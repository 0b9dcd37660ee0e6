"""IMAP mailboxes of email accounts, read with aioimaplib: one task per account with an
`imap_host`, started and stopped with the app.

A session logs in, selects the mailbox and takes every unseen mail (`BODY.PEEK[]`, so reading
marks nothing); only after a mail is stored is it flagged `\\Seen` (or `\\Deleted` and expunged,
`imap_after: delete`). A crash in between leaves it unseen: the next session takes it again and
the store recognises it by its Message-ID. Then it waits: IDLE where the server offers it (the
server says when mail arrives), a poll every `email_imap_poll_seconds` otherwise. Malformed mail
is flagged `\\Seen \\Flagged` and left in the mailbox, logged: never lost, never fetched forever.
A failing session (server away, wrong password) is retried with a growing pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid

import aioimaplib
from sqlalchemy import select

from omnidesk.channels.conversations.adapter import Account
from omnidesk.channels.conversations.models import ChannelAccount
from omnidesk.channels.email.inbound import EmailInbound
from omnidesk.channels.email.parse import Malformed
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)
RETRY_MAX_SECONDS = 300.0


class ImapPoller:
    def __init__(self, inbound: EmailInbound, *, poll_seconds: float, idle_seconds: float) -> None:
        self.inbound = inbound
        self.poll_seconds = poll_seconds
        self.idle_seconds = idle_seconds
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name="email-imap")

    async def stop(self) -> None:
        tasks = [t for t in (self._supervisor, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            # Cancel again until it ends: on Python 3.11 asyncio.wait_for loses a cancel that
            # lands as its awaitable completes (here: a server push arriving during stop), and
            # the session would then IDLE on while the app's shutdown waits for it for ever.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def refresh(self) -> None:
        """Look at the accounts now (one was created or deactivated)."""
        self._wake.set()

    async def _accounts(self) -> set[uuid.UUID]:
        session = self.inbound.service.db.session(SYSTEM)
        try:
            rows = await session.scalars(
                select(ChannelAccount).where(
                    ChannelAccount.kind == "email", ChannelAccount.active.is_(True)
                )
            )
            return {r.id for r in rows if (r.config or {}).get("imap_host")}
        finally:
            await session.close()

    async def _supervise(self) -> None:
        while True:
            try:
                wanted = await self._accounts()
                for account_id in wanted - set(self._tasks):
                    self._tasks[account_id] = asyncio.create_task(
                        self._run(account_id), name=f"email-imap-{account_id}"
                    )
                for account_id in set(self._tasks) - wanted:
                    self._tasks.pop(account_id).cancel()
                for account_id, task in list(self._tasks.items()):
                    if task.done():  # ended (deactivated): started again if still wanted
                        self._tasks.pop(account_id)
            except Exception:
                log.exception("email.imap_supervise_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def _run(self, account_id: uuid.UUID) -> None:
        pause = 1.0
        while True:
            account = await self.inbound.service.account(account_id, "email")
            if account is None:
                return
            try:
                await self._session(account)
                pause = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "email.imap_session_failed",
                    account=str(account_id),
                    error=f"{type(exc).__name__}: {exc}"[:300],
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_SECONDS)

    async def _session(self, account: Account) -> None:
        config = account.config
        host = str(config["imap_host"])
        security = str(config.get("imap_security") or "tls")
        client: aioimaplib.IMAP4
        if security == "tls":
            client = aioimaplib.IMAP4_SSL(
                host, int(config.get("imap_port") or 993), ssl_context=ssl.create_default_context()
            )
        else:
            client = aioimaplib.IMAP4(host, int(config.get("imap_port") or 143))
        await client.wait_hello_from_server()
        try:
            _ok(await client.login(str(config["imap_username"]), account.secret("imap_password")))
            _ok(await client.select(str(config.get("imap_mailbox") or "INBOX")))
            idle = client.has_capability("IDLE")
            log.info("email.imap_connected", account=str(account.id), idle=idle)
            for _ in range(1_000_000):  # a fresh session now and then (at least daily)
                # Until a search finds nothing: a server tells of mail that came during a
                # drain in the answer to our STORE, which an IDLE would not repeat.
                while await self._drain(client, account):
                    pass
                if idle:
                    _forget_pushes(client)
                    waiting = await client.idle_start(timeout=self.idle_seconds)
                    await client.wait_server_push(timeout=self.idle_seconds + 10)
                    client.idle_done()
                    await asyncio.wait_for(waiting, 30)
                else:
                    await asyncio.sleep(self.poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                await client.logout()

    async def _drain(self, client: aioimaplib.IMAP4, account: Account) -> int:
        """Take every unseen mail; how many there were."""
        found = _ok(await client.uid_search("UNSEEN"))
        uids = [u for line in found.lines[:1] for u in _text(line).split() if u.isdigit()]
        delete = account.config.get("imap_after") == "delete"
        deleted = False
        for uid in uids:
            fetched = _ok(await client.uid("fetch", uid, "(BODY.PEEK[])"))
            raw = next((bytes(x) for x in fetched.lines if isinstance(x, bytearray)), None)
            if raw is None:
                continue
            try:
                taken = await self.inbound.take(account, raw, None)
            except Malformed as exc:
                log.warning("email.malformed_kept_in_mailbox", uid=uid, reason=str(exc))
                _ok(await client.uid("store", uid, "+FLAGS.SILENT (\\Seen \\Flagged)"))
                continue
            log.info("email.imap_taken", account=str(account.id), outcome=taken.outcome)
            # Stored and committed: only now is the mailbox told.
            flag = "\\Deleted" if delete else "\\Seen"
            _ok(await client.uid("store", uid, f"+FLAGS.SILENT ({flag})"))
            deleted = deleted or delete
        if deleted:
            _ok(await client.expunge())
        return len(uids)


def _forget_pushes(client: aioimaplib.IMAP4) -> None:
    """Pushes left from the last IDLE (EXISTS and RECENT come one by one) were answered by the
    drain just done; without this the next IDLE would end at once on a stale one."""
    pending = getattr(client.protocol, "idle_queue", None)
    while pending is not None and not pending.empty():
        pending.get_nowait()


class ImapError(Exception):
    pass


def _ok(response: aioimaplib.Response) -> aioimaplib.Response:
    if response.result != "OK":
        detail = " ".join(_text(line) for line in response.lines[-1:])
        raise ImapError(f"{response.result} {detail}"[:300])
    return response


def _text(line: object) -> str:
    if isinstance(line, bytes | bytearray):
        return bytes(line).decode("ascii", "replace")
    return str(line)
