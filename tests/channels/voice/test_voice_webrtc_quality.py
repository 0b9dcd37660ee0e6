"""Audio quality figures of a browser call (docs/voice.md, "Audio quality"; ADR 0033): an aiortc
peer plays the browser, a plain RTP socket the caller, bridged through the media engine as in
test_voice_webrtc.py. On loopback the figures show no loss and real counts; when the test peers
drop every tenth packet (the browser before SRTP, the caller by skipping sequence numbers),
the loss shows on the leg it happened on and is flagged beyond the 3 % threshold. The figures
are kept after the hang-up closes the connection, and reach the call's detail record."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import is_rtcp
from test_voice_webrtc import CALLER_HZ, browser_offer

from omnidesk.channels.voice import webrtc
from omnidesk.channels.voice.history_schemas import AudioQualityOut
from omnidesk.channels.voice.media.analysis import tone
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.g711 import ulaw_encode
from omnidesk.channels.voice.media.rtp import build_header
from omnidesk.channels.voice.media.sdp import SessionDescription, accept_answer, make_offer
from omnidesk.channels.voice.quality import LegQuality, rtp_leg
from omnidesk.channels.voice.records import audio_quality
from omnidesk.channels.voice.webrtc import BrowserPhones


def drop_every(
    n: int, send: Callable[[bytes], Awaitable[None]]
) -> Callable[[bytes], Awaitable[None]]:
    """A sender that loses every n-th RTP packet (RTCP passes: the reports must get through)."""
    count = 0

    async def lossy(data: bytes) -> None:
        nonlocal count
        if not is_rtcp(data):
            count += 1
            if count % n == 0:
                return
        await send(data)

    return lossy


async def caller_talks(sock: socket.socket, port: int, seconds: float, drop: int | None) -> None:
    """The caller's tone in real time; with `drop`, every drop-th packet never leaves."""
    loop = asyncio.get_running_loop()
    frames = int(seconds * 50)
    audio = ulaw_encode(tone(CALLER_HZ, 160 * frames, -12.0)).tobytes()
    t0 = loop.time()
    for k in range(frames):
        if drop is None or (k + 1) % drop:
            header = build_header(0, 1 + k, 160 * k, 1234)
            sock.sendto(header + audio[k * 160 : (k + 1) * 160], ("127.0.0.1", port))
        await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.02 - loop.time()))
        while True:
            try:
                sock.recv(2048)
            except BlockingIOError:
                break


@pytest.mark.parametrize("drop", [None, 10], ids=["loopback", "every-tenth-lost"])
async def test_browser_call_quality_figures(drop: int | None, monkeypatch) -> None:
    monkeypatch.setattr(webrtc, "SAMPLE_EVERY_S", 1.0)
    engine = MediaEngine(host="127.0.0.1", port_range=None)
    await engine.start()
    caller_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller_sock.bind(("127.0.0.1", 0))
    caller_sock.setblocking(False)
    browser = RTCPeerConnection()
    phones = BrowserPhones("127.0.0.1")
    try:
        caller_leg = await engine.open_leg()
        caller_offer = make_offer(local_ip="127.0.0.1", local_port=caller_leg.local_port)
        answer = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {caller_sock.getsockname()[1]} RTP/AVP 0\r\na=sendrecv\r\n"
        )
        caller_leg.configure(accept_answer(caller_offer, SessionDescription.parse(answer)))
        agent_leg = await engine.open_leg()
        offer = make_offer(local_ip="127.0.0.1", local_port=agent_leg.local_port, dtmf_pt=None)
        ring = phones.invite(
            phones.register(uuid.uuid4(), uuid.uuid4()), "o", offer.build().encode()
        )
        answer_sdp = await ring.answer_browser(await browser_offer(browser))
        await browser.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        if drop is not None:
            transport = browser.getSenders()[0].transport
            transport._send_rtp = drop_every(drop, transport._send_rtp)  # type: ignore[method-assign]
        agent_leg.configure(
            accept_answer(offer, SessionDescription.parse(await ring.wait_answer()))
        )
        engine.bridge(caller_leg, agent_leg)

        await caller_talks(caller_sock, caller_leg.local_port, 5.0, drop)
        during = ring.quality.result()
        assert during is not None and during.samples >= 2, "not sampled during the call"
        await ring.bye()  # closes the connection; the figures stay
        browser_leg = ring.quality.result()
        assert browser_leg is not None and browser_leg.samples > during.samples
        customer = rtp_leg("customer", caller_leg.stats)
        assert customer is not None
    finally:
        await browser.close()
        await phones.close()
        await engine.stop()
        caller_sock.close()

    assert browser_leg.transport == "webrtc" and browser_leg.leg == "agent"
    # About 5 s of 20 ms packets each way (the browser's from when ICE completed).
    assert 150 <= browser_leg.packets_received <= 260, browser_leg
    assert browser_leg.packets_sent is not None and browser_leg.packets_sent >= 150
    assert 150 <= customer.packets_received <= 250
    # The browser's RTCP receiver reports came back: a loopback round trip, its loss of ours.
    assert browser_leg.rtt_ms is not None and 0.0 <= browser_leg.rtt_ms < 100.0, browser_leg
    assert browser_leg.remote_packets_lost == 0
    # Jitter is measured, and bounded; both peers share this process's event loop with the
    # engine, so it is not the near-zero of a quiet network (docs/voice.md, "Audio quality").
    assert 0.0 < browser_leg.jitter_peak_ms() < 100.0 and customer.jitter_ms < 100.0
    if drop is None:
        assert (browser_leg.packets_lost, customer.packets_lost) == (0, 0)
        assert "loss" not in browser_leg.issues() and customer.issues() == []
    else:
        # Every tenth packet: 10 % lost on each leg, flagged.
        assert 7.0 <= browser_leg.loss_pct() <= 11.0, browser_leg
        assert 9.0 <= customer.loss_pct() <= 11.0, customer
        assert "loss" in browser_leg.issues() and customer.issues() == ["loss"]
    # What the call's detail record keeps of this call, and how the history shows it.
    call = SimpleNamespace(leg=caller_leg, agent_sip=ring, agent_leg=agent_leg)
    record = audio_quality(call)  # type: ignore[arg-type]
    assert [(q.leg, q.transport) for q in record] == [("customer", "rtp"), ("agent", "webrtc")]
    shown = AudioQualityOut.of(record[1])
    assert shown.loss_pct == browser_leg.loss_pct() and shown.rtt_ms == browser_leg.rtt_ms


def test_thresholds() -> None:
    ok = LegQuality(leg="agent", transport="webrtc", packets_received=970, packets_lost=30,
                    jitter_max_ms=30.0, rtt_max_ms=300.0)  # fmt: skip
    assert ok.loss_pct() == 3.0 and ok.issues() == []
    bad = ok.model_copy(update={"packets_sent": 1000, "remote_packets_lost": 31,
                                "remote_jitter_max_ms": 30.5, "rtt_max_ms": 301.0})  # fmt: skip
    assert bad.loss_pct() == 3.1 and bad.jitter_peak_ms() == 30.5
    assert bad.issues() == ["loss", "jitter", "rtt"]
