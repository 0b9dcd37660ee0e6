"""Consult, conference and transfer between two browser phones (ADR 0030, "Consults and calls
between agents"): aiortc peers play agent1's browser (1000 Hz) and agent2's (1500 Hz), sipp is
the caller (600 Hz); nobody has a SIP softphone. The consult is routing's offer to agent2,
so agent2's browser phone rings for it and answers it as any offer
(`POST …/browser-phone/answer`). Who hears whom is read from what each browser decoded, and
what the caller hears from the recording's right channel (it follows the caller's side once
agents change, as in test_voice_transfers)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from test_voice_browser_outbound import Browser
from test_voice_transfers import AGENT2_HZ, A, B, C, in_order, runs
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    PEERS,
    caller_scenario,
    configure,
    db_rows,
    finish_sipp,
    kill,
    make_available,
    needs,
    read_wav,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import SipAgent
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.models import Recording as RecordingRow
from spine_checks import all_events

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()

PHONE = "/api/v1/voice/browser-phone"


async def _answer(user: Any, browser: Browser, offer_id: str) -> None:
    r = user.post(f"{PHONE}/answer", json={"offer_id": offer_id, "sdp": await browser.offer()})
    assert r.status_code == 200, r.text
    await browser.answered(r.json()["sdp"])


async def _ringing(voice: Any, user_id: str, what: str) -> str:
    """The offer `user_id`'s browser phone rings for."""
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


async def _heard(*browsers: Browser, seconds: float = 2.0) -> list[list[frozenset[float]]]:
    starts = [len(b.heard) for b in browsers]
    await asyncio.sleep(seconds)
    return [runs(b.audio(start), 3) for b, start in zip(browsers, starts, strict=True)]


async def test_browser_agents_consult_conference_and_transfer(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    # agent2 gets a routing profile (and a SIP login it never registers: the browser wins).
    configure(as_user("admin"), ids, agents=(SipAgent(ids["agent2"], "agent2", "an0ther-pass"),))
    voice = app.state.voice
    one, two = as_user("agent1"), as_user("agent2")
    a, b1, b2 = Browser(AGENT_HZ), Browser(AGENT2_HZ), Browser(AGENT2_HZ)
    for user in (one, two):
        assert user.put(PHONE).status_code == 200
    make_available(as_user, ids, "agent1")
    sipp = await start_sipp(
        tmp_path, caller_scenario(tmp_path, digit="1", how="pcap"), settings.voice_sip_port
    )
    try:
        await _answer(one, a, await _ringing(voice, ids["agent1"], "agent1's browser to ring"))
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "connected", what="the bridge")
        make_available(as_user, ids, "agent2")  # only now: routing could offer it the call
        url = f"/api/v1/voice/calls/{call.id}"
        await asyncio.sleep(1.0)

        # A consult rings agent2's browser phone (not a softphone: agent2 has none).
        r = one.post(f"{url}/consult", json={"target": "agent", "id": ids["agent2"]})
        assert r.status_code == 200, r.text
        assert r.json()["consult"]["agent_id"] == ids["agent2"]
        await _answer(two, b1, await _ringing(voice, ids["agent2"], "the consult to ring"))
        await _wait(lambda: call.consult is not None and call.consult.answered, what="B")
        # agent2 follows the call for their part: the consult is in the view; the call's
        # controls stay agent1's.
        seen = two.get(url).json()
        assert seen["consult"]["agent_id"] == ids["agent2"], seen
        assert seen["consult"]["state"] == "connected"
        assert two.post(f"{url}/hold").status_code == 409
        await asyncio.sleep(0.5)
        heard_a, heard_b = await _heard(a, b1)
        assert heard_a == [B] and heard_b == [A], (heard_a, heard_b)  # the caller hears music
        # agent2 hangs up from the desk: only their part ends, the caller is agent1's again.
        assert two.post(f"{url}/hangup").status_code == 200
        assert call.consult is None and call.state == "connected"
        assert call.agent_id == ids["agent1"] and not call.ended
        await asyncio.sleep(0.5)
        assert (await _heard(a))[0] == [C]

        # Consult again, then a conference: all three hear each other.
        to_two = {"target": "agent", "id": ids["agent2"]}
        await _wait(
            lambda: one.post(f"{url}/consult", json=to_two).status_code == 200,
            what="agent2 ready again (after its consult)",
        )
        await _answer(two, b2, await _ringing(voice, ids["agent2"], "the second consult"))
        await _wait(lambda: call.consult is not None and call.consult.answered, what="B again")
        await asyncio.sleep(1.0)
        r = one.post(f"{url}/conference")
        assert r.status_code == 200 and r.json()["state"] == "conference", r.text
        await asyncio.sleep(0.5)
        heard_a, heard_b = await _heard(a, b2, seconds=2.5)
        assert heard_a == [frozenset({CALLER_HZ, AGENT2_HZ})], heard_a
        assert heard_b == [frozenset({CALLER_HZ, AGENT_HZ})], heard_b

        # agent1 completes the transfer: agent2 has the caller, agent1's browser is let go.
        first = call.agent_sip
        r = one.post(f"{url}/consult/complete")
        assert r.status_code == 200, r.text
        assert r.json()["agent_id"] == ids["agent2"] and r.json()["consult"] is None
        assert first.state == "ended" and call.agent_sip is not first
        assert type(call.agent_sip).__name__ == "BrowserCall"
        await asyncio.sleep(0.5)
        assert (await _heard(b2))[0] == [C]
        assert two.post(f"{url}/hangup").status_code == 200
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        for browser in (a, b1, b2):
            await browser.close()
        await kill(sipp)

    # What the caller heard: agent1, both at once (the conference), then agent2 alone.
    [rec] = db_rows(client, app, RecordingRow)
    samples, _ = read_wav(settings.data_dir / rec.path)
    right = runs(np.asarray(samples)[:, 1])
    assert in_order(right, [A, frozenset({AGENT_HZ, AGENT2_HZ}), B]), right
    # Each agent's desk heard of the steps that took them off the call (its browser phone ends
    # with them): agent2 of its first consult's end, agent1 of the transfer.
    mine, _ = all_events(one)
    states = [e["data"]["state"] for e in mine if e["event"] == "voice.call_state_changed"]
    assert "transferred" in states, states
    theirs, _ = all_events(two)
    gone = [
        e["data"]
        for e in theirs
        if e["event"] == "voice.call_state_changed" and e["data"]["state"] == "consult_ended"
    ]
    assert gone and gone[0]["detail"]["why"] == "consultant hung up", gone
    assert gone[0]["call"]["consult"] is None


async def test_a_browser_agent_calls_another_agent(app, client, tenants, as_user, settings):  # type: ignore[no-untyped-def]
    """agent1 calls agent2 by user id from the browser phone: agent2's browser phone rings
    (told on agent2's event stream), answers, and both hear each other; no trunk, no sipp."""
    ids = tenants["demo"].ids
    configure(as_user("admin"), ids, agents=(SipAgent(ids["agent2"], "agent2", "an0ther-pass"),))
    voice = app.state.voice
    one, two = as_user("agent1"), as_user("agent2")
    a, b = Browser(AGENT_HZ), Browser(AGENT2_HZ)
    calls = f"{PHONE}/calls"
    try:
        assert one.put(PHONE).status_code == 200
        make_available(as_user, ids, "agent1")  # the call is agent1's routing contact
        sdp = await a.offer()
        # Bad input: both targets or none, yourself; agent2 has no phone registered yet.
        both = {"number": "+4930123456", "agent_id": ids["agent2"], "sdp": sdp}
        assert one.post(calls, json=both).status_code == 422
        assert one.post(calls, json={"sdp": sdp}).status_code == 422
        assert one.post(calls, json={"agent_id": ids["agent1"], "sdp": sdp}).status_code == 422
        r = one.post(calls, json={"agent_id": ids["agent2"], "sdp": sdp})
        assert r.status_code == 409 and "no phone registered" in r.text, r.text
        assert not voice.calls and not voice.browser_phones.dialling

        assert two.put(PHONE).status_code == 200
        r = one.post(calls, json={"agent_id": ids["agent2"], "sdp": sdp})
        assert r.status_code == 201, r.text
        call_id = r.json()["call_id"]
        await a.answered(r.json()["sdp"])
        # agent2's desk hears of the ring, and answers it with the call's id as the ring.
        ring_id = await _ringing(voice, ids["agent2"], "agent2's browser to ring")
        assert ring_id == call_id
        theirs, _ = all_events(two)
        [told] = [
            e["data"]
            for e in theirs
            if e["event"] == "voice.call_state_changed" and e["data"]["state"] == "ringing"
        ]
        assert told["detail"]["from"] == ids["agent1"] and told["detail"]["ring_id"] == call_id
        await _answer(two, b, call_id)
        call = await _wait(lambda: voice.calls.get(call_id), what="the call between agents")
        await _wait(lambda: call.state == "connected", what="the bridge")
        seen = two.get(f"/api/v1/voice/calls/{call_id}").json()
        assert seen["agent_id"] == ids["agent1"] and seen["callee_id"] == ids["agent2"], seen
        assert two.post(f"/api/v1/voice/calls/{call_id}/hold").status_code == 409
        await asyncio.sleep(0.5)
        heard_a, heard_b = await _heard(a, b)
        assert heard_a == [B] and heard_b == [A], (heard_a, heard_b)
        status = as_user("admin").get(f"/api/v1/routing/agents/{ids['agent1']}").json()
        assert call_id in status["status"]["contacts"], status
        assert two.post(f"/api/v1/voice/calls/{call_id}/hangup").status_code == 200
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await a.close()
        await b.close()
    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert (row.from_uri, row.to_uri) == (f"browser:{ids['agent1']}", f"agent:{ids['agent2']}")
    assert str(row.agent_id) == ids["agent1"] and row.answered_at is not None


async def test_an_agent_declines_a_colleagues_call(app, client, tenants, as_user, settings):  # type: ignore[no-untyped-def]
    """agent2's Decline ends agent1's call at once, with why `declined` (not at the ring
    limit); only the one rung may decline it."""
    ids = tenants["demo"].ids
    configure(as_user("admin"), ids, agents=(SipAgent(ids["agent2"], "agent2", "an0ther-pass"),))
    voice = app.state.voice
    one, two = as_user("agent1"), as_user("agent2")
    a = Browser(AGENT_HZ)
    try:
        assert one.put(PHONE).status_code == 200 and two.put(PHONE).status_code == 200
        make_available(as_user, ids, "agent1")
        r = one.post(f"{PHONE}/calls", json={"agent_id": ids["agent2"], "sdp": await a.offer()})
        assert r.status_code == 201, r.text
        call_id = r.json()["call_id"]
        await a.answered(r.json()["sdp"])
        assert await _ringing(voice, ids["agent2"], "agent2's browser to ring") == call_id
        # Not the caller's ring to decline, nor one that does not exist.
        assert one.post(f"{PHONE}/decline", json={"offer_id": call_id}).status_code == 404
        assert two.post(f"{PHONE}/decline", json={"offer_id": "nope"}).status_code == 404
        assert two.post(f"{PHONE}/decline", json={"offer_id": ""}).status_code == 422
        assert two.post(f"{PHONE}/decline", json={"offer_id": call_id}).status_code == 204
        await _wait(lambda: not voice.browser_phones.dialling, what="the caller's ring to end")
        assert not voice.calls
        assert two.post(f"{PHONE}/decline", json={"offer_id": call_id}).status_code == 404
    finally:
        await a.close()
    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert row.end_reason == "declined" and row.answered_at is None, row.end_reason
    theirs, _ = all_events(two)
    ended = [
        e["data"]["detail"]
        for e in theirs
        if e["event"] == "voice.call_state_changed" and e["data"]["state"] == "ring_ended"
    ]
    assert ended == [
        {"internal": True, "from": ids["agent1"], "ring_id": call_id, "why": "declined"}
    ]
