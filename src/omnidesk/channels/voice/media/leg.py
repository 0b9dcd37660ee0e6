"""One RTP leg: its socket, receive state (stream latch, jitter buffer, stats) and send state."""

from __future__ import annotations

import socket
import struct
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from omnidesk.channels.voice.media.analysis import tone
from omnidesk.channels.voice.media.dtmf import (
    DTMF_FREQS,
    DtmfError,
    DtmfPacket,
    DtmfReceiver,
    digit_code,
    dtmf_train,
)
from omnidesk.channels.voice.media.rtp import RtpError, RtpPacket
from omnidesk.channels.voice.media.sdp import MediaParams

if TYPE_CHECKING:
    from omnidesk.channels.voice.media.engine import MediaEngine

FRAME = 160
HIST_BIN_MS = 0.1
HIST_BINS = 1001  # 0…100 ms in 0.1 ms steps, last bin = overflow
PREFETCH = 2  # packets buffered before play-out (re)starts: absorbs one tick of phase jitter
MAX_DEPTH = 8  # beyond this the oldest packets are dropped to bound latency
NEW_STREAM_TICKS = 5  # a new SSRC is accepted once the old one has been quiet this long
COMFORT_NOISE_PT = 13
DTMF_TIMEOUT_TICKS = 25  # an event with no packet for 500 ms ended (its end packets were lost)
_FAST_HDR = struct.Struct("!BBHII")


@dataclass(slots=True)
class LegStats:
    packets_sent: int = 0
    packets_received: int = 0
    send_errors: int = 0
    stray: int = 0  # malformed, wrong source, wrong SSRC, unknown payload type
    late: int = 0  # arrived after its play-out slot
    underruns: int = 0  # ticks with no audio to play although the stream was running
    jitter: float = 0.0  # RFC 3550 interarrival jitter, in timestamp units
    base_seq: int | None = None
    max_seq: int = 0

    @property
    def lost(self) -> int:
        if self.base_seq is None:
            return 0
        return max(0, self.max_seq - self.base_seq + 1 - self.packets_received)

    @property
    def jitter_ms(self) -> float:
        return self.jitter / 8.0


def hist_quantile(hist: npt.NDArray[np.int64], q: float) -> float | None:
    total = int(hist.sum())
    if total == 0:
        return None
    idx = int(np.searchsorted(np.cumsum(hist), q * total))
    return (min(idx, HIST_BINS - 1) + 0.5) * HIST_BIN_MS


class Leg:
    def __init__(self, engine: MediaEngine, sock: socket.socket, slot: int) -> None:
        self.engine = engine
        self.sock = sock
        self.slot: int | None = slot
        self.local_port: int = sock.getsockname()[1]
        self.params: MediaParams | None = None
        self.on_dtmf: Callable[[str, int], None] | None = None
        # Called when the far end's first packet arrives (latches); again after configure()
        # names a new far end. Not per packet: it costs the receive path nothing.
        self.on_media: Callable[[], None] | None = None
        self.muted = False  # others do not hear this leg
        # Symmetric RTP (RFC 4961): send to where the peer's packets come from, for softphones
        # behind NAT whose SDP address is private.
        self.symmetric = False
        self.remote: tuple[str, int] = ("0.0.0.0", 0)  # set by configure()
        self.stats = LegStats()
        # receive
        self.source_addr: tuple[str, int] | None = None
        self.rx_ssrc: int | None = None
        self._last_rx_tick = -(10**9)
        self._transit: float | None = None
        self._buf: dict[int, bytes] = {}
        self._next: int | None = None
        self._wait = 0
        self._dtmf_rx = DtmfReceiver()
        self._last_dtmf_tick = 0
        # send: sequence, timestamp, SSRC and marker live in the engine's per-slot arrays
        self._dtmf_queue: deque[tuple[str, int]] = deque()
        self._train: Iterator[DtmfPacket] | None = None
        self._train_ts = 0
        self._inband: deque[npt.NDArray[np.int16]] = deque()

    def __repr__(self) -> str:
        return f"Leg(port={self.local_port}, slot={self.slot})"

    def _slot(self) -> int:
        if self.slot is None:
            raise RuntimeError("leg is closed")
        return self.slot

    @property
    def sending(self) -> bool:
        return self.slot is not None and bool(self.engine._sending[self.slot])

    @property
    def ssrc(self) -> int:
        return int(self.engine._ssrc[self._slot()])

    @property
    def seq(self) -> int:
        """Sequence number of the next packet sent."""
        return int(self.engine._seq[self._slot()]) & 0xFFFF

    @property
    def ts(self) -> int:
        """RTP timestamp of this tick's packet (the media clock runs even when not sending)."""
        return (int(self.engine._ts_off[self._slot()]) + self.engine._clock) & 0xFFFFFFFF

    @property
    def marker_next(self) -> bool:
        return bool(self.engine._marker[self._slot()])

    def send_interval_ms(self, q: float) -> float | None:
        """Quantile of the interval between this leg's consecutive sends."""
        return hist_quantile(self.engine._hist[self._slot()], q)

    def configure(self, params: MediaParams) -> None:
        old = self.params
        self.params = params
        self.remote = (params.remote_addr, params.remote_port)
        if old is None or (old.remote_addr, old.remote_port) != (
            params.remote_addr,
            params.remote_port,
        ):
            # A new far end may send from elsewhere: latch again on its first packet.
            self.source_addr = None
            self.rx_ssrc = None
        self.engine._leg_changed(self)

    def send_dtmf(self, digit: str, duration_ms: int = 160) -> None:
        digit_code(digit)  # validates
        if self.params is not None and self.params.dtmf_pt is not None:
            self._dtmf_queue.append((digit, duration_ms))
            self.engine._special.add(self)
        else:
            # No telephone-event negotiated: play the dual tone in-band, then a 60 ms gap.
            n = max(1, round(duration_ms / 20))
            samples = tone(DTMF_FREQS[digit.upper()], n * FRAME, -10.0)
            for k in range(n):
                self._inband.append(samples[k * FRAME : (k + 1) * FRAME])
            for _ in range(3):
                self._inband.append(np.zeros(FRAME, dtype=np.int16))
            self.engine._special.add(self)

    # -- receive path (called by the engine's tick) --------------------------------------

    def receive(self, data: bytes, addr: tuple[str, int], arrival: float, tick: int) -> None:
        st = self.stats
        params = self.params
        if params is None or len(data) < 12:
            st.stray += 1
            return
        b0, b1, seq, ts, ssrc = _FAST_HDR.unpack_from(data)
        if b0 == 0x80:
            payload = data[12:]
        else:
            try:
                payload = RtpPacket.parse(data).payload
            except RtpError:
                st.stray += 1
                return
        pt = b1 & 0x7F
        if self.source_addr is None:
            self.source_addr = addr
            if self.symmetric:
                self.remote = addr
            if self.on_media is not None:
                self.on_media()
        elif addr != self.source_addr:
            if addr[0] == self.source_addr[0] and pt == params.dtmf_pt and params.receives:
                # Telephone-events from the same host but another port (some gateways and
                # sipp's pcap replay send them from a socket of their own): key presses, fed to
                # the DTMF receiver only, never into the audio stream.
                st.packets_received += 1
                self._feed_dtmf(tick, ts, payload)
                return
            st.stray += 1
            return
        is_audio = pt == params.payload_type
        if not is_audio and pt != params.dtmf_pt and pt != COMFORT_NOISE_PT:
            st.stray += 1
            return
        if self.rx_ssrc != ssrc:
            if self.rx_ssrc is not None and tick - self._last_rx_tick < NEW_STREAM_TICKS:
                if pt == params.dtmf_pt and params.receives:
                    # Some senders (gateways, sipp's pcap replay) send telephone-events in a
                    # stream of their own beside the audio: from the latched address they are
                    # key presses, not a hijack, and they touch no audio stream state.
                    st.packets_received += 1
                    self._feed_dtmf(tick, ts, payload)
                    return
                st.stray += 1
                return
            self._new_stream(ssrc, seq)
        self._last_rx_tick = tick
        ext = self._extend(seq)
        st.packets_received += 1
        if not params.receives:
            return
        if is_audio:
            transit = arrival * 8000.0 - ts
            if self._transit is not None:
                d = abs(transit - self._transit)
                st.jitter += (d - st.jitter) / 16.0
            self._transit = transit
            if self._next is not None and ext < self._next:
                st.late += 1
                return
            self._buf[ext] = payload
        elif pt == params.dtmf_pt:
            self._feed_dtmf(tick, ts, payload)

    def _feed_dtmf(self, tick: int, ts: int, payload: bytes) -> None:
        self._last_dtmf_tick = tick
        try:
            digits = self._dtmf_rx.feed(ts, payload)
        except DtmfError:
            self.stats.stray += 1
            return
        for digit, ms in digits:
            self.engine._dtmf_events.append((self, digit, ms))

    def _new_stream(self, ssrc: int, seq: int) -> None:
        self.rx_ssrc = ssrc
        self.stats.base_seq = None
        self._buf.clear()
        self._next = None
        self._transit = None

    def _extend(self, seq: int) -> int:
        st = self.stats
        if st.base_seq is None:
            st.base_seq = st.max_seq = seq
            return seq
        delta = (seq - st.max_seq) & 0xFFFF
        ext = st.max_seq + delta if delta < 0x8000 else st.max_seq - (0x10000 - delta)
        if ext > st.max_seq:
            st.max_seq = ext
        return ext

    def playout(self) -> bytes | None:
        """The payload to play this tick, or None (silence)."""
        buf = self._buf
        if self._next is None:
            if not buf:
                return None
            self._wait += 1
            if len(buf) < PREFETCH and self._wait < PREFETCH:
                return None
            self._next = min(buf)
            self._wait = 0
        while len(buf) > MAX_DEPTH:
            oldest = min(buf)
            del buf[oldest]
            self._next = max(self._next, oldest + 1)
        payload = buf.pop(self._next, None)
        if payload is not None:
            self._next += 1
            return payload
        if buf:
            self._next += 1  # lost (or a telephone-event took this sequence number)
            return None
        # Underrun: re-prime so the next burst gets buffered before playing again.
        self.stats.underruns += 1
        self._next = None
        return None

    def expire_dtmf(self, tick: int) -> None:
        if self._dtmf_rx.pending and tick - self._last_dtmf_tick > DTMF_TIMEOUT_TICKS:
            self.flush_dtmf()

    def flush_dtmf(self) -> None:
        for digit, ms in self._dtmf_rx.flush():
            self.engine._dtmf_events.append((self, digit, ms))

    @property
    def dtmf_pending_rx(self) -> bool:
        return self._dtmf_rx.pending

    # -- send path -----------------------------------------------------------------------

    def next_dtmf_packet(self) -> tuple[bytes, bool, int] | None:
        """(payload, marker, event timestamp) if a telephone-event is due this tick."""
        while True:
            if self._train is None:
                if not self._dtmf_queue:
                    return None
                digit, ms = self._dtmf_queue.popleft()
                self._train = dtmf_train(digit, ms)
                self._train_ts = self.ts
            pkt = next(self._train, None)
            if pkt is not None:
                return pkt.payload, pkt.marker, self._train_ts
            self._train = None

    @property
    def dtmf_active(self) -> bool:
        return self._train is not None or bool(self._dtmf_queue)

    def next_inband(self) -> npt.NDArray[np.int16] | None:
        return self._inband.popleft() if self._inband else None

    @property
    def send_pending(self) -> bool:
        return self.dtmf_active or bool(self._inband)
