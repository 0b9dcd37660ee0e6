"""A browser phone whose connection never comes up (issue 17, "Bad input"; docs/voice.md,
"Browser phone"): the desk answers a queued call with a valid offer (DTLS fingerprint,
candidates) but the server's ICE checks are never answered (its one candidate is a loopback
socket that reads nothing, as behind a firewall that drops them). aioice alone would go on
checking for about a minute; `voice_webrtc_connect_timeout_seconds` (made short here, and
shorter than the "answered without audio" wait) ends the leg with "ICE did not complete",
logged, and the caller goes back to the queue, still on the line: offered again (to agent2:
routing offers a contact once to each agent while it waits), it is answered by a working
browser and talks. aiortc peers play the browsers, sipp the caller (600 Hz)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from structlog.testing import capture_logs
from test_voice_browser_outbound import Browser
from test_voice_webrtc_ice_never import unreachable
from voice_call_helpers import (
    CALLER_HZ,
    PEERS,
    caller_scenario,
    configure,
    finish_sipp,
    kill,
    make_available,
    needs,
    start_sipp,
    tone_share,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import SipAgent
from spine_checks import all_events

pytestmark = needs(*PEERS)
CONNECT_S, MEDIA_S = 1.5, 10
settings = voice_settings_fixture(
    voice_webrtc_connect_timeout_seconds=CONNECT_S, voice_answer_media_timeout_seconds=MEDIA_S
)

PHONE = "/api/v1/voice/browser-phone"


async def _ringing(voice: Any, user_id: str, what: str) -> str:
    want = uuid.UUID(user_id)
    return str(
        await _wait(
            lambda: next(
                (o for o, c in voice.browser_phones.ringing.items() if c.phone.user_id == want),
                None,
            ),
            40,
            what,
        )
    )


async def test_a_browser_whose_ice_never_completes_sends_the_caller_back_to_the_queue(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    configure(as_user("admin"), ids, agents=(SipAgent(ids["agent2"], "agent2", "an0ther-pass"),))
    voice = app.state.voice
    agent, other = as_user("agent1"), as_user("agent2")
    after = all_events(as_user("admin"))[1]
    # Nothing answers here: the server's checks are received and dropped.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    stuck, good = Browser(), Browser()
    sipp = None
    try:
        assert agent.put(PHONE).status_code == 200 and other.put(PHONE).status_code == 200
        make_available(as_user, ids, "agent1")
        scenario = caller_scenario(tmp_path, digit="1", how="pcap")
        sipp = await start_sipp(tmp_path, scenario, settings.voice_sip_port)
        first = await _ringing(voice, ids["agent1"], "agent1's browser phone to ring")
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        ring = voice.browser_phones.ringing[first]
        offer = unreachable(await stuck.offer(), silent.getsockname()[1])
        assert "a=fingerprint" in offer
        loop = asyncio.get_running_loop()
        with capture_logs() as logs:
            r = agent.post(f"{PHONE}/answer", json={"offer_id": first, "sdp": offer})
            assert r.status_code == 200, r.text  # a valid offer: answered
            answered_at = loop.time()
            # (The stuck browser never applies the answer: its side of ICE is gone too.)
            await _wait(lambda: ring.state == "ended", CONNECT_S + 5, "the leg to fail")
            took = loop.time() - answered_at
            await _wait(lambda: call.state == "queued", 5, "the caller back in line")
            # (Logged once routing was told: after the call is back in line.)
            await _wait(
                lambda: any(e["event"] == "voice.ring_missed" for e in logs), 10, "ring_missed"
            )
        # Bounded by the connect deadline, well before the "answered without audio" wait.
        assert took < CONNECT_S + 2 < MEDIA_S, took
        assert ring.end_reason == f"ICE did not complete within {CONNECT_S:g} s"
        [failed] = [e for e in logs if e["event"] == "voice.browser_ice_failed"]
        assert failed["reason"] == ring.end_reason and failed["offer"] == first, failed
        assert failed["state"] != "connected", failed
        [missed] = [e for e in logs if e["event"] == "voice.ring_missed"]
        assert missed["reason"] == "media_failed" and "ICE did not complete" in missed["detail"]
        # The caller is still on the line, waiting (not hung up), and the miss is told as any.
        assert not call.ended and voice.calls.get(call.id) is call
        told = await _wait(
            lambda: [
                e["data"]
                for e in all_events(as_user("admin"), after)[0]
                if e["event"] == "voice.ring_missed"
            ],
            10,
            "voice.ring_missed to be written",
        )
        assert told[0]["reason"] == "media_failed" and "ICE did not complete" in told[0]["detail"]

        # agent2 comes along: the call is offered again, and a browser whose ICE works answers
        # it and hears the caller.
        make_available(as_user, ids, "agent2")
        second = await _ringing(voice, ids["agent2"], "agent2's browser phone to ring")
        r = other.post(f"{PHONE}/answer", json={"offer_id": second, "sdp": await good.offer()})
        assert r.status_code == 200, r.text
        await good.answered(r.json()["sdp"])
        await _wait(lambda: call.state == "connected", 15, "the second answer to connect")
        start = len(good.heard)
        await asyncio.sleep(2.0)
        heard = good.audio(start)
        assert heard.size > 8000 and float(np.abs(heard).mean()) > 0, heard.size
        assert tone_share(heard, CALLER_HZ, (1000.0,)) > 0.9
        assert other.post(f"/api/v1/voice/calls/{call.id}/hangup").status_code == 200
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        silent.close()
        await stuck.close()
        await good.close()
        await kill(sipp)
