"""SIP message model, parser and serializer (RFC 3261 §7, §20, §25)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

MAX_MESSAGE_SIZE = 65536

COMPACT_FORMS: dict[str, str] = {
    "i": "call-id",
    "f": "from",
    "t": "to",
    "v": "via",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
}

# Canonical spelling for serialization; anything else is title-cased.
_CANONICAL = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "max-forwards": "Max-Forwards",
    "mime-version": "MIME-Version",
}

# Headers whose values may be comma-joined lists (so one line can carry several values).
# Excluded on purpose: headers carrying quoted strings/commas in one value (auth, dates).
_LIST_HEADERS = {
    "via",
    "contact",
    "route",
    "record-route",
    "allow",
    "supported",
    "require",
    "proxy-require",
    "unsupported",
    "accept",
    "accept-encoding",
    "accept-language",
}

_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_STATUS_LINE = re.compile(r"^SIP/2\.0 ([1-6][0-9]{2}) ?(.*)$")
_REQUEST_LINE = re.compile(r"^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) SIP/2\.0$")

REASONS: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

BRANCH_MAGIC = "z9hG4bK"


class SipParseError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_branch() -> str:
    return BRANCH_MAGIC + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"


def _split_quoted(text: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes and angle brackets."""
    parts: list[str] = []
    buf: list[str] = []
    quoted = False
    angle = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            buf.append(ch)
            if ch == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
            buf.append(ch)
        elif ch == "<":
            angle += 1
            buf.append(ch)
        elif ch == ">":
            angle = max(0, angle - 1)
            buf.append(ch)
        elif ch == sep and angle == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    if quoted:
        raise SipParseError("unterminated quoted string")
    parts.append("".join(buf))
    return parts


def parse_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for raw in _split_quoted(text, ";"):
        item = raw.strip()
        if not item:
            continue
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if not _TOKEN.match(name):
            raise SipParseError(f"bad parameter name {name!r}")
        params[name] = value.strip() if eq else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


@dataclass
class SipUri:
    scheme: str = "sip"
    user: str | None = None
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    password: str | None = None
    headers: str | None = None

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in ("sip", "sips"):
            raise SipParseError(f"unsupported URI scheme in {text[:40]!r}")
        rest, _, hdrs = rest.partition("?")
        userinfo, at, hostpart = rest.rpartition("@")
        user: str | None = None
        password: str | None = None
        if at:
            u, _, pw = userinfo.partition(":")
            if not u:
                raise SipParseError("empty user in URI")
            user = unquote(u)
            password = unquote(pw) if pw else None
        hostport, _, ptext = hostpart.partition(";")
        params = parse_params(ptext) if ptext else {}
        host, port = _parse_hostport(hostport)
        return cls(scheme, user, host, port, params, password, hdrs or None)

    def __str__(self) -> str:
        out = f"{self.scheme}:"
        if self.user is not None:
            out += _escape_user(self.user)
            if self.password is not None:
                out += ":" + self.password
            out += "@"
        out += self.host if ":" not in self.host else f"[{self.host}]"
        if self.port is not None:
            out += f":{self.port}"
        out += format_params(self.params)
        if self.headers:
            out += "?" + self.headers
        return out

    @property
    def aor(self) -> str:
        """Address-of-record key: scheme, user and host, lower-cased host (RFC 3261 §10.3)."""
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}:{user}{self.host.lower()}"


def _escape_user(user: str) -> str:
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,;?/")
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in user)


def _parse_hostport(text: str) -> tuple[str, int | None]:
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError("unterminated IPv6 reference")
        host, rest = text[1:end], text[end + 1 :]
    else:
        host, _, p = text.partition(":")
        rest = ":" + p if _ else ""
    if not host or not re.match(r"^[A-Za-z0-9.\-:]+$", host):
        raise SipParseError(f"bad host {host[:40]!r}")
    port: int | None = None
    if rest:
        if not rest.startswith(":") or not rest[1:].isdigit():
            raise SipParseError(f"bad port {rest[:20]!r}")
        port = int(rest[1:])
        if not 0 < port < 65536:
            raise SipParseError(f"port out of range: {port}")
    return host, port


@dataclass
class NameAddr:
    uri: SipUri
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    wildcard: bool = False

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        if text == "*":
            return cls(SipUri(host="*"), wildcard=True)
        display: str | None = None
        if "<" in text:
            lt = _find_unquoted(text, "<")
            gt = text.find(">", lt)
            if lt < 0 or gt < 0:
                raise SipParseError("unbalanced angle brackets in name-addr")
            disp = text[:lt].strip()
            if disp.startswith('"'):
                if not disp.endswith('"') or len(disp) < 2:
                    raise SipParseError("bad quoted display name")
                disp = re.sub(r"\\(.)", r"\1", disp[1:-1])
            display = disp or None
            uri = SipUri.parse(text[lt + 1 : gt])
            params = parse_params(text[gt + 1 :])
        else:
            # addr-spec form: header params follow the URI, so URI params cannot be used here.
            uri_text, _, ptext = text.partition(";")
            uri = SipUri.parse(uri_text)
            params = parse_params(ptext)
        return cls(uri, display, params)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return NameAddr(self.uri, self.display, {**self.params, "tag": tag})

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        disp = ""
        if self.display:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            disp = f'"{escaped}" '
        return f"{disp}<{self.uri}>{format_params(self.params)}"


def _find_unquoted(text: str, ch: str) -> int:
    quoted = False
    for i, c in enumerate(text):
        if c == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif c == ch and not quoted:
            return i
    return -1


@dataclass
class Via:
    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        m = re.match(r"^\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+([^;]+)(.*)$", text, re.S)
        if not m:
            raise SipParseError(f"bad Via {text[:60]!r}")
        host, port = _parse_hostport(m.group(2))
        return cls(m.group(1).upper(), host, port, parse_params(m.group(3)))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        v = self.params.get("rport")
        return int(v) if v and v.isdigit() else None

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"


class Headers:
    """Ordered, multi-valued, case-insensitive header list; compact names are expanded."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        for name, value in items:
            self.add(name, value)

    @staticmethod
    def _key(name: str) -> str:
        low = name.strip().lower()
        return COMPACT_FORMS.get(low, low)

    def add(self, name: str, value: str) -> None:
        self._items.append((self._key(name), value.strip()))

    def prepend(self, name: str, value: str) -> None:
        self._items.insert(0, (self._key(name), value.strip()))

    def set(self, name: str, value: str) -> None:
        key = self._key(name)
        idx = next((i for i, (k, _) in enumerate(self._items) if k == key), None)
        self._items = [(k, v) for k, v in self._items if k != key]
        self._items.insert(len(self._items) if idx is None else idx, (key, value.strip()))

    def remove(self, name: str) -> None:
        key = self._key(name)
        self._items = [(k, v) for k, v in self._items if k != key]

    def get(self, name: str, default: str | None = None) -> str | None:
        key = self._key(name)
        return next((v for k, v in self._items if k == key), default)

    def get_all(self, name: str) -> list[str]:
        """All values, with comma-joined list headers split into separate values."""
        key = self._key(name)
        out: list[str] = []
        for k, v in self._items:
            if k != key:
                continue
            if key in _LIST_HEADERS:
                out.extend(p.strip() for p in _split_quoted(v, ",") if p.strip())
            else:
                out.append(v)
        return out

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def copy(self) -> Headers:
        h = Headers()
        h._items = list(self._items)
        return h

    @staticmethod
    def display_name(key: str) -> str:
        return _CANONICAL.get(key) or "-".join(p.capitalize() for p in key.split("-"))


class _MessageBase:
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        raw = self.headers.get("cseq") or ""
        num, _, method = raw.partition(" ")
        return int(num), method.strip().upper()

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self.headers.get("from") or "")

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self.headers.get("to") or "")

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("via")]

    @property
    def top_via(self) -> Via:
        return Via.parse(self.headers.get_all("via")[0])

    @property
    def contacts(self) -> list[NameAddr]:
        return [NameAddr.parse(c) for c in self.headers.get_all("contact")]

    def _header_bytes(self) -> bytes:
        lines = [
            f"{Headers.display_name(k)}: {v}" for k, v in self.headers if k != "content-length"
        ]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class SipRequest(_MessageBase):
    def __init__(
        self, method: str, uri: SipUri, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        self.method = method.upper()
        self.uri = uri
        self.headers = headers if headers is not None else Headers()
        self.body = body

    def __repr__(self) -> str:
        return f"<SipRequest {self.method} {self.uri} call-id={self.call_id}>"

    def to_bytes(self) -> bytes:
        return f"{self.method} {self.uri} SIP/2.0\r\n".encode() + self._header_bytes() + self.body

    @property
    def branch(self) -> str:
        return self.top_via.branch or ""


class SipResponse(_MessageBase):
    def __init__(
        self, status: int, reason: str = "", headers: Headers | None = None, body: bytes = b""
    ) -> None:
        self.status = status
        self.reason = reason or REASONS.get(status, "Unknown")
        self.headers = headers if headers is not None else Headers()
        self.body = body

    def __repr__(self) -> str:
        return f"<SipResponse {self.status} {self.reason} call-id={self.call_id}>"

    def to_bytes(self) -> bytes:
        start = f"SIP/2.0 {self.status} {self.reason}\r\n".encode()
        return start + self._header_bytes() + self.body


SipMessage = SipRequest | SipResponse

MANDATORY = ("via", "from", "to", "call-id", "cseq")


def _unfold(head: str) -> list[str]:
    lines: list[str] = []
    for line in re.split(r"\r\n|\n", head):
        if line[:1] in (" ", "\t"):
            # RFC 3261 §7.3.1: a line starting with whitespace continues the previous header.
            if not lines:
                raise SipParseError("continuation line before any header")
            lines[-1] = lines[-1].rstrip() + " " + line.strip()
        else:
            lines.append(line)
    return lines


def parse_message(data: bytes) -> SipRequest | SipResponse:
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError("message too large")
    data = data.lstrip(b"\r\n")
    sep = re.search(rb"\r\n\r\n|\n\n", data)
    if sep is None:
        raise SipParseError("no end of headers")
    head_bytes, body = data[: sep.start()], data[sep.end() :]
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("headers are not UTF-8") from exc
    if "\x00" in head:
        raise SipParseError("NUL byte in headers")
    lines = _unfold(head)
    start, header_lines = lines[0], lines[1:]
    headers = Headers()
    for line in header_lines:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or not _TOKEN.match(name):
            raise SipParseError(f"malformed header line {line[:40]!r}")
        headers.add(name, value)
    clen_raw = headers.get("content-length")
    if clen_raw is not None:
        if not clen_raw.isdigit():
            raise SipParseError("bad Content-Length")
        clen = int(clen_raw)
        if clen > len(body):
            raise SipParseError("body shorter than Content-Length")
        body = body[:clen]
    msg: SipRequest | SipResponse
    m = _STATUS_LINE.match(start)
    if m:
        msg = SipResponse(int(m.group(1)), m.group(2), headers, body)
    else:
        rm = _REQUEST_LINE.match(start)
        if not rm:
            if start.startswith("SIP/") or re.search(r" SIP/\d", start):
                raise SipParseError("unsupported SIP version")
            raise SipParseError(f"bad start line {start[:60]!r}")
        msg = SipRequest(rm.group(1), SipUri.parse(rm.group(2)), headers, body)
    _validate(msg)
    return msg


def _validate(msg: SipRequest | SipResponse) -> None:
    for name in MANDATORY:
        if msg.headers.get(name) is None:
            raise SipParseError(f"missing {Headers.display_name(name)} header")
    cseq = msg.headers.get("cseq") or ""
    cm = re.match(r"^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$", cseq)
    if not cm or int(cm.group(1)) >= 2**31:
        raise SipParseError(f"bad CSeq {cseq[:40]!r}")
    if isinstance(msg, SipRequest) and cm.group(2).upper() != msg.method:
        raise SipParseError("CSeq method does not match request method")
    # Parse the structured headers now, so later code may rely on them.
    msg.vias  # noqa: B018
    msg.from_  # noqa: B018
    msg.to  # noqa: B018
    if isinstance(msg, SipRequest):
        msg.contacts  # noqa: B018
        mf = msg.headers.get("max-forwards")
        if mf is not None and not (mf.isdigit() and int(mf) <= 255):
            raise SipParseError("bad Max-Forwards")


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> SipResponse:
    h = Headers()
    for via in request.headers.get_all("via"):
        h.add("Via", via)
    h.add("From", request.headers.get("from") or "")
    to = request.headers.get("to") or ""
    if to_tag is not None and status > 100:
        na = NameAddr.parse(to)
        if na.tag is None:
            to = str(na.with_tag(to_tag))
    h.add("To", to)
    h.add("Call-ID", request.call_id)
    h.add("CSeq", request.headers.get("cseq") or "")
    for name, value in headers:
        h.add(name, value)
    return SipResponse(status, reason or REASONS.get(status, "Unknown"), h, body)
