"""Real mail servers for the email channel's tests: Debian's Dovecot as an IMAP server with a
generated configuration in a temporary folder (its own base_dir, passwd-file, maildir, a free
port on 127.0.0.1), and an aiosmtpd relay in the app's event loop that captures what the
channel sends."""

from __future__ import annotations

import asyncio
import os
import pwd
import queue
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

USER = "support"
PASSWORD = "dovecot-test-password"


@dataclass
class Dovecot:
    port: int
    root: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_dovecot(root: Path) -> Dovecot:
    """An unprivileged Dovecot: as root (CI) its processes run as the package's dovecot and
    dovenull users; as anyone else, as that user."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    assert Path(binary).exists(), "dovecot is missing: `make install` installs dovecot-imapd"
    port = _free_port()
    me = pwd.getpwuid(os.getuid())
    if os.getuid() == 0:
        internal, login, mail_user = "dovecot", "dovenull", "dovecot"
    else:
        internal = login = mail_user = me.pw_name
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if os.getuid() == 0:
        entry = pwd.getpwnam(mail_user)
        os.chown(root / "mail", entry.pw_uid, entry.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    config = f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 1
# IDLE notices new mail within a second even where inotify is not available (containers).
mailbox_idle_check_interval = 1 secs
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
    (root / "dovecot.conf").write_text(config)
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Dovecot(port, root, process)
    deadline = time.monotonic() + 20
    while True:  # ready when it accepts a connection (it answers with its greeting)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot did not start: {log[-2000:]}")
        time.sleep(0.05)


@dataclass
class Relay:
    """The outbound relay: every mail the channel sends, parsed, in arrival order."""

    port: int = 0
    received: queue.Queue[tuple[Envelope, EmailMessage]] = field(default_factory=queue.Queue)
    server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        mail = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.received.put((envelope, mail))
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SMTP(self), "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    def next(self, timeout: float = 15.0) -> tuple[Envelope, EmailMessage]:
        return self.received.get(timeout=timeout)

    def empty(self) -> bool:
        return self.received.empty()
