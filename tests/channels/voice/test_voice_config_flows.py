"""IVR flows through the API: checked by the IVR's own schema and against the tenant's audio
files before anything is stored; audio a flow plays cannot be deleted. Both databases."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from voice_config_helpers import FLOW, create_flow, upload, wav_bytes

from spine_checks import assert_no_new_events, assert_problem, audit_entries, event_cursor

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "voice" / "ivr.yaml"
FLOWS = "/api/v1/voice/flows"
WAV_PATH = "definition.nodes.welcome.prompt.0.wav"
MOH_PATH = "definition.nodes.wait_for_agent.moh"


def _example() -> dict[str, Any]:
    # As a browser would send the YAML: JSON, so dates become strings and digit keys text.
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


def _mark(admin: Any) -> tuple[int, list[Any]]:
    return event_cursor(admin), audit_entries(admin)


def _unchanged(admin: Any, before: tuple[int, list[Any]]) -> None:
    assert_no_new_events(admin, before[0])
    assert audit_entries(admin) == before[1]


def test_an_invalid_flow_is_refused_naming_each_path(as_user) -> None:
    admin = as_user("admin")
    bad = _example()
    bad["start"] = "nowhere"
    bad["nodes"]["main_menu"]["options"]["7"] = "missing_node"
    bad["nodes"]["goodbye"] = {"type": "teleport"}
    bad["nodes"]["check_hours"]["schedule"]["mon"] = ["25:00-18:00"]
    before = _mark(admin)
    body = assert_problem(
        admin.post(FLOWS, json={"name": "main", "definition": bad}),
        422,
        "definition.nodes.goodbye: unknown node type 'teleport'",
        "definition.nodes.check_hours.schedule.mon.0: '25:00-18:00' is not a time of day",
    )
    assert body["field"] == "definition"
    assert [i["path"] for i in body["issues"]] == [
        "definition.nodes.check_hours.schedule.mon.0",
        "definition.nodes.goodbye",
    ]
    # References are checked once the shape is right (the IVR's schema works so); with the
    # shape fixed, each broken reference is named.
    bad["nodes"]["goodbye"] = {"type": "hangup"}
    bad["nodes"]["check_hours"]["schedule"]["mon"] = ["08:00-18:00"]
    body = assert_problem(
        admin.post(FLOWS, json={"name": "main", "definition": bad}),
        422,
        "definition.start: no node 'nowhere'",
        "definition.nodes.main_menu.options.7: no node 'missing_node'",
    )
    assert {i["path"] for i in body["issues"]} == {
        "definition.start",
        "definition.nodes.main_menu.options.7",
    }
    missing_id = {k: v for k, v in FLOW.items() if k != "id"}
    assert_problem(admin.post(FLOWS, json={"name": "x", "definition": missing_id}), 422, ".id")
    _unchanged(admin, before)
    assert admin.get(FLOWS).json() == []

    # An update to an invalid definition leaves the stored flow as it was.
    flow = create_flow(admin, "simple", FLOW)
    url = f"{FLOWS}/{flow['id']}"
    before = _mark(admin)
    broken = {**FLOW, "nodes": {"main": {"type": "menu", "options": {"7": "gone"}}}}
    assert_problem(
        admin.put(url, json={"name": "simple", "definition": broken, "version": 1}),
        422,
        "definition.nodes.main.options.7: no node 'gone'",
    )
    _unchanged(admin, before)
    assert admin.get(url).json()["version"] == 1


def test_the_example_flow_needs_its_audio_files_and_keeps_them(as_user) -> None:
    admin, admin_b = as_user("admin"), as_user("admin", tenant="other")
    example = _example()
    before = _mark(admin)
    body = assert_problem(
        admin.post(FLOWS, json={"name": "main", "definition": example}),
        422,
        f"{WAV_PATH}: no audio file 'welcome-jingle.wav'",
        f"{MOH_PATH}: no audio file 'hold-music.wav'",
    )
    assert [i["path"] for i in body["issues"]] == [WAV_PATH, MOH_PATH]
    # Another tenant's files are not this tenant's.
    assert upload(admin_b, "welcome-jingle.wav", wav_bytes()).status_code == 201
    assert upload(admin_b, "hold-music.wav", wav_bytes()).status_code == 201
    assert_problem(admin.post(FLOWS, json={"name": "main", "definition": example}), 422, WAV_PATH)
    _unchanged(admin, before)

    assert upload(admin, "welcome-jingle.wav", wav_bytes()).status_code == 201
    assert_problem(admin.post(FLOWS, json={"name": "main", "definition": example}), 422, MOH_PATH)
    assert upload(admin, "hold-music.wav", wav_bytes()).status_code == 201
    flow = create_flow(admin, "main", example)
    assert flow["definition"] == example and flow["version"] == 1

    # Both files are in use by the version in use: not deletable.
    for name in ("welcome-jingle.wav", "hold-music.wav"):
        before = _mark(admin)
        assert_problem(admin.delete(f"/api/v1/voice/audio/{name}"), 409, "flow 'main'")
        _unchanged(admin, before)
    # The other tenant's files of the same names are free.
    assert admin_b.delete("/api/v1/voice/audio/hold-music.wav").status_code == 204

    # Version 2 plays no jingle: version 1 still names it, but no call starts on version 1.
    v2 = copy.deepcopy(example)
    v2["nodes"]["welcome"]["prompt"] = [{"say": "Thank you for calling."}]
    url = f"{FLOWS}/{flow['id']}"
    r = admin.put(url, json={"name": "main", "definition": v2, "version": 1})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    assert admin.delete("/api/v1/voice/audio/welcome-jingle.wav").status_code == 204
    # Nor can a version 3 bring it back without the file.
    body = {"name": "main", "definition": example, "version": 2}
    assert_problem(admin.put(url, json=body), 422, WAV_PATH)
    assert admin.get(url).json()["version"] == 2

    # A single {wav} prompt (no list) is named without an index; names may carry ".wav".
    v3 = copy.deepcopy(v2)
    v3["nodes"]["goodbye"]["prompt"] = {"wav": "bye.wav"}
    assert_problem(
        admin.put(url, json={"name": "main", "definition": v3, "version": 2}),
        422,
        "definition.nodes.goodbye.prompt.wav: no audio file 'bye.wav'",
    )
    assert admin.delete(url).status_code == 204
    assert admin.delete("/api/v1/voice/audio/hold-music.wav").status_code == 204
