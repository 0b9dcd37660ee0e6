"""Re-routing when the ring fails, and what a waiting caller hears.

- agent1's softphone (baresip, manual answer) rings and the agent rejects it, or never answers
  within `voice_ring_timeout_seconds`, or agent1 has no registered softphone at all: routing's
  offer is rejected (reason declined/busy, no_answer, not_registered) and the call goes to agent2
  (baresip, auto answer, 1500 Hz), who then hears the caller (600 Hz).
- Queue announcements (announce_every_s=3, nobody available): the caller's leg switches from
  the hold music to the spoken announcement and back, and what the caller hears holds the
  built-in music's notes (523/659/784 Hz).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from voice_call_helpers import (
    CALLER_HZ,
    DOMAIN,
    PEERS,
    agent1_phone,
    caller_scenario,
    configure,
    finish_sipp,
    kill,
    menu_flow,
    needs,
    read_wav,
    registered,
    start_sipp,
    tone_share,
    voice_settings_fixture,
)
from voice_call_helpers import make_available as _available
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.baresip import BaresipAgent
from omnidesk.bench.voice_testbed import SipAgent
from omnidesk.channels.voice.call_control import control
from omnidesk.channels.voice.media.analysis import goertzel_power
from omnidesk.channels.voice.media.players import BufferSource
from omnidesk.channels.voice.media.recorder import Heard, Recorder
from spine_checks import all_events

pytestmark = needs(*PEERS)

AGENT2_HZ = 1500
RING_TIMEOUT_S = 4.0

settings = voice_settings_fixture(voice_ring_timeout_seconds=RING_TIMEOUT_S)


def _rejections(admin: Any) -> list[dict[str, Any]]:
    return [e["data"] for e in all_events(admin)[0] if e["event"] == "routing.offer_rejected"]


@pytest.mark.parametrize("how", ["rejected", "unregistered", "no_answer"])
async def test_failed_ring_goes_to_the_next_agent(
    how, app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids, agents=(SipAgent(ids["agent2"], "agent2", "s3cret-pass-2"),))
    voice = app.state.voice
    port = settings.voice_sip_port
    agent2 = BaresipAgent(
        tmp_path / "agent2", "agent2", "s3cret-pass-2", DOMAIN, port, tone_hz=AGENT2_HZ
    )
    agents = [agent2]
    agent1 = None
    if how != "unregistered":
        agent1 = agent1_phone(tmp_path, port, answer="manual")
        agents.append(agent1)
    sipp = None
    try:
        for agent in agents:
            await agent.start()
        for agent in agents:
            await registered(voice, agent.user)
        # Only agent1 is available at first, so the first offer is certainly agent1's.
        _available(as_user, ids, "agent1")
        scenario = caller_scenario(tmp_path, digit="1", how="info")
        sipp = await start_sipp(tmp_path, scenario, port)
        if agent1 is not None:
            await agent1.wait_event("CALL_INCOMING", within=30)
            _available(as_user, ids, "agent2")
            if how == "rejected":
                await agent1.command("hangup")
            await agent1.wait_event("CALL_CLOSED", within=RING_TIMEOUT_S + 10)
        else:
            await _wait(lambda: _rejections(admin), within=30, what="the rejected offer")
            _available(as_user, ids, "agent2")
        await agent2.wait_event("CALL_ESTABLISHED", within=30)
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "connected", what="the bridge")
        assert call.agent_id == ids["agent2"]
        [rejected] = _rejections(admin)
        assert rejected["agent_id"] == ids["agent1"]
        expected = {
            "rejected": {"declined", "busy"},
            "unregistered": {"not_registered"},
            "no_answer": {"no_answer"},
        }[how]
        assert rejected["reason"] in expected, rejected
        await asyncio.sleep(2.0)  # talk
        await agent2.command("hangup")
        await agent2.wait_event("CALL_CLOSED")
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await kill(sipp)
        for agent in agents:
            await agent.stop()
    heard = agent2.heard()[-1]
    assert tone_share(heard[len(heard) // 4 :], CALLER_HZ, (AGENT2_HZ,)) > 0.9
    if agent1 is not None:
        assert agent1.heard() == [] or all(len(h) < 8000 for h in agent1.heard())


MUSIC_HZ = (523.25, 659.25, 783.99)


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng")
async def test_queue_announcements_over_music(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids, record="never", flow=menu_flow(announce=3))
    voice = app.state.voice
    scenario = caller_scenario(tmp_path, digit="1", how="info", stay_ms=40000)
    sipp = await start_sipp(tmp_path, scenario, settings.voice_sip_port)
    recorder = None
    try:
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "queued" and call.hold_audio, what="the queue")
        music = call.hold_audio
        recorder = Recorder(tmp_path / "caller-heard.wav", [Heard(call.leg)])

        async def attach() -> None:
            voice.media.attach_recorder(recorder)

        client.portal.call(attach)
        # What the caller's leg is connected to, sampled every 50 ms for 8 s.
        seen: list[str] = []
        for _ in range(160):
            sources = list(voice.media.sources_of(call.leg))
            kind = (
                "music"
                if music in sources
                else "announcement"
                if any(isinstance(s, BufferSource) for s in sources)
                else "other"
            )
            if not seen or seen[-1] != kind:
                seen.append(kind)
            await asyncio.sleep(0.05)

        async def detach() -> None:
            await voice.media.detach_recorder(recorder)

        client.portal.call(detach)
        recorder = None
        # Music, then an announcement over it (the music paused), then the music again.
        assert "announcement" in seen, seen
        first = seen.index("announcement")
        assert "music" in seen[:first] or first == 0, seen
        assert "music" in seen[first + 1 :], seen
        assert "other" not in seen, seen
        assert seen.count("announcement") >= 2, seen  # every 3 s, not once
        print("caller's sources:", seen)

        async def end() -> None:
            await control(call, lambda c: voice.hang_up(c, "test over"))

        client.portal.call(end)
        await finish_sipp(sipp, tmp_path)
    finally:
        if recorder is not None:
            client.portal.call(voice.media.detach_recorder, recorder)
        await kill(sipp)
    samples, _ = read_wav(tmp_path / "caller-heard.wav")
    assert len(samples) > 8000 * 6
    # The caller heard each of the chime's notes as the strongest of the candidate tones in
    # some 200 ms windows (speech, in the others, has its energy anywhere).
    powers = goertzel_power(samples.astype(np.float64), [*MUSIC_HZ, CALLER_HZ, 1000.0])
    loud = powers.sum(axis=1) > 1e-3 * float(powers.sum(axis=1).max())
    dominant = set(np.argmax(powers[loud], axis=1).tolist())
    assert {0, 1, 2} <= dominant, dominant
