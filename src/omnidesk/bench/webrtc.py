"""`omnidesk bench webrtc`: concurrent browser-phone calls with audio through the media engine.

What runs where (three processes, so the server's figures are its own):
- this process is the server side: voice's media engine and the browser phones' WebRTC end
  (aiortc behind the loopback relay, exactly as `omnidesk serve` runs them, ADR 0030); each call
  is a caller leg bridged to a browser phone's leg;
- the browsers are aiortc peers in a child process (`--browsers`), not Chromium pages: each
  offers audio with its own 1000 Hz tone as Chromium's desk does (DTLS-SRTP, ICE on loopback),
  and times the caller's audio as it arrives;
- the SIP callers are plain RTP far ends in another child process (the one `bench media` uses),
  each sending a 600 Hz tone and timing arrivals with the kernel's receive timestamps.

Figures: the interval between packets as the callers receive them (p50/p99/max) and as the
browsers receive them (out of SRTP), loss, whether each side heard the other's tone, the
server's CPU and memory. Issue 17's target: 50 calls with p99 < 30 ms. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import sys
import time
import uuid
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket
from av import AudioFrame, Packet

from omnidesk.bench.media import AGENT_HZ, CALLER_HZ, _pct, _rss_mb
from omnidesk.channels.voice.media.analysis import dominant_tones, tone
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.g711 import decode_table, encode_table
from omnidesk.channels.voice.media.sdp import (
    MediaParams,
    SessionDescription,
    accept_answer,
    make_offer,
)
from omnidesk.channels.voice.webrtc import (
    BrowserCall,
    BrowserPhones,
    G711Tap,
    g711_payload_types,
    negotiated_codec,
)

BROWSER_HZ = AGENT_HZ
# How long the browsers may take to connect (ICE and DTLS of every call) before it is a failure.
CONNECT_SECONDS = 60.0


def run(calls: int = 50, seconds: float = 10.0, *, warmup: float = 2.0) -> dict[str, Any]:
    return asyncio.run(_run(calls, seconds, warmup))


async def _child(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )


async def _send(proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    await proc.stdin.drain()


async def _receive(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    line = await proc.stdout.readline()
    if not line:
        raise RuntimeError(f"a bench child process ended early (exit code {await proc.wait()})")
    return dict(json.loads(line))


async def _connect_browsers(
    engine: MediaEngine,
    phones: BrowserPhones,
    browsers: asyncio.subprocess.Process,
    n: int,
    rings: list[BrowserCall],
) -> list[Any]:
    """n browser phones rung and answered by the child's peers (into `rings`); their engine
    legs, configured."""
    await _send(browsers, {"calls": n})
    offers = [(await _receive(browsers))["offer"] for _ in range(n)]
    legs = []
    tenant = uuid.uuid4()
    for i, sdp in enumerate(offers):
        leg = await engine.open_leg()
        offer = make_offer(local_ip="127.0.0.1", local_port=leg.local_port, dtmf_pt=None)
        ring = phones.invite(
            phones.register(tenant, uuid.uuid4()), f"bench-{i}", offer.build().encode()
        )
        await _send(browsers, {"answer": await ring.answer_browser(sdp)})
        leg.configure(accept_answer(offer, SessionDescription.parse(await ring.wait_answer())))
        legs.append(leg)
        rings.append(ring)
    connected = await asyncio.wait_for(_receive(browsers), CONNECT_SECONDS)
    if connected.get("connected") != n:
        raise RuntimeError(f"only {connected.get('connected')} of {n} browsers connected")
    return legs


async def _run(n: int, seconds: float, warmup: float) -> dict[str, Any]:
    engine = MediaEngine(host="127.0.0.1", port_range=None)
    await engine.start()
    phones = BrowserPhones("127.0.0.1")
    browsers = await _child("omnidesk.bench.webrtc", "--browsers")
    callers = await _child("omnidesk.bench.media", "--peer")
    rings: list[BrowserCall] = []
    try:
        started = time.monotonic()
        browser_legs = await _connect_browsers(engine, phones, browsers, n, rings)
        setup = time.monotonic() - started
        caller_legs = [await engine.open_leg() for _ in range(n)]
        await _send(
            callers,
            {
                "targets": [leg.local_port for leg in caller_legs],
                "seconds": seconds,
                "warmup": warmup,
                "tone_hz": [CALLER_HZ] * n,
                "expect_hz": {i: BROWSER_HZ for i in range(min(n, 2))},
            },
        )
        ports = (await _receive(callers))["ports"]
        for caller, browser, port in zip(caller_legs, browser_legs, ports, strict=True):
            caller.configure(MediaParams("127.0.0.1", port, 0, "PCMU", 101))
            engine.bridge(caller, browser)
        await asyncio.sleep(warmup)
        await _send(browsers, {"measure": True})
        engine.reset_send_stats()
        late0 = engine.stats.late_ticks
        # Other work on the machine moves the intervals (the server waits for a core) more
        # than the CPU per call, so the load is reported beside them.
        load0 = [round(x, 2) for x in os.getloadavg()]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100.0
        figures: dict[str, Any] = {
            "calls": n,
            "browser_side": "aiortc peers in a child process (not Chromium pages)",
            "seconds": seconds,
            "setup_seconds": round(setup, 1),
            "engine_send_interval_p99_ms": round(engine.send_interval_ms(0.99) or 0.0, 2),
            "late_ticks": engine.stats.late_ticks - late0,
            "server_cpu_percent": round(cpu, 1),
            "server_cpu_percent_per_call": round(cpu / n, 2),
            "server_rss_mb": round(_rss_mb(), 1),
            "calls_up_at_end": sum(ring.state == "confirmed" for ring in rings),
        }
        far = await _receive(callers)
        await _send(browsers, {"stop": True})
        near = await _receive(browsers)
        figures |= {f"caller_{k}": v for k, v in far.items()}
        figures |= {f"browser_{k}": v for k, v in near.items()}
        figures["machine"] = {
            "cores": os.cpu_count(),
            "load_average_start": load0,
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        }
        figures["target"] = {"calls": 50, "rx_interval_p99_ms": 30}
        return figures
    finally:
        for proc in (browsers, callers):
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
        for ring in rings:  # answered calls are the call's to end, not the phones'
            await ring.bye()
        await phones.close()
        await engine.stop()


# -- the browsers (child process) ------------------------------------------------------------


class ToneTrack(MediaStreamTrack):
    """A microphone playing a tone, paced in real time (20 ms frames at 8 kHz); the tests'
    aiortc browsers use it too.

    With `codec` set (PCMU or PCMA, the one negotiated) it hands aiortc the tone already
    encoded, as `av.Packet`s aiortc sends without its per-frame encode: the bench's browsers
    then cost what a browser's own media stack would not (the server's end does the same
    with the mix, ADR 0030)."""

    kind = "audio"

    def __init__(self, hz: float) -> None:
        super().__init__()
        # One second of the tone, played in a loop (a whole number of cycles for whole Hz).
        self.samples = tone(hz, 8000, -12.0)
        self.pos = 0
        self.start: float | None = None
        self.codec: str | None = None
        self._encodings: dict[str, bytes] = {}  # the second of tone, by codec

    async def recv(self) -> AudioFrame | Packet[Any]:
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = loop.time()
        await asyncio.sleep(max(0.0, self.start + self.pos / 8000 - loop.time()))
        at = self.pos % 8000
        chunk = self.samples[at : at + 160]
        frame: AudioFrame | Packet[Any]
        if self.codec is None:
            frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = 8000
        else:
            frame = Packet(self._encoded(self.codec)[at : at + 160])
        frame.pts = self.pos
        frame.time_base = fractions.Fraction(1, 8000)
        self.pos += 160
        return frame

    def _encoded(self, codec: str) -> bytes:
        encoded = self._encodings.get(codec)
        if encoded is None:
            encoded = encode_table(codec)[self.samples.view(np.uint16)].tobytes()
            self._encodings[codec] = encoded
        return encoded


class _Ear:
    """One browser's hearing: when each packet of the caller's audio arrived (out of SRTP),
    and a sample of it.

    It takes the packets from aiortc's receiver with the server's own `G711Tap`, not decoded
    frames from the receiver's track: a browser's media stack is native code, and aiortc's
    decoder thread in this process would cost the machine as much as the server's did
    (ADR 0030, "Revised"). The intervals are therefore the packets' arrival as the network
    delivers them, before any jitter buffer."""

    def __init__(self) -> None:
        self.measuring = False
        self.intervals: list[float] = []
        self.frames = 0
        self.last = 0.0
        self.sample: list[np.ndarray] = []

    def packet(self, packet: RtpPacket, law: str) -> None:
        now = time.perf_counter()
        if not self.measuring:
            return
        self.frames += 1
        if self.last:
            self.intervals.append((now - self.last) * 1000.0)
        self.last = now
        if len(self.sample) < 100:
            self.sample.append(decode_table(law)[np.frombuffer(packet.payload, np.uint8)])


async def _browsers() -> None:
    async def line() -> dict[str, Any]:
        return dict(json.loads(await asyncio.to_thread(sys.stdin.readline)))

    def say(message: dict[str, Any]) -> None:
        print(json.dumps(message), flush=True)

    n = int((await line())["calls"])
    peers: list[RTCPeerConnection] = []
    ears: list[_Ear] = []
    tracks: list[ToneTrack] = []
    connected = asyncio.Event()

    def on_state() -> None:
        if len(peers) == n and all(pc.connectionState == "connected" for pc in peers):
            connected.set()

    for _ in range(n):
        pc = RTCPeerConnection()
        ear = _Ear()
        pc.on("connectionstatechange", on_state)
        tracks.append(ToneTrack(BROWSER_HZ))
        pc.addTrack(tracks[-1])
        await pc.setLocalDescription(await pc.createOffer())
        peers.append(pc)
        ears.append(ear)
        say({"offer": pc.localDescription.sdp})
    for pc, track, ear in zip(peers, tracks, ears, strict=True):
        answer = (await line())["answer"]
        track.codec = negotiated_codec(answer)  # before aiortc's sender asks for audio
        # (Before the answer is applied: that starts the connection, and with it the receiver.)
        G711Tap(pc.getTransceivers()[0].receiver, g711_payload_types(answer), ear.packet)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(connected.wait(), CONNECT_SECONDS)
    say({"connected": sum(pc.connectionState == "connected" for pc in peers)})
    await line()  # measure
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for ear in ears:
        ear.measuring = True
    await line()  # stop
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100.0
    intervals = np.asarray([i for ear in ears for i in ear.intervals])
    pcm = np.concatenate(ears[0].sample) if ears and ears[0].sample else np.zeros(0)
    wins = dominant_tones(pcm, [CALLER_HZ, AGENT_HZ], 200) if pcm.size else []
    say(
        {
            "rx_frames": sum(ear.frames for ear in ears),
            "rx_interval_p50_ms": _pct(intervals, 50),
            "rx_interval_p99_ms": _pct(intervals, 99),
            "rx_interval_max_ms": _pct(intervals, 100),
            "heard_the_caller": bool(wins) and all(w == {CALLER_HZ} for w in wins[1:]),
            "peers_cpu_percent": round(cpu, 1),
            "peers_cpu_percent_per_call": round(cpu / n, 2),
        }
    )
    for pc in peers:
        await pc.close()


def main(argv: list[str] | None = None) -> None:
    """The browsers' child process only; people run `omnidesk bench webrtc`."""
    parser = argparse.ArgumentParser(description="The browsers of `omnidesk bench webrtc`.")
    parser.add_argument("--browsers", action="store_true", required=True)
    parser.parse_args(argv)
    asyncio.run(_browsers())


if __name__ == "__main__":
    main()
