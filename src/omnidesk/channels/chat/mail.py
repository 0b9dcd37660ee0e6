"""What the widget mails through its email account (docs/channels.md, "Transcript by email"):
the visitor's transcript, composed here and handed to the email channel's relay code, and the
per-conversation limit on how often it may be asked for (a visitor's token is all it takes, so
the limit keeps the widget from being a way to send mail to anyone, many times)."""

from __future__ import annotations

import time
import uuid
from collections import deque
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

TRANSCRIPT_LIMIT = 3  # transcripts per conversation ...
TRANSCRIPT_WINDOW_SECONDS = 3600.0  # ... per hour


class TranscriptLimiter:
    """How many transcripts each conversation asked for lately (this process's memory: a
    restart forgets it, which lets at most one more window's worth through)."""

    def __init__(
        self, limit: int = TRANSCRIPT_LIMIT, window: float = TRANSCRIPT_WINDOW_SECONDS
    ) -> None:
        self.limit = limit
        self.window = window
        self._times: dict[uuid.UUID, deque[float]] = {}

    def take(self, conversation_id: uuid.UUID) -> int | None:
        """Count one more; None when allowed, else the seconds until the next is."""
        now = time.monotonic()
        times = self._times.setdefault(conversation_id, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return max(1, int(times[0] + self.window - now) + 1)
        times.append(now)
        if len(self._times) > 100_000:  # forget the oldest conversations, never grow unbounded
            for key in list(self._times)[:10_000]:
                self._times.pop(key, None)
        return None


def transcript_text(title: str, messages: list[dict[str, Any]]) -> str:
    """The visitor's view of the conversation (chat/views.py: customer and agent messages,
    the pre-chat form's answers first) as plain text."""
    lines = [f"Transcript of your chat: {title}", ""]
    for message in messages:
        who = "You" if message["from"] == "visitor" else "Agent"
        when = str(message["created_at"])[:16].replace("T", " ")
        text = (message.get("text") or "").strip()
        files = [f"[file: {a['filename']}]" for a in message.get("attachments", [])]
        body = "\n".join(part for part in (text, " ".join(files)) if part)
        lines.append(f"[{when} UTC] {who}:")
        lines += [f"  {line}" for line in body.splitlines()] or ["  "]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def transcript_mail(
    *, sender_name: str, sender_address: str, to: str, title: str, text: str
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr((sender_name, sender_address))
    mail["To"] = to
    mail["Subject"] = f"Your chat transcript: {title}"
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=sender_address.rsplit("@", 1)[-1])
    # Sent by a machine on a visitor's request, not in answer to mail (RFC 3834 3.1.7):
    # auto-responders must not answer it, and our own listener would not route a reply to it.
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(text)
    return mail
