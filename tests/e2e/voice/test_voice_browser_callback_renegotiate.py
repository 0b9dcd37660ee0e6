"""A callback's browser leg renegotiates after a network change (issue 17; ADR 0030, "A
network change"): the call of a callback is made only once the customer answers, so its
browser leg used to be answered with `call_id: null` and the desk had nothing to renegotiate
by. Now the callback's call id is chosen when the agent's browser phone rings: the answer
names it, `POST …/calls/{id}/renegotiate` finds the leg while the customer is dialled and once
the call is up, and the call goes on over the new connection (an aiortc peer each; audio
checked by frequency analysis at the far party, sipp behind the trunk)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import test_voice_outbound as far_party
from test_voice_browser_outbound import DIAL, Browser, _talk, open_far_tap
from test_voice_webrtc import no_fingerprint
from voice_call_helpers import (
    PEERS,
    finish_sipp,
    kill,
    make_available,
    needs,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import free_port

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()


async def test_a_callbacks_browser_leg_renegotiates(
    app, client, tenants, as_user, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    uas_port = free_port()
    far_party.configure(admin, ids, uas_port, callback=True)
    voice = app.state.voice
    far = await open_far_tap(monkeypatch)
    first, second, third = Browser(), Browser(), Browser()
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
        second_key = info.replace("Signal=1", "Signal=9").replace("CSeq: 2 INFO", "CSeq: 3 INFO")
        scenario.write_text(
            text.replace(info, info + '<pause milliseconds="3000"/>\n' + second_key)
        )
        sipp = await start_sipp(tmp_path, scenario, settings.voice_sip_port)
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the caller to be gone")

        make_available(as_user, ids, "agent1")
        offer_id = await _wait(lambda: next(iter(voice.browser_phones.ringing), None), 20, "ring")
        r = mine.post(
            "/api/v1/voice/browser-phone/answer",
            json={"offer_id": offer_id, "sdp": await first.offer()},
        )
        assert r.status_code == 200, r.text
        call_id = r.json()["call_id"]
        assert call_id, r.json()  # the callback's call, named before it exists
        await first.answered(r.json()["sdp"])
        url = f"{DIAL}/{call_id}/renegotiate"

        # While the customer is dialled (no far party listens yet): the leg is found by the
        # call's id; another agent's request is not, a bad offer is refused and changes nothing.
        leg = voice.browser_phones.by_call[call_id]
        await _wait(lambda: leg.pc.connectionState == "connected", what="the first connection")
        assert call_id not in voice.calls
        offer = await second.offer()
        assert as_user("agent2").post(url, json={"sdp": offer}).status_code == 404
        r = mine.post(url, json={"sdp": no_fingerprint(offer)})
        assert r.status_code == 422 and r.json()["field"] == "sdp", r.text
        r = mine.post(url, json={"sdp": offer})
        assert r.status_code == 200 and r.json()["call_id"] == call_id, r.text
        await second.answered(r.json()["sdp"])
        await first.close()
        await _wait(lambda: leg.pc.connectionState == "connected", what="the second connection")

        # The customer answers: the call has the id the desk was given, and the second
        # connection carries it.
        uas = await far_party.start_uas(tmp_path, uas_port)
        back = await _wait(lambda: voice.calls.get(call_id), 40, "the callback")
        await _wait(lambda: back.state == "connected", what="the bridge")
        assert back.agent_sip is leg and back.agent_id == ids["agent1"]
        await asyncio.sleep(0.5)
        await _talk(second, far, 2.0)

        # And once connected, another network change.
        r = mine.post(url, json={"sdp": await third.offer()})
        assert r.status_code == 200 and r.json()["call_id"] == call_id, r.text
        await third.answered(r.json()["sdp"])
        await second.close()
        await _wait(lambda: leg.pc.connectionState == "connected", what="the third connection")
        await asyncio.sleep(0.5)
        await _talk(third, far, 2.0)
        assert voice.calls.get(call_id) is back and back.state == "connected"
        assert mine.post(f"/api/v1/voice/calls/{call_id}/hangup").status_code == 200
        await far_party.finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.calls, what="the callback to end")
        assert call_id not in voice.browser_phones.by_call
    finally:
        far.transport.close()
        for browser in (first, second, third):
            await browser.close()
        await kill(sipp, uas)
