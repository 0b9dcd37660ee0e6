"""A queue's overflow and the tenant's default hold music on a real call (ADR 0026). sipp is
the caller (600 Hz); nobody serves the queue, so the call waits.

The support queue's voice policy names no hold music and the flow's queue step none either:
the caller hears the tenant's default hold music (an uploaded 1800 Hz WAV), not the built-in
chime. The queue's max wait (routing's `max_wait_seconds`, 3 s) overflows the call with
`on_max_wait` voicemail and a message: the caller hears it, the beep, speaks, presses `#` and
is hung up; the message is a recording holding the caller's tone and a routed contact in the
policy's `voicemail_queue` ("messages"), not in the queue the call waited in.

A move to another queue keeps the caller waiting (same contact, now that queue's), until that
queue's own max wait ends the call with its message (`disconnect`)."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
from voice_call_helpers import (
    CALLER_HZ,
    DID,
    DOMAIN,
    QUEUE,
    caller_scenario,
    db_rows,
    finish_sipp,
    kill,
    needs,
    start_sipp,
    tone_share,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import VoiceTenant, queue_flow
from omnidesk.bench.voice_testbed import configure as setup_tenant
from omnidesk.channels.voice.media.players import BufferSource
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.channels.voice.voicemail import BEEP_HZ
from spine_checks import all_events

pytestmark = needs("sipp", "sox")  # the caller only: nobody answers
settings = voice_settings_fixture()

MUSIC_HZ = 1800
CHIME_HZ = (523.25, 659.25, 783.99)  # playback.hold_music's notes
MAX_WAIT_S = 3


def music_wav(hz: int) -> bytes:
    t = np.arange(8000 * 2) / 8000
    samples = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def setup(admin: Any) -> None:
    queue = {
        **QUEUE,
        "max_wait_seconds": MAX_WAIT_S,
        "on_max_wait": {"kind": "voicemail", "message": "Please leave a message."},
    }
    setup_tenant(
        admin,
        VoiceTenant(domain=DOMAIN, number=DID, flow=queue_flow("main", "support"), queue=queue),
    )
    ok(admin.post("/api/v1/routing/queues", json={**QUEUE, "id": "messages"}), 201)
    upload = admin.post(
        "/api/v1/voice/audio?name=house-music.wav",
        content=music_wav(MUSIC_HZ),
        headers={"content-type": "audio/wav"},
    )
    ok(upload, 201)
    ok(
        admin.put(
            "/api/v1/voice/settings",
            json={"sip_domain": DOMAIN, "default_moh": "house-music.wav"},
        )
    )
    policy = ok(admin.get("/api/v1/voice/queues/support/policy"))
    assert policy["moh"] is None
    ok(
        admin.put(
            "/api/v1/voice/queues/support/policy",
            json={"record": "never", "voicemail_queue": "messages", "version": policy["version"]},
        )
    )


async def test_default_hold_music_then_max_wait_overflows_to_voicemail(
    app, client, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    setup(admin)
    voice = app.state.voice
    # The caller keys "#" 9 s in: 3 s waiting, the message, the beep, then ~2-3 s of speech.
    scenario = caller_scenario(tmp_path, digit="#", how="info", before_digit_ms=9000)
    sipp = await start_sipp(tmp_path, scenario, settings.voice_sip_port)
    try:
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "queued" and call.hold_audio, what="hold music")
        music = call.hold_audio
        assert isinstance(music, BufferSource)
        # What the caller is played while waiting: the tenant's file, not the chime.
        assert tone_share(music.samples, MUSIC_HZ, CHIME_HZ) > 0.95
        await _wait(lambda: call.state == "voicemail", within=MAX_WAIT_S + 10, what="voicemail")
        await finish_sipp(sipp, tmp_path)  # "#" → Omnidesk hangs up
    finally:
        await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to end")

    [row] = db_rows(client, app, RecordingRow)
    assert row.state == "complete" and row.duration_s > 1.0
    with wave.open(str(settings.data_dir / row.path)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    # The caller's voice; neither the beep nor the music.
    assert tone_share(samples, CALLER_HZ, (BEEP_HZ, MUSIC_HZ)) > 0.9

    events, _ = all_events(admin)
    steps = [e["data"] for e in events if e["event"] == "voice.call_state_changed"]
    [overflow] = [s["detail"] for s in steps if s["state"] == "overflow"]
    assert overflow == {
        "reason": "max_wait",
        "action": "voicemail",
        "queue": "support",
        "by": "queue",
    }
    vm = [s["detail"] for s in steps if s["state"] == "voicemail"]
    assert vm[0] == {"voicemail": "started", "queue": "messages"}
    assert vm[-1]["voicemail"] == "saved" and vm[-1]["reason"] == "finish_key"
    [waited] = [
        e["data"]
        for e in events
        if e["event"] == "routing.contact_ended" and e["data"]["contact_id"] == call.id
    ]
    assert waited["reason"] == "overflow" and waited["queue_id"] == "support"
    # The message waits in the policy's voicemail queue.
    contact = ok(admin.get(f"/api/v1/routing/contacts/{row.contact_id}"))
    assert contact["queue_id"] == "messages" and contact["attributes"]["voicemail"] is True
    [ended] = [e["data"] for e in events if e["event"] == "voice.call_ended"]
    assert ended["recording_ids"] == [str(row.id)]


async def test_overflow_to_another_queue_keeps_waiting_then_disconnect_ends_the_call(
    app, client, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    queue = {**QUEUE, "max_wait_seconds": 2, "on_max_wait": {"kind": "queue", "queue_id": "spill"}}
    spill = {
        **QUEUE,
        "id": "spill",
        "max_wait_seconds": 2,
        "on_max_wait": {"kind": "disconnect", "message": "Sorry, please call again."},
    }
    bed = VoiceTenant(domain=DOMAIN, number=DID, flow=queue_flow("main", "support"), queue=queue)
    # The spill queue first: support's overflow names it.
    ok(admin.post("/api/v1/routing/queues", json=spill), 201)
    setup_tenant(admin, bed)
    voice = app.state.voice
    sipp = await start_sipp(
        tmp_path, caller_scenario(tmp_path, digit="", how="info"), settings.voice_sip_port
    )
    try:
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.queue_id == "spill", what="the move to spill")
        assert call.state == "queued" and call.contact_id == call.id  # still waiting, same contact
        await finish_sipp(sipp, tmp_path)  # the message, then Omnidesk's BYE
    finally:
        await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to end")

    events, _ = all_events(admin)
    mine = [
        e
        for e in events
        if e["event"].startswith("routing.") and e["data"].get("contact_id") == call.id
    ]
    queued = [e["data"]["queue_id"] for e in mine if e["event"] == "routing.contact_queued"]
    assert queued == ["support", "spill"]
    [ended] = [e["data"] for e in mine if e["event"] == "routing.contact_ended"]
    assert (ended["reason"], ended["queue_id"]) == ("overflow", "spill")  # not abandoned
    steps = [e["data"] for e in events if e["event"] == "voice.call_state_changed"]
    [overflow] = [s["detail"] for s in steps if s["state"] == "overflow"]
    assert overflow == {
        "reason": "max_wait",
        "action": "disconnect",
        "queue": "spill",
        "by": "queue",
    }
    [record] = [e["data"] for e in events if e["event"] == "voice.call_ended"]
    assert record["reason"] == "overflow"
