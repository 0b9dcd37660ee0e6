"""The browser phone's network, during a call: live audio figures and renegotiating.

Live figures (docs/voice.md, "Audio quality"): with `voice_live_quality_seconds` a connected
call's `voice.call_quality` reaches its agent and their supervisor, not another agent.

ICE restart after a network change (docs/voice.md, "Browser phone"; ADR 0030): the desk
sends a new offer for its call (`POST /voice/browser-phone/calls/{id}/renegotiate`), the server
answers it with a new peer connection behind the same relay, and the call goes on. An aiortc
peer plays agent1's browser: after the renegotiation its old connection is gone (closed, as a
vanished network would leave it) and a new one carries audio both ways, checked by frequency
analysis at the far party (sipp behind the trunk, as in test_voice_browser_outbound.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import test_voice_outbound as far_party
from test_voice_browser_outbound import DIAL, FAR, Browser, _talk, open_far_tap
from test_voice_webrtc import no_fingerprint
from voice_call_helpers import PEERS, kill, make_available, needs, voice_settings_fixture
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import free_port
from spine_checks import all_events

pytestmark = needs(*PEERS)
settings = voice_settings_fixture(voice_live_quality_seconds=1)


def _quality(user: Any, after: int, call_id: str) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in all_events(user, after)[0]
        if e["event"] == "voice.call_quality" and e["data"]["call_id"] == call_id
    ]


async def test_a_connected_calls_audio_figures_reach_its_agent_and_supervisor(
    app, client, tenants, as_user, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    far_party.configure(as_user("admin"), ids, uas_port := free_port())
    voice = app.state.voice
    far = await open_far_tap(monkeypatch)
    browser = Browser()
    mine = as_user("agent1")
    after = all_events(as_user("admin"))[1]
    uas = None
    try:
        assert mine.put("/api/v1/voice/browser-phone").status_code == 200
        make_available(as_user, ids, "agent1")
        uas = await far_party.start_uas(tmp_path, uas_port)
        r = mine.post(DIAL, json={"number": FAR, "sdp": await browser.offer()})
        assert r.status_code == 201, r.text
        call_id = r.json()["call_id"]
        await browser.answered(r.json()["sdp"])
        call = await _wait(lambda: voice.calls.get(call_id), 30, "the far party to answer")
        await _wait(lambda: call.state == "connected", what="the bridge")
        await _talk(browser, far, 2.0)
        # Figures while the call is up: both legs, the browser's with its RTCP round trip.
        found = await _wait(
            lambda: [
                q
                for q in _quality(mine, after, call_id)
                if {leg["leg"] for leg in q["live"]} == {"customer", "agent"}
                and q["live"][-1]["rtt_ms"] is not None
            ],
            20,
            "voice.call_quality with both legs",
        )
        assert call.state == "connected"  # (not the record at the end: the call is up)
        event = found[-1]
        assert event["agent_id"] == ids["agent1"]
        live = {leg["leg"]: leg for leg in event["live"]}
        agent, customer = live["agent"], live["customer"]
        assert agent["transport"] == "webrtc" and customer["transport"] == "rtp"
        # Loopback: no loss, little jitter, a round trip of a few ms at most.
        assert agent["loss_pct"] < 1 and customer["loss_pct"] < 1, live
        assert 0 <= agent["jitter_ms"] < 30 and 0 <= customer["jitter_ms"] < 30, live
        assert 0 <= agent["rtt_ms"] < 300 and agent["issues"] == [] == customer["issues"], live
        raw = {leg["leg"]: leg for leg in event["audio"]}
        assert raw["agent"]["packets_received"] > 50 and raw["agent"]["packets_sent"] > 50, raw
        # Seen by the call's agent and their supervisor; not by another agent.
        assert _quality(as_user("supervisor"), after, call_id)
        assert not _quality(as_user("agent2"), after, call_id)
        assert mine.post(f"/api/v1/voice/calls/{call_id}/hangup").status_code == 200
        await far_party.finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        far.transport.close()
        await browser.close()
        await kill(uas)


async def test_a_call_survives_its_browser_renegotiating_with_a_new_connection(
    app, client, tenants, as_user, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    far_party.configure(as_user("admin"), ids, uas_port := free_port())
    voice = app.state.voice
    far = await open_far_tap(monkeypatch)
    first, second = Browser(), Browser()
    mine = as_user("agent1")
    uas = None
    try:
        assert mine.put("/api/v1/voice/browser-phone").status_code == 200
        make_available(as_user, ids, "agent1")
        uas = await far_party.start_uas(tmp_path, uas_port)
        r = mine.post(DIAL, json={"number": FAR, "sdp": await first.offer()})
        assert r.status_code == 201, r.text
        call_id = r.json()["call_id"]
        await first.answered(r.json()["sdp"])
        call = await _wait(lambda: voice.calls.get(call_id), 30, "the far party to answer")
        await _wait(lambda: call.state == "connected", what="the bridge")
        await _talk(first, far, 2.0)
        leg, old_pc = call.agent_sip, call.agent_sip.pc

        url = f"{DIAL}/{call_id}/renegotiate"
        offer = await second.offer()
        # Someone else's call, or no call: not found; a bad offer: refused, nothing changed.
        assert as_user("agent2").post(url, json={"sdp": offer}).status_code == 404
        assert mine.post(f"{DIAL}/{'0' * 32}/renegotiate", json={"sdp": offer}).status_code == 404
        r = mine.post(url, json={"sdp": no_fingerprint(offer)})
        assert r.status_code == 422 and "fingerprint" in r.text, r.text
        r = mine.post(url, json={"sdp": "not sdp"})
        assert r.status_code == 422 and r.json()["field"] == "sdp", r.text
        assert call.state == "connected" and leg.pc is old_pc
        await _talk(first, far, 1.5)

        # The network changed: the browser's new connection replaces the old one.
        r = mine.post(url, json={"sdp": offer})
        assert r.status_code == 200 and r.json()["call_id"] == call_id, r.text
        await second.answered(r.json()["sdp"])
        await first.close()  # the old network is gone
        assert leg.pc is not old_pc and old_pc.connectionState == "closed"
        await _wait(lambda: leg.pc.connectionState == "connected", what="the new connection")
        await asyncio.sleep(0.5)  # the mix reaches the new connection
        await _talk(second, far, 3.0)
        # Still the same call, never ended; the leg's figures add up both connections.
        assert voice.calls.get(call_id) is call and call.state == "connected"
        assert call.agent_sip is leg and leg.state == "confirmed"
        await leg.sample_quality()
        assert leg.quality.figures.packets_received > 5.5 * 50, leg.quality.figures
        assert mine.post(f"/api/v1/voice/calls/{call_id}/hangup").status_code == 200
        await far_party.finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        far.transport.close()
        await first.close()
        await second.close()
        await kill(uas)
