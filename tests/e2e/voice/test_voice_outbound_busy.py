"""An agent's own outbound call makes them busy in routing, with real peers (the set-up of
test_voice_outbound.py: baresip as agent1's softphone, a sipp UAS behind the trunk, a sipp
caller for the queue): while agent1 talks, a call for the queue waits and agent1's phone does
not ring; after the hang-up agent1 wraps up, then is available and the waiting call rings.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from test_voice_outbound import FAR, _agent, _caller, _ok, configure, finish_uas, start_uas
from voice_call_helpers import (
    DOMAIN,
    PEERS,
    db_rows,
    finish_sipp,
    kill,
    make_available,
    needs,
    registered,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.models import Call as CallRow
from spine_checks import all_events

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()


async def test_agent_on_own_outbound_call_is_busy_and_not_rung(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    uas_port = free_port()
    configure(admin, ids, uas_port)
    voice = app.state.voice
    agent = _agent(tmp_path, settings)
    await agent.start()
    sipp = uas = None
    agent_url = f"/api/v1/routing/agents/{ids['agent1']}"

    def rung() -> int:
        # baresip auto-answers, so an incoming call shows as events of direction "incoming".
        return sum(1 for e in agent.events if e.get("direction") == "incoming")

    try:
        await registered(voice, "agent1")
        make_available(as_user, ids, "agent1")
        uas = await start_uas(tmp_path, uas_port)
        await agent.command("dial", f"sip:{FAR}@{DOMAIN}")
        await agent.wait_event("CALL_ESTABLISHED", within=30)
        out = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        assert out.direction == "outbound" and out.contact_id == out.id
        status = _ok(admin.get(agent_url))["status"]
        assert status["state"] == "busy" and status["contacts"] == {out.id: "active"}
        contact = _ok(admin.get(f"/api/v1/routing/contacts/{out.id}"))
        assert (contact["state"], contact["queue_id"]) == ("active", None)

        # A call for the queue waits: agent1's one voice slot is taken by the outbound call.
        sipp = await start_sipp(tmp_path, _caller(tmp_path, digit="1"), settings.voice_sip_port)

        def inbound_call() -> Any:
            return next((c for c in voice.calls.values() if c.direction == "inbound"), None)

        inbound = await _wait(inbound_call, 30, "the inbound call")
        await _wait(lambda: inbound.state == "queued", 30, "the queue")
        await asyncio.sleep(3)  # long enough for an offer to ring the softphone, were one made
        assert inbound.state == "queued"
        assert rung() == 0
        queued = _ok(admin.get(f"/api/v1/routing/contacts/{inbound.contact_id}"))
        assert queued["state"] == "waiting"

        # Hang-up: agent1 wraps up (no queue: until they end it) and still gets no call.
        await agent.command("hangup")
        await finish_uas(uas, tmp_path)
        await _wait(lambda: out.id not in voice.calls, what="the outbound call to end")
        status = _ok(admin.get(agent_url))["status"]
        assert status["state"] == "wrap_up" and status["contacts"] == {out.id: "wrap_up"}
        assert inbound.state == "queued" and rung() == 0
        # Wrap-up ended: available, and the waiting call rings agent1 (auto-answered).
        _ok(as_user("agent1").post(f"/api/v1/routing/wrap-ups/{out.id}/end", json={}))
        await agent.wait_for(
            lambda e: e.get("type") == "CALL_ESTABLISHED" and e.get("direction") == "incoming",
            within=30,
        )
        await _wait(lambda: inbound.state == "connected", 30, "the inbound call to connect")
        assert inbound.agent_id == ids["agent1"]
        _ok(admin.post(f"/api/v1/voice/calls/{inbound.id}/hangup"))
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the calls to end")
    finally:
        await kill(sipp, uas)
        await agent.stop()

    events, _ = all_events(admin)
    routing = [e["data"] for e in events if e["event"].startswith("routing.")]
    [started] = [e for e in routing if e["type"] == "routing.agent_contact_started"]
    assert (started["contact_id"], started["agent_id"]) == (out.id, ids["agent1"])
    assert started["channel"] == "voice" and started["queue_id"] is None
    # agent1: available; busy on the outbound call; its wrap-up; available, and at once busy
    # on the waiting call; that call's wrap-up.
    mine = [
        e["state"]
        for e in routing
        if e["type"] == "routing.agent_state_changed" and e["agent_id"] == ids["agent1"]
    ]
    assert mine == ["available", "busy", "wrap_up", "available", "busy", "wrap_up"], mine
    [ended] = [
        e for e in routing if e["type"] == "routing.contact_ended" and e["contact_id"] == out.id
    ]
    assert (ended["reason"], ended["agent_id"]) == ("completed", ids["agent1"])
    # The detail record of the outbound call carries its routing contact.
    rows = {r.direction: r for r in db_rows(client, app, CallRow)}
    assert rows["outbound"].contact_id == out.id and rows["outbound"].answered_at is not None
    assert str(rows["inbound"].agent_id) == ids["agent1"]
