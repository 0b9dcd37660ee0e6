"""A browser phone whose offer is valid but whose ICE never completes (its one candidate is a
loopback socket that reads nothing): the leg ends at the connect deadline
(`voice_webrtc_connect_timeout_seconds`, made short here) with "ICE did not complete", logged,
and tells whoever holds the call (`on_ended`); another browser phone's call on the same
server is not disturbed. aioice alone would go on checking for about a minute. The queued
call going back to the queue: tests/e2e/voice/test_voice_browser_ice_never.py."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCSessionDescription
from structlog.testing import capture_logs
from test_voice_webrtc import browser_offer

from omnidesk.channels.voice.media.sdp import make_offer
from omnidesk.channels.voice.webrtc import BrowserPhones

DEADLINE_S = 1.0


def unreachable(sdp: str, port: int) -> str:
    """`sdp` with its candidates replaced by one host candidate at 127.0.0.1:`port`: still a
    valid offer, but the server's checks go where nothing answers."""
    lines = [line for line in sdp.splitlines() if not line.startswith("a=candidate:")]
    at = next(i for i, line in enumerate(lines) if line.startswith("a=ice-ufrag:"))
    lines.insert(at, f"a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host")
    text = "\r\n".join(lines) + "\r\n"
    return re.sub(r"c=IN IP4 \S+", "c=IN IP4 127.0.0.1", text)


async def _until(check: Callable[[], bool], within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not check():
        assert loop.time() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_browser_whose_ice_never_completes_ends_its_leg_at_the_deadline() -> None:
    phones = BrowserPhones("127.0.0.1")
    phones.connect_timeout_s = DEADLINE_S
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # receives the server's checks, answers none
    stuck, fine, moved = RTCPeerConnection(), RTCPeerConnection(), RTCPeerConnection()
    try:
        phone = phones.register(uuid.uuid4(), uuid.uuid4())
        other = phones.register(uuid.uuid4(), uuid.uuid4())
        engine_offer = make_offer(local_ip="127.0.0.1", local_port=40000, dtmf_pt=None)
        ring = phones.invite(phone, "offer-stuck", engine_offer.build().encode())
        working = phones.invite(other, "offer-fine", engine_offer.build().encode())
        ended: dict[str, str] = {}
        ring.on_ended = lambda reason: _record(ended, "stuck", reason)
        working.on_ended = lambda reason: _record(ended, "fine", reason)

        answer = await working.answer_browser(await browser_offer(fine))
        await fine.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        loop = asyncio.get_running_loop()
        with capture_logs() as logs:
            offer = unreachable(await browser_offer(stuck), silent.getsockname()[1])
            await ring.answer_browser(offer)  # a valid offer: answered, the leg "confirmed"
            answered_at = loop.time()
            assert ring.state == "confirmed"
            await _until(lambda: "stuck" in ended, DEADLINE_S + 5, "the stuck leg to end")
            took = loop.time() - answered_at
        assert DEADLINE_S - 0.1 < took < DEADLINE_S + 2, took
        reason = f"ICE did not complete within {DEADLINE_S:g} s"
        assert ended == {"stuck": reason} and ring.state == "ended" and ring.end_reason == reason
        [failed] = [e for e in logs if e["event"] == "voice.browser_ice_failed"]
        assert failed["offer"] == "offer-stuck" and failed["reason"] == reason, failed
        assert failed["state"] != "connected", failed
        assert ring.pc is not None and ring.pc.connectionState == "closed"
        assert ring.relay is not None and ring.relay.transport is not None
        assert ring.relay.transport.is_closing()
        # The phone stays registered; the other browser's call came up and stays up.
        assert phones.get(phone.tenant_id, phone.user_id) == phone
        await _until(
            lambda: working.pc is not None and working.pc.connectionState == "connected",
            10,
            "the working browser's connection",
        )
        await asyncio.sleep(DEADLINE_S + 0.5)  # past its own deadline: a connected leg stays
        assert working.state == "confirmed" and "fine" not in ended
        # A renegotiated connection gets its own deadline, and one that comes up stays too.
        answer = await working.renegotiate(await browser_offer(moved))
        await moved.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.sleep(DEADLINE_S + 0.5)
        assert working.pc is not None and working.pc.connectionState == "connected"
        assert working.state == "confirmed" and "fine" not in ended
    finally:
        silent.close()
        await stuck.close()
        await fine.close()
        await moved.close()
        await phones.close()


async def _record(into: dict[str, str], who: str, reason: str) -> None:
    into[who] = reason
