"""The caller hangs up before an agent takes the call: while queued (an abandon in routing) and
while an agent's softphone is ringing (the ring is cancelled, the softphone stops ringing)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from baresip_agent import BaresipAgent
from voice_call_helpers import (
    AGENT_HZ,
    DOMAIN,
    caller_scenario,
    configure,
    finish_sipp,
    free_port,
    start_sipp,
)

from spine_checks import events_of

pytestmark = [
    pytest.mark.skipif(
        not (shutil.which("sipp") and shutil.which("baresip") and shutil.which("sox")),
        reason="needs sipp, baresip and sox (make install)",
    ),
    pytest.mark.slow,
]

CALLER_BYE = """  <pause milliseconds="{hangup_ms}"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""


def hanging_up_caller(tmp: Path, hangup_ms: int) -> Path:
    """The usual caller (menu digit 1 by INFO), who hangs up `hangup_ms` after the digit."""
    path = caller_scenario(tmp, digit="1", how="info")
    text = path.read_text()
    text = text[: text.index('  <recv request="BYE"')] + CALLER_BYE.replace(
        "{hangup_ms}", str(hangup_ms)
    )
    path.write_text(text)
    return path


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(
        update={"voice_enabled": True, "voice_sip_port": free_port(), "voice_rtp_port_min": 0}
    )


async def _wait(predicate: Any, within: float = 20.0, what: str = "") -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (found := predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return found


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
    agent = BaresipAgent(
        tmp_path / "agent1", "agent1", "s3cret-pass", DOMAIN, settings.voice_sip_port,
        tone_hz=AGENT_HZ, answer="manual",
    )  # fmt: skip
    await agent.start()
    try:
        await _wait(lambda: voice.sip.registrar.lookup(f"sip:agent1@{DOMAIN}"), what="REGISTER")
        r = as_user("agent1").post(
            f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"}
        )
        assert r.status_code == 200, r.text
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
