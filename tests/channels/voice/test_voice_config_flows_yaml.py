"""IVR flows posted as YAML: the shipped example as it is (dates, digit keys, comments), the
JSON body's shape in YAML, and bad YAML refused with a reason. Both databases."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from voice_config_helpers import FLOW, upload, wav_bytes

from omnidesk.channels.voice.schemas import FlowIn
from spine_checks import assert_no_new_events, assert_problem, event_cursor

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "voice" / "ivr.yaml"
FLOWS = "/api/v1/voice/flows"
YAML = {"content-type": "application/yaml"}


def _post_yaml(admin: Any, text: str, url: str = FLOWS, **kw: Any) -> Any:
    return admin.post(url, content=text.encode(), headers=YAML, **kw)


def test_the_shipped_example_posts_as_yaml_as_it_is(as_user) -> None:
    admin = as_user("admin")
    for name in ("welcome-jingle.wav", "hold-music.wav"):
        assert upload(admin, name, wav_bytes()).status_code == 201
    r = _post_yaml(admin, EXAMPLE.read_text(encoding="utf-8"))
    assert r.status_code == 201, r.text
    flow = r.json()
    # A definition on its own is named by its own `name`.
    assert flow["name"] == "Main customer line"
    stored = flow["definition"]
    # YAML dates are stored as ISO dates, digit keys as text: what the JSON body would hold.
    schedule = stored["nodes"]["check_hours"]["schedule"]
    assert schedule["holidays"] == ["2026-12-24", "2026-12-31"]
    assert set(stored["nodes"]["main_menu"]["options"]) == {"1", "2", "3", "9"}
    as_json = json.loads(json.dumps(yaml.safe_load(EXAMPLE.read_text()), default=str))
    assert stored == as_json
    assert admin.get(f"{FLOWS}/{flow['id']}").json()["definition"] == as_json

    # PUT takes YAML too: a changed definition is version 2; ?name= names a bare definition.
    changed = EXAMPLE.read_text().replace("max_wait_s: 600", "max_wait_s: 300")
    url = f"{FLOWS}/{flow['id']}"
    r = admin.put(url, content=changed.encode(), headers={"content-type": "text/yaml"},
                  params={"name": "main line", "version": 1})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["name"]) == (2, "main line")
    assert r.json()["definition"]["nodes"]["wait_for_agent"]["max_wait_s"] == 300


def test_yaml_in_the_json_bodys_shape_and_json_unchanged(as_user) -> None:
    admin = as_user("admin")
    wrapped = yaml.safe_dump({"name": "simple", "definition": FLOW})
    r = _post_yaml(admin, wrapped)
    assert r.status_code == 201, r.text
    assert (r.json()["name"], r.json()["definition"]) == ("simple", FLOW)
    # A bare definition without a name takes its id; JSON bodies work as before.
    bare = yaml.safe_dump({**FLOW, "id": "second"})
    assert _post_yaml(admin, bare).json()["name"] == "second"
    r = admin.post(FLOWS, json={"name": "third", "definition": FLOW})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("text", "status", "fragment"),
    [
        ("id: [unclosed", 400, "not valid YAML"),
        ("- just\n- a list\n", 422, "must be a mapping"),
        ("id: main\nblob: !!binary aGVsbG8=\n", 422, "no JSON form"),
        # "Billion laughs": aliases of aliases, refused before they are written out.
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
                for i in range(8)
            ),
            422,
            "more than",
        ),
        # The flow schema's own errors, with their paths, as for JSON.
        ("id: main\nstart: nowhere\nnodes: {main: {type: hangup}}\n", 422, "definition.start"),
    ],
)
def test_bad_yaml_is_refused_with_a_reason(as_user, text: str, status: int, fragment: str) -> None:
    admin = as_user("admin")
    cursor = event_cursor(admin)
    body = assert_problem(_post_yaml(admin, text), status, fragment)
    if status == 400:
        assert body["code"] == "malformed_yaml"
    assert_no_new_events(admin, cursor)
    assert admin.get(FLOWS).json() == []


def test_yaml_is_admin_only_like_json(as_user) -> None:
    r = _post_yaml(as_user("supervisor"), yaml.safe_dump({"name": "x", "definition": FLOW}))
    assert r.status_code == 403, r.text


def test_a_definition_with_date_objects_is_stored_as_json() -> None:
    definition = {
        "id": "main",
        "start": "h",
        "nodes": {
            "h": {
                "type": "hours",
                "schedule": {"mon": ["08:00-18:00"], "holidays": [date(2026, 12, 24)]},
                "open": "bye",
                "closed": "bye",
            },
            "bye": {"type": "hangup"},
        },
    }
    flow = FlowIn(name="dated", definition=definition)
    assert flow.definition["nodes"]["h"]["schedule"]["holidays"] == ["2026-12-24"]
    with pytest.raises(ValidationError, match="no JSON form"):
        FlowIn(name="x", definition={"id": "main", "odd": {1, 2}})


def test_openapi_says_flows_take_yaml(client) -> None:
    spec = client.get("/openapi.json").json()
    for method, path in (("post", "/api/v1/voice/flows"), ("put", "/api/v1/voice/flows/{flow_id}")):
        operation = spec["paths"][path][method]
        content = operation["requestBody"]["content"]
        assert {"application/json", "application/yaml", "text/yaml"} <= set(content)
        assert "name" in {p["name"] for p in operation["parameters"]}
