"""SDP (RFC 4566) parse/build and offer/answer (RFC 3264) for one G.711 audio stream."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

STATIC_PT = {0: "PCMU", 8: "PCMA"}
CODEC_PT = {"PCMU": 0, "PCMA": 8}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
HOLD_ADDR = "0.0.0.0"


class SdpError(ValueError):
    """An SDP body we cannot parse or accept."""


class NoCommonCodec(SdpError):
    """No offered codec is supported: the call layer answers 488 Not Acceptable Here."""


@dataclass(slots=True)
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[str]
    connection: str | None = None  # address from a media-level c= line
    attributes: list[tuple[str, str | None]] = field(default_factory=list)

    def attr(self, name: str) -> list[str | None]:
        return [v for k, v in self.attributes if k == name]

    @property
    def direction(self) -> str:
        for k, _ in self.attributes:
            if k in DIRECTIONS:
                return k
        return "sendrecv"

    def rtpmap(self) -> dict[int, tuple[str, int]]:
        """Payload type → (encoding name upper-case, clock rate), static types included."""
        out: dict[int, tuple[str, int]] = {}
        for fmt in self.formats:
            if fmt.isdigit() and int(fmt) in STATIC_PT:
                out[int(fmt)] = (STATIC_PT[int(fmt)], 8000)
        for value in self.attr("rtpmap"):
            if not value:
                continue
            pt, _, enc = value.partition(" ")
            name, _, rest = enc.partition("/")
            rate = rest.split("/")[0]
            if pt.isdigit() and rate.isdigit():
                out[int(pt)] = (name.upper(), int(rate))
        return out


@dataclass(slots=True)
class SessionDescription:
    origin_user: str = "-"
    session_id: int = 0
    session_version: int = 0
    origin_addr: str = "127.0.0.1"
    session_name: str = "-"
    connection: str | None = None
    timing: str = "0 0"
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str | bytes) -> SessionDescription:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        sd = cls()
        current: MediaDescription | None = None
        seen_v = False
        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            if len(line) < 2 or line[1] != "=":
                raise SdpError(f"bad SDP line: {line!r}")
            kind, value = line[0], line[2:]
            if kind == "v":
                if value != "0":
                    raise SdpError("unsupported SDP version")
                seen_v = True
            elif kind == "o":
                parts = value.split()
                if len(parts) != 6:
                    raise SdpError("bad o= line")
                sd.origin_user = parts[0]
                sd.session_id = _int(parts[1])
                sd.session_version = _int(parts[2])
                sd.origin_addr = parts[5]
            elif kind == "s":
                sd.session_name = value
            elif kind == "c":
                parts = value.split()
                if len(parts) != 3 or parts[0] != "IN":
                    raise SdpError("bad c= line")
                addr = parts[2].split("/")[0]
                if current is None:
                    sd.connection = addr
                else:
                    current.connection = addr
            elif kind == "t":
                sd.timing = value
            elif kind == "m":
                parts = value.split()
                if len(parts) < 4:
                    raise SdpError("bad m= line")
                port = parts[1].split("/")[0]
                if not port.isdigit():
                    raise SdpError("bad m= port")
                current = MediaDescription(parts[0], int(port), parts[2], parts[3:])
                sd.media.append(current)
            elif kind == "a":
                name, sep, val = value.partition(":")
                attr = (name, val if sep else None)
                (current.attributes if current else sd.attributes).append(attr)
            # other line types (i, u, e, p, b, z, k, r) carry nothing we use
        if not seen_v:
            raise SdpError("missing v= line")
        return sd

    def build(self) -> str:
        lines = [
            "v=0",
            f"o={self.origin_user} {self.session_id} {self.session_version} IN IP4 "
            f"{self.origin_addr}",
            f"s={self.session_name or '-'}",
        ]
        if self.connection:
            lines.append(f"c=IN IP4 {self.connection}")
        lines.append(f"t={self.timing}")
        lines += [_attr_line(a) for a in self.attributes]
        for m in self.media:
            lines.append(f"m={m.media} {m.port} {m.proto} {' '.join(m.formats)}")
            if m.connection:
                lines.append(f"c=IN IP4 {m.connection}")
            lines += [_attr_line(a) for a in m.attributes]
        return "\r\n".join(lines) + "\r\n"

    def address_for(self, m: MediaDescription) -> str | None:
        return m.connection or self.connection


def _int(s: str) -> int:
    try:
        return int(s)
    except ValueError as exc:
        raise SdpError(f"not a number: {s!r}") from exc


def _attr_line(a: tuple[str, str | None]) -> str:
    return f"a={a[0]}" if a[1] is None else f"a={a[0]}:{a[1]}"


@dataclass(frozen=True, slots=True)
class MediaParams:
    remote_addr: str
    remote_port: int
    payload_type: int
    codec: str
    dtmf_pt: int | None
    direction: str = "sendrecv"  # ours: do we send / receive

    @property
    def sends(self) -> bool:
        return self.direction in ("sendrecv", "sendonly") and self.remote_addr != HOLD_ADDR

    @property
    def receives(self) -> bool:
        return self.direction in ("sendrecv", "recvonly")


_ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


def _answer_direction(remote: str, addr: str | None) -> str:
    ours = _ANSWER_DIRECTION.get(remote, "sendrecv")
    if addr == HOLD_ADDR:
        # RFC 2543-style hold: the peer does not want media; we cannot send to 0.0.0.0.
        ours = {"sendrecv": "recvonly", "sendonly": "inactive"}.get(ours, ours)
    return ours


def _new_session(local_ip: str, session_id: int | None, version: int) -> SessionDescription:
    return SessionDescription(
        origin_user="omnidesk",
        session_id=session_id if session_id is not None else random.randrange(1, 2**31),
        session_version=version,
        origin_addr=local_ip,
        session_name="omnidesk",
        connection=local_ip,
    )


def _audio_attrs(
    pt: int, codec: str, dtmf_pt: int | None, direction: str
) -> list[tuple[str, str | None]]:
    attrs: list[tuple[str, str | None]] = [("rtpmap", f"{pt} {codec}/8000")]
    if dtmf_pt is not None:
        attrs += [("rtpmap", f"{dtmf_pt} telephone-event/8000"), ("fmtp", f"{dtmf_pt} 0-16")]
    attrs += [("ptime", "20"), (direction, None)]
    return attrs


def negotiate(
    offer: SessionDescription,
    *,
    local_ip: str,
    local_port: int,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    session_id: int | None = None,
    session_version: int = 0,
    direction: str | None = None,
) -> tuple[SessionDescription, MediaParams]:
    """Answer `offer` with the first offered codec we support (the offerer's preference).

    `direction` lets the caller force ours (e.g. "sendonly" when we put the peer on hold);
    by default it mirrors the offer. Other m-lines are refused with port 0 (RFC 3264 §6).
    """
    answer = _new_session(local_ip, session_id, session_version)
    chosen: MediaParams | None = None
    for m in offer.media:
        if chosen is None and m.media == "audio" and m.port != 0 and "RTP/AVP" in m.proto:
            rtpmap = m.rtpmap()
            pick = next(
                (
                    (int(f), rtpmap[int(f)][0])
                    for f in m.formats
                    if f.isdigit()
                    and int(f) in rtpmap
                    and rtpmap[int(f)][0] in codecs
                    and rtpmap[int(f)][1] == 8000
                ),
                None,
            )
            if pick is not None:
                dtmf_pt = next(
                    (
                        pt
                        for pt, (name, rate) in rtpmap.items()
                        if name == "TELEPHONE-EVENT" and rate == 8000 and str(pt) in m.formats
                    ),
                    None,
                )
                addr = offer.address_for(m)
                if addr is None:
                    raise SdpError("no connection address for the audio stream")
                ours = direction or _answer_direction(m.direction, addr)
                chosen = MediaParams(addr, m.port, pick[0], pick[1], dtmf_pt, ours)
                fmts = [str(pick[0])] + ([str(dtmf_pt)] if dtmf_pt is not None else [])
                answer.media.append(
                    MediaDescription(
                        "audio",
                        local_port,
                        m.proto,
                        fmts,
                        attributes=_audio_attrs(pick[0], pick[1], dtmf_pt, ours),
                    )
                )
                continue
        answer.media.append(MediaDescription(m.media, 0, m.proto, m.formats[:1] or ["0"]))
    if chosen is None:
        raise NoCommonCodec("no supported audio codec offered")
    return answer, chosen


def make_offer(
    *,
    local_ip: str,
    local_port: int,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    dtmf_pt: int | None = 101,
    direction: str = "sendrecv",
    session_id: int | None = None,
    session_version: int = 0,
) -> SessionDescription:
    offer = _new_session(local_ip, session_id, session_version)
    pts = [CODEC_PT[c] for c in codecs]
    attrs: list[tuple[str, str | None]] = [("rtpmap", f"{CODEC_PT[c]} {c}/8000") for c in codecs]
    if dtmf_pt is not None:
        pts.append(dtmf_pt)
        attrs += [("rtpmap", f"{dtmf_pt} telephone-event/8000"), ("fmtp", f"{dtmf_pt} 0-16")]
    attrs += [("ptime", "20"), (direction, None)]
    offer.media.append(MediaDescription("audio", local_port, "RTP/AVP", [str(p) for p in pts]))
    offer.media[0].attributes = attrs
    return offer


def accept_answer(offer: SessionDescription, answer: SessionDescription) -> MediaParams:
    """MediaParams for an outbound leg once the peer answered our offer."""
    ours = {m.media: m for m in offer.media}.get("audio")
    for m in answer.media:
        if m.media != "audio" or m.port == 0:
            continue
        rtpmap = m.rtpmap()
        offered = ours.rtpmap() if ours else {}
        for f in m.formats:
            if f.isdigit() and rtpmap.get(int(f), ("", 0))[0] in CODEC_PT:
                pt = int(f)
                dtmf = next(
                    (p for p, (n, _) in rtpmap.items() if n == "TELEPHONE-EVENT"),
                    None,
                )
                if dtmf is not None and offered and dtmf not in offered:
                    dtmf = None
                addr = answer.address_for(m)
                if addr is None:
                    raise SdpError("no connection address in the answer")
                remote = m.direction
                direction = {"sendonly": "recvonly", "recvonly": "sendonly"}.get(remote, remote)
                return MediaParams(addr, m.port, pt, rtpmap[pt][0], dtmf, direction)
    raise NoCommonCodec("answer holds no codec we support")
