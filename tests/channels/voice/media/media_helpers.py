"""Far ends for engine tests: plain asyncio UDP endpoints speaking RTP on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import numpy as np
import numpy.typing as npt
import pytest

from omnidesk.channels.voice.media.analysis import dominant_tones, tone
from omnidesk.channels.voice.media.dtmf import DtmfReceiver
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.g711 import decode_table, encode_table
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.rtp import RtpPacket
from omnidesk.channels.voice.media.sdp import CODEC_PT, MediaParams

TONES = (600.0, 1000.0, 1500.0)


class FarEnd(asyncio.DatagramProtocol):
    def __init__(self, freq: float | None, codec: str = "PCMU", dtmf_pt: int | None = 101) -> None:
        self.freq = freq
        self.codec = codec
        self.pt = CODEC_PT[codec]
        self.dtmf_pt = dtmf_pt
        self.packets: list[RtpPacket] = []
        self.digits: list[tuple[str, int]] = []
        self._dtmf = DtmfReceiver()
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.target: tuple[str, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self.ssrc = random.getrandbits(32)
        self.seq = 0
        self.ts = 0
        self.sent = 0

    async def open(self) -> FarEnd:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        pkt = RtpPacket.parse(data)
        self.packets.append(pkt)
        if pkt.payload_type == self.dtmf_pt:
            self.digits += self._dtmf.feed(pkt.timestamp, pkt.payload)

    def params(self) -> MediaParams:
        return MediaParams("127.0.0.1", self.port, self.pt, self.codec, self.dtmf_pt)

    def start_sending(self, engine_port: int) -> None:
        self.target = ("127.0.0.1", engine_port)
        if self.freq is not None:
            self._task = asyncio.get_running_loop().create_task(self._send_loop())

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        k = 0
        while True:
            assert self.freq is not None
            self.send_frame(tone(self.freq, 160, -12.0, start=k * 160))
            k += 1
            await asyncio.sleep(max(0.0, start + k * 0.02 - loop.time()))

    def send_frame(self, samples: npt.NDArray[np.int16], pt: int | None = None) -> None:
        payload = encode_table(self.codec)[samples.view(np.uint16)].tobytes()
        self.send_raw(payload, pt if pt is not None else self.pt)

    def send_raw(
        self, payload: bytes, pt: int, marker: bool = False, ts: int | None = None
    ) -> None:
        assert self.transport is not None and self.target is not None
        pkt = RtpPacket(pt, self.seq, self.ts if ts is None else ts, self.ssrc, payload, marker)
        self.transport.sendto(pkt.build(), self.target)
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + 160) & 0xFFFFFFFF
        self.sent += 1

    def audio(self) -> npt.NDArray[np.int16]:
        frames = sorted(
            (p for p in self.packets if p.payload_type == self.pt), key=lambda p: p.sequence
        )
        if not frames:
            return np.zeros(0, dtype=np.int16)
        codes = np.frombuffer(b"".join(p.payload for p in frames), dtype=np.uint8)
        out: npt.NDArray[np.int16] = decode_table(self.codec)[codes]
        return out

    def clear(self) -> None:
        self.packets.clear()

    def heard(self, settle_windows: int = 1) -> set[float]:
        """Tones present in (nearly) every 200 ms window of what was received since clear()."""
        wins = dominant_tones(self.audio(), TONES, 200)[settle_windows:]
        assert wins, "nothing received"
        present = set()
        for f in TONES:
            if sum(f in w for w in wins) >= 0.8 * len(wins):
                present.add(f)
        return present

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.transport is not None:
            self.transport.close()


async def open_pair(engine: MediaEngine, far: FarEnd) -> Leg:
    await far.open()
    leg = await engine.open_leg()
    leg.configure(far.params())
    far.start_sending(leg.local_port)
    return leg


async def listen_for(fars: list[FarEnd], seconds: float) -> None:
    for f in fars:
        f.clear()
    await asyncio.sleep(seconds)


@pytest.fixture(name="engine")
async def media_engine() -> AsyncIterator[MediaEngine]:
    """A started engine on ephemeral ports (imported by the tests that use it)."""
    eng = MediaEngine(port_range=None)
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()
