"""The browser phone: an agent's browser as the agent side of a call, over WebRTC (ADR 0030).

aiortc does ICE, DTLS-SRTP and G.711 with the browser. The media engine only speaks plain RTP
on UDP sockets, so each browser call gets a *relay*: a loopback UDP socket that is the far end
of an ordinary engine leg. The browser's G.711 packets, as they come out of SRTP, go to the
leg byte for byte (`G711Tap`: aiortc's decoder is not used); the leg's RTP payload (the mix
the agent hears, already G.711) is handed to aiortc as encoded packets, which it sends without
decoding or encoding anything. Only with Opus (voice_webrtc_opus) does aiortc decode and
encode.
To the call modules a ringing browser phone looks like a SIP softphone being INVITEd:
`BrowserCall` has the part of `OutgoingCall` they use (wait_answer, hang_up, bye, on_ended,
state), so routing's offer, answering, recording, hold music and hang-up go through the same
code as for a SIP phone.

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
import numpy.typing as npt
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.rtcrtpreceiver import RTCRtpReceiver, StreamStatistics
from aiortc.rtp import RtpPacket
from av import AudioFrame, AudioResampler, Packet

from omnidesk.channels.voice.ice import IceSource, keep_candidates, servers_for
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
_TIME_BASE = fractions.Fraction(1, RATE)


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


def negotiated_codec(answer: str) -> str:
    """The codec of an answer's audio (its first format: the one aiortc sends): PCMU, PCMA, or
    OPUS where voice_webrtc_opus allowed it (names upper-case, as `rtpmap` gives them)."""
    for m in SessionDescription.parse(answer).media:
        if m.media == "audio" and m.port != 0 and m.formats:
            name = m.rtpmap().get(int(m.formats[0]), ("", 0))[0]
            if name in ("PCMU", "PCMA", "OPUS"):
                return name
    raise OfferRefused("the offer has no audio the server can take (G.711, or Opus if allowed)")


def g711_payload_types(answer: str) -> dict[int, str]:
    """An answer's G.711 payload types for audio, with their law (PCMU, PCMA)."""
    return {
        pt: name
        for m in SessionDescription.parse(answer).media
        if m.media == "audio" and m.port != 0
        for pt, (name, _) in m.rtpmap().items()
        if name in ("PCMU", "PCMA")
    }


def _is_engine_pcm(frame: AudioFrame) -> bool:
    return frame.format.name == "s16" and frame.layout.name == "mono" and frame.sample_rate == RATE


def _samples(frame: AudioFrame) -> npt.NDArray[np.int16]:
    """A mono s16 frame's samples, as a view of its buffer (a quarter of to_ndarray's cost)."""
    return np.frombuffer(memoryview(frame.planes[0]), dtype=np.int16, count=frame.samples)


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
        # use the same ones (TURN REST ones mint credentials per user: ice.py). Empty: host
        # candidates only.
        self.ice_servers: list[IceSource] = []
        # The addresses host candidates may be on (voice_webrtc_addresses); empty: all.
        self.addresses: list[str] = []
        # Opus first where the browser offers it (voice_webrtc_opus), else G.711 only.
        self.opus = False
        # How long an answered connection may take to come up (voice_webrtc_connect_timeout_
        # seconds) before the leg ends with "ICE did not complete"; 0: no deadline.
        self.connect_timeout_s = 10.0
        self._phones: dict[tuple[uuid.UUID, uuid.UUID], BrowserPhone] = {}
        self.ringing: dict[str, BrowserCall] = {}  # ring (offer) id → the call ringing it
        # The calls out of a browser whose number still rings, by call id (browser_dial.py).
        self.dialling: dict[str, Dialling] = {}
        # (An answered call is the call's own from then on: ending.py hangs it up.)
        # Legs rung for a call whose id was chosen before the call exists (a callback's), by
        # that id, until the leg ends: renegotiation finds them before the call is made.
        self.by_call: dict[str, BrowserCall] = {}

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

    def invite(
        self,
        phone: BrowserPhone,
        offer_id: str,
        engine_offer: bytes,
        call_id: str | None = None,
    ) -> BrowserCall:
        """Ring the browser for routing's offer: the returned call is answered when the desk
        posts the browser's offer (answer_browser). `call_id`: the id the call it rings for
        will have, when chosen ahead of the call (a callback's), else None."""
        call = BrowserCall(self, phone, offer_id, engine_offer)
        self.ringing[offer_id] = call
        if call_id is not None:
            call.call_id = call_id
            self.by_call[call_id] = call
        return call

    async def close(self) -> None:
        for call in list(self.ringing.values()):
            await call.bye()


class _MixTrack(MediaStreamTrack):
    """What the browser hears: the engine's mix for the agent leg, packet by packet as the leg
    sends it (the engine's tick paces them; aiortc sends each one as it is handed over).

    With G.711 negotiated (the default) the leg's payload goes to aiortc as an `av.Packet`:
    aiortc's sender takes a packet from a track as already encoded and only packs it into RTP,
    so there is no decode here and none of the per-frame work a frame costs it (the encoder on
    an executor thread, the audio-level pass); a leg in the other law is translated byte by
    byte. With Opus (voice_webrtc_opus) aiortc must encode, so it gets 8 kHz PCM frames.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.items: asyncio.Queue[Packet[Any] | AudioFrame] = asyncio.Queue(_QUEUE_FRAMES)
        self._pts = 0
        self._pcm = False
        # By the leg's payload type: how its payload becomes the browser's G.711.
        self._to_browser: dict[int, bytes | None] = {}

    def use(self, browser_codec: str) -> None:
        """The codec negotiated with the browser (set once its answer is made)."""
        self._pcm = browser_codec not in ("PCMU", "PCMA")
        if not self._pcm:
            self._to_browser = {
                0: g711_translation("PCMU", browser_codec),
                8: g711_translation("PCMA", browser_codec),
            }

    def push(self, pt: int, payload: bytes) -> None:
        """One packet of the leg's G.711 (payload type 0 or 8)."""
        item: Packet[Any] | AudioFrame
        if self._pcm:
            samples = decode_table("PCMU" if pt == 0 else "PCMA")[np.frombuffer(payload, np.uint8)]
            item = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            item.sample_rate = RATE
        else:
            table = self._to_browser[pt]
            item = Packet(payload if table is None else payload.translate(table))
        item.pts = self._pts  # aiortc's RTP timestamp: one G.711 byte is one sample
        item.time_base = _TIME_BASE
        self._pts += len(payload)
        if self.items.full():
            self.items.get_nowait()  # aiortc fell behind: keep latency bounded
        self.items.put_nowait(item)

    async def recv(self) -> Packet[Any] | AudioFrame:
        return await self.items.get()


def g711_translation(source: str, target: str) -> bytes | None:
    """A `bytes.translate` table from one G.711 law to the other (None: the same law)."""
    if source == target:
        return None
    pcm = decode_table(source).view(np.uint16)
    return bytes(encode_table(target)[pcm].tolist())


class G711Tap:
    """The browser's G.711 taken from aiortc's receiver as it comes out of SRTP, before the
    decoder: each packet goes to `sink` as it is (ADR 0030, "Revised: the browser's audio
    without aiortc's decoder").

    Why a private hook: aiortc 1.16's `RTCRtpReceiver` always hands complete frames to its own
    decoder thread (G.711 decoded to PCM by libav there, each frame handed back to the event
    loop across threads), and it has no public way to get encoded frames out of a receiver or
    to register a codec. That was the largest single cost per call (the decoder thread was
    27 % of the server's samples), only for the relay to encode the PCM back into the same
    G.711. The seam used instead is the one aiortc's own DTLS transport calls for every
    decrypted packet, `receiver._handle_rtp_packet(packet, arrival_time_ms)` (the
    `RtpReceiver` protocol in aiortc/rtcdtlstransport.py): it is replaced on this receiver
    instance only. What the replaced method did and the call still needs is done here: the
    direction check (`_enabled`) and the per-SSRC reception statistics, kept in the receiver's
    own table so that its RTCP receiver reports to the browser and `getStats()`'s
    `inbound-rtp` (the call's quality figures) read them as before. Left out: the jitter
    buffer (the engine leg has its own, by sequence number), the decoder thread's work, and
    `getSynchronizationSources()` (unused here). Everything aiortc-private is in this class;
    an aiortc without these names fails at construction (AttributeError: the call's answer
    fails, never silently), and tests/channels/voice/test_voice_webrtc_tap.py checks the
    names and that a call carries the browser's tone with the decoder never created.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        payload_types: dict[int, str],
        sink: Callable[[RtpPacket, str], None],
    ) -> None:
        self._receiver = receiver
        self._types = payload_types  # the answer's G.711 payload types → PCMU/PCMA
        self._sink = sink
        # The receiver's per-SSRC statistics (its RTCP reports and getStats read this table).
        self._streams: dict[int, StreamStatistics] = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        if not hasattr(receiver, "_enabled") or not callable(
            getattr(receiver, "_handle_rtp_packet", None)
        ):
            raise AttributeError("aiortc's RTCRtpReceiver no longer has the tapped hook")
        receiver._handle_rtp_packet = self._handle  # type: ignore[method-assign]

    async def _handle(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        if not self._receiver._enabled:
            return  # (the transceiver does not receive: as aiortc's own check)
        law = self._types.get(packet.payload_type)
        if law is None:
            return  # not negotiated: aiortc drops it too
        stream = self._streams.get(packet.ssrc)
        if stream is None:
            stream = self._streams[packet.ssrc] = StreamStatistics(RATE)
        stream.add(packet)
        self._sink(packet, law)


class _Relay(asyncio.DatagramProtocol):
    """The engine leg's far end: RTP in from the leg (the mix), RTP out to it (the browser)."""

    def __init__(self, track: _MixTrack, codec: str) -> None:
        self.track = track  # replaced when the browser renegotiates
        self.codec = codec  # the engine leg's
        self.transport: asyncio.DatagramTransport | None = None
        self.leg_addr: tuple[str, int] | None = None
        rng = np.random.default_rng()
        self.seq = int(rng.integers(0, 1 << 16))
        self.ts = int(rng.integers(0, 1 << 32))
        self.ssrc = int(rng.integers(0, 1 << 32))
        self.pt = 0 if codec == "PCMU" else 8
        self._encode = encode_table(codec)
        self._pending = np.zeros(0, dtype=np.int16)
        self.sent = 0
        self.received = 0
        # The browser's G.711 (forward): a translation table for the other law, by law; the
        # browser stream being renumbered into the relay's (its SSRC, offsets); and the bytes
        # of a packet that was not 20 ms, waiting to make one.
        self._from_browser = {law: g711_translation(law, codec) for law in ("PCMU", "PCMA")}
        self._src: int | None = None
        self._seq_off = 0
        self._ts_off = 0
        self._bytes = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        pt = data[1] & 0x7F if len(data) >= 12 else None
        if addr != self.leg_addr or pt not in (0, 8):
            return  # not the leg's audio (telephone-events are not passed to the browser)
        self.received += 1
        # The engine's header is fixed (12 bytes: no CSRCs, no extensions).
        self.track.push(pt, data[12:])

    def forward(self, packet: RtpPacket, law: str) -> None:
        """One of the browser's G.711 packets (from `G711Tap`) to the leg: its payload byte
        for byte (translated when the leg has the other law), its sequence number and timestamp
        moved into the relay's stream, so the leg's jitter buffer sees the browser's own
        losses and reordering and the stream goes on unbroken when a new connection (a new
        SSRC: renegotiate) takes over."""
        if self.transport is None or self.leg_addr is None:
            return
        table = self._from_browser[law]
        payload = packet.payload if table is None else packet.payload.translate(table)
        if len(payload) != FRAME or self._bytes:
            # Not 20 ms (the engine's frame; browsers send 20 ms G.711): re-cut in arrival
            # order, and the next 20 ms packet starts the renumbering again.
            self._src = None
            self._bytes += payload
            while len(self._bytes) >= FRAME:
                self._send_payload(self.seq, self.ts, self._bytes[:FRAME])
                self._bytes = self._bytes[FRAME:]
            return
        if packet.ssrc != self._src:
            self._src = packet.ssrc
            self._seq_off = (self.seq - packet.sequence_number) & 0xFFFF
            self._ts_off = (self.ts - packet.timestamp) & 0xFFFFFFFF
        seq = (packet.sequence_number + self._seq_off) & 0xFFFF
        ts = (packet.timestamp + self._ts_off) & 0xFFFFFFFF
        self._send_payload(seq, ts, payload)

    def _send_payload(self, seq: int, ts: int, payload: bytes) -> None:
        assert self.transport is not None and self.leg_addr is not None
        header = build_header(self.pt, seq, ts, self.ssrc, marker=self.sent == 0)
        self.transport.sendto(header + payload, self.leg_addr)
        self.sent += 1
        if (seq - self.seq) & 0xFFFF < 0x8000:  # the newest yet (not a late one): next after it
            self.seq = (seq + 1) & 0xFFFF
            self.ts = (ts + len(payload)) & 0xFFFFFFFF

    def send(self, samples: npt.NDArray[np.int16]) -> None:
        """The browser's audio decoded by aiortc (Opus only; 8 kHz mono) to the leg, in 20 ms
        packets."""
        pending = np.concatenate((self._pending, samples)) if self._pending.size else samples
        while pending.size >= FRAME and self.transport is not None and self.leg_addr:
            frame, pending = pending[:FRAME], pending[FRAME:]
            self._send_payload(self.seq, self.ts, self._encode[frame.view(np.uint16)].tobytes())
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
        self._deadline: asyncio.Task[None] | None = None  # _connect_deadline's
        self._connected = False  # the call's current connection came up (ICE and DTLS)
        self.quality = WebRtcSampler()  # the leg's audio figures (quality.py)
        # The call this leg is (or will be) the agent side of, when that call's id is chosen
        # before the call exists (a callback's: its call is made once the customer answers),
        # so the desk can renegotiate it meanwhile (`BrowserPhones.by_call`).
        self.call_id: str | None = None

    # --- what the call modules use (OutgoingCall's surface) ------------------------------

    async def wait_answer(self) -> bytes:
        return await asyncio.shield(self._answer)

    async def hang_up(self) -> None:
        await self.bye()

    async def cancel(self) -> None:
        await self.bye()

    async def bye(self) -> None:
        await self._end("hung up by Omnidesk", notify=False)

    async def decline(self) -> None:
        """The desk's Decline: the ring fails as a softphone's 603 would (ring_refusal:
        `declined`), so whoever rang hears of it at once rather than at the ring limit."""
        self._fail(603, "declined")
        await self._end("declined", notify=False)

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
        self._start_deadline()
        return answer

    async def _connect(self, sdp: str) -> str:
        track = _MixTrack()
        self.pc, answer = await self._peer(sdp, track)
        # The engine leg takes the browser's law when the engine offered it (it offers both),
        # so the mix passes through byte for byte; with Opus, the engine's first.
        browser_codec = negotiated_codec(answer)
        audio = self.engine_offer.media[0]
        offered = [name for name, _ in audio.rtpmap().values() if name in ("PCMU", "PCMA")]
        codec = browser_codec if browser_codec in offered else offered[0]
        loop = asyncio.get_running_loop()
        _, relay = await loop.create_datagram_endpoint(
            lambda: _Relay(track, codec), local_addr=(self._phones.host, 0)
        )
        self.relay = relay
        leg_host = audio.connection or self.engine_offer.connection or self._phones.host
        relay.leg_addr = (leg_host, audio.port)
        return answer

    async def _peer(self, sdp: str, track: _MixTrack) -> tuple[RTCPeerConnection, str]:
        """A peer connection answering the browser's offer with `track` as what it hears; on
        failure it is closed again (the call's current one, if any, is untouched)."""
        servers = servers_for(self._phones.ice_servers, "omnidesk")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        pc.on("track", self._on_track)

        async def on_state() -> None:
            await self._on_state(pc)

        pc.on("connectionstatechange", on_state)
        try:
            # G.711 only (the engine's codecs: no transcoding beyond μ/A-law and back). aiortc
            # negotiates codecs when the offer is applied, with the preferences of a
            # transceiver that already exists (it takes the offer's audio line), so the
            # transceiver comes first: set after the offer, the preferences were ignored and a
            # browser offering Opus first got Opus (48 kHz, resampled both ways: the bench's
            # cost per call doubled). With voice_webrtc_opus, Opus is allowed and preferred: its
            # loss concealment for a poor network, at that CPU cost (the relay stays 8 kHz:
            # aiortc resamples to and from Opus's 48 kHz).
            audio = RTCRtpSender.getCapabilities("audio").codecs
            wanted = ("audio/opus", *_G711) if self._phones.opus else _G711
            transceiver = pc.addTransceiver(track, direction="sendrecv")
            transceiver.setCodecPreferences(
                sorted(
                    (c for c in audio if c.mimeType in wanted),
                    key=lambda c: wanted.index(c.mimeType),
                )
            )
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            if transceiver.mid is None:
                raise OfferRefused("the offer has no audio")
            await pc.setLocalDescription(await pc.createAnswer())  # gathers ICE (no trickle)
            answer = str(pc.localDescription.sdp)
            track.use(negotiated_codec(answer))
            g711 = g711_payload_types(answer)
            if negotiated_codec(answer) != "OPUS" and g711:
                # Before the connection is up (the receiver starts once DTLS is): from the
                # first packet on, the browser's G.711 goes to the relay undecoded.
                G711Tap(transceiver.receiver, g711, lambda p, law: self._forward(pc, p, law))
        except BaseException:
            with contextlib.suppress(Exception):
                await pc.close()
            raise
        return pc, keep_candidates(str(pc.localDescription.sdp), self._phones.addresses)

    async def renegotiate(self, sdp: str) -> str:
        """The browser's new offer after a network change (an ICE restart): answered by a new
        peer connection that takes the old one's place behind the same relay, so the engine
        leg, and with it the call, stays. aiortc cannot restart ICE on an existing connection
        (no new ufrag/pwd on a connection once started), hence the new one. A refused offer
        (OfferRefused) leaves the call and its current connection as they were."""
        if self.state != "confirmed" or self.relay is None:
            raise OfferRefused("the call's browser side is not connected")
        check_offer(sdp)
        track = _MixTrack()
        try:
            pc, answer = await self._peer(sdp, track)
        except OfferRefused:
            raise
        except Exception as exc:
            raise OfferRefused(f"WebRTC failed: {exc}") from exc
        if self.state != "confirmed":  # the call ended meanwhile
            with contextlib.suppress(Exception):
                await pc.close()
            raise OfferRefused("the call ended")
        await self.sample_quality()  # the old connection's last figures
        self.quality.restart()
        old, self.pc = self.pc, pc
        self._connected = pc.connectionState == "connected"  # (its changes were ignored so far)
        self._start_deadline()  # the new connection must come up in time as the first did
        self.relay.track = track  # the mix goes to the new connection from the next frame
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()  # (its "closed" is not this call's: _on_state)
        log.info("voice.browser_renegotiated", offer=self.offer_id)
        return answer

    def _engine_answer(self) -> bytes:
        assert self.relay is not None and self.relay.transport is not None
        host, port = self.relay.transport.get_extra_info("sockname")[:2]
        pt = self.relay.pt
        return (
            f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=browser\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {self.relay.codec}/8000\r\n"
            "a=ptime:20\r\na=sendrecv\r\n"
        ).encode()

    def _forward(self, pc: RTCPeerConnection, packet: RtpPacket, law: str) -> None:
        # Only the call's current connection: one being replaced (renegotiate) is not heard.
        if pc is self.pc and self.relay is not None:
            self.relay.forward(packet, law)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.create_task(self._pump(track), name="browser-audio"))

    async def _pump(self, track: MediaStreamTrack) -> None:
        """The browser's audio, as aiortc decoded it, on to the engine leg: Opus only (G.711
        goes to the relay undecoded, `G711Tap`, and this track then stays silent)."""
        resampler: AudioResampler | None = None
        with contextlib.suppress(Exception):  # MediaStreamError: the track ended
            while True:
                frame = await track.recv()
                if not isinstance(frame, AudioFrame) or self.relay is None:
                    continue
                if _is_engine_pcm(frame):  # G.711 decoded (Opus is 48 kHz)
                    self.relay.send(_samples(frame))
                    continue
                resampler = resampler or AudioResampler(format="s16", layout="mono", rate=RATE)
                for out in resampler.resample(frame):
                    self.relay.send(_samples(out))

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

    def _start_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        if self._phones.connect_timeout_s > 0:
            self._deadline = asyncio.create_task(
                self._connect_deadline(self._phones.connect_timeout_s), name="browser-deadline"
            )

    async def _connect_deadline(self, limit: float) -> None:
        """End the leg when its connection is not up in time. A browser whose offer is valid
        but whose candidates nobody answers (a firewall, a stale address) leaves aioice
        checking: each check is retransmitted for about a minute, and an offer without
        end-of-candidates (which a browser need not signal) is never given up. Meanwhile the
        other side hears silence; ending the leg lets its call move on (a queued call goes back
        to the queue: missed_ring.wait_for_media)."""
        await asyncio.sleep(limit)
        pc = self.pc
        if self.state != "confirmed" or pc is None or self._connected:
            return
        if pc.connectionState == "connected":  # (a state change not seen: stays up)
            return
        reason = f"ICE did not complete within {limit:g} s"
        log.warning(
            "voice.browser_ice_failed",
            offer=self.offer_id,
            reason=reason,
            ice_state=pc.iceConnectionState,
            state=pc.connectionState,
        )
        await self._end(reason, notify=True)

    async def _on_state(self, pc: RTCPeerConnection) -> None:
        if pc is not self.pc:
            return  # a connection replaced by renegotiate(), or not yet the call's
        log.info("voice.browser_connection", offer=self.offer_id, state=pc.connectionState)
        if pc.connectionState == "connected":
            self._connected = True
        if pc.connectionState in ("failed", "closed"):
            await self._end(f"browser connection {pc.connectionState}", notify=True)

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
        if self.call_id is not None and self._phones.by_call.get(self.call_id) is self:
            del self._phones.by_call[self.call_id]
        self._fail(487, reason)
        for task in self._tasks:
            task.cancel()
        if self._deadline is not None and self._deadline is not asyncio.current_task():
            self._deadline.cancel()  # (not itself: it is ending the leg)
        await self.sample_quality()  # the call's totals, before the connection closes
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        if self.relay is not None and self.relay.transport is not None:
            self.relay.transport.close()
        if notify and self.on_ended is not None:
            await self.on_ended(reason)
