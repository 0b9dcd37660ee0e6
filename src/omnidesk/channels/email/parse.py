"""Inbound mail, from raw RFC 5322 bytes to what the conversation store keeps.

Lenient where mail is sloppy and strict where it cannot be used:
- charsets: the declared one, then UTF-8, then Windows-1252 (which, like Latin-1, decodes any
  byte): an undeclared, unknown or wrong charset never crashes and never drops the text;
- headers with encoded words are decoded; a header that cannot be is taken raw;
- every non-body part is kept as an attachment, inline `cid:` images (Outlook's come without a
  Content-Disposition) included; the store applies the tenant's size and type limits;
- refused (`Malformed`, the SMTP listener answers 5xx): no usable From address, a multipart
  without its boundary, or one whose boundary never appears.
Automated mail (RFC 3834 and the conventions around it) and delivery-status reports (RFC 3464)
are recognised here; what to do with them is `inbound.py`'s.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import errors as email_errors
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime

from omnidesk.channels.conversations.adapter import InboundAttachment

PRECEDENCE_AUTOMATED = {"bulk", "auto_reply", "list", "junk"}
_ID = re.compile(r"<([^<>\s]{1,400})>")
_REFUSED_DEFECTS = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
)


class Malformed(ValueError):
    """The mail cannot be taken (the reason is logged and answered, e.g. SMTP 550 5.6.0)."""


@dataclass(frozen=True)
class Bounce:
    """A delivery-status report: the original message it is about and why it failed."""

    original_ids: tuple[str, ...]
    failed: bool
    recipient: str | None
    status: str | None
    diagnostic: str | None


@dataclass
class ParsedMail:
    message_id: str
    sender: str  # the From address
    sender_name: str | None
    subject: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str | None
    html: str | None
    sent_at: datetime | None
    attachments: list[InboundAttachment] = field(default_factory=list)
    automated: str | None = None  # why it is automated mail, or None
    bounce: Bounce | None = None

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Every earlier message id the mail names, the nearest first."""
        ids = list(self.in_reply_to) + list(reversed(self.references))
        return tuple(dict.fromkeys(ids))


def message_ids(raw: str | None) -> tuple[str, ...]:
    """The ids of a Message-ID / In-Reply-To / References header, without angle brackets.
    Clients that drop the brackets (seen in the wild) give one bare id."""
    if not raw:
        return ()
    found = _ID.findall(raw)
    if not found and raw.strip() and " " not in raw.strip():
        found = [raw.strip()]
    return tuple(i[:200] for i in found)


def header(msg: Message, name: str) -> str | None:
    """A header's text with encoded words decoded; raw when decoding fails."""
    value = msg.get(name)
    if value is None:
        return None
    try:
        text = str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError, email_errors.HeaderParseError):
        text = str(value)
    return " ".join(text.split())


def decode(data: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


def parse(raw: bytes, envelope_sender: str | None = None) -> ParsedMail:
    """`envelope_sender`: SMTP's MAIL FROM ("" is the null return path), None when unknown
    (IMAP: the Return-Path header says it)."""
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; anything it still raises is malformed
        raise Malformed(f"unparsable message: {type(exc).__name__}") from None
    for part in msg.walk():
        for defect in part.defects:
            if isinstance(defect, _REFUSED_DEFECTS):
                raise Malformed(f"broken MIME structure: {type(defect).__name__}")
    name, address = parseaddr(header(msg, "From") or "")
    if not address or "@" not in address:
        raise Malformed("no sender address in From")
    ids = message_ids(msg.get("Message-ID"))
    # Without a Message-ID, one made from the content: a redelivery is still recognised.
    message_id = ids[0] if ids else "sha256-" + hashlib.sha256(raw).hexdigest()[:40] + "@omnidesk"
    sent_at = None
    try:
        if msg.get("Date"):
            sent_at = parsedate_to_datetime(str(msg["Date"]))
            if sent_at.tzinfo is None:
                sent_at = None
    except (TypeError, ValueError, IndexError):
        sent_at = None
    mail = ParsedMail(
        message_id=message_id,
        sender=address.strip().lower(),
        sender_name=name.strip() or None,
        subject=header(msg, "Subject"),
        in_reply_to=message_ids(msg.get("In-Reply-To")),
        references=message_ids(msg.get("References")),
        text=None,
        html=None,
        sent_at=sent_at,
    )
    _body(msg, mail)
    mail.bounce = _bounce(msg)
    mail.automated = _automated(msg, envelope_sender, mail.bounce)
    return mail


def _automated(msg: Message, envelope_sender: str | None, bounce: Bounce | None) -> str | None:
    if bounce is not None:
        return "delivery-status report"
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto}"
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in PRECEDENCE_AUTOMATED:
        return f"Precedence: {precedence}"
    if msg.get("X-Auto-Response-Suppress") is not None:
        return "X-Auto-Response-Suppress"
    for name in ("List-Id", "List-Unsubscribe"):
        if msg.get(name) is not None:
            return name
    if msg.get("X-Failed-Recipients") is not None:
        return "X-Failed-Recipients"
    return_path = envelope_sender
    if return_path is None and msg.get("Return-Path") is not None:
        return_path = parseaddr(str(msg["Return-Path"]))[1]
    if return_path is not None and not return_path.strip("<> "):
        return "null return path"
    return None


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding: keep what is there
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (UnicodeError, LookupError, ValueError):
        name = None
    if name:
        try:
            return str(make_header(decode_header(name)))
        except (UnicodeError, LookupError, ValueError, email_errors.HeaderParseError):
            return name
    return None


def _body(msg: Message, mail: ParsedMail) -> None:
    """The first text/plain and text/html outside attachments are the body; every other leaf
    (inline cid: images too) is an attachment."""
    for part in _leaves(msg):
        kind = part.get_content_type()
        if kind == "message/rfc822":  # a forwarded mail: kept whole, as a file
            inner = _messages(part)
            data = inner[0].as_bytes() if inner else _payload(part)
            mail.attachments.append(
                InboundAttachment(_filename(part) or "message.eml", kind, data=data)
            )
            continue
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        is_file = disposition == "attachment" or _filename(part) is not None
        if kind == "text/plain" and not is_file and mail.text is None:
            mail.text = decode(_payload(part), part.get_content_charset())
            continue
        if kind == "text/html" and not is_file and mail.html is None:
            mail.html = decode(_payload(part), part.get_content_charset())
            continue
        if kind in ("message/delivery-status", "text/rfc822-headers"):
            continue  # the bounce's parts: read by _bounce
        data = _payload(part)
        cid = (part.get("Content-ID") or "").strip().strip("<>")
        name = _filename(part) or (cid and f"{cid.split('@')[0]}") or "attachment"
        mail.attachments.append(InboundAttachment(name, kind, data=data))


def _leaves(part: Message) -> list[Message]:
    """The parts to keep, in order: leaves, and attached mails as a whole (not their parts)."""
    if part.get_content_type() in ("message/rfc822", "message/delivery-status"):
        return [part]
    if not part.is_multipart():
        return [part]
    found: list[Message] = []
    for child in _messages(part):
        found.extend(_leaves(child))
    return found


def _messages(part: Message) -> list[Message]:
    """The sub-messages of a multipart or message/* part."""
    payload = part.get_payload()
    return [m for m in payload if isinstance(m, Message)] if isinstance(payload, list) else []


def _bounce(msg: Message) -> Bounce | None:
    """RFC 3464: multipart/report; report-type=delivery-status, with a message/delivery-status
    part (per-recipient Action/Status/Diagnostic-Code) and the original or its headers."""
    if msg.get_content_type() != "multipart/report":
        return None
    if str(msg.get_param("report-type") or "").lower() != "delivery-status":
        return None
    failed = False
    recipient = status = diagnostic = None
    original: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _messages(part):
                action = (block.get("Action") or "").strip().lower()
                if action == "failed":
                    failed = True
                    recipient = recipient or _dsn_value(block.get("Final-Recipient"))
                    status = status or (block.get("Status") or "").strip() or None
                    diagnostic = diagnostic or _dsn_value(block.get("Diagnostic-Code"))
        elif kind == "message/rfc822":
            for m in _messages(part):
                original.extend(message_ids(m.get("Message-ID")))
        elif kind == "text/rfc822-headers":
            headers = BytesParser(policy=policy.compat32).parsebytes(_payload(part))
            original.extend(message_ids(headers.get("Message-ID")))
    # Some reporters attach nothing: the report's own references name the original.
    original.extend(message_ids(msg.get("In-Reply-To")))
    original.extend(message_ids(msg.get("References")))
    return Bounce(tuple(dict.fromkeys(original)), failed, recipient, status, diagnostic)


def _dsn_value(raw: str | None) -> str | None:
    if not raw:
        return None
    text = " ".join(str(raw).split())
    return (text.split(";", 1)[1].strip() if ";" in text else text)[:300]
