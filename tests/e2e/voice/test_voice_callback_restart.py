"""A callback asked for before a restart of the voice server is still made after it, with real
peers: sipp calls in from the customer's number, waits, presses 9 for a callback and is hung up
on; the voice server stops and starts again; then agent1's baresip registers, agent1 goes
available, their phone rings, and Omnidesk dials the customer through the carrier trunk (a
second sipp, behind digest auth) and bridges the two. Proven by tones: agent1 hears the
customer's 1500 Hz, and the customer hears agent1's 1000 Hz.

The carrier trunk and the far party (the customer answering the callback) are
test_voice_outbound's. sipp cannot keep what it hears, so the far party's SDP names a "tap" of
test_voice_transfer_out_audio (a UDP socket keeping what Omnidesk sends to that party)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import test_voice_outbound as far_party
from test_voice_transfer_out_audio import SDP_MEDIA, open_tap
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    PEERS,
    agent1_phone,
    db_rows,
    finish_sipp,
    kill,
    make_available,
    needs,
    registered,
    start_sipp,
    tone_share,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.wiring import start_voice, stop_voice

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()

CUSTOMER, FAR_HZ = far_party.CUSTOMER, far_party.FAR_HZ


def _asks_for_callback(tmp: Path) -> Path:
    """The caller's scenario: menu key 1 (the queue), then 9 once queued (the callback)."""
    scenario = far_party._caller(tmp, digit="1", before_digit_ms=1200)
    text = scenario.read_text()
    info = text[
        text.index('<send retrans="500"><![CDATA[\nINFO') : text.index('<recv request="BYE"')
    ]
    second = info.replace("Signal=1", "Signal=9").replace("CSeq: 2 INFO", "CSeq: 3 INFO")
    scenario.write_text(text.replace(info, info + '<pause milliseconds="3000"/>\n' + second))
    return scenario


async def _restart_voice(settings: Any, app: Any) -> None:
    await stop_voice(app.state.voice)
    app.state.voice = await start_voice(settings, app.state.services, app.state.routing)
    await asyncio.wait_for(app.state.voice.callbacks_recovered, 20)


async def test_callback_is_made_after_the_voice_server_restarts(
    app: Any,
    client: Any,
    tenants: Any,
    as_user: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    uas_port = free_port()
    far_party.configure(admin, ids, uas_port, callback=True)
    far_tap = await open_tap()
    # The customer, called back, answers with the tap's port in its SDP.
    monkeypatch.setattr(
        far_party, "UAS", far_party.UAS.replace(SDP_MEDIA, f"m=audio {far_tap.port}")
    )
    agent = agent1_phone(tmp_path, settings.voice_sip_port)
    sipp = uas = None
    try:
        voice = app.state.voice
        sipp = await start_sipp(tmp_path, _asks_for_callback(tmp_path), settings.voice_sip_port)
        await finish_sipp(sipp, tmp_path)  # got its BYE after the callback prompt
        await _wait(lambda: not voice.calls, what="the caller to be gone")
        [waiting] = admin.get("/api/v1/routing/contacts").json()
        cid = waiting["contact_id"]
        assert cid.startswith("callback-") and waiting["state"] == "waiting"

        # In the app's own loop (the portal's), where the server runs; nothing of this test's
        # loop has to go on meanwhile (the caller is gone, the softphone not started yet).
        client.portal.call(_restart_voice, settings, app)
        voice = app.state.voice
        assert voice.callbacks.pending[cid].number == CUSTOMER

        # The softphone registers with the new server (registrations live in memory).
        await agent.start()
        await registered(voice, "agent1")
        uas = await far_party.start_uas(tmp_path, uas_port)
        make_available(as_user, ids, "agent1")
        await agent.wait_event("CALL_ESTABLISHED", within=30)  # the agent first
        back = await _wait(lambda: next(iter(voice.calls.values()), None), 20, "the callback")
        assert back.direction == "outbound" and back.contact_id == cid
        await _wait(lambda: back.state == "connected", what="the bridge")
        start = len(far_tap.frames)
        await asyncio.sleep(3.0)  # agent1 and the customer talk
        end = len(far_tap.frames)
        await agent.command("hangup")
        await far_party.finish_uas(uas, tmp_path)
        await _wait(lambda: not voice.calls, what="the callback to end")
    finally:
        far_tap.close()
        await kill(sipp, uas)
        await agent.stop()

    # The customer heard agent1, steadily, for the 3 s ...
    heard_by_customer = far_tap.audio(start, end)
    assert len(heard_by_customer) >= 2.5 * 8000, len(heard_by_customer)
    assert tone_share(heard_by_customer, AGENT_HZ, (FAR_HZ, CALLER_HZ)) > 0.9
    # ... and agent1 the customer (the last half of their call: before it, the ringback).
    heard_by_agent = agent.heard()[-1]
    talk = heard_by_agent[len(heard_by_agent) // 2 :]
    assert tone_share(talk, FAR_HZ, (AGENT_HZ, CALLER_HZ)) > 0.9

    rows = sorted(db_rows(client, app, CallRow), key=lambda r: r.started_at)
    assert [r.direction for r in rows] == ["inbound", "outbound"]
    assert rows[0].end_reason == "callback"
    assert str(rows[1].agent_id) == ids["agent1"] and rows[1].answered_at is not None
    assert rows[1].contact_id == cid and rows[1].number == CUSTOMER
