"""The caller hangs up before an agent takes the call: while queued (an abandon in routing) and
while an agent's softphone is ringing (the ring is cancelled, the softphone stops ringing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voice_call_helpers import (
    PEERS,
    agent1_phone,
    caller_scenario,
    configure,
    finish_sipp,
    make_available,
    needs,
    registered,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.sipp import CALLER_BYE
from spine_checks import events_of

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()


def hanging_up_caller(tmp: Path, hangup_ms: int) -> Path:
    """The usual caller (menu digit 1 by INFO), who hangs up `hangup_ms` after the digit."""
    path = caller_scenario(tmp, digit="1", how="info")
    text = path.read_text()
    text = text[: text.index('  <recv request="BYE"')] + CALLER_BYE.replace(
        "{hangup_ms}", str(hangup_ms)
    )
    path.write_text(text)
    return path


def _ended(admin: Any) -> dict[str, Any]:
    [ended] = events_of(admin, "voice.call_ended")
    return ended["data"]  # type: ignore[no-any-return]


async def test_caller_hangs_up_while_queued(app, client, tenants, as_user, settings, tmp_path):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids)  # agent1 stays offline: the call waits
    voice = app.state.voice
    sipp = await start_sipp(tmp_path, hanging_up_caller(tmp_path, 3000), settings.voice_sip_port)
    call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
    await _wait(lambda: call.state == "queued", what="queued")
    contact_id = call.contact_id
    assert admin.get(f"/api/v1/routing/contacts/{contact_id}").json()["state"] == "waiting"
    await finish_sipp(sipp, tmp_path)
    await _wait(lambda: not voice.calls, what="the call to end")

    assert admin.get(f"/api/v1/routing/contacts/{contact_id}").status_code == 404
    [gone] = events_of(admin, "routing.contact_ended")
    assert gone["data"]["contact_id"] == contact_id
    assert (gone["data"]["reason"], gone["data"]["detail"]) == ("cancelled", "abandoned")
    record = _ended(admin)
    assert record["connected_at"] is None and record["agent_id"] is None
    assert record["reason"].startswith("caller")


async def test_caller_hangs_up_while_the_agent_rings(
    app, client, tenants, as_user, settings, tmp_path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids)
    voice = app.state.voice
    agent = agent1_phone(tmp_path, settings.voice_sip_port, answer="manual")
    await agent.start()
    try:
        await registered(voice, "agent1")
        make_available(as_user, ids, "agent1")
        sipp = await start_sipp(
            tmp_path, hanging_up_caller(tmp_path, 4000), settings.voice_sip_port
        )
        await agent.wait_event("CALL_INCOMING", within=30)
        call = next(iter(voice.calls.values()))
        assert call.state == "ringing"
        await finish_sipp(sipp, tmp_path)
        # The ring is cancelled: the softphone stops ringing without anyone answering.
        await agent.wait_event("CALL_CLOSED", within=15)
        assert agent.count("CALL_ESTABLISHED") == 0
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await agent.stop()
    record = _ended(admin)
    assert record["connected_at"] is None
    [gone] = events_of(admin, "routing.contact_ended")
    assert (gone["data"]["reason"], gone["data"]["detail"]) == ("cancelled", "abandoned")
    # agent1 is free again, not stuck with an offer or a contact.
    me = as_user("agent1").get(f"/api/v1/routing/agents/{ids['agent1']}").json()
    assert me["status"]["state"] == "available", me
