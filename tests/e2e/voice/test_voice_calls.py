"""A real call end to end: sipp calls a number from a trunk, picks the menu option by DTMF,
waits in the queue, routing offers the call to agent1, whose baresip softphone rings, answers
and talks; the audio paths are checked by frequency (caller 600 Hz, agent 1000 Hz) in what the
agent heard and in the recording; the call detail record and events are in the log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    PEERS,
    agent1_phone,
    caller_scenario,
    configure,
    db_rows,
    finish_sipp,
    kill,
    make_available,
    needs,
    read_wav,
    registered,
    start_sipp,
    tone_share,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.channels.voice.media.analysis import dominant_tones
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.models import Recording as RecordingRow
from spine_checks import all_events, events_of

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()


def _diagnose(voice: Any) -> str:
    return (
        "; ".join(
            f"call {c.id} state={c.state} ivr={c.session.trail.entries if c.session else None} "
            f"leg={vars(c.leg.stats)}"
            for c in voice.calls.values()
        )
        or "no live call"
    )


@pytest.mark.parametrize(("how", "hold"), [("rfc4733", False), ("info", True)])
async def test_call_through_ivr_queue_and_agent_softphone(
    how, hold, app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids)
    voice = app.state.voice
    agent = agent1_phone(tmp_path, settings.voice_sip_port)
    await agent.start()
    try:
        # Registered with digest auth in the tenant's domain.
        await registered(voice, "agent1")
        make_available(as_user, ids, "agent1")

        scenario = caller_scenario(tmp_path, digit="1", how="info" if how == "info" else "pcap")
        sipp = await start_sipp(tmp_path, scenario, settings.voice_sip_port)
        try:
            try:
                await agent.wait_event("CALL_ESTABLISHED", within=40)
            except TimeoutError:
                ended = [
                    e["data"] for e in all_events(admin)[0] if e["event"].startswith("voice.c")
                ]
                raise AssertionError(f"{_diagnose(voice)}; {ended}") from None
            call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the live call")
            await _wait(lambda: call.state == "connected", what="the bridge")
            assert call.agent_id == ids["agent1"]
            await asyncio.sleep(2.0)  # talk
            live = admin.get("/api/v1/voice/calls").json()
            assert [c["state"] for c in live] == ["connected"]
            assert live[0]["recording"] == "recording"
            url = f"/api/v1/voice/calls/{call.id}"
            # Another tenant and another agent of the same tenant do not see the live call.
            other = as_user("admin", "other")
            assert other.get("/api/v1/voice/calls").json() == []
            assert other.get(url).status_code == 404
            assert other.post(f"{url}/hold").status_code == 404
            assert as_user("agent2").get(url).status_code == 404
            assert as_user("agent2").get("/api/v1/voice/calls").json() == []
            assert as_user("agent1").get(url).json()["agent_id"] == ids["agent1"]
            if hold:
                # The agent holds from the desktop: the caller hears music, the agent silence.
                mine = as_user("agent1")
                r = mine.post(f"{url}/hold")
                assert r.status_code == 200 and r.json()["state"] == "held", r.text
                assert mine.post(f"{url}/hold").json()["state"] == "held"  # idempotent
                await asyncio.sleep(2.0)
                r = mine.post(f"{url}/resume")
                assert r.status_code == 200 and r.json()["state"] == "connected", r.text
                assert mine.post(f"{url}/resume").status_code == 409  # not on hold
                assert mine.post(f"{url}/dtmf", json={"digits": "x"}).status_code == 422
                await asyncio.sleep(2.0)
                # Hold pressed on the softphone (a re-INVITE with sendonly) holds the call too.
                assert (await agent.command("hold"))["ok"], agent.events[-3:]
                await _wait(lambda: call.state == "held", what="hold from the phone")
                assert (await agent.command("resume"))["ok"], agent.events[-3:]
                await _wait(lambda: call.state == "connected", what="resume from the phone")
                await asyncio.sleep(1.0)
            # The agent hangs up on the softphone: the caller gets a BYE, sipp ends cleanly.
            await agent.command("hangup")
            await agent.wait_event("CALL_CLOSED")
            await finish_sipp(sipp, tmp_path)
        finally:
            await kill(sipp)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await agent.stop()

    # What the agent heard: the caller's tone, not their own.
    heard = agent.heard()[-1]
    talk = heard[len(heard) // 4 :]
    assert tone_share(talk, CALLER_HZ, (AGENT_HZ,)) > 0.9
    if hold:
        # A gap of at least 1.4 s without the caller between stretches with them: the hold.
        present = [CALLER_HZ in w for w in dominant_tones(heard, (CALLER_HZ, AGENT_HZ))]
        first, last = present.index(True), len(present) - 1 - present[::-1].index(True)
        gap = max(
            len(run) for run in "".join("x" if p else "." for p in present[first:last]).split("x")
        )
        assert gap >= 7, present

    [row] = db_rows(client, app, CallRow)
    assert row.agent_id is not None and str(row.agent_id) == ids["agent1"]
    assert row.answered_at is not None and row.ended_at is not None
    assert row.end_reason.startswith("agent")
    [rec] = db_rows(client, app, RecordingRow)
    assert row.recording_ids == [str(rec.id)]
    samples, channels = read_wav(settings.data_dir / rec.path)
    assert channels == 2
    left, right = samples[:, 0], samples[:, 1]
    assert tone_share(left, CALLER_HZ, (AGENT_HZ,)) > 0.9  # the caller on the left
    assert tone_share(right, AGENT_HZ, (CALLER_HZ,)) > 0.9  # the agent on the right

    events, _ = all_events(admin)
    kinds = [e["event"] for e in events]
    for expected in (
        "voice.call_started",
        "voice.call_state_changed",
        "routing.offer_accepted",
        "voice.recording_saved",
        "voice.call_ended",
    ):
        assert expected in kinds, expected
    states = [e["data"]["state"] for e in events if e["event"] == "voice.call_state_changed"]
    assert states[:1] and "queued" in states and "ringing" in states and "connected" in states
    # The call's events reach the supervisor of the queue's team and the agent on the call,
    # not another agent.
    assert len(events_of(as_user("supervisor"), "voice.call_ended")) == 1
    assert len(events_of(as_user("agent1"), "voice.call_ended")) == 1
    assert events_of(as_user("agent2"), "voice.call_ended") == []
    [ended] = [e for e in events if e["event"] == "voice.call_ended"]
    assert ended["data"]["ivr_path"][:2] == ["menu", "support"]
