"""The browser phone calling out, and keying digits (ADR 0030, "Outbound and DTMF"): an aiortc
peer plays agent1's browser (its microphone a 1000 Hz tone) against the real server; the far
party is test_voice_outbound's sipp UAS behind the carrier trunk (1500 Hz, digest challenge),
answering with a "tap" in its SDP, as in test_voice_transfer_out_audio: the tap keeps every
RTP packet Omnidesk sends the far party, which is exactly what it would hear. The far party
also offers RFC 4733 telephone-events, so the desk's keypad (`POST /voice/calls/{id}/dtmf`)
must arrive there as events.

- agent1, with only a browser phone, dials from the desk: the far party hears the browser's
  tone and the browser the far party's, digits arrive as telephone-events, the call-control
  API works on the call, and the record is agent1's outbound call;
- the bad input: not registered (409), not a number, an offer without a DTLS fingerprint and
  digits outside 0-9*#A-D (422), a hang-up of a dial that is not one (404);
- a wrong trunk password: the dial fails, the browser leg is let go, the record says why;
- a callback rings the browser phone (not a SIP softphone) and connects both ways.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import test_voice_outbound as far_party
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from av import AudioResampler
from test_voice_transfer_out_audio import SDP_MEDIA, ulaw_to_pcm
from voice_call_helpers import (
    AGENT_HZ,
    PEERS,
    db_rows,
    finish_sipp,
    kill,
    make_available,
    needs,
    start_sipp,
    tone_share,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.models import Call as CallRow

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "channels" / "voice"))
from test_voice_webrtc import ToneTrack, no_fingerprint

pytestmark = needs(*PEERS)
settings = far_party.settings

FAR, FAR_HZ = far_party.FAR, far_party.FAR_HZ
RINGBACK_HZ = 425
CHIME = (523.25, 659.25, 783.99)  # the built-in hold music (playback.hold_music)
EVENTS = "0123456789*#ABCD"  # RFC 4733 event codes 0-15
DIAL = "/api/v1/voice/browser-phone/calls"


@dataclass
class FarTap(asyncio.DatagramProtocol):
    """What Omnidesk sends the far party: PCMU audio, and telephone-events (PT 101) as the
    digits they end (one per event timestamp, on its end bit)."""

    frames: list[bytes] = field(default_factory=list)
    digits: dict[int, str] = field(default_factory=dict)
    transport: Any = None
    port: int = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        pt, payload = data[1] & 0x7F, data[12 + 4 * (data[0] & 0x0F) :]
        if pt == 0:
            self.frames.append(payload)
        elif pt == 101 and len(payload) >= 4 and payload[1] & 0x80:  # the event's end
            ts = int.from_bytes(data[4:8], "big")
            self.digits[ts] = EVENTS[payload[0]] if payload[0] < 16 else "?"

    def audio(self, start: int = 0) -> np.ndarray:
        return ulaw_to_pcm(b"".join(self.frames[start:]))


async def open_far_tap(monkeypatch: pytest.MonkeyPatch) -> FarTap:
    tap = FarTap()
    loop = asyncio.get_running_loop()
    tap.transport, _ = await loop.create_datagram_endpoint(lambda: tap, local_addr=("127.0.0.1", 0))
    tap.port = int(tap.transport.get_extra_info("sockname")[1])
    # The far party answers with the tap's port, and telephone-events beside PCMU.
    sdp = far_party.UAS.replace(f"{SDP_MEDIA} RTP/AVP 0", f"m=audio {tap.port} RTP/AVP 0 101")
    sdp = sdp.replace(
        "a=rtpmap:0 PCMU/8000\n",
        "a=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\n",
    )
    assert "telephone-event" in sdp and str(tap.port) in sdp
    monkeypatch.setattr(far_party, "UAS", sdp)
    return tap


class Browser:
    """An agent's browser: an aiortc peer whose microphone plays `hz` (agent1's AGENT_HZ unless
    told) and which keeps what it hears (8 kHz)."""

    def __init__(self, hz: float = AGENT_HZ) -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTrack(ToneTrack(hz))
        self.heard: list[np.ndarray] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        resampler = AudioResampler(format="s16", layout="mono", rate=8000)

        async def listen() -> None:
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):
                    self.heard.append(out.to_ndarray().reshape(-1))

        self._tasks.append(asyncio.ensure_future(listen()))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answered(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    def audio(self, since: int = 0) -> np.ndarray:
        return np.concatenate(self.heard[since:]) if self.heard[since:] else np.zeros(0)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def _talk(browser: Browser, far: FarTap, seconds: float = 3.0) -> None:
    """Both sides must hear the other's tone (and the browser no ringback any more)."""
    b0, f0 = len(browser.heard), len(far.frames)
    await asyncio.sleep(seconds)
    heard_by_far = far.audio(f0)
    assert heard_by_far.size >= (seconds - 0.5) * 8000, heard_by_far.size
    assert tone_share(heard_by_far, AGENT_HZ, (FAR_HZ, RINGBACK_HZ)) > 0.9
    heard_by_browser = browser.audio(b0)
    assert heard_by_browser.size >= (seconds - 0.5) * 8000, heard_by_browser.size
    assert tone_share(heard_by_browser, FAR_HZ, (AGENT_HZ, RINGBACK_HZ)) > 0.9


async def test_agent_with_only_a_browser_dials_out_talks_and_keys_digits(
    app, client, tenants, as_user, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    uas_port = free_port()
    far_party.configure(admin, ids, uas_port)
    voice = app.state.voice
    far = await open_far_tap(monkeypatch)
    browser = Browser()
    mine = as_user("agent1")
    uas = None
    try:
        sdp = await browser.offer()
        # Bad input first: nothing is dialled, nothing registered or changed.
        r = mine.post(DIAL, json={"number": FAR, "sdp": sdp})
        assert r.status_code == 409 and "not registered" in r.json()["detail"], r.text
        assert mine.put("/api/v1/voice/browser-phone").status_code == 200
        assert mine.post(DIAL, json={"number": "12345", "sdp": sdp}).status_code == 422
        r = mine.post(DIAL, json={"number": FAR, "sdp": no_fingerprint(sdp)})
        assert r.status_code == 422 and "fingerprint" in r.text, r.text
        assert mine.delete(f"{DIAL}/{'0' * 32}").status_code == 404
        assert (
            not voice.calls
            and not voice.browser_phones.dialling
            and not voice.browser_phones.ringing
        )
        make_available(as_user, ids, "agent1")  # routing tracks the call as agent1's contact

        uas = await far_party.start_uas(tmp_path, uas_port)
        r = mine.post(DIAL, json={"number": FAR, "sdp": sdp})
        assert r.status_code == 201, r.text
        call_id = r.json()["call_id"]
        await browser.answered(r.json()["sdp"])
        call = await _wait(lambda: voice.calls.get(call_id), 30, "the far party to answer")
        assert call.direction == "outbound" and call.agent_id == ids["agent1"]
        assert call.agent_sip is not None and type(call.agent_sip).__name__ == "BrowserCall"
        await _wait(lambda: call.state == "connected", what="the bridge")
        assert as_user("admin", "other").post(f"/api/v1/voice/calls/{call_id}/dtmf",
                                              json={"digits": "1"}).status_code == 404  # fmt: skip
        await asyncio.sleep(0.5)  # the far party's tone reaches the browser
        await _talk(browser, far)
        # The routing contact is agent1's for the call (so nothing else rings them).
        status = admin.get(f"/api/v1/routing/agents/{ids['agent1']}").json()["status"]
        assert call_id in status["contacts"], status

        # The desk's keypad: digits reach the far party as RFC 4733 telephone-events.
        url = f"/api/v1/voice/calls/{call_id}"
        for bad in ("x", "12e", "", "1" * 33):
            r = mine.post(f"{url}/dtmf", json={"digits": bad})
            assert r.status_code == 422, (bad, r.text)
        assert mine.post(f"{url}/dtmf", json={"digits": "12#"}).status_code == 200
        assert mine.post(f"{url}/dtmf", json={"digits": "9*D"}).status_code == 200
        await _wait(lambda: len(far.digits) >= 6, 10, "the digits at the far party")
        assert "".join(far.digits[ts] for ts in sorted(far.digits)) == "12#9*D"

        # Call control works on it: on hold the far party hears the chime, not the browser.
        assert mine.post(f"{url}/hold").json()["state"] == "held"
        await asyncio.sleep(0.5)
        f0 = len(far.frames)
        await asyncio.sleep(1.5)
        held = far.audio(f0)
        assert held.size > 8000 and tone_share(held, AGENT_HZ, CHIME) < 0.1
        assert mine.post(f"{url}/resume").json()["state"] == "connected"
        await asyncio.sleep(0.5)
        await _talk(browser, far, 2.0)
        assert mine.post(f"{url}/hangup").status_code == 200
        await far_party.finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        far.transport.close()
        await browser.close()
        await kill(uas)

    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert row.direction == "outbound" and str(row.agent_id) == ids["agent1"]
    assert row.number == FAR and row.answered_at is not None


async def test_a_failed_dial_lets_the_browser_go_and_says_why(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    uas_port = free_port()
    far_party.configure(as_user("admin"), ids, uas_port, password="wrong-password")
    voice = app.state.voice
    browser = Browser()
    mine = as_user("agent1")
    uas = None
    try:
        assert mine.put("/api/v1/voice/browser-phone").status_code == 200
        uas = await far_party.start_uas(tmp_path, uas_port)
        r = mine.post(DIAL, json={"number": FAR, "sdp": await browser.offer()})
        assert r.status_code == 201, r.text
        await browser.answered(r.json()["sdp"])
        await far_party.finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.browser_phones.dialling, what="the dial to end")
    finally:
        await browser.close()
        await kill(uas)
    assert not voice.calls
    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert row.direction == "outbound" and str(row.agent_id) == ids["agent1"]
    assert row.answered_at is None
    assert row.end_reason.startswith("trunk authentication failed"), row.end_reason
    # The browser phone stays registered for the next call.
    assert mine.get("/api/v1/voice/browser-phone").json()["registered"] is True


async def test_a_callback_rings_the_browser_phone_and_connects_both_ways(
    app, client, tenants, as_user, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    uas_port = free_port()
    far_party.configure(admin, ids, uas_port, callback=True)
    voice = app.state.voice
    far = await open_far_tap(monkeypatch)
    browser = Browser()
    mine = as_user("agent1")
    sipp = uas = None
    try:
        assert mine.put("/api/v1/voice/browser-phone").status_code == 200
        # Nobody is available: the caller presses 1, then 9 for a callback once queued.
        scenario = far_party._caller(tmp_path, digit="1", before_digit_ms=1200)
        text = scenario.read_text()
        info = text[
            text.index('<send retrans="500"><![CDATA[\nINFO') : text.index('<recv request="BYE"')
        ]
        second = info.replace("Signal=1", "Signal=9").replace("CSeq: 2 INFO", "CSeq: 3 INFO")
        scenario.write_text(text.replace(info, info + '<pause milliseconds="3000"/>\n' + second))
        sipp = await start_sipp(tmp_path, scenario, settings.voice_sip_port)
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the caller to be gone")
        [waiting] = admin.get("/api/v1/routing/contacts").json()
        assert waiting["contact_id"].startswith("callback-")

        uas = await far_party.start_uas(tmp_path, uas_port)
        make_available(as_user, ids, "agent1")
        # The browser phone rings (agent1 has no SIP softphone registered at all).
        offer_id = await _wait(lambda: next(iter(voice.browser_phones.ringing), None), 20, "ring")
        r = mine.post(
            "/api/v1/voice/browser-phone/answer",
            json={"offer_id": offer_id, "sdp": await browser.offer()},
        )
        assert r.status_code == 200, r.text
        await browser.answered(r.json()["sdp"])
        back = await _wait(lambda: next(iter(voice.calls.values()), None), 30, "the callback")
        assert back.direction == "outbound" and back.agent_id == ids["agent1"]
        assert back.contact_id == waiting["contact_id"]
        assert type(back.agent_sip).__name__ == "BrowserCall"
        await asyncio.sleep(0.5)
        await _talk(browser, far)
        assert mine.post(f"/api/v1/voice/calls/{back.id}/hangup").status_code == 200
        await far_party.finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.calls, what="the callback to end")
    finally:
        far.transport.close()
        await browser.close()
        await kill(sipp, uas)

    rows = sorted(db_rows(client, app, CallRow), key=lambda r: r.started_at)
    assert [r.direction for r in rows] == ["inbound", "outbound"]
    assert str(rows[1].agent_id) == ids["agent1"] and rows[1].answered_at is not None
    assert rows[1].contact_id == waiting["contact_id"]


async def test_the_agent_gives_up_while_the_number_rings(app, client, tenants, as_user, settings):  # type: ignore[no-untyped-def]
    """Nobody answers behind the trunk (no far party listens: the INVITE goes unanswered), so
    the call is still dialling when agent1 gives up."""
    ids = tenants["demo"].ids
    far_party.configure(as_user("admin"), ids, free_port())
    voice = app.state.voice
    browser = Browser()
    mine = as_user("agent1")
    try:
        assert mine.put("/api/v1/voice/browser-phone").status_code == 200
        make_available(as_user, ids, "agent1")
        r = mine.post(DIAL, json={"number": FAR, "sdp": await browser.offer()})
        assert r.status_code == 201, r.text
        call_id = r.json()["call_id"]
        await browser.answered(r.json()["sdp"])
        await asyncio.sleep(1.0)
        assert call_id in voice.browser_phones.dialling and not voice.calls
        dialling = voice.browser_phones.dialling[call_id]
        # Only agent1 may give it up.
        assert as_user("agent2").delete(f"{DIAL}/{call_id}").status_code == 404
        assert mine.delete(f"{DIAL}/{call_id}").status_code == 204
        await _wait(lambda: dialling.leg.slot is None, 5, "the browser leg to close")
        assert dialling.browser.state == "ended" and not voice.browser_phones.dialling
        assert mine.delete(f"{DIAL}/{call_id}").status_code == 404
    finally:
        await browser.close()
    assert not voice.calls
    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert row.answered_at is None and row.end_reason == "agent hung up while dialling"
    # The contact ended without a wrap-up: agent1 is free for the next call.
    status = as_user("admin").get(f"/api/v1/routing/agents/{ids['agent1']}").json()["status"]
    assert status["state"] == "available" and not status["contacts"], status
