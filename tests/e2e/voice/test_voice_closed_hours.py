"""Opening hours end to end: the number's flow starts with an `hours` node whose schedule is
set (through the flows API, in a zone that is not UTC) so that the real "now" is closed —
outside every opening window, or a holiday today — or open. sipp is the caller (600 Hz).

Closed: the caller hears the voicemail prompt and the beep and speaks until the node's
`max_seconds`; the message is a recording that holds the caller's tone and a routed contact in
the queue, offered to agent1, who fetches the audio over the API. The live call itself never
becomes a routing contact. Open: the same number puts the caller in the queue."""

from __future__ import annotations

import io
import wave
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    configure,
    db_rows,
    finish_sipp,
    kill,
    make_available,
    needs,
    start_sipp,
    tone_share,
    tone_wav,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.sipp import CALLER_SCENARIO
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.channels.voice.voicemail import BEEP_HZ
from spine_checks import all_events

pytestmark = needs("sipp", "sox")  # the caller only: nobody answers
settings = voice_settings_fixture()

# Twelve or thirteen hours from UTC on purpose: the closed schedules below are open by UTC's
# clock or calendar, so a server that read them in UTC instead of the flow's zone would answer.
ZONE = "Pacific/Auckland"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MESSAGE_SECONDS = 4


def schedule(kind: str) -> dict[str, Any]:
    """A schedule that is open or closed at the moment the test runs, in ZONE.

    - "open": every day all day;
    - "after_hours": two hours a day around the current hour *in UTC*, which in ZONE is half
      a day away: closed now (and seconds from now, when the call comes) on any weekday;
    - "holiday": every day all day, but today and tomorrow in ZONE are holidays (tomorrow in
      case the test runs across midnight; for half of each day, UTC's date is still the day
      before, which is no holiday).
    """
    now = datetime.now(ZoneInfo(ZONE))
    if kind == "after_hours":
        start = datetime.now(ZoneInfo("UTC")).hour
        window = f"{start:02d}:00-{(start + 2) % 24:02d}:00"  # "23:00-01:00" is a night window
        return {day: [window] for day in DAYS}
    days: dict[str, Any] = {day: ["00:00-24:00"] for day in DAYS}
    if kind == "holiday":
        days["holidays"] = [now.date().isoformat(), (now.date() + timedelta(days=1)).isoformat()]
    return days


def hours_flow(kind: str) -> dict[str, Any]:
    return {
        "id": "main",
        "language": "en",
        "timezone": ZONE,
        "start": "hours",
        "nodes": {
            "hours": {
                "type": "hours",
                "schedule": schedule(kind),
                "open": "support",
                "closed": "message",
            },
            "support": {"type": "queue", "queue": "support"},
            "message": {
                "type": "voicemail",
                "prompt": {"say": "We are closed. Please leave a message after the tone."},
                "queue": "support",
                "max_seconds": MESSAGE_SECONDS,
                "next": "bye",
            },
            "bye": {"type": "hangup", "prompt": {"say": "Thank you."}},
        },
    }


def scenario(tmp: Path) -> Path:
    """Call, send the 600 Hz tone from the first moment, key nothing, wait for Omnidesk's BYE."""
    tone = tone_wav(tmp / "caller.wav", CALLER_HZ)
    text = (
        CALLER_SCENARIO.replace("{tone}", str(tone))
        .replace("{before_digit_ms}", "0")
        .replace("{stay_ms}", "40000")
        .replace("{digit}", "")
    )
    path = tmp / "caller.xml"
    path.write_text(text)
    return path


def _events(admin: Any, kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in all_events(admin)[0] if e["event"] == kind]


@pytest.mark.parametrize("closed", ["after_hours", "holiday"])
async def test_closed_hours_send_the_caller_to_voicemail_routed_with_its_audio(
    closed: str, app: Any, client: Any, tenants: Any, as_user: Any, settings: Any, tmp_path: Path
) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids, flow=hours_flow(closed))
    voice = app.state.voice
    # Available without a softphone: a voicemail contact rings no phone, it is only offered.
    make_available(as_user, ids, "agent1")

    sipp = await start_sipp(tmp_path, scenario(tmp_path), settings.voice_sip_port)
    try:
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "voicemail", within=15, what="voicemail")
        # The prompt, the beep, MESSAGE_SECONDS of message, "Thank you." and the BYE.
        await finish_sipp(sipp, tmp_path)
    finally:
        await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to end")

    [ended] = _events(admin, "voice.call_ended")
    assert ended["ivr_path"][:3] == ["hours", "message", "bye"], ended["ivr_path"]
    assert ended["contact_id"] is None  # the live call never queued
    [stopped] = [
        s["detail"]
        for s in _events(admin, "voice.call_state_changed")
        if s["state"] == "voicemail" and s["detail"].get("voicemail") == "saved"
    ]
    assert stopped["reason"] == "max_seconds", stopped

    [row] = db_rows(client, app, RecordingRow)
    assert row.state == "complete" and row.contact_id == stopped["contact_id"]
    assert MESSAGE_SECONDS - 1 < row.duration_s <= MESSAGE_SECONDS + 0.5, row.duration_s
    [cdr] = db_rows(client, app, CallRow)
    assert cdr.contact_id is None and cdr.recording_ids == [str(row.id)]

    # The message is the one contact routing received: in the queue, offered to agent1.
    [received] = _events(admin, "routing.contact_received")
    assert received["contact_id"] == row.contact_id
    assert (received["queue_id"], received["channel"]) == ("support", "voice")
    offers = _events(admin, "routing.offer_created")
    assert [(o["contact_id"], o["agent_id"]) for o in offers] == [(row.contact_id, ids["agent1"])]

    # agent1 fetches it over the API: the caller's voice, not the prompt's beep.
    url = f"/api/v1/voice/recordings/{row.id}"
    agent1 = as_user("agent1")
    got = agent1.get(url)
    assert got.status_code == 200 and got.json()["contact_id"] == row.contact_id, got.text
    audio = agent1.get(f"{url}/audio")
    assert audio.status_code == 200, audio.text
    with wave.open(io.BytesIO(audio.content)) as w:
        heard = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    assert tone_share(heard, CALLER_HZ, (BEEP_HZ, AGENT_HZ)) > 0.9


async def test_open_hours_put_the_caller_in_the_queue(
    app: Any, client: Any, tenants: Any, as_user: Any, settings: Any, tmp_path: Path
) -> None:
    admin = as_user("admin")
    configure(admin, tenants["demo"].ids, flow=hours_flow("open"))
    voice = app.state.voice
    sipp = await start_sipp(tmp_path, scenario(tmp_path), settings.voice_sip_port)
    try:
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "queued", within=15, what="the queue")
        # Nobody is available: the call waits in line in the flow's queue.
        contact_id = call.contact_id
        contact = admin.get(f"/api/v1/routing/contacts/{contact_id}")
        assert contact.status_code == 200, contact.text
        assert contact.json()["queue_id"] == "support"
        assert contact.json()["state"] == "waiting"
        hangup = admin.post(f"/api/v1/voice/calls/{call.id}/hangup")
        assert hangup.status_code == 200, hangup.text
        await finish_sipp(sipp, tmp_path)
    finally:
        await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to end")

    [ended] = _events(admin, "voice.call_ended")
    assert ended["ivr_path"][:2] == ["hours", "support"], ended["ivr_path"]
    assert ended["contact_id"] == contact_id
    assert db_rows(client, app, RecordingRow) == []  # no voicemail when open
    states = [s["state"] for s in _events(admin, "voice.call_state_changed")]
    assert "queued" in states and "voicemail" not in states
