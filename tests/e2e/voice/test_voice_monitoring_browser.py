"""Supervisor monitoring through a browser phone (ADR 0030, "Supervisor monitoring"), at the API
with an aiortc peer as the supervisor's browser (its microphone a 1500 Hz tone).

sipp calls (600 Hz) and is bridged to agent1's baresip (1000 Hz). The supervisor registers a
browser phone, so the monitor request carries the browser's WebRTC offer and gets aiortc's
answer back; their SIP softphone (they have a login) is never rung. What each leg hears per mode
comes from the media engine's recorders, as in test_voice_monitoring.py, and what the browser
itself decoded proves the WebRTC path. And the refusals: a registered browser phone without an
offer, an offer without one registered, an offer without a DTLS fingerprint."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from av import AudioResampler
from structlog.testing import capture_logs
from test_voice_monitoring import SUPERVISOR_HZ, _attach, _detach, present
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    PEERS,
    agent1_phone,
    caller_scenario,
    configure,
    finish_sipp,
    kill,
    make_available,
    needs,
    read_wav,
    registered,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import SipAgent
from omnidesk.channels.voice.media.recorder import Heard, Recorder

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "channels" / "voice"))
from test_voice_webrtc import ToneTrack, no_fingerprint

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()

WANT = {
    "listen": {"caller": {AGENT_HZ}, "agent": {CALLER_HZ}, "supervisor": {CALLER_HZ, AGENT_HZ}},
    "whisper": {
        "caller": {AGENT_HZ},
        "agent": {CALLER_HZ, SUPERVISOR_HZ},
        "supervisor": {CALLER_HZ, AGENT_HZ},
    },
    "barge": {
        "caller": {AGENT_HZ, SUPERVISOR_HZ},
        "agent": {CALLER_HZ, SUPERVISOR_HZ},
        "supervisor": {CALLER_HZ, AGENT_HZ},
    },
}


class Browser:
    """The supervisor's browser: an aiortc peer with a 1500 Hz microphone that keeps what it
    hears (8 kHz)."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
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
        self.pc.addTrack(ToneTrack(SUPERVISOR_HZ))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    def since(self, start: int) -> np.ndarray:
        return np.concatenate(self.heard[start:]) if len(self.heard) > start else np.zeros(0)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def _heard_by_legs(portal: Any, media: Any, legs: dict[str, Any], tmp: Path, tag: str):  # type: ignore[no-untyped-def]
    """What each leg is sent for 2 s, by the engine's recorders: the tones present."""
    recs = [Recorder(tmp / f"{tag}-{name}.wav", [Heard(leg)]) for name, leg in legs.items()]
    portal.call(_attach, media, recs)
    await asyncio.sleep(2.0)
    portal.call(_detach, media, recs)
    return {name: present(read_wav(rec.path)[0]) for name, rec in zip(legs, recs, strict=True)}


async def test_supervisor_listens_whispers_and_barges_through_a_browser_phone(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    # The supervisor also has a SIP login: the browser phone must win over it.
    configure(admin, ids, agents=(SipAgent(ids["supervisor"], "sup", "sup-s3cret", None),))
    voice = app.state.voice
    media = voice.media
    portal = client.portal
    agent = agent1_phone(tmp_path, settings.voice_sip_port)
    await agent.start()
    sipp = None
    browser = Browser()
    spare = RTCPeerConnection()
    supervisor = as_user("supervisor")
    try:
        await registered(voice, "agent1")
        make_available(as_user, ids, "agent1")
        sipp = await start_sipp(
            tmp_path, caller_scenario(tmp_path, digit="1", how="info"), settings.voice_sip_port
        )
        await agent.wait_event("CALL_ESTABLISHED", within=40)
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "connected", what="the bridge")
        url = f"/api/v1/voice/calls/{call.id}/monitor"
        sdp = await browser.offer()

        # An offer while no browser phone is registered: 409, nothing rings.
        r = supervisor.post(url, json={"mode": "listen", "sdp": sdp})
        assert r.status_code == 409 and "browser phone" in r.json()["detail"], r.text
        r = supervisor.put("/api/v1/voice/browser-phone")  # a supervisor may register one
        assert r.status_code == 200 and r.json()["registered"] is True, r.text
        # Registered, but no offer: 422 naming sdp (the softphone is not rung instead).
        r = supervisor.post(url, json={"mode": "listen"})
        assert r.status_code == 422 and r.json()["field"] == "sdp", r.text
        # An offer without a DTLS fingerprint: 422 naming sdp, logged; the call goes on.
        spare.addTrack(ToneTrack(SUPERVISOR_HZ))
        await spare.setLocalDescription(await spare.createOffer())
        with capture_logs() as logs:
            r = supervisor.post(
                url, json={"mode": "listen", "sdp": no_fingerprint(spare.localDescription.sdp)}
            )
        assert r.status_code == 422 and r.json()["field"] == "sdp", r.text
        assert "DTLS fingerprint" in r.json()["detail"]
        assert any(e["event"] == "voice.browser_offer_refused" for e in logs), logs
        assert not call.monitors and call.state == "connected"
        assert voice.browser_phones.ringing == {}

        # Listen: the answer comes back in the response; the browser connects.
        r = supervisor.post(url, json={"mode": "listen", "sdp": sdp})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["monitors"] == [{"user_id": ids["supervisor"], "mode": "listen"}]
        assert "a=fingerprint" in body["sdp"]
        await browser.pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "answer"))
        await _wait(lambda: browser.pc.connectionState == "connected", what="the browser")
        phone, sup_leg, _ = call.monitors[ids["supervisor"]]
        assert type(phone).__name__ == "BrowserCall"
        # Another offer while monitoring is refused: the mode is switched without one.
        r = supervisor.post(url, json={"mode": "whisper", "sdp": sdp})
        assert r.status_code == 409, r.text

        legs = {"caller": call.leg, "agent": call.agent_leg, "supervisor": sup_leg}
        got: dict[str, dict[str, set[int]]] = {}
        heard_by_browser: dict[str, np.ndarray] = {}
        for mode in ("listen", "whisper", "barge"):
            if mode != "listen":
                r = supervisor.patch(url, json={"mode": mode})
                assert r.status_code == 200, r.text
                assert r.json()["monitors"][0]["mode"] == mode
            await asyncio.sleep(1.0)  # the new mix reaches the peers (and the jitter buffers)
            start = len(browser.heard)
            got[mode] = await _heard_by_legs(portal, media, legs, tmp_path, mode)
            heard_by_browser[mode] = browser.since(start)
        assert got == WANT
        # What the browser itself decoded: the caller and the agent, in every mode.
        for mode, samples in heard_by_browser.items():
            assert samples.size >= 8000, (mode, samples.size)
            assert present(samples) == {CALLER_HZ, AGENT_HZ}, mode
        assert call.monitors[ids["supervisor"]][0] is phone  # switching never reconnected

        r = supervisor.delete(url)
        assert r.status_code == 200 and r.json()["monitors"] == [], r.text
        assert phone.state == "ended"
        assert portal.call(lambda: set(media.sources_of(call.leg))) == {call.agent_leg}

        # Again, and this time the supervisor closes the browser: the monitor ends by itself.
        again = Browser()
        try:
            r = supervisor.post(url, json={"mode": "listen", "sdp": await again.offer()})
            assert r.status_code == 200, r.text
            await again.pc.setRemoteDescription(RTCSessionDescription(r.json()["sdp"], "answer"))
            await _wait(lambda: again.pc.connectionState == "connected", what="the browser")
        finally:
            await again.close()
        await _wait(lambda: not call.monitors, within=40, what="the monitor to end")
        assert call.state == "connected"
        await agent.command("hangup")
        await finish_sipp(sipp, tmp_path)
        sipp = None
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await browser.close()
        await spare.close()
        await kill(sipp)
        await agent.stop()
