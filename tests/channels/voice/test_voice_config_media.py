"""Queue voice policies and tenant audio files through the API, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from voice_config_helpers import set_domain, upload, wav_bytes

from spine_checks import assert_no_new_events, assert_problem, audit_entries, event_cursor

AUDIO_CAP = 40_000


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # A small audio cap (under the app's body limit) so the voice check itself is what refuses.
    return settings.model_copy(update={"voice_audio_max_bytes": AUDIO_CAP})


def _mark(admin: Any) -> tuple[int, list[Any]]:
    return event_cursor(admin), audit_entries(admin)


def _unchanged(admin: Any, before: tuple[int, list[Any]]) -> None:
    assert_no_new_events(admin, before[0])
    assert audit_entries(admin) == before[1]


def _queue(admin: Any, queue_id: str) -> None:
    r = admin.post("/api/v1/routing/queues", json={"id": queue_id, "channels": ["voice"]})
    assert r.status_code == 201, r.text


def test_queue_policy_defaults_validation_and_roles(as_user) -> None:
    admin, supervisor, agent = as_user("admin"), as_user("supervisor"), as_user("agent1")
    url = "/api/v1/voice/queues/support/policy"
    assert_problem(admin.get(url), 404, "support")
    assert_problem(admin.put(url, json={}), 404, "support")
    _queue(admin, "support")
    _queue(admin, "voicemail")
    default = supervisor.get(url).json()
    assert default["configured"] is False and default["record"] == "always"
    assert_problem(agent.get(url), 403)

    before = _mark(admin)
    bad = [
        ({"record": "sometimes"}, "record"),
        ({"announce_every_s": 1}, "announce_every_s"),
        ({"moh": "../etc/passwd"}, "moh"),
        ({"moh": "absent.wav"}, "absent.wav"),
        ({"voicemail_queue": "nowhere"}, "nowhere"),
        ({"max_wait_s": 0}, "max_wait_s"),
        # The longest wait moved to the routing queue (ADR 0026): the refusal says where.
        ({"max_wait_s": 600}, "max_wait_seconds and on_max_wait"),
    ]
    for body, reason in bad:
        assert_problem(admin.put(url, json=body), 422, reason)
    assert_problem(supervisor.put(url, json={"record": "never"}), 403)
    _unchanged(admin, before)

    assert upload(admin, "hold.wav", wav_bytes()).status_code == 201
    body = {
        "record": "on_demand",
        "consent_prompt": False,
        "announce_every_s": 45,
        "moh": "hold.wav",
        "voicemail_queue": "voicemail",
    }
    assert default["version"] == 0
    stale = assert_problem(admin.put(url, json={**body, "version": 1}), 409, "someone else")
    assert stale["code"] == "version_conflict" and stale["version"] == 0
    r = admin.put(url, json={**body, "version": 0})
    assert r.status_code == 200, r.text
    assert r.json() == {"queue_id": "support", **body, "configured": True, "version": 1}
    assert supervisor.get(url).json() == r.json()
    # What an older console sends (a null longest wait) is taken and changes nothing.
    again = admin.put(url, json={**body, "max_wait_s": None, "version": 1})
    assert again.status_code == 200 and "max_wait_s" not in again.json(), again.text
    # The hold music is in use now: it cannot be deleted under the policy's feet.
    assert_problem(admin.delete("/api/v1/voice/audio/hold.wav"), 409, "support")


def test_queue_policy_save_on_a_stale_version_is_refused(as_user) -> None:
    admin = as_user("admin")
    url = "/api/v1/voice/queues/support/policy"
    _queue(admin, "support")
    first = admin.put(url, json={"record": "never", "version": 0})
    assert first.status_code == 200 and first.json()["version"] == 1, first.text
    second = admin.put(url, json={"record": "on_demand", "version": 1})
    assert second.status_code == 200 and second.json()["version"] == 2, second.text

    before = _mark(admin)
    for stale in (0, 1, 3):
        r = admin.put(url, json={"record": "always", "version": stale})
        assert_problem(r, 409, "changed by someone else")
        assert r.json()["code"] == "version_conflict" and r.json()["version"] == 2
    _unchanged(admin, before)
    assert admin.get(url).json()["record"] == "on_demand"
    # A save naming no version (a script setting the policy wholesale) is not checked.
    r = admin.put(url, json={"record": "always"})
    assert r.status_code == 200 and r.json()["version"] == 3, r.text


def test_audio_upload_validation_download_and_delete(as_user, settings) -> None:
    admin = as_user("admin")
    before = _mark(admin)
    cases = [
        ("x.wav", b"not a wav file at all, just some bytes here" * 2, "RIFF"),
        ("x.wav", wav_bytes(width=3), "24-bit"),
        ("x.wav", wav_bytes(rate=12345), "sample rate"),
        ("x.wav", wav_bytes(seconds=0), "no audio"),
        ("x.wav", wav_bytes()[:-50], "truncated"),
        ("x.wav", wav_bytes(seconds=5), "limited"),
    ]
    for name, data, reason in cases:
        r = upload(admin, name, data)
        assert_problem(r, 413 if reason == "limited" else 422, reason)
    assert_problem(upload(admin, "../x.wav", wav_bytes()), 422, "name")
    assert_problem(upload(admin, "x.mp3", wav_bytes()), 422, "name")
    assert_problem(upload(admin, "x.wav", wav_bytes(), "text/plain"), 415, "audio/wav")
    assert_problem(upload(as_user("supervisor"), "x.wav", wav_bytes()), 403)
    _unchanged(admin, before)
    assert not list(Path(settings.data_dir).rglob("*.wav"))

    data = wav_bytes(seconds=0.5, rate=16000, channels=2)
    r = upload(admin, "welcome.wav", data)
    assert r.status_code == 201, r.text
    meta = r.json()
    assert (meta["sample_rate"], meta["channels"], meta["sample_width"]) == (16000, 2, 2)
    assert meta["duration_s"] == 0.5 and meta["size"] == len(data)
    assert_problem(upload(admin, "welcome.wav", data), 409, "exists")
    [listed] = as_user("supervisor").get("/api/v1/voice/audio").json()
    assert listed == meta
    got = admin.get("/api/v1/voice/audio/welcome.wav")
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "audio/wav"
    assert_problem(as_user("agent1").get("/api/v1/voice/audio/welcome.wav"), 403)
    stored = list(Path(settings.data_dir).rglob("*.wav"))
    assert len(stored) == 1 and stored[0].read_bytes() == data

    # Used by the tenant's settings: refused; then free to go, file and all.
    set_domain(admin, default_moh="welcome.wav")
    assert_problem(admin.delete("/api/v1/voice/audio/welcome.wav"), 409, "settings")
    set_domain(admin)
    assert admin.delete("/api/v1/voice/audio/welcome.wav").status_code == 204
    assert_problem(admin.get("/api/v1/voice/audio/welcome.wav"), 404)
    assert not stored[0].exists()
    actions = [e["action"] for e in audit_entries(admin) if e["action"].startswith("voice.audio")]
    assert actions == ["voice.audio.delete", "voice.audio.add"]
