"""The browser phone: an agent's browser as the agent side of a call, over WebRTC (ADR 0030).

aiortc does ICE, DTLS-SRTP and G.711 with the browser. The media engine only speaks plain RTP
on UDP sockets, so each browser call gets a *relay*: a loopback UDP socket that is the far end
of an ordinary engine leg. Audio from the browser (decoded by aiortc) is re-encoded as G.711
and sent to the leg as RTP; the leg's RTP (the mix the agent hears) is decoded and handed to
aiortc as the browser's track. To the call modules a ringing browser phone looks like a SIP
softphone being INVITEd: `BrowserCall` has the part of `OutgoingCall` they use (wait_answer,
hang_up, bye, on_ended, state), so routing's offer, answering, recording, hold music and
hang-up go through the same code as for a SIP phone.

Signalling is one HTTP exchange: the desk posts the browser's offer (ICE gathered, no trickle:
aiortc does not trickle) when the agent answers and gets aiortc's answer back.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from av import AudioFrame, AudioResampler

from omnidesk.channels.voice.media.g711 import decode_table, encode_table
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.rtp import build_header
from omnidesk.channels.voice.media.sdp import SessionDescription
from omnidesk.channels.voice.quality import SAMPLE_EVERY_S, WebRtcSampler
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)

FRAME = 160  # 20 ms at 8 kHz, the engine's frame
RATE = 8000
_QUEUE_FRAMES = 10  # at most 200 ms of the mix waits for aiortc; older frames are dropped
_G711 = ("audio/PCMU", "audio/PCMA")


class OfferRefused(ValueError):
    """The browser's offer cannot be answered (the reason is for the agent and the log)."""


def check_offer(sdp: str) -> None:
    """Refuse an offer WebRTC must not answer: no audio, or an audio section without a DTLS
    fingerprint (without one the media would not be authenticated: RFC 8827 §6.5)."""
    try:
        parsed = SessionDescription.parse(sdp)
    except ValueError as exc:
        raise OfferRefused(f"not an SDP offer: {exc}") from exc
    audio = [m for m in parsed.media if m.media == "audio" and m.port != 0]
    if not audio:
        raise OfferRefused("the offer has no audio")
    session_fp = any(k == "fingerprint" and v for k, v in parsed.attributes)
    for m in audio:
        if not session_fp and not any(v for v in m.attr("fingerprint")):
            raise OfferRefused("the offer has no DTLS fingerprint")
        if "UDP/TLS/RTP/SAVPF" not in m.proto:
            raise OfferRefused(f"the offer's audio is {m.proto}, not UDP/TLS/RTP/SAVPF")


@dataclass(frozen=True)
class BrowserPhone:
    """A user's registered browser phone."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    registered_at: datetime


@dataclass
class Dialling:
    """A browser phone's call whose number still rings (by call id, in `BrowserPhones.dialling`)."""

    tenant_id: uuid.UUID
    agent_id: str
    number: str
    browser: BrowserCall
    leg: Leg
    contact_id: str | None
    task: asyncio.Task[None] | None = None
    callee_id: str | None = None  # a call to another agent (agent_calls.py), not a number


class BrowserPhones:
    """Registered browser phones (in memory, like the SIP registrar: a desk registers again
    after a restart) and the calls ringing them, by routing offer (or, for a call from another
    agent, by the call's id: agent_calls.py)."""

    def __init__(self, host: str) -> None:
        self.host = host  # where the relay sockets listen (the engine's address)
        # STUN/TURN servers (voice_ice_servers): the server's peer connections and the desks'
        # use the same ones. Empty: host candidates only.
        self.ice_servers: list[RTCIceServer] = []
        self._phones: dict[tuple[uuid.UUID, uuid.UUID], BrowserPhone] = {}
        self.ringing: dict[str, BrowserCall] = {}  # ring (offer) id → the call ringing it
        # The calls out of a browser whose number still rings, by call id (browser_dial.py).
        self.dialling: dict[str, Dialling] = {}
        # (An answered call is the call's own from then on: ending.py hangs it up.)

    def register(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> BrowserPhone:
        key = (tenant_id, user_id)
        phone = self._phones.get(key)
        if phone is None:
            phone = BrowserPhone(tenant_id, user_id, datetime.now(UTC))
            self._phones[key] = phone
            log.info("voice.browser_phone_registered", user=str(user_id))
        return phone

    def unregister(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return self._phones.pop((tenant_id, user_id), None) is not None

    def get(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> BrowserPhone | None:
        return self._phones.get((tenant_id, user_id))

    def invite(self, phone: BrowserPhone, offer_id: str, engine_offer: bytes) -> BrowserCall:
        """Ring the browser for routing's offer: the returned call is answered when the desk
        posts the browser's offer (answer_browser)."""
        call = BrowserCall(self, phone, offer_id, engine_offer)
        self.ringing[offer_id] = call
        return call

    async def close(self) -> None:
        for call in list(self.ringing.values()):
            await call.bye()


class _MixTrack(MediaStreamTrack):
    """What the browser hears: the engine's mix for the agent leg, frame by frame as it comes
    (the engine's tick paces it; aiortc sends each frame as it is handed over)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.frames: asyncio.Queue[AudioFrame] = asyncio.Queue(_QUEUE_FRAMES)
        self._pts = 0

    def push(self, samples: np.ndarray) -> None:
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += samples.size
        if self.frames.full():
            self.frames.get_nowait()  # aiortc fell behind: keep latency bounded
        self.frames.put_nowait(frame)

    async def recv(self) -> AudioFrame:
        return await self.frames.get()


class _Relay(asyncio.DatagramProtocol):
    """The engine leg's far end: RTP in from the leg (the mix), RTP out to it (the browser)."""

    def __init__(self, track: _MixTrack, codec: str) -> None:
        self.track = track
        self.codec = codec
        self.transport: asyncio.DatagramTransport | None = None
        self.leg_addr: tuple[str, int] | None = None
        rng = np.random.default_rng()
        self.seq = int(rng.integers(0, 1 << 16))
        self.ts = int(rng.integers(0, 1 << 32))
        self.ssrc = int(rng.integers(0, 1 << 32))
        self.pt = 0 if codec == "PCMU" else 8
        self._pending = np.zeros(0, dtype=np.int16)
        self.sent = 0
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or addr != self.leg_addr or (data[1] & 0x7F) not in (0, 8):
            return  # not the leg's audio (telephone-events are not passed to the browser)
        table = decode_table("PCMU" if data[1] & 0x7F == 0 else "PCMA")
        self.received += 1
        self.track.push(table[np.frombuffer(data, dtype=np.uint8, offset=12)])

    def send(self, samples: np.ndarray) -> None:
        """The browser's audio (8 kHz mono) to the leg, in 20 ms packets."""
        pending = np.concatenate((self._pending, samples))
        table = encode_table(self.codec)
        while pending.size >= FRAME and self.transport is not None and self.leg_addr:
            frame, pending = pending[:FRAME], pending[FRAME:]
            header = build_header(self.pt, self.seq, self.ts, self.ssrc, marker=self.sent == 0)
            payload = table[frame.view(np.uint16)].tobytes()
            self.transport.sendto(header + payload, self.leg_addr)
            self.seq = (self.seq + 1) & 0xFFFF
            self.ts = (self.ts + FRAME) & 0xFFFFFFFF
            self.sent += 1
        self._pending = pending


class BrowserCall:
    """A browser phone rung for one offer; to the call modules, an outgoing SIP call."""

    def __init__(
        self, phones: BrowserPhones, phone: BrowserPhone, offer_id: str, engine_offer: bytes
    ) -> None:
        self._phones = phones
        self.phone = phone
        self.offer_id = offer_id
        self.engine_offer = SessionDescription.parse(engine_offer)
        self.state = "early"  # early → confirmed → ended, as a SIP call's
        self.end_reason = ""
        self.on_ended: Callable[[str], Awaitable[None]] | None = None
        self.on_reinvite: Callable[[bytes], Any] | None = None
        self.on_info: Callable[[str, bytes], Awaitable[None]] | None = None  # (never: no SIP)
        self._answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.pc: RTCPeerConnection | None = None
        self.relay: _Relay | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.quality = WebRtcSampler()  # the leg's audio figures (quality.py)

    # --- what the call modules use (OutgoingCall's surface) ------------------------------

    async def wait_answer(self) -> bytes:
        return await asyncio.shield(self._answer)

    async def hang_up(self) -> None:
        await self.bye()

    async def cancel(self) -> None:
        await self.bye()

    async def bye(self) -> None:
        await self._end("hung up by Omnidesk", notify=False)

    # --- the desk's answer ---------------------------------------------------------------

    async def answer_browser(self, sdp: str) -> str:
        """Answer the browser's offer with aiortc; the engine leg's answer (the relay's
        address) then resolves wait_answer. OfferRefused fails the ring (back to the queue)."""
        if self.state != "early" or self._answer.done():
            raise OfferRefused("the call is no longer ringing")
        try:
            check_offer(sdp)
            answer = await self._connect(sdp)
        except Exception as exc:
            # (Logged by the caller, with who sent it: webrtc_endpoints.py.)
            reason = str(exc) if isinstance(exc, OfferRefused) else f"WebRTC failed: {exc}"
            self._fail(488, reason)
            await self._end(reason, notify=False)
            raise OfferRefused(reason) from exc
        self.state = "confirmed"
        # Answered once: a replayed answer for this offer finds nothing ringing (404).
        self._phones.ringing.pop(self.offer_id, None)
        self._answer.set_result(self._engine_answer())
        self._tasks.append(asyncio.create_task(self._sample_quality(), name="browser-quality"))
        return answer

    async def _connect(self, sdp: str) -> str:
        audio = self.engine_offer.media[0]
        codec = "PCMU" if "0" in audio.formats else "PCMA"
        track = _MixTrack()
        loop = asyncio.get_running_loop()
        _, relay = await loop.create_datagram_endpoint(
            lambda: _Relay(track, codec), local_addr=(self._phones.host, 0)
        )
        self.relay = relay
        leg_host = audio.connection or self.engine_offer.connection or self._phones.host
        relay.leg_addr = (leg_host, audio.port)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._phones.ice_servers))
        self.pc = pc
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)
        # G.711 only (the engine's codecs: no transcoding beyond μ/A-law and back). aiortc
        # negotiates codecs when the offer is applied, with the preferences of a transceiver
        # that already exists (it takes the offer's audio line), so the transceiver comes
        # first: set after the offer, the preferences were ignored and a browser offering Opus
        # first got Opus (48 kHz, resampled both ways: the bench's cost per call doubled).
        codecs = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType in _G711]
        transceiver = pc.addTransceiver(track, direction="sendrecv")
        transceiver.setCodecPreferences(codecs)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if transceiver.mid is None:
            raise OfferRefused("the offer has no audio")
        await pc.setLocalDescription(await pc.createAnswer())  # gathers ICE (no trickle)
        return str(pc.localDescription.sdp)

    def _engine_answer(self) -> bytes:
        assert self.relay is not None and self.relay.transport is not None
        host, port = self.relay.transport.get_extra_info("sockname")[:2]
        pt = self.relay.pt
        return (
            f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=browser\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {self.relay.codec}/8000\r\n"
            "a=ptime:20\r\na=sendrecv\r\n"
        ).encode()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.create_task(self._pump(track), name="browser-audio"))

    async def _pump(self, track: MediaStreamTrack) -> None:
        """The browser's audio, as aiortc decoded it, on to the engine leg."""
        resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        with contextlib.suppress(Exception):  # MediaStreamError: the track ended
            while True:
                frame = await track.recv()
                if not isinstance(frame, AudioFrame):
                    continue
                for out in resampler.resample(frame):
                    if self.relay is not None:
                        self.relay.send(out.to_ndarray().reshape(-1).astype(np.int16))

    async def _sample_quality(self) -> None:
        # Sampled through the call, not only at its end: jitter and round trip are gauges
        # (the worst moment matters), and a browser that vanishes closes the connection
        # before the hang-up could ask.
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            await self.sample_quality()

    async def sample_quality(self) -> None:
        if self.pc is not None:
            with contextlib.suppress(Exception):  # a closing connection has no report
                self.quality.add(await self.pc.getStats())

    async def _on_state(self) -> None:
        if self.pc is None:
            return
        log.info("voice.browser_connection", offer=self.offer_id, state=self.pc.connectionState)
        if self.pc.connectionState in ("failed", "closed"):
            await self._end(f"browser connection {self.pc.connectionState}", notify=True)

    # --- ending --------------------------------------------------------------------------

    def _fail(self, status: int, reason: str) -> None:
        if not self._answer.done():
            self._answer.set_exception(CallFailed(status, reason))
            self._answer.exception()  # retrieved: nobody may await it after a cancel

    async def _end(self, reason: str, *, notify: bool) -> None:
        if self.state == "ended":
            return
        self.state = "ended"
        self.end_reason = reason
        self._phones.ringing.pop(self.offer_id, None)
        self._fail(487, reason)
        for task in self._tasks:
            task.cancel()
        await self.sample_quality()  # the call's totals, before the connection closes
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        if self.relay is not None and self.relay.transport is not None:
            self.relay.transport.close()
        if notify and self.on_ended is not None:
            await self.on_ended(reason)
