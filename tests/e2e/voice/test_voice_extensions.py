"""Agents' extension numbers (docs/voice.md, "Extensions"): an admin gives agent2 extension
201; agent1 dials "201" from the browser phone (an aiortc peer, 1000 Hz) and agent2's browser
phone (1500 Hz) rings, answers, and each hears the other — no trunk is involved. The
extension API's bad input: not 2-6 digits (422), another agent's number (409), not an admin
(403), an extension nobody has (422 naming `number` on the dial)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_voice_browser_outbound import Browser
from test_voice_browser_transfers import PHONE, _answer, _heard, _ringing
from test_voice_transfers import AGENT2_HZ, A, B, runs
from voice_call_helpers import (
    AGENT_HZ,
    DOMAIN,
    PEERS,
    agent1_phone,
    configure,
    db_rows,
    make_available,
    needs,
    registered,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import SipAgent
from omnidesk.channels.voice.models import Call as CallRow

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()


def _ext(user_id: str) -> str:
    return f"/api/v1/voice/agents/{user_id}/extension"


async def test_extensions_are_admin_set_unique_and_validated(app, client, tenants, as_user):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin, one = as_user("admin"), as_user("agent1")
    assert admin.get(_ext(ids["agent2"])).json()["extension"] is None
    r = admin.put(_ext(ids["agent2"]), json={"extension": "201"})
    assert r.status_code == 200 and r.json()["extension"] == "201", r.text
    assert one.get(_ext(ids["agent1"])).json()["extension"] is None  # their own: readable
    # Another agent's number: 409 naming the field; the same agent again is fine.
    r = admin.put(_ext(ids["agent1"]), json={"extension": "201"})
    assert r.status_code == 409 and "extension" in r.text, r.text
    assert admin.put(_ext(ids["agent2"]), json={"extension": "201"}).status_code == 200
    for bad in ("1", "2a1", "+201", "1234567", "", " 201"):
        r = admin.put(_ext(ids["agent1"]), json={"extension": bad})
        assert r.status_code == 422 and "extension" in r.text, (bad, r.text)
    assert admin.put(_ext(ids["agent1"]), json={"extension": 201}).status_code == 422
    # Agents do not number themselves or others.
    assert one.put(_ext(ids["agent1"]), json={"extension": "101"}).status_code == 403
    assert one.delete(_ext(ids["agent2"])).status_code == 403
    # Renumbered, the old number is free again.
    assert admin.put(_ext(ids["agent2"]), json={"extension": "202"}).status_code == 200
    assert admin.put(_ext(ids["agent1"]), json={"extension": "201"}).status_code == 200
    assert admin.delete(_ext(ids["agent2"])).status_code == 204
    assert admin.delete(_ext(ids["agent2"])).status_code == 404
    assert admin.get(_ext(ids["agent2"])).json()["extension"] is None


async def test_a_browser_agent_dials_a_colleagues_extension(
    app, client, tenants, as_user, settings
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    configure(as_user("admin"), ids, agents=(SipAgent(ids["agent2"], "agent2", "an0ther-pass"),))
    admin, one, two = as_user("admin"), as_user("agent1"), as_user("agent2")
    assert admin.put(_ext(ids["agent2"]), json={"extension": "201"}).status_code == 200
    voice = app.state.voice
    a, b = Browser(AGENT_HZ), Browser(AGENT2_HZ)
    calls = f"{PHONE}/calls"
    try:
        assert one.put(PHONE).status_code == 200 and two.put(PHONE).status_code == 200
        make_available(as_user, ids, "agent1")
        sdp = await a.offer()
        # An extension nobody has: 422 naming the number (not a trunk dial).
        r = one.post(calls, json={"number": "999", "sdp": sdp})
        assert r.status_code == 422 and "no agent has extension" in r.text, r.text
        assert not voice.calls and not voice.browser_phones.dialling

        r = one.post(calls, json={"number": "201", "sdp": sdp})
        assert r.status_code == 201, r.text
        call_id = r.json()["call_id"]
        await a.answered(r.json()["sdp"])
        assert await _ringing(voice, ids["agent2"], "agent2's browser to ring") == call_id
        await _answer(two, b, call_id)
        call = await _wait(lambda: voice.calls.get(call_id), what="the call between agents")
        await _wait(lambda: call.state == "connected", what="the bridge")
        assert call.attributes["callee_id"] == ids["agent2"] and call.trunk_id is None
        await asyncio.sleep(0.5)
        heard_a, heard_b = await _heard(a, b)
        assert heard_a == [B] and heard_b == [A], (heard_a, heard_b)
        # The call-control API works on it as on any call between agents.
        assert one.post(f"/api/v1/voice/calls/{call_id}/hangup").status_code == 200
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await a.close()
        await b.close()
    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert (row.from_uri, row.to_uri) == (f"browser:{ids['agent1']}", f"agent:{ids['agent2']}")
    assert row.answered_at is not None


async def test_a_softphone_dials_a_colleagues_extension(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    """agent1's baresip softphone (1000 Hz, a real SIP peer with digest auth) dials
    sip:201@domain: agent2's browser phone rings (not the trunk), answers, and each hears the
    other; agent1's hang-up (BYE) ends it."""
    ids = tenants["demo"].ids
    configure(as_user("admin"), ids, agents=(SipAgent(ids["agent2"], "agent2", "an0ther-pass"),))
    admin, two = as_user("admin"), as_user("agent2")
    assert admin.put(_ext(ids["agent2"]), json={"extension": "201"}).status_code == 200
    voice = app.state.voice
    agent = agent1_phone(tmp_path, settings.voice_sip_port)
    b = Browser(AGENT2_HZ)
    await agent.start()
    try:
        assert two.put(PHONE).status_code == 200
        await registered(voice, "agent1")
        # An extension nobody has is dialled as a number: with no trunk out, refused.
        await agent.command("dial", f"sip:999@{DOMAIN}")
        await agent.wait_event("CALL_CLOSED", within=30)
        assert not voice.calls and not voice.browser_phones.ringing

        await agent.command("dial", f"sip:201@{DOMAIN}")
        ring_id = await _ringing(voice, ids["agent2"], "agent2's browser to ring")
        await _answer(two, b, ring_id)
        await agent.wait_event("CALL_ESTABLISHED", within=30)
        call = await _wait(lambda: voice.calls.get(ring_id), what="the call between agents")
        await _wait(lambda: call.state == "connected", what="the bridge")
        assert call.agent_id == ids["agent1"] and call.attributes["callee_id"] == ids["agent2"]
        assert call.trunk_id is None
        await asyncio.sleep(0.5)
        start, a0 = len(b.heard), call.agent_leg.stats.packets_received
        b0 = call.leg.stats.packets_received
        await asyncio.sleep(2.0)
        assert runs(b.audio(start), 3) == [A], runs(b.audio(start), 3)
        assert call.agent_leg.stats.packets_received - a0 > 50  # the softphone's RTP arrives
        # Bridged both ways (what baresip hears is not captured: the bridge is checked).
        assert call.agent_leg in voice.media.sources_of(call.leg)
        assert call.leg in voice.media.sources_of(call.agent_leg)
        assert call.leg.stats.packets_received - b0 > 50  # agent2's browser, via the relay
        await agent.command("hangup")
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await b.close()
        await agent.stop()
    rows = await _wait(
        lambda: [r for r in db_rows(client, app, CallRow) if r.to_uri == f"agent:{ids['agent2']}"],
        what="the call's record",
    )
    [row] = rows
    assert str(row.agent_id) == ids["agent1"] and row.answered_at is not None
