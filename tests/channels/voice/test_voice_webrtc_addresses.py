"""voice_webrtc_addresses: the browser phone's host candidates only on the chosen addresses
(ice.py: aioice gathers on every interface and has no parameter for it, so the answer names only
the chosen ones), and a call still connects over them."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aioice.ice import get_host_addresses
from aiortc import RTCPeerConnection, RTCSessionDescription
from test_voice_webrtc import browser_offer

from omnidesk.channels.voice.ice import keep_candidates
from omnidesk.channels.voice.media.sdp import make_offer
from omnidesk.channels.voice.webrtc import BrowserPhones

ADDRESSES = get_host_addresses(use_ipv4=True, use_ipv6=True)


def _hosts(sdp: str) -> set[str]:
    return {
        line.split()[4]
        for line in sdp.splitlines()
        if line.startswith("a=candidate:") and " typ host" in line
    }


async def _answer(addresses: list[str]) -> tuple[str, RTCPeerConnection, BrowserPhones]:
    phones = BrowserPhones("127.0.0.1")
    phones.addresses = addresses
    offer = make_offer(local_ip="127.0.0.1", local_port=40000, dtmf_pt=None)
    ring = phones.invite(phones.register(uuid.uuid4(), uuid.uuid4()), "o-1", offer.build().encode())
    browser = RTCPeerConnection()
    answer = await ring.answer_browser(await browser_offer(browser))
    return answer, browser, phones


@pytest.mark.skipif(len(ADDRESSES) < 2, reason="needs two non-loopback addresses to choose from")
async def test_the_answer_offers_only_the_chosen_address_and_connects() -> None:
    chosen = ADDRESSES[-1]
    everything, browser, phones = await _answer([])
    await browser.close()
    await phones.close()
    assert _hosts(everything) == set(ADDRESSES)  # without the setting: aiortc's every address

    answer, browser, phones = await _answer([chosen])
    try:
        assert _hosts(answer) == {chosen}, answer
        family = "IP6" if ":" in chosen else "IP4"
        assert f"c=IN {family} {chosen}" in answer  # the default address is a chosen one too
        assert not any(a in answer for a in ADDRESSES if a != chosen), answer
        connected = asyncio.Event()

        @browser.on("connectionstatechange")
        def _state() -> None:
            if browser.connectionState == "connected":
                connected.set()

        await browser.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.wait_for(connected.wait(), 20)
    finally:
        await browser.close()
        await phones.close()


def test_server_reflexive_candidates_follow_their_base_and_relay_ones_stay() -> None:
    sdp = (
        "v=0\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 10.0.0.1\r\n"
        "a=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host\r\n"
        "a=candidate:2 1 udp 2130706431 192.0.2.7 5002 typ host\r\n"
        "a=candidate:3 1 udp 1694498815 203.0.113.9 6000 typ srflx raddr 10.0.0.1 rport 5000\r\n"
        "a=candidate:5 1 udp 1694498815 203.0.113.8 6002 typ srflx raddr 192.0.2.7 rport 5002\r\n"
        "a=candidate:4 1 udp 16777215 198.51.100.3 7000 typ relay raddr 203.0.113.9 rport 6000\r\n"
        "a=end-of-candidates\r\n"
    )
    kept = keep_candidates(sdp, ["192.0.2.7"])
    assert "10.0.0.1 5000 typ host" not in kept
    assert "192.0.2.7 5002 typ host" in kept and "typ relay" in kept
    # Server reflexive: kept when gathered on a chosen address (its raddr), else not.
    assert "203.0.113.8 6002 typ srflx" in kept and "203.0.113.9 6000 typ srflx" not in kept
    assert "m=audio 5002 " in kept and "c=IN IP4 192.0.2.7\r\n" in kept
    assert keep_candidates(sdp, []) == sdp
