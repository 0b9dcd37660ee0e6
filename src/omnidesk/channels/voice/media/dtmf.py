"""RFC 4733 telephone-events: payload codec, a receiver that reports each digit once, a sender."""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

EVENTS = "0123456789*#ABCD"
_PAYLOAD = struct.Struct("!BBH")
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz
END_REPEATS = 3


class DtmfError(ValueError):
    """A digit or RFC 4733 payload that is not a DTMF event."""


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int  # dBm0 below 0, 0..63
    duration: int  # in timestamp units (samples at 8 kHz)

    @property
    def digit(self) -> str | None:
        return EVENTS[self.event] if self.event < len(EVENTS) else None

    def encode(self) -> bytes:
        return _PAYLOAD.pack(
            self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration & 0xFFFF
        )

    @classmethod
    def decode(cls, payload: bytes) -> TelephoneEvent:
        # Several events may be stacked (RFC 4733 §2.5.1.5, redundancy); the first one is
        # enough here since we never negotiate redundant events.
        if len(payload) < 4:
            raise DtmfError("telephone-event payload shorter than 4 bytes")
        event, flags, duration = _PAYLOAD.unpack_from(payload)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


def digit_code(digit: str) -> int:
    code = EVENTS.find(digit.upper())
    if code < 0 or len(digit) != 1:
        raise DtmfError(f"not a DTMF digit: {digit!r}")
    return code


class DtmfReceiver:
    """Turns a train of telephone-event packets into one (digit, duration_ms) per key press.

    An event is identified by its RTP timestamp (fixed for the whole event). It is reported on
    the first end packet; later retransmitted ends and late updates of the same timestamp are
    ignored. If a new event starts before the previous one ended (end packets lost), the old one
    is reported with the last duration seen.
    """

    def __init__(self, memory: int = 32) -> None:
        self._done: OrderedDict[int, None] = OrderedDict()
        self._memory = memory
        self._current: tuple[int, TelephoneEvent] | None = None

    def feed(self, timestamp: int, payload: bytes) -> list[tuple[str, int]]:
        ev = TelephoneEvent.decode(payload)
        out: list[tuple[str, int]] = []
        if timestamp in self._done or ev.digit is None:
            return out
        if self._current is not None and self._current[0] != timestamp:
            if _ts_before(timestamp, self._current[0]):
                return out  # a late packet from an event older than the current one
            out.extend(self._finish(*self._current))
        if ev.end:
            out.extend(self._finish(timestamp, ev))
        else:
            cur = self._current
            if cur is None or cur[0] != timestamp or ev.duration >= cur[1].duration:
                self._current = (timestamp, ev)
        return out

    def flush(self) -> list[tuple[str, int]]:
        """Report an event whose end packets never came (call on stream end or timeout)."""
        if self._current is None:
            return []
        return self._finish(*self._current)

    @property
    def pending(self) -> bool:
        return self._current is not None

    def _finish(self, timestamp: int, ev: TelephoneEvent) -> list[tuple[str, int]]:
        self._current = None
        self._done[timestamp] = None
        while len(self._done) > self._memory:
            self._done.popitem(last=False)
        assert ev.digit is not None
        return [(ev.digit, ev.duration // 8)]


def _ts_before(a: int, b: int) -> bool:
    return a != b and ((b - a) & 0xFFFFFFFF) < 0x80000000


@dataclass(frozen=True, slots=True)
class DtmfPacket:
    payload: bytes
    marker: bool


def dtmf_train(digit: str, duration_ms: int = 160, volume: int = 10) -> Iterator[DtmfPacket]:
    """Payloads for one event, one per 20 ms tick; all share the event's RTP timestamp."""
    code = digit_code(digit)
    steps = max(1, round(duration_ms / 20))
    for k in range(1, steps + 1):
        ev = TelephoneEvent(code, False, volume, min(k * SAMPLES_PER_PACKET, 0xFFFF))
        yield DtmfPacket(ev.encode(), k == 1)
    final = TelephoneEvent(code, True, volume, min(steps * SAMPLES_PER_PACKET, 0xFFFF))
    for _ in range(END_REPEATS):
        yield DtmfPacket(final.encode(), False)


# In-band DTMF (for peers that did not offer telephone-event).
DTMF_FREQS: dict[str, tuple[float, float]] = {
    d: (lo, hi)
    for row, lo in zip(("123A", "456B", "789C", "*0#D"), (697.0, 770.0, 852.0, 941.0), strict=True)
    for d, hi in zip(row, (1209.0, 1336.0, 1477.0, 1633.0), strict=True)
}
