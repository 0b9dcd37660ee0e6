"""Calls out through the carrier trunk, with real peers: sipp as the caller from the trunk and a
second sipp (UAS) as the far party behind the trunk, which challenges with digest auth;
baresip as agent1's softphone.

- transfer-out: a connected call is handed to an external number, the agent is released;
- callback: the caller presses a key while queued and hangs up; when agent1 comes available
  the softphone rings, and on answer Omnidesk dials the customer and bridges;
- agent outbound: baresip dials a number (digest-checked by Omnidesk), Omnidesk dials it via
  the trunk; a wrong trunk password fails clearly and leaves a record.

sipp cannot dump what it hears, so the audio path is checked in the engine: both legs receive
packets and each leg's mix sources are the other leg (the bridge).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from voice_call_helpers import (
    DID,
    DOMAIN,
    PEERS,
    SIPP,
    agent1_phone,
    caller_scenario,
    db_rows,
    finish_sipp,
    ivr_menu,
    kill,
    make_available,
    needs,
    registered,
    start_sipp,
    tone_wav,
    voice_settings_fixture,
)
from voice_call_helpers import configure as configure_tenant
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.baresip import BaresipAgent
from omnidesk.bench.voice_testbed import LOOPBACK_TRUNK, free_port
from omnidesk.channels.voice.models import Call as CallRow
from spine_checks import all_events

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()

FAR = "+493098765432"  # the external number, answered by the sipp UAS behind the trunk
CUSTOMER = "+493055501234"  # the caller's number (valid, so a callback can dial it)
FAR_HZ = 1500
TRUNK_USER = "omni-trunk"
TRUNK_PASS = "carrier-secret"

UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="far party behind the trunk, with digest auth">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="carrier.test", nonce="4f1b2c3d4e5f60718293a4b5c6d7e8f9"
Content-Length: 0

]]></send>
  <recv request="ACK"/>
  <recv request="INVITE">
    <action>
      <verifyauth assign_to="authvalid" username="{user}" password="{password}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="good"/>
  <send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="carrier.test", nonce="00aa11bb22cc33dd44ee55ff66778899"
Content-Length: 0

]]></send>
  <recv request="ACK" next="end"/>
  <label id="good"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:far@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:far@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=far 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [rtpstream_audio_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=ptime:20
]]></send>
  <recv request="ACK"/>
  <nop><action><exec rtp_stream="{tone},-1,0"/></action></nop>
  <recv request="BYE" timeout="60000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <label id="end"/>
</scenario>
"""


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _flow(*, callback: bool) -> dict[str, Any]:
    queue: dict[str, Any] = {"type": "queue", "queue": "support"}
    if callback:
        queue |= {"callback_key": "9", "callback_prompt": {"say": "We will call you back."}}
    out = {"type": "transfer", "number": FAR}
    return ivr_menu(
        "Hello.",
        {"1": "support", "2": "out"},
        {"support": queue, "out": out, "bye": {"type": "hangup"}},
    )


def configure(admin: Any, ids: dict[str, Any], uas_port: int, *, password: str = TRUNK_PASS,
              callback: bool = False) -> None:  # fmt: skip
    """The usual tenant, not recorded, whose trunk also carries calls out to the sipp UAS."""
    trunk = LOOPBACK_TRUNK | {
        "outbound": {"host": "127.0.0.1", "port": uas_port, "username": TRUNK_USER,
                     "password": password},
        "caller_id": DID,
    }  # fmt: skip
    configure_tenant(admin, ids, record="never", flow=_flow(callback=callback), trunk=trunk)


async def start_uas(tmp: Path, port: int, password: str = TRUNK_PASS) -> asyncio.subprocess.Process:
    tone = tone_wav(tmp / "far.wav", FAR_HZ)
    scenario = tmp / "uas.xml"
    text = UAS.replace("{tone}", str(tone)).replace("{user}", TRUNK_USER)
    scenario.write_text(text.replace("{password}", password))
    cmd = [
        str(SIPP), "-sf", str(scenario), "-m", "1", "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port()), "-nostdin", "-timeout", "90", "-timeout_error", "-trace_err",
        "-error_file", str(tmp / "uas.err"),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    await asyncio.sleep(0.5)  # let it bind; INVITE retransmissions cover a slow start
    return proc


async def finish_uas(proc: asyncio.subprocess.Process, tmp: Path, within: float = 30) -> None:
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    err = tmp / "uas.err"
    detail = err.read_text(errors="replace") if err.exists() else ""
    assert proc.returncode == 0, f"uas exit {proc.returncode}\n{out.decode()[-2000:]}\n{detail}"


def _caller(tmp: Path, **kw: Any) -> Path:
    path = caller_scenario(tmp, how="info", **kw)
    path.write_text(path.read_text().replace("+15551230000", CUSTOMER))
    return path


async def _bridged(voice: Any, call: Any) -> None:
    """Both legs receive RTP and each one's mix source is the other: the audio path."""
    a, b = call.leg, call.agent_leg
    a0, b0 = a.stats.packets_received, b.stats.packets_received
    await asyncio.sleep(1.5)
    assert a.stats.packets_received - a0 > 20, vars(a.stats)
    assert b.stats.packets_received - b0 > 20, vars(b.stats)
    assert b in voice.media.sources_of(a) and a in voice.media.sources_of(b)


def _agent(tmp: Path, settings: Any) -> BaresipAgent:
    return agent1_phone(tmp, settings.voice_sip_port)


async def test_transfer_out_hands_the_caller_to_an_external_number(
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
    try:
        await registered(voice, "agent1")
        mine = as_user("agent1")
        make_available(as_user, ids, "agent1")
        sipp = await start_sipp(tmp_path, _caller(tmp_path, digit="1"), settings.voice_sip_port)
        await agent.wait_event("CALL_ESTABLISHED", within=40)
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "connected", what="the bridge")
        url = f"/api/v1/voice/calls/{call.id}/transfer-out"
        # Another tenant cannot touch it; a bad number is 422 and changes nothing.
        assert as_user("admin", "other").post(url, json={"number": FAR}).status_code == 404
        assert mine.post(url, json={"number": "12345"}).status_code == 422
        uas = await start_uas(tmp_path, uas_port)
        r = mine.post(url, json={"number": FAR})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "transferred"
        assert mine.post(url, json={"number": FAR}).status_code in (404, 409)
        await agent.wait_event("CALL_CLOSED")  # the agent's phone is released
        await _bridged(voice, call)
        status = _ok(admin.get(f"/api/v1/routing/agents/{ids['agent1']}"))["status"]
        assert status["state"] == "wrap_up", status
        _ok(admin.post(f"/api/v1/voice/calls/{call.id}/hangup"))
        await finish_uas(uas, tmp_path)
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await kill(sipp, uas)
        await agent.stop()

    # A refused dial's record is written just after the phone hears the refusal.
    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert row.direction == "inbound" and str(row.agent_id) == ids["agent1"]
    events, _ = all_events(admin)
    [moved] = [
        e for e in events
        if e["event"] == "voice.call_state_changed" and e["data"]["state"] == "transferred"
    ]  # fmt: skip
    assert moved["data"]["detail"] == {"number": FAR, "from": "agent"}
    ended = [e["data"] for e in events if e["event"] == "routing.contact_ended"]
    assert ended and ended[-1]["reason"] == "transferred_external"


async def test_ivr_transfer_node_bridges_the_caller_to_the_number(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    uas_port = free_port()
    configure(admin, tenants["demo"].ids, uas_port)
    voice = app.state.voice
    sipp = uas = None
    try:
        uas = await start_uas(tmp_path, uas_port)
        sipp = await start_sipp(tmp_path, _caller(tmp_path, digit="2"), settings.voice_sip_port)
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "transferred", what="the transfer")
        await _bridged(voice, call)
        assert call.agent_id is None
        url = f"/api/v1/voice/calls/{call.id}"
        assert admin.post(f"{url}/transfer-out", json={"number": FAR}).status_code == 409
        assert admin.post(f"{url}/hold").status_code == 409
        _ok(admin.post(f"{url}/hangup"))
        await finish_uas(uas, tmp_path)
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await kill(sipp, uas)
    # A refused dial's record is written just after the phone hears the refusal.
    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert row.answered_at is not None and row.end_reason == "hung up by admin"
    events, _ = all_events(admin)
    states = [e["data"] for e in events if e["event"] == "voice.call_state_changed"]
    assert {"number": FAR, "from": "ivr"} in [s["detail"] for s in states]


async def test_callback_keeps_the_place_and_connects_agent_then_customer(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    uas_port = free_port()
    configure(admin, ids, uas_port, callback=True)
    voice = app.state.voice
    agent = _agent(tmp_path, settings)
    await agent.start()
    sipp = uas = None
    try:
        await registered(voice, "agent1")
        # Nobody is available: the caller waits, presses 9 for a callback, and is hung up on.
        scenario = _caller(tmp_path, digit="1", before_digit_ms=1200)
        text = scenario.read_text()
        # After the menu digit, a second INFO (9) once queued.
        info = text[
            text.index('<send retrans="500"><![CDATA[\nINFO') : text.index('<recv request="BYE"')
        ]
        second = info.replace("Signal=1", "Signal=9").replace("CSeq: 2 INFO", "CSeq: 3 INFO")
        scenario.write_text(text.replace(info, info + '<pause milliseconds="3000"/>\n' + second))
        sipp = await start_sipp(tmp_path, scenario, settings.voice_sip_port)
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "queued", what="the queue")
        original = _ok(admin.get(f"/api/v1/routing/contacts/{call.id}"))
        await finish_sipp(sipp, tmp_path)  # got its BYE after the callback prompt
        await _wait(lambda: not voice.calls, what="the caller to be gone")
        contacts = _ok(admin.get("/api/v1/routing/contacts"))
        [waiting] = contacts
        assert waiting["contact_id"].startswith("callback-")
        assert waiting["queued_at"] == original["queued_at"]  # the place in line is kept
        assert waiting["state"] == "waiting"

        uas = await start_uas(tmp_path, uas_port)
        mine = as_user("agent1")
        make_available(as_user, ids, "agent1")
        await agent.wait_event("CALL_ESTABLISHED", within=30)  # the agent first
        back = await _wait(lambda: next(iter(voice.calls.values()), None), 20, "the callback")
        assert back.direction == "outbound" and back.agent_id == ids["agent1"]
        assert back.contact_id == waiting["contact_id"]
        await _bridged(voice, back)
        live = _ok(mine.get(f"/api/v1/voice/calls/{back.id}"))
        assert live["state"] == "connected"
        await agent.command("hangup")
        await finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.calls, what="the callback to end")
    finally:
        await kill(sipp, uas)
        await agent.stop()

    rows = sorted(db_rows(client, app, CallRow), key=lambda r: r.started_at)
    assert [r.direction for r in rows] == ["inbound", "outbound"]
    assert rows[0].end_reason == "callback" and rows[0].agent_id is None
    assert str(rows[1].agent_id) == ids["agent1"] and rows[1].answered_at is not None
    assert rows[1].contact_id == waiting["contact_id"] and rows[1].number == CUSTOMER
    events, _ = all_events(admin)
    cancelled = [
        e["data"] for e in events
        if e["event"] == "routing.contact_ended" and e["data"]["contact_id"] == call.id
    ]  # fmt: skip
    assert [(c["reason"], c["detail"]) for c in cancelled] == [("cancelled", "callback")]


@pytest.mark.parametrize("password", [TRUNK_PASS, "wrong-password"])
async def test_agent_dials_a_number_through_the_trunk(
    password, app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    uas_port = free_port()
    configure(admin, ids, uas_port, password=password)
    voice = app.state.voice
    agent = _agent(tmp_path, settings)
    await agent.start()
    uas = None
    good = password == TRUNK_PASS
    checked: list[Any] = []
    real_check = voice.sip.check_digest

    async def spy(*args: Any, **kw: Any) -> Any:
        result = await real_check(*args, **kw)
        if args[0].method == "INVITE":
            checked.append(getattr(result, "status", result))
        return result

    voice.sip.check_digest = spy
    try:
        await registered(voice, "agent1")
        uas = await start_uas(tmp_path, uas_port)
        await agent.command("dial", f"sip:{FAR}@{DOMAIN}")
        if good:
            await agent.wait_event("CALL_ESTABLISHED", within=30)
            call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
            assert call.direction == "outbound" and call.agent_id == ids["agent1"]
            await _bridged(voice, call)
            await agent.command("hangup")
        else:
            closed = await agent.wait_event("CALL_CLOSED", within=30)
            assert not voice.calls, closed
        await finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await kill(uas)
        await agent.stop()
    # The softphone's INVITE was challenged (407) and then authenticated as agent1.
    assert checked == [407, "agent1"], checked

    # A refused dial's record is written just after the phone hears the refusal.
    [row] = await _wait(lambda: db_rows(client, app, CallRow), what="the call's record")
    assert row.direction == "outbound" and str(row.agent_id) == ids["agent1"]
    assert row.number == FAR
    if good:
        assert row.answered_at is not None
    else:
        assert row.answered_at is None
        assert row.end_reason.startswith("trunk authentication failed"), row.end_reason
