"""The browser's G.711 reaches the engine leg without aiortc's decoder (`G711Tap`, ADR 0030
"Revised"): the tone arrives, aiortc never creates a decoder, the reception statistics (RTCP
receiver reports, getStats) still count; and the relay's renumbering of the browser's packets.

The tap replaces a private method on aiortc's receiver: these tests are what fails, loudly,
when an aiortc upgrade moves it."""

from __future__ import annotations

import asyncio
import inspect
import socket
import uuid
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from omnidesk.bench.webrtc import ToneTrack
from omnidesk.channels.voice.media.analysis import goertzel_power
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.g711 import ulaw_decode
from omnidesk.channels.voice.media.sdp import (
    MediaParams,
    SessionDescription,
    accept_answer,
    make_offer,
)
from omnidesk.channels.voice.webrtc import BrowserPhones, G711Tap, _MixTrack, _Relay

CALLER_HZ, BROWSER_HZ = 600, 1000


def test_the_tapped_aiortc_names_are_there() -> None:
    # What G711Tap relies on in aiortc: the DTLS transport hands each decrypted packet to
    # `receiver._handle_rtp_packet(packet, arrival_time_ms)`, and the receiver keeps its
    # reception statistics in its private per-SSRC table (read by its RTCP reports and
    # getStats). An aiortc that renames either fails here first.
    assert "_handle_rtp_packet(packet, arrival_time_ms=" in inspect.getsource(
        RTCDtlsTransport._handle_rtp_data
    )
    assert list(inspect.signature(RTCRtpReceiver._handle_rtp_packet).parameters) == [
        "self",
        "packet",
        "arrival_time_ms",
    ]
    source = inspect.getsource(RTCRtpReceiver)
    assert "self.__remote_streams.items()" in source  # its RR and getStats read the table
    assert "if not self._enabled:" in source


async def test_a_receiver_without_the_hook_fails_loudly() -> None:
    class Moved:
        _enabled = True

    with pytest.raises(AttributeError):
        G711Tap(Moved(), {0: "PCMU"}, lambda p, law: None)  # type: ignore[arg-type]


async def test_the_browsers_g711_reaches_the_caller_without_aiortcs_decoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import aiortc.rtcrtpreceiver

    decoders: list[str] = []
    real_get_decoder = aiortc.rtcrtpreceiver.get_decoder

    def counting_get_decoder(codec: Any) -> Any:
        decoders.append(codec.mimeType)
        return real_get_decoder(codec)

    # Every decoder aiortc's receivers make in this process (the browser only sends: the one
    # receiver here is the server's).
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", counting_get_decoder)

    engine = MediaEngine(host="127.0.0.1", port_range=None)
    await engine.start()
    caller_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller_sock.bind(("127.0.0.1", 0))
    caller_sock.setblocking(False)
    browser = RTCPeerConnection()
    phones = BrowserPhones("127.0.0.1")
    try:
        caller_leg = await engine.open_leg()
        caller_leg.configure(
            MediaParams("127.0.0.1", caller_sock.getsockname()[1], 0, "PCMU", None)
        )
        agent_leg = await engine.open_leg()
        offer = make_offer(local_ip="127.0.0.1", local_port=agent_leg.local_port, dtmf_pt=None)
        ring = phones.invite(
            phones.register(uuid.uuid4(), uuid.uuid4()), "o", offer.build().encode()
        )
        tone_track = ToneTrack(BROWSER_HZ)
        transceiver = browser.addTransceiver(tone_track, direction="sendonly")
        transceiver.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.name == "PCMU"]
        )
        await browser.setLocalDescription(await browser.createOffer())
        answer = await ring.answer_browser(str(browser.localDescription.sdp))
        await browser.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        agent_leg.configure(
            accept_answer(offer, SessionDescription.parse(await ring.wait_answer()))
        )
        engine.bridge(caller_leg, agent_leg)

        heard = bytearray()
        loop = asyncio.get_running_loop()
        until = loop.time() + 4.0
        while loop.time() < until:
            await asyncio.sleep(0.02)
            while True:
                try:
                    heard += caller_sock.recv(2048)[12:]
                except BlockingIOError:
                    break
        pcm = ulaw_decode(bytes(heard)).astype(np.float64)
        assert pcm.size > 8000 * 2, "the caller heard little or nothing of the browser"
        half = pcm[pcm.size // 2 :]
        powers = goertzel_power(half, [BROWSER_HZ, CALLER_HZ], rate=8000).sum(axis=0)
        assert powers[0] / powers.sum() > 0.9  # the browser's tone, as the browser sent it
        assert decoders == [], "aiortc decoded the browser's G.711"
        assert ring.relay is not None and ring.relay.sent > 100

        # The reception statistics go on: getStats (the call's quality figures) ...
        await ring.sample_quality()
        figures = ring.quality.result()
        assert figures is not None and figures.packets_received > 100
        assert figures.packets_lost == 0
        # ... and the receiver reports the browser gets about what it sent.
        report = await browser.getStats()
        remote = [s for s in report.values() if s.type == "remote-inbound-rtp"]
        assert remote and remote[0].packetsLost == 0
    finally:
        await browser.close()
        await ring.bye()
        await phones.close()
        await engine.stop()
        caller_sock.close()


class _Wire:
    """A datagram transport that keeps what is sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append(data)


def _relay(codec: str = "PCMU") -> tuple[_Relay, _Wire]:
    relay = _Relay(_MixTrack(), codec)
    wire = _Wire()
    relay.transport = wire  # type: ignore[assignment]
    relay.leg_addr = ("127.0.0.1", 9)
    relay.seq, relay.ts = 65534, 1000
    return relay, wire


def _header(data: bytes) -> tuple[int, int, int, int]:
    return data[1] & 0x7F, int.from_bytes(data[2:4]), int.from_bytes(data[4:8]), len(data) - 12


def test_the_relay_renumbers_the_browsers_packets_into_one_stream() -> None:
    relay, wire = _relay()
    payload = bytes(range(160))

    def browser(seq: int, ts: int, ssrc: int = 7, size: int = 160) -> RtpPacket:
        return RtpPacket(0, 0, seq, ts, ssrc, (payload * 2)[:size])

    relay.forward(browser(100, 5000), "PCMU")
    relay.forward(browser(102, 5320), "PCMU")  # 101 lost: the gap reaches the leg
    relay.forward(browser(101, 5160), "PCMU")  # late: still in its place
    # A new connection (renegotiate): a new SSRC, numbered on from the newest.
    relay.forward(browser(9, 777, ssrc=8), "PCMU")
    assert [_header(d)[1:3] for d in wire.sent] == [
        (65534, 1000),
        (0, 1320),
        (65535, 1160),
        (1, 1480),
    ]
    assert all(d[12:] == payload for d in wire.sent)  # byte for byte
    assert wire.sent[0][1] & 0x80 and not wire.sent[1][1] & 0x80  # marker on the first only
    # 10 ms packets are cut into the engine's 20 ms, in arrival order.
    relay.forward(browser(10, 937, ssrc=8, size=80), "PCMU")
    assert len(wire.sent) == 4
    relay.forward(browser(11, 1017, ssrc=8, size=80), "PCMU")
    assert _header(wire.sent[-1]) == (0, 2, 1640, 160)


def test_the_relay_translates_the_other_law() -> None:
    relay, wire = _relay("PCMA")
    relay.forward(RtpPacket(0, 0, 1, 0, 7, bytes([0xFF] * 160)), "PCMU")  # μ-law silence
    pt, _, _, size = _header(wire.sent[0])
    assert pt == 8 and size == 160 and wire.sent[0][12:] == bytes([0xD5] * 160)  # A-law's
