"""Rolling an IVR flow back: an earlier version's definition saved as a new version, on the
version the admin saw (409 when stale), checked as a save is (audio deleted since: 422).
Both databases."""

from __future__ import annotations

from voice_config_helpers import FLOW, FLOW_2, create_flow, upload, wav_bytes

FLOWS = "/api/v1/voice/flows"
GREETING = {
    "id": "main",
    "start": "main",
    "nodes": {
        "main": {"type": "play", "prompt": {"wav": "hello"}, "next": "end"},
        "end": {"type": "hangup"},
    },
}


def test_a_restore_is_a_new_version_equal_to_the_old_one(as_user) -> None:
    admin = as_user("admin")
    flow = create_flow(admin)
    url = f"{FLOWS}/{flow['id']}"
    r = admin.put(url, json={"name": "main", "definition": FLOW_2, "version": 1})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    r = admin.post(f"{url}/versions/1/restore", json={"version": 2})
    assert r.status_code == 200, r.text
    restored = r.json()
    assert restored["version"] == 3
    assert restored["definition"] == FLOW
    assert [v["version"] for v in restored["versions"]] == [1, 2, 3]
    assert all(
        v["created_by"] == restored["versions"][0]["created_by"] for v in restored["versions"]
    )
    assert admin.get(f"{url}/versions/2").json()["definition"] == FLOW_2  # kept as it was
    # Stale: refused, nothing saved.
    r = admin.post(f"{url}/versions/2/restore", json={"version": 2})
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["version"]) == ("version_conflict", 3)
    assert admin.get(url).json()["version"] == 3
    assert admin.post(f"{url}/versions/9/restore", json={"version": 3}).status_code == 404
    assert (
        as_user("supervisor").post(f"{url}/versions/2/restore", json={"version": 3}).status_code
        == 403
    )
    other = as_user("admin", tenant="other")
    assert other.post(f"{url}/versions/2/restore", json={"version": 3}).status_code == 404


def test_a_version_whose_audio_was_deleted_is_not_restored(as_user) -> None:
    admin = as_user("admin")
    assert upload(admin, "hello.wav", wav_bytes()).status_code == 201
    flow = create_flow(admin, definition=GREETING)
    url = f"{FLOWS}/{flow['id']}"
    assert (
        admin.put(url, json={"name": "main", "definition": FLOW, "version": 1}).status_code == 200
    )
    # Version 1's greeting is no longer in use: it may be deleted.
    assert admin.delete("/api/v1/voice/audio/hello.wav").status_code == 204
    r = admin.post(f"{url}/versions/1/restore", json={"version": 2})
    assert r.status_code == 422, r.text
    assert "hello.wav" in r.json()["detail"]
    assert admin.get(url).json()["version"] == 2
