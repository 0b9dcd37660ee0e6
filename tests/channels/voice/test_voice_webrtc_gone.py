"""A browser phone that vanishes mid-call without closing its connection (a crash, a lost
network: no DTLS close_notify, unlike a reload) still ends the call: ICE consent freshness
(RFC 7675) stops being answered, aioice closes the transport, and the call ends as the agent's
hang-up (ADR 0030, "A reload mid-call"). The checks are made faster here; the real interval is
about 5 s with 6 failures allowed, so about 30 s."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import aioice.ice
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from test_voice_webrtc import browser_offer

from omnidesk.channels.voice.media.sdp import make_offer
from omnidesk.channels.voice.webrtc import BrowserPhones


async def _until(check: Callable[[], bool], within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not check():
        assert loop.time() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_browser_gone_silent_ends_the_call_when_consent_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.3)
    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", 3)
    phones = BrowserPhones("127.0.0.1")
    browser = RTCPeerConnection()
    try:
        offer = make_offer(local_ip="127.0.0.1", local_port=40000, dtmf_pt=None)
        phone = phones.register(uuid.uuid4(), uuid.uuid4())
        ring = phones.invite(phone, "offer-gone", offer.build().encode())
        answer = await ring.answer_browser(await browser_offer(browser))
        await browser.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        ended: list[str] = []
        ring.on_ended = lambda reason: _record(ended, reason)
        await _until(
            lambda: ring.pc is not None and ring.pc.connectionState == "connected",
            10,
            "the browser's connection",
        )
        # Consent checks are answered while the browser is there: the call stays up.
        await asyncio.sleep(1.5)
        assert ring.state == "confirmed" and ended == []

        # The browser vanishes: its ICE sockets close without a word (no DTLS close_notify).
        for transceiver in browser.getTransceivers():
            ice = transceiver.sender.transport.transport
            for protocol in ice._connection._protocols:
                protocol.transport.close()
        await _until(lambda: bool(ended), 15, "the call to end after consent expired")
        assert ring.state == "ended"
        assert ended[0].startswith("browser connection"), ended
    finally:
        await browser.close()
        await phones.close()


async def _record(into: list[str], reason: str) -> None:
    into.append(reason)
