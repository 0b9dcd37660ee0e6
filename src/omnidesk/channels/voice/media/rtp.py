"""RTP packets (RFC 3550): parse and build."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

_HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP v2 packet."""


@dataclass(slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: list[int] = field(default_factory=list)
    extension: tuple[int, bytes] | None = None  # (profile-defined id, data in 32-bit words)
    padding: int = 0  # number of padding bytes to append (0 = no padding)

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> RtpPacket:
        data = bytes(data)
        if len(data) < 12:
            raise RtpError("shorter than the RTP header")
        b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
        if b0 >> 6 != 2:
            raise RtpError("not RTP version 2")
        cc = b0 & 0x0F
        offset = 12 + 4 * cc
        if len(data) < offset:
            raise RtpError("truncated CSRC list")
        csrcs = list(struct.unpack_from(f"!{cc}I", data, 12)) if cc else []
        extension = None
        if b0 & 0x10:
            if len(data) < offset + 4:
                raise RtpError("truncated header extension")
            profile, words = struct.unpack_from("!HH", data, offset)
            end = offset + 4 + 4 * words
            if len(data) < end:
                raise RtpError("truncated header extension")
            extension = (profile, data[offset + 4 : end])
            offset = end
        end = len(data)
        padding = 0
        if b0 & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > end:
                raise RtpError("bad padding length")
            end -= padding
        return cls(
            payload_type=b1 & 0x7F,
            sequence=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=data[offset:end],
            marker=bool(b1 & 0x80),
            csrcs=csrcs,
            extension=extension,
            padding=padding,
        )

    def build(self) -> bytes:
        if len(self.csrcs) > 15:
            raise RtpError("at most 15 CSRCs")
        if not 0 <= self.payload_type < 128:
            raise RtpError("payload type out of range")
        b0 = 0x80 | len(self.csrcs)
        if self.extension is not None:
            b0 |= 0x10
        if self.padding:
            b0 |= 0x20
        b1 = (0x80 if self.marker else 0) | self.payload_type
        parts = [
            _HEADER.pack(b0, b1, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc),
        ]
        if self.csrcs:
            parts.append(struct.pack(f"!{len(self.csrcs)}I", *self.csrcs))
        if self.extension is not None:
            profile, ext = self.extension
            if len(ext) % 4:
                raise RtpError("extension data must be whole 32-bit words")
            parts.append(struct.pack("!HH", profile, len(ext) // 4) + ext)
        parts.append(self.payload)
        if self.padding:
            if not 0 < self.padding < 256:
                raise RtpError("padding must be 1..255 bytes")
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)


def build_header(payload_type: int, seq: int, ts: int, ssrc: int, marker: bool = False) -> bytes:
    return _HEADER.pack(
        0x80, (0x80 if marker else 0) | payload_type, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc
    )
