"""The media engine: one asyncio tick every 20 ms serves every leg with batched numpy work.

Per tick: read every readable RTP socket (epoll, no per-packet callbacks), play out one frame
per leg from its jitter buffer and decode all frames of a codec with one table lookup, mix with
one sparse gain-matrix product (listeners x sources), encode with one lookup, build all RTP
headers as one structured array and send one packet per sending leg, then feed recorders.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import select
import socket
import struct
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse

from omnidesk.channels.voice.media.g711 import decode_table, encode_table
from omnidesk.channels.voice.media.graph import MixGraph
from omnidesk.channels.voice.media.leg import FRAME, HIST_BIN_MS, HIST_BINS, Leg, hist_quantile
from omnidesk.channels.voice.media.players import Playlist
from omnidesk.channels.voice.media.recorder import Heard, Recorder
from omnidesk.channels.voice.media.rtp import build_header

log = logging.getLogger(__name__)

TICK = 0.020
SYNC_TICKS = 50  # recorders are flushed and fsynced about once a second
_SO_TIMESTAMPNS = 35  # Linux: kernel receive timestamps (accurate jitter despite batched reads)
_TS = struct.Struct("qq")
_PACKET = np.dtype(
    [
        ("b0", "u1"),
        ("b1", "u1"),
        ("seq", ">u2"),
        ("ts", ">u4"),
        ("ssrc", ">u4"),
        ("payload", "u1", (FRAME,)),
    ]
)


@dataclass(slots=True)
class EngineStats:
    ticks: int = 0
    late_ticks: int = 0  # woke up after the deadline
    skipped_ticks: int = 0  # whole periods skipped because we were more than a tick late
    tick_hist: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(HIST_BINS, dtype=np.int64)
    )

    def tick_ms(self, q: float) -> float | None:
        return hist_quantile(self.tick_hist, q)


class MediaEngine(MixGraph):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port_range: tuple[int, int] | None = (20000, 40000),
    ) -> None:
        self.host = host
        self.port_range = port_range
        self._port_cursor = port_range[0] if port_range else 0
        self.stats = EngineStats()
        self._legs: list[Leg | None] = []
        self._free: list[int] = []
        self._by_fd: dict[int, Leg] = {}
        self._poller = select.epoll() if hasattr(select, "epoll") else select.poll()
        MixGraph.__init__(self)
        self._recorders: dict[Recorder, int] = {}  # → the tick phase of its sync
        self._rec_dirty = True
        self._rec_n = -1
        self._rec_rows: list[tuple[Recorder, int, int]] = []
        self._rec_matrix = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._dtmf_events: list[tuple[Leg, str, int]] = []
        # Per-slot send state as arrays so all RTP headers are built in one go.
        self._cap = 0
        self._seq = np.zeros(0, dtype=np.int64)
        self._ts_off = np.zeros(0, dtype=np.int64)
        self._ssrc = np.zeros(0, dtype=np.uint32)
        self._pt = np.zeros(0, dtype=np.uint8)
        self._alaw = np.zeros(0, dtype=np.bool_)
        self._sending = np.zeros(0, dtype=np.bool_)
        self._marker = np.zeros(0, dtype=np.bool_)
        self._last_send = np.zeros(0)
        self._hist = np.zeros((0, HIST_BINS), dtype=np.int64)
        self._clock = 0  # media clock, in samples since start
        self._special: set[Leg] = set()  # legs with DTMF or in-band audio queued
        self._task: asyncio.Task[None] | None = None
        self._writer: ThreadPoolExecutor | None = None  # recorder file I/O, off the loop
        self._tick_no = 0
        self._kernel_ts = sys.platform.startswith("linux")

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
            self._task = asyncio.get_running_loop().create_task(self._run(), name="media-tick")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for rec in list(self._recorders):
            await self.detach_recorder(rec)
        for leg in [x for x in self._legs if x is not None]:
            await self.close_leg(leg)
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    @property
    def legs(self) -> list[Leg]:
        return [x for x in self._legs if x is not None]

    async def open_leg(self) -> Leg:
        sock = self._bind_even()
        if self._kernel_ts:
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            except OSError:
                self._kernel_ts = False
        if self._free:
            slot = self._free.pop()
        else:
            slot = len(self._legs)
            self._legs.append(None)
            self._grow(slot + 1)
            self._dirty = True
        leg = Leg(self, sock, slot)
        self._legs[slot] = leg
        rng = np.random.default_rng()
        self._seq[slot] = rng.integers(0, 1 << 16)
        self._ts_off[slot] = rng.integers(0, 1 << 32)
        self._ssrc[slot] = rng.integers(0, 1 << 32)
        self._sending[slot] = False
        self._marker[slot] = True
        self._last_send[slot] = 0.0
        self._hist[slot] = 0
        self._by_fd[sock.fileno()] = leg
        self._poller.register(sock.fileno(), select.POLLIN)
        return leg

    async def close_leg(self, leg: Leg) -> None:
        if leg.slot is None:
            return
        for key in [k for k in self._edges if leg in k]:
            del self._edges[key]
        self._drop_unused_players()
        fd = leg.sock.fileno()
        self._poller.unregister(fd)
        del self._by_fd[fd]
        leg.sock.close()
        self._legs[leg.slot] = None
        self._sending[leg.slot] = False
        self._special.discard(leg)
        self._free.append(leg.slot)
        leg.slot = None
        self._dirty = True
        self._rec_dirty = True  # its recorder channels fall silent

    def _bind_even(self) -> socket.socket:
        if self.port_range is None:
            # Ephemeral ports: keep odd ones bound while searching so the kernel moves on.
            odd: list[socket.socket] = []
            try:
                for _ in range(64):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.bind((self.host, 0))
                    if s.getsockname()[1] % 2 == 0:
                        s.setblocking(False)
                        return s
                    odd.append(s)
            finally:
                for s in odd:
                    s.close()
            raise OSError(errno.EADDRINUSE, "no even ephemeral port found")
        lo, hi = self.port_range
        lo += lo % 2
        span = max(1, (hi - lo) // 2)
        for _ in range(span):
            port = self._port_cursor + (self._port_cursor % 2)
            if port < lo or port >= hi:
                port = lo
            self._port_cursor = port + 2
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((self.host, port))
            except OSError:
                s.close()
                continue
            s.setblocking(False)
            return s
        raise OSError(errno.EADDRINUSE, f"no free even port in {self.port_range}")

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(64, 2 * self._cap, need)
        extra = cap - self._cap
        for name in ("_seq", "_ts_off", "_ssrc", "_pt", "_alaw", "_sending", "_marker"):
            arr = getattr(self, name)
            setattr(self, name, np.concatenate((arr, np.zeros(extra, dtype=arr.dtype))))
        self._last_send = np.concatenate((self._last_send, np.zeros(extra)))
        self._hist = np.vstack((self._hist, np.zeros((extra, HIST_BINS), dtype=np.int64)))
        self._cap = cap

    def _leg_changed(self, leg: Leg) -> None:
        slot, params = leg.slot, leg.params
        if slot is None or params is None:
            return
        sends = params.sends
        if sends and not self._sending[slot]:
            self._marker[slot] = True  # RFC 3550: marker on the first packet after a silence
        self._sending[slot] = sends
        self._pt[slot] = params.payload_type
        self._alaw[slot] = params.codec == "PCMA"
        self._dirty = True

    # -- recording -----------------------------------------------------------------------

    def attach_recorder(self, rec: Recorder) -> None:
        # Stagger the once-a-second syncs so 200 recorders do not fsync in the same tick.
        self._recorders[rec] = (self._tick_no + len(self._recorders) * 7) % SYNC_TICKS
        self._rec_dirty = True

    async def detach_recorder(self, rec: Recorder) -> None:
        if self._recorders.pop(rec, None) is None:
            return
        self._rec_dirty = True
        data = rec.take_pending()
        await asyncio.get_running_loop().run_in_executor(self._writer, rec.close, data)

    # -- the tick ------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        k = 0
        while True:
            k += 1
            skipped = 0
            delay = start + k * TICK - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                self.stats.late_ticks += 1
                if -delay >= TICK:
                    # Skip ahead instead of bursting; the RTP clock still advances.
                    skipped = int(-delay / TICK)
                    k += skipped
                    self.stats.skipped_ticks += skipped
                await asyncio.sleep(0)  # let signalling run even when overloaded
            t0 = time.perf_counter()
            try:
                self.tick(skipped)
            except Exception:  # a bug must not silence every call
                log.exception("media tick failed")
            ms = (time.perf_counter() - t0) * 1000.0
            self.stats.tick_hist[min(int(ms / HIST_BIN_MS), HIST_BINS - 1)] += 1

    def tick(self, skipped: int = 0) -> None:
        self._tick_no += 1
        self.stats.ticks += 1
        self._read_all()
        n = len(self._legs)
        if self._dirty or self._gain is None or self._gain.shape[0] != n:
            self._build_gain()
        said = self._play_out(n)
        heard = self._mix(said)
        self._send(heard, skipped)
        self._feed_recorders(said, heard)
        self._notify()

    def _read_all(self) -> None:
        by_fd = self._by_fd
        tick = self._tick_no
        budget = 8 * max(1, len(by_fd))  # bounded: a flood cannot stall the tick forever
        kernel_ts = self._kernel_ts
        cmsg = socket.CMSG_SPACE(16)
        while budget > 0:
            events = self._poller.poll(0)
            if not events:
                break
            for fd, _ in events:
                leg = by_fd.get(fd)
                if leg is None:
                    continue
                budget -= 1
                try:
                    if kernel_ts:
                        data, anc, _, addr = leg.sock.recvmsg(2048, cmsg)
                        arrival = time.time()
                        for level, kind, raw in anc:
                            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                                sec, nsec = _TS.unpack_from(raw)
                                arrival = sec + nsec * 1e-9
                    else:
                        data, addr = leg.sock.recvfrom(2048)
                        arrival = time.time()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    continue  # e.g. ICMP errors surfaced on the socket
                leg.receive(data, addr, arrival, tick)

    def _play_out(self, n: int) -> npt.NDArray[np.int16]:
        said = np.zeros((n, FRAME), dtype=np.int16)
        groups: dict[str, tuple[list[int], list[bytes]]] = {}
        for leg in self._legs:
            if leg is None or leg.params is None:
                continue
            payload = leg.playout()
            leg.expire_dtmf(self._tick_no)
            if payload is None or leg.muted or leg.slot is None:
                continue
            if len(payload) != FRAME:
                payload = payload[:FRAME].ljust(FRAME, b"\xff")  # only 20 ms ptime is offered
            slots, payloads = groups.setdefault(leg.params.codec, ([], []))
            slots.append(leg.slot)
            payloads.append(payload)
        for codec, (slots, payloads) in groups.items():
            codes = np.frombuffer(b"".join(payloads), dtype=np.uint8).reshape(-1, FRAME)
            said[slots] = decode_table(codec)[codes]
        return said

    def _mix(self, said: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        assert self._gain is not None
        n = said.shape[0]
        if self._gain.nnz == 0:
            return np.zeros_like(said)
        src = said.astype(np.float32)
        if self._players:
            frames = np.zeros((self._gain.shape[1] - n, FRAME), dtype=np.float32)
            for p, idx in self._players.items():
                frames[idx] = p.read()
            src = np.vstack((src, frames))
        mixed = self._gain @ src
        out: npt.NDArray[np.int16] = np.clip(mixed, -32768, 32767).astype(np.int16)
        return out

    def _send(self, heard: npt.NDArray[np.int16], skipped: int) -> None:
        self._clock += FRAME * (1 + skipped)  # skipped ticks still advance the RTP clock
        n = heard.shape[0]
        mask = self._sending[:n].copy()
        for leg in list(self._special):
            slot = leg.slot
            if slot is None or not leg.send_pending:
                self._special.discard(leg)
                continue
            if not mask[slot]:
                continue
            if leg.dtmf_active:
                if self._send_dtmf(leg):
                    mask[slot] = False  # the event replaces this tick's audio packet
                continue
            extra = leg.next_inband()
            if extra is not None:
                row = heard[slot].astype(np.int32) + extra
                heard[slot] = np.clip(row, -32768, 32767)
        slots = np.flatnonzero(mask)
        if slots.size == 0:
            return
        pkts = np.zeros(slots.size, dtype=_PACKET)
        pkts["b0"] = 0x80
        pkts["b1"] = self._pt[slots] | (self._marker[slots].astype(np.uint8) << 7)
        pkts["seq"] = self._seq[slots] & 0xFFFF
        pkts["ts"] = (self._ts_off[slots] + self._clock) & 0xFFFFFFFF
        pkts["ssrc"] = self._ssrc[slots]
        samples = heard[slots].view(np.uint16)
        pkts["payload"] = np.where(
            self._alaw[slots][:, None], encode_table("PCMA")[samples], encode_table("PCMU")[samples]
        )
        raw = memoryview(pkts.tobytes())
        size = _PACKET.itemsize
        sent_at = np.empty(slots.size)
        clock = time.perf_counter
        legs = self._legs
        for i, slot in enumerate(slots.tolist()):
            out = legs[slot]
            assert out is not None
            try:
                out.sock.sendto(raw[i * size : (i + 1) * size], out.remote)
                out.stats.packets_sent += 1
            except OSError:
                out.stats.send_errors += 1
            sent_at[i] = clock()
        self._seq[slots] += 1
        self._marker[slots] = False
        self._record_intervals(slots, sent_at)

    def _send_dtmf(self, leg: Leg) -> bool:
        params, slot = leg.params, leg.slot
        assert params is not None and slot is not None
        if params.dtmf_pt is None:
            return False
        item = leg.next_dtmf_packet()
        if item is None:
            return False
        payload, marker, ev_ts = item
        data = build_header(params.dtmf_pt, leg.seq, ev_ts, leg.ssrc, marker) + payload
        try:
            leg.sock.sendto(data, leg.remote)
            leg.stats.packets_sent += 1
        except OSError:
            leg.stats.send_errors += 1
        self._seq[slot] += 1
        self._record_intervals(np.array([slot], dtype=np.intp), np.array([time.perf_counter()]))
        return True

    def _record_intervals(
        self, slots: npt.NDArray[np.intp], sent_at: npt.NDArray[np.float64]
    ) -> None:
        prev = self._last_send[slots]
        self._last_send[slots] = sent_at
        have = prev > 0
        ms = (sent_at[have] - prev[have]) * 1000.0
        bins = np.minimum((ms / HIST_BIN_MS).astype(np.int64), HIST_BINS - 1)
        np.add.at(self._hist, (slots[have], bins), 1)

    def _build_recording(self, n: int) -> None:
        """One sparse matrix maps (what legs say ++ what legs hear) to every recorder channel."""
        rows: list[int] = []
        cols: list[int] = []
        self._rec_rows = []
        r = 0
        for rec in self._recorders:
            groups = [[s] for s in rec.sources] if rec.channels == 2 else [rec.sources]
            for ch, group in enumerate(groups):
                for src in group:
                    slot = src.leg.slot if isinstance(src, Heard) else src.slot
                    if slot is not None:
                        rows.append(r + ch)
                        cols.append(n + slot if isinstance(src, Heard) else slot)
            self._rec_rows.append((rec, r, rec.channels))
            r += rec.channels
        self._rec_matrix = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(r, 2 * n)
        )
        self._rec_n = n
        self._rec_dirty = False

    def _feed_recorders(self, said: npt.NDArray[np.int16], heard: npt.NDArray[np.int16]) -> None:
        if not self._recorders:
            return
        n = said.shape[0]
        if self._rec_dirty or self._rec_n != n:
            self._build_recording(n)
        both = np.vstack((said, heard)).astype(np.float32)
        out = np.clip(self._rec_matrix @ both, -32768, 32767).astype("<i2")
        phase = self._tick_no % SYNC_TICKS
        for rec, row, channels in self._rec_rows:
            if channels == 1:
                rec.append(out[row].tobytes())
            else:
                rec.append(out[row : row + 2].T.tobytes())  # interleave left/right
            if self._recorders[rec] == phase:
                if self._writer is None:  # tick() driven by hand, without start()
                    rec.sync()
                else:
                    self._writer.submit(rec.sync, rec.take_pending())

    def _notify(self) -> None:
        events, self._dtmf_events = self._dtmf_events, []
        for leg, digit, ms in events:
            # Barge-in: a key press stops the prompts this leg is listening to.
            for src in self.sources_of(leg):
                if isinstance(src, Playlist) and src.interrupt_on_digit:
                    src.stop()
            if leg.on_dtmf is not None:
                try:
                    leg.on_dtmf(digit, ms)
                except Exception:
                    log.exception("on_dtmf callback failed")
        for p in list(self._players):
            if p.take_notification():
                try:
                    p.notify()
                except Exception:
                    log.exception("player completion callback failed")

    # -- figures -------------------------------------------------------------------------

    def send_interval_ms(self, q: float) -> float | None:
        """Quantile of the interval between consecutive sends, over all legs."""
        return hist_quantile(self._hist.sum(axis=0), q)

    def reset_send_stats(self) -> None:
        self._hist[:] = 0
        self.stats.tick_hist[:] = 0
