"""Voicemail end to end: sipp calls, picks "leave a message" by DTMF (SIP INFO), hears the
prompt and the beep, speaks (its 600 Hz tone) and presses the finish key. The message is a
mono WAV holding the caller's tone, a `voice_recordings` row, and a routing contact in the
queue (attributes voicemail + recording_id) that is offered to agent1, who may then fetch the
audio; other agents and other tenants get 404."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    configure,
    db_rows,
    finish_sipp,
    ivr_menu,
    kill,
    needs,
    start_sipp,
    tone_share,
    tone_wav,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.sipp import CALLER_SCENARIO, INFO_DIGIT
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.channels.voice.voicemail import BEEP_HZ
from spine_checks import all_events

pytestmark = needs("sipp", "sox")  # the caller only: nobody answers
settings = voice_settings_fixture()


def voicemail_flow() -> dict[str, Any]:
    message = {
        "type": "voicemail",
        "prompt": {"say": "Speak after the tone."},
        "queue": "support",
        "max_seconds": 30,
        "finish_key": "#",
        "next": "bye",
    }
    bye = {"type": "hangup", "prompt": {"say": "Thank you."}}
    return ivr_menu("For a message press one.", {"1": "message"}, {"message": message, "bye": bye})


def scenario(tmp: Path, talk_ms: int) -> Path:
    """Press 1, wait while the prompt plays and the message is spoken, press #."""
    tone = tone_wav(tmp / "caller.wav", CALLER_HZ)
    one = INFO_DIGIT.replace("{digit}", "1")
    finish = INFO_DIGIT.replace("{digit}", "#").replace("CSeq: 2 INFO", "CSeq: 3 INFO")
    steps = f'{one}\n  <pause milliseconds="{talk_ms}"/>\n  {finish}'
    text = (
        CALLER_SCENARIO.replace("{tone}", str(tone))
        .replace("{before_digit_ms}", "1500")
        .replace("{stay_ms}", "30000")
        .replace("{digit}", steps)
    )
    path = tmp / "voicemail.xml"
    path.write_text(text)
    return path


async def _contact_attributes(app: Any, tenant_id: Any, contact_id: str) -> dict[str, Any]:
    host = await app.state.routing.host(tenant_id)
    async with host.consistent():
        return dict(host.engine._core.contacts[contact_id].attributes)


async def test_voicemail_becomes_a_routed_contact_with_its_audio(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids, flow=voicemail_flow())
    voice = app.state.voice
    agent1 = as_user("agent1")
    r = agent1.post(f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"})
    assert r.status_code == 200, r.text

    # Menu prompt + "speak after the tone" + beep take ~3 s; then ~4 s of message.
    sipp = await start_sipp(tmp_path, scenario(tmp_path, talk_ms=8000), settings.voice_sip_port)
    try:
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "voicemail", within=15, what="voicemail")
        await finish_sipp(sipp, tmp_path)  # "#" → "Thank you." → BYE from Omnidesk
    finally:
        await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to end")

    [row] = db_rows(client, app, RecordingRow)
    assert row.contact_id and row.state == "complete" and row.duration_s > 2.0
    path = settings.data_dir / row.path
    assert path.is_relative_to(settings.data_dir / "voice" / "recordings")
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    # The caller's voice from the first frame on; neither the beep nor anything else.
    assert tone_share(samples, CALLER_HZ, (BEEP_HZ, AGENT_HZ)) > 0.9

    events, _ = all_events(admin)
    [saved] = [e["data"] for e in events if e["event"] == "voice.recording_saved"]
    assert saved["recording_id"] == str(row.id) and saved["contact_id"] == row.contact_id
    states = [
        e["data"]["detail"]
        for e in events
        if e["event"] == "voice.call_state_changed" and e["data"]["state"] == "voicemail"
    ]
    assert states[0]["voicemail"] == "started"
    assert states[-1]["voicemail"] == "saved" and states[-1]["reason"] == "finish_key"
    [ended] = [e["data"] for e in events if e["event"] == "voice.call_ended"]
    assert ended["recording_ids"] == [str(row.id)]
    assert ended["ivr_path"][:3] == ["menu", "message", "bye"]

    # The message is a contact in the queue: routing offers it to agent1.
    attrs = client.portal.call(_contact_attributes, app, call.tenant_id, row.contact_id)
    assert attrs["voicemail"] is True and attrs["recording_id"] == str(row.id)
    offered = [
        e["data"]
        for e in all_events(admin)[0]
        if e["event"] == "routing.offer_created" and e["data"]["contact_id"] == row.contact_id
    ]
    assert offered and offered[0]["agent_id"] == ids["agent1"]
    contact = admin.get(f"/api/v1/routing/contacts/{row.contact_id}")
    assert contact.status_code == 200 and contact.json()["channel"] == "voice", contact.text

    # The audio: for staff and the agent it is offered to, nobody else.
    url = f"/api/v1/voice/recordings/{row.id}"
    for who in ("admin", "supervisor", "agent1"):
        got = as_user(who).get(url)
        assert got.status_code == 200, (who, got.text)
        assert got.json()["contact_id"] == row.contact_id
    audio = agent1.get(f"{url}/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content)) as w:
        heard = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    assert tone_share(heard, CALLER_HZ, (BEEP_HZ,)) > 0.9
    for probe in (as_user("agent2"), as_user("admin", "other"), as_user("agent1", "other")):
        assert probe.get(url).status_code == 404
        assert probe.get(f"{url}/audio").status_code == 404
    assert admin.get("/api/v1/voice/recordings/not-a-uuid").status_code == 422
