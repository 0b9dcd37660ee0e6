"""Alike inputs are validated alike: names, priorities, levels, capacities and channels are
refused with 422 naming the field, whichever domain takes them."""

from __future__ import annotations

from typing import Any

import pytest

from spine_checks import assert_problem

AGENT = "/api/v1/routing/agents/{agent1}"
QUEUE = {"id": "support", "channels": ["chat", "voice"]}
TRUNK = {"name": "Carrier"}
FLOW = {"name": "Main", "definition": {"start": "menu", "nodes": {"menu": {"type": "hangup"}}}}
BLANKS = ["   ", " lead", "trail ", "two\nlines", ""]

# (method, url, body, the field's location in `errors`)
CASES: list[tuple[str, str, dict[str, Any], list[Any]]] = [
    # routing profile: membership priority, blending channels, levels, capacities, names
    ("put", AGENT, {"queues": {"support": -1}}, ["body", "queues", "support"]),
    ("put", AGENT, {"queues": {"support": 1001}}, ["body", "queues", "support"]),
    ("put", AGENT, {"blending": {"voice": ["fax"]}}, ["body", "blending"]),
    ("put", AGENT, {"capacity": {"chat": 1}, "blending": {"voice": []}}, ["body", "blending"]),
    ("put", AGENT, {"skills": {"lang.de": 0}}, ["body", "skills", "lang.de"]),
    ("put", AGENT, {"skills": {"lang.de": 6}}, ["body", "skills", "lang.de"]),
    ("put", AGENT, {"skills": {" lang.de": 3}}, ["body", "skills", " lang.de", "[key]"]),
    ("put", AGENT, {"capacity": {"chat": -1}}, ["body", "capacity", "chat"]),
    ("put", AGENT, {"capacity": {"   ": 1}}, ["body", "capacity", "   ", "[key]"]),
    ("put", AGENT, {"languages": ["  "]}, ["body", "languages", 0]),
    # queues: channels, priority
    ("post", "/api/v1/routing/queues", {**QUEUE, "channels": ["  "]}, ["body", "channels", 0]),
    ("post", "/api/v1/routing/queues", {**QUEUE, "channels": []}, ["body", "channels"]),
    ("post", "/api/v1/routing/queues", {**QUEUE, "priority": 10**6}, ["body", "priority"]),
    # contacts: channel, priority
    (
        "post",
        "/api/v1/routing/contacts",
        {"queue_id": "support", "channel": " chat"},
        ["body", "channel"],
    ),
    (
        "post",
        "/api/v1/routing/contacts",
        {"queue_id": "support", "channel": "chat", "priority": 1001},
        ["body", "priority"],
    ),
    # forecasts: the channel as routing names it
    (
        "post",
        "/api/v1/wfm/forecasts",
        {"source": "history", "queue_id": "support", "channel": "  "},
        ["body", "channel"],
    ),
]
NAMED = [
    ("post", "/api/v1/teams", {}, "name"),
    ("patch", "/api/v1/teams/{team}", {}, "name"),
    ("patch", "/api/v1/users/{agent1}", {}, "display_name"),
    ("post", "/api/v1/voice/trunks", TRUNK, "name"),
    ("post", "/api/v1/voice/flows", FLOW, "name"),
    ("post", "/api/v1/api-tokens", {"user_id": "{admin}"}, "name"),
]


@pytest.fixture
def admin(as_user, tenants):  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    return admin


def _url(template: str, ids: dict[str, str]) -> str:
    return template.format(**ids)


@pytest.mark.parametrize(("method", "url", "body", "loc"), CASES)
def test_out_of_range_input_is_refused_naming_the_field(admin, tenants, method, url, body, loc):  # type: ignore[no-untyped-def]
    response = getattr(admin, method)(_url(url, tenants["demo"].ids), json=body)
    problem = assert_problem(response, 422)
    assert loc in [e["loc"] for e in problem["errors"]], problem


def test_blending_names_the_unknown_channel(admin, tenants):  # type: ignore[no-untyped-def]
    url = _url(AGENT, tenants["demo"].ids)
    problem = assert_problem(
        admin.put(url, json={"capacity": {"voice": 1}, "blending": {"voice": ["fax"]}}),
        422,
        "'fax'",
        "capacity",
    )
    # On the field, so that the admin console shows it beside the blending inputs.
    assert problem["errors"][0]["loc"] == ["body", "blending"]


@pytest.mark.parametrize(("method", "url", "body", "field"), NAMED)
@pytest.mark.parametrize("blank", BLANKS)
def test_every_name_refuses_blanks_and_surrounding_spaces(  # type: ignore[no-untyped-def]
    admin, tenants, method, url, body, field, blank
):
    ids = tenants["demo"].ids
    body = {k: _url(v, ids) if isinstance(v, str) else v for k, v in body.items()}
    response = getattr(admin, method)(_url(url, ids), json={**body, field: blank})
    problem = assert_problem(response, 422)
    assert ["body", field] in [e["loc"] for e in problem["errors"]], problem


def test_valid_names_and_profiles_still_pass(admin, tenants):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    assert admin.post("/api/v1/teams", json={"name": "Night shift"}).status_code == 201
    r = admin.put(
        _url(AGENT, ids),
        json={
            "queues": {"support": 0},
            "capacity": {"voice": 1, "chat": 2},
            "blending": {"voice": [], "chat": ["chat"]},
            "skills": {"lang.de": 5},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["queues"] == {"support": 0}
