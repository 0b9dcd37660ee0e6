"""The browser phone's media path without a browser: an aiortc peer plays the browser (its own
1000 Hz tone), a plain RTP socket plays the caller (600 Hz) on an engine leg bridged to the
browser phone's leg; each side must hear the other's tone. And the offers WebRTC refuses."""

from __future__ import annotations

import asyncio
import socket
import uuid

import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from av import AudioResampler

from omnidesk.bench.webrtc import ToneTrack
from omnidesk.channels.voice.media.analysis import goertzel_power, tone
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.g711 import alaw_encode, ulaw_decode, ulaw_encode
from omnidesk.channels.voice.media.rtp import build_header
from omnidesk.channels.voice.media.sdp import SessionDescription, accept_answer, make_offer
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.channels.voice.webrtc import (
    BrowserPhones,
    OfferRefused,
    check_offer,
    g711_translation,
    negotiated_codec,
)

CALLER_HZ, BROWSER_HZ = 600, 1000


def share(samples: np.ndarray, hz: int, other: int, rate: int = 8000) -> float:
    powers = goertzel_power(samples.astype(np.float64), [hz, other], rate=rate).sum(axis=0)
    return float(powers[0] / (powers.sum() or 1.0))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def no_fingerprint(sdp: str) -> str:
    return "\r\n".join(line for line in sdp.splitlines() if "fingerprint" not in line) + "\r\n"


async def browser_offer(pc: RTCPeerConnection, codecs: tuple[str, ...] = ()) -> str:
    """The browser's offer: everything aiortc has (Opus first), or only `codecs`."""
    transceiver = pc.addTransceiver(ToneTrack(BROWSER_HZ), direction="sendrecv")
    if codecs:
        capabilities = RTCRtpSender.getCapabilities("audio").codecs
        transceiver.setCodecPreferences([c for c in capabilities if c.name in codecs])
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


def test_g711_translation_is_decode_then_encode() -> None:
    codes = ulaw_encode(tone(CALLER_HZ, 8000, -12.0)).tobytes()
    table = g711_translation("PCMU", "PCMA")
    assert table is not None and g711_translation("PCMA", "PCMA") is None
    assert codes.translate(table) == alaw_encode(ulaw_decode(codes)).tobytes()


# The mix reaches the browser as the leg's G.711 bytes, unchanged when the browser took the
# law the leg uses, translated when the engine did not offer the browser's (a PCMA-only
# browser and a PCMU-only engine offer); with voice_webrtc_opus, Opus (aiortc encodes the mix).
@pytest.mark.parametrize(
    ("browser_codecs", "engine_codecs", "negotiated", "opus"),
    [
        ((), ("PCMU", "PCMA"), "PCMU", False),
        (("PCMA",), ("PCMU",), "PCMA", False),
        ((), ("PCMU", "PCMA"), "OPUS", True),
    ],
    ids=["g711", "translated", "opus-allowed"],
)
async def test_browser_and_caller_hear_each_other(
    browser_codecs: tuple[str, ...], engine_codecs: tuple[str, ...], negotiated: str, opus: bool
) -> None:
    engine = MediaEngine(host="127.0.0.1", port_range=None)
    await engine.start()
    caller_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller_sock.bind(("127.0.0.1", 0))
    caller_sock.setblocking(False)
    browser = RTCPeerConnection()
    phones = BrowserPhones("127.0.0.1")
    phones.opus = opus  # voice_webrtc_opus
    heard_by_browser: list[np.ndarray] = []
    listeners: list[asyncio.Task[None]] = []
    try:
        caller_leg = await engine.open_leg()
        caller_offer = make_offer(local_ip="127.0.0.1", local_port=caller_leg.local_port)
        answer = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {caller_sock.getsockname()[1]} RTP/AVP 0\r\na=sendrecv\r\n"
        )
        caller_leg.configure(accept_answer(caller_offer, SessionDescription.parse(answer)))
        agent_leg = await engine.open_leg()
        offer = make_offer(
            local_ip="127.0.0.1",
            local_port=agent_leg.local_port,
            codecs=engine_codecs,
            dtmf_pt=None,
        )
        phone = phones.register(uuid.uuid4(), uuid.uuid4())
        ring = phones.invite(phone, "offer-1", offer.build().encode())
        assert phones.ringing == {"offer-1": ring}

        resampler = AudioResampler(format="s16", layout="mono", rate=8000)

        @browser.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            async def listen() -> None:
                while True:
                    frame = await track.recv()
                    for out in resampler.resample(frame):
                        heard_by_browser.append(out.to_ndarray().reshape(-1))

            listeners.append(asyncio.ensure_future(listen()))

        sdp = await browser_offer(browser, browser_codecs)
        answer_sdp = await ring.answer_browser(sdp)
        assert "a=fingerprint" in answer_sdp
        assert negotiated_codec(answer_sdp) == negotiated, answer_sdp
        if not opus:
            # G.711 only, although this browser (aiortc) offers Opus first: no transcoding.
            assert "opus" not in answer_sdp.lower(), answer_sdp
        assert phones.ringing == {}  # a replayed answer finds nothing ringing
        with pytest.raises(OfferRefused, match="no longer ringing"):
            await ring.answer_browser(sdp)
        await browser.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        agent_leg.configure(
            accept_answer(offer, SessionDescription.parse(await ring.wait_answer()))
        )
        engine.bridge(caller_leg, agent_leg)

        loop = asyncio.get_running_loop()
        caller_tone_pcm = tone(CALLER_HZ, 8000 * 4, -12.0)
        caller_tone = ulaw_encode(caller_tone_pcm).tobytes()
        heard_by_caller = bytearray()
        seq, ts, t0 = 1, 0, loop.time()
        for k in range(200):  # 4 s of the caller talking, in real time
            frame = caller_tone[k * 160 : (k + 1) * 160]
            caller_sock.sendto(
                build_header(0, seq, ts, 1234) + frame, ("127.0.0.1", caller_leg.local_port)
            )
            seq, ts = seq + 1, ts + 160
            await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.02 - loop.time()))
            while True:
                try:
                    data = caller_sock.recv(2048)
                except BlockingIOError:
                    break
                heard_by_caller += data[12:]
        assert ring.state == "confirmed"
        caller_heard = ulaw_decode(bytes(heard_by_caller))
        assert caller_heard.size > 8000, "the caller heard nothing of the browser"
        assert share(caller_heard[caller_heard.size // 2 :], BROWSER_HZ, CALLER_HZ) > 0.9
        browser_heard = np.concatenate(heard_by_browser) if heard_by_browser else np.zeros(0)
        assert browser_heard.size > 8000, "the browser heard nothing of the caller"
        assert share(browser_heard[browser_heard.size // 2 :], CALLER_HZ, BROWSER_HZ) > 0.9
        # At the caller's level: G.711 bytes read as the other law keep the tone but are
        # three times as loud. Opus (lossy, resampled 8↔48 kHz both ways) comes out quieter,
        # measured at about 0.72 of it.
        level = rms(browser_heard[browser_heard.size // 2 :]) / rms(caller_tone_pcm)
        assert (0.5 if opus else 0.8) < level < 1.25

        ended: list[str] = []
        gone = asyncio.Event()

        async def on_ended(reason: str) -> None:
            ended.append(reason)
            gone.set()

        ring.on_ended = on_ended
        await browser.close()  # the agent closes the tab: the leg ends, with a reason
        await asyncio.wait_for(gone.wait(), 40)
        assert ring.state == "ended" and "browser connection" in ended[0]
    finally:
        for task in listeners:
            task.cancel()
        await browser.close()
        await phones.close()
        await engine.stop()
        caller_sock.close()


async def test_an_offer_without_dtls_fingerprint_fails_the_ring_cleanly() -> None:
    phones = BrowserPhones("127.0.0.1")
    pc = RTCPeerConnection()
    try:
        offer = make_offer(local_ip="127.0.0.1", local_port=40000, dtmf_pt=None)
        phone = phones.register(uuid.uuid4(), uuid.uuid4())
        ring = phones.invite(phone, "offer-2", offer.build().encode())
        sdp = no_fingerprint(await browser_offer(pc))
        with pytest.raises(OfferRefused, match="DTLS fingerprint"):
            await ring.answer_browser(sdp)
        # The ring fails as a SIP ring does (queueing puts the caller back in line).
        with pytest.raises(CallFailed) as failed:
            await ring.wait_answer()
        assert failed.value.status == 488
        assert ring.state == "ended" and phones.ringing == {}
        assert phones.get(phone.tenant_id, phone.user_id) == phone  # still registered
    finally:
        await pc.close()


@pytest.mark.parametrize(
    ("sdp", "reason"),
    [
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n", "no audio"),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n"
            "m=audio 4000 RTP/AVP 0\r\na=fingerprint:sha-256 AB:CD\r\n",
            "not UDP/TLS/RTP/SAVPF",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n"
            "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n",
            "no DTLS fingerprint",
        ),
    ],
)
def test_offers_webrtc_refuses(sdp: str, reason: str) -> None:
    with pytest.raises(OfferRefused, match=reason):
        check_offer(sdp)
