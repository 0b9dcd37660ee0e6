"""Supervisor listen / whisper / barge end to end, and the recording consent prompt.

sipp calls (600 Hz) and is bridged to agent1's baresip (1000 Hz); the queue records with a
consent prompt (a 2000 Hz tone file), which the caller and agent hear before the bridge and the
recording. The supervisor's own baresip (1500 Hz) is rung by the monitor API. What every leg
hears in each mode is taken from the media engine (recorders of what is sent to each leg) and
from the supervisor's softphone."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    DOMAIN,
    PEERS,
    agent1_phone,
    caller_scenario,
    configure,
    finish_sipp,
    kill,
    make_available,
    needs,
    read_wav,
    registered,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.baresip import BaresipAgent
from omnidesk.bench.voice_testbed import SipAgent
from omnidesk.channels.voice.media.analysis import goertzel_power
from omnidesk.channels.voice.media.recorder import Heard, Recorder

SUPERVISOR_HZ = 1500
CONSENT_HZ = 2000
TONES = (CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ, CONSENT_HZ)

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()


def present(samples: np.ndarray) -> set[int]:
    """The test tones clearly in `samples` (each above 5 % of the strongest)."""
    powers = goertzel_power(samples.astype(np.float64), TONES).sum(axis=0)
    top = float(powers.max()) or 1.0
    return {hz for hz, p in zip(TONES, powers, strict=True) if p > 0.05 * top and p > 1e3}


def consent_wav() -> bytes:
    t = np.arange(8000 * 3 // 2) / 8000
    samples = (0.3 * 32767 * np.sin(2 * np.pi * CONSENT_HZ * t)).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.tobytes())
    return out.getvalue()


async def _attach(media: Any, recorders: list[Recorder]) -> None:
    for rec in recorders:
        media.attach_recorder(rec)


async def _detach(media: Any, recorders: list[Recorder]) -> None:
    for rec in recorders:
        await media.detach_recorder(rec)


async def test_supervisor_listen_whisper_barge_and_consent_prompt(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    # The supervisor has a softphone to listen in with, but serves no queue.
    configure(admin, ids, agents=(SipAgent(ids["supervisor"], "sup", "sup-s3cret", None),))
    r = admin.post(
        "/api/v1/voice/audio?name=consent.wav",
        content=consent_wav(),
        headers={"content-type": "audio/wav"},
    )
    assert r.status_code in (200, 201), r.text
    r = admin.put(
        "/api/v1/voice/settings",
        json={"sip_domain": DOMAIN, "recording_consent_prompt": {"audio": "consent.wav"}},
    )
    assert r.status_code == 200, r.text
    voice = app.state.voice
    media = voice.media
    portal = client.portal
    agent = agent1_phone(tmp_path, settings.voice_sip_port)
    sup = BaresipAgent(
        tmp_path / "sup", "sup", "sup-s3cret", DOMAIN, settings.voice_sip_port,
        tone_hz=SUPERVISOR_HZ,
    )  # fmt: skip
    await agent.start()
    await sup.start()
    sipp = None
    try:
        for user in ("agent1", "sup"):
            await registered(voice, user)
        make_available(as_user, ids, "agent1")
        sipp = await start_sipp(
            tmp_path, caller_scenario(tmp_path, digit="1", how="info"), settings.voice_sip_port
        )
        await agent.wait_event("CALL_ESTABLISHED", within=40)
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        # Consent first: the recording starts only after the prompt has been played.
        await _wait(lambda: call.consent == "playing", what="the consent prompt")
        assert call.recorder is None
        await _wait(lambda: call.recorder is not None, within=10, what="the recording")
        assert call.consent == "played"
        url = f"/api/v1/voice/calls/{call.id}/monitor"

        # Who may not: the agent on the call (403), another tenant (404), bad mode (422).
        assert as_user("agent1").post(url, json={"mode": "listen"}).status_code == 403
        assert as_user("agent2").post(url, json={"mode": "listen"}).status_code == 404
        assert as_user("admin", "other").post(url, json={"mode": "listen"}).status_code == 404
        assert as_user("admin", "other").delete(url).status_code == 404
        supervisor = as_user("supervisor")
        assert supervisor.post(url, json={"mode": "spy"}).status_code == 422
        assert supervisor.delete(url).status_code == 409  # not monitoring yet

        legs = {"caller": call.leg, "agent": call.agent_leg}
        heard: dict[str, dict[str, np.ndarray]] = {}
        for mode in ("listen", "whisper", "barge"):
            method = supervisor.post if mode != "whisper" else supervisor.patch
            r = method(url, json={"mode": mode})
            assert r.status_code == 200, r.text
            assert r.json()["monitors"] == [{"user_id": ids["supervisor"], "mode": mode}]
            sup_leg = call.monitors[ids["supervisor"]][1]
            legs["supervisor"] = sup_leg
            graph = portal.call(
                lambda: {name: set(media.sources_of(leg)) for name, leg in legs.items()}
            )
            # The mix graph: the caller hears the supervisor only in barge.
            assert (sup_leg in graph["caller"]) is (mode == "barge")
            assert (sup_leg in graph["agent"]) is (mode != "listen")
            assert graph["supervisor"] == {call.leg, call.agent_leg}
            await asyncio.sleep(0.6)  # let the new mix reach the peers
            recs = [
                Recorder(tmp_path / f"{mode}-{name}.wav", [Heard(leg)])
                for name, leg in legs.items()
            ]
            portal.call(_attach, media, recs)
            await asyncio.sleep(2.0)
            portal.call(_detach, media, recs)
            heard[mode] = {
                name: read_wav(rec.path)[0] for name, rec in zip(legs, recs, strict=True)
            }
        assert sup.count("CALL_ESTABLISHED") == 1  # switching modes never rang again

        want = {
            "listen": {
                "caller": {AGENT_HZ},
                "agent": {CALLER_HZ},
                "supervisor": {CALLER_HZ, AGENT_HZ},
            },
            "whisper": {
                "caller": {AGENT_HZ},
                "agent": {CALLER_HZ, SUPERVISOR_HZ},
                "supervisor": {CALLER_HZ, AGENT_HZ},
            },
            "barge": {
                "caller": {AGENT_HZ, SUPERVISOR_HZ},
                "agent": {CALLER_HZ, SUPERVISOR_HZ},
                "supervisor": {CALLER_HZ, AGENT_HZ},
            },
        }
        got = {mode: {n: present(s) for n, s in by.items()} for mode, by in heard.items()}
        assert got == want

        r = supervisor.delete(url)
        assert r.status_code == 200 and r.json()["monitors"] == [], r.text
        await sup.wait_event("CALL_CLOSED")
        assert portal.call(lambda: set(media.sources_of(call.leg))) == {call.agent_leg}
        assert supervisor.patch(url, json={"mode": "barge"}).status_code == 409

        # Again, and this time the supervisor hangs up on the softphone.
        assert supervisor.post(url, json={"mode": "listen"}).status_code == 200
        await sup.command("hangup")
        await _wait(lambda: not call.monitors, what="the monitor to end")
        assert call.state == "connected"
        await agent.command("hangup")
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await kill(sipp)
        await agent.stop()
        await sup.stop()

    # The supervisor's softphone heard the caller and the agent.
    sup_heard = np.concatenate(sup.heard())
    assert {CALLER_HZ, AGENT_HZ} <= present(sup_heard)
    # The agent heard the consent prompt, then the call.
    agent_heard = agent.heard()[0]
    assert CONSENT_HZ in present(agent_heard[: 8000 * 2])

    events = [e["data"] for e in _events(admin) if e["event"] == "voice.call_state_changed"]
    states = [e["state"] for e in events]
    consent_at = states.index("consent_prompt")
    recording_at = states.index("recording")
    assert consent_at < recording_at
    assert [e["detail"]["consent"] for e in events if e["state"] == "consent_prompt"] == [
        "playing",
        "played",
    ]
    monitor = [(e["state"], e["detail"].get("mode")) for e in events if "monitor" in e["state"]]
    assert monitor == [
        ("monitor_started", "listen"),
        ("monitor_mode", "whisper"),
        ("monitor_mode", "barge"),
        ("monitor_ended", "barge"),
        ("monitor_started", "listen"),
        ("monitor_ended", "listen"),
    ]


def _events(admin: Any) -> list[dict[str, Any]]:
    from spine_checks import all_events

    return all_events(admin)[0]
