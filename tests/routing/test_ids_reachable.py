"""Every id the API accepts works in every route that takes it; every other id is refused.

An id is chosen once (a queue, a contact, a consult) and then travels in URL paths. The one
id grammar (omnidesk.platform.fields.Id, the core's ID_PATTERN) allows only characters that
are safe in a path segment as they are, so ids go into the URLs below unquoted, exactly as a
client would write them. A `web/42` contact was once accepted, offered, and could then be
neither accepted nor rejected: the agent was put away as "missed".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnidesk.core.routing import AddQueue, ContactArrived, QueueDef
from omnidesk.core.routing.engine import Engine
from omnidesk.core.routing.model import ID_PATTERN
from spine_checks import assert_problem

EDGE_IDS = [
    "a",
    "7",
    "web.42",
    "a..b",
    "a.",
    "a-",
    "a_b",
    "tenant:queue",
    "x@y",
    "c++",
    "Q-1.2_3:4@5+6",
    "x" * 64,
]
BAD_IDS = [
    "web/42",
    "a/b",
    "",
    ".hidden",
    "-a",
    "_a",
    "x" * 65,
    "a b",
    "a?b",
    "a#b",
    "a%2Fb",
    "ä",
    "café",
    "a\\b",
    "a\nb",
]
QUEUE = {"channels": ["chat"], "name": "Edge", "offer_timeout_seconds": 20}


def _offer_path(offer_id: str) -> str:
    # Offer ids are the engine's own (`<contact>#<n>`): "#" must be escaped in a URL.
    return offer_id.replace("#", "%23")


def _check_queue_routes(admin: Any, queue_id: str) -> None:
    r = admin.post("/api/v1/routing/queues", json={**QUEUE, "id": queue_id})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == queue_id
    r = admin.get(f"/api/v1/routing/queues/{queue_id}")
    assert r.status_code == 200, r.text
    assert r.json()["definition"]["id"] == queue_id
    assert queue_id in [q["definition"]["id"] for q in admin.get("/api/v1/routing/queues").json()]
    r = admin.put(f"/api/v1/routing/queues/{queue_id}", json={**QUEUE, "name": "Renamed"})
    assert r.status_code == 200, r.text
    r = admin.put(f"/api/v1/voice/queues/{queue_id}/policy", json={"record": "never"})
    assert r.status_code == 200, r.text
    r = admin.get(f"/api/v1/voice/queues/{queue_id}/policy")
    assert (r.status_code, r.json()["queue_id"]) == (200, queue_id), r.text


def _check_contact_routes(as_user: Any, ids: dict[str, str], queue_id: str, cid: str) -> None:
    """A contact with this id: offered to agent1 who rejects it, then to agent2 who accepts,
    ends and wraps it up; afterwards routing no longer has it."""
    admin = as_user("admin")
    for name in ("agent1", "agent2"):
        r = admin.put(
            f"/api/v1/routing/agents/{ids[name]}",
            json={"queues": {queue_id: 1}, "capacity": {"chat": 1}},
        )
        assert r.status_code == 200, r.text
    first, second = as_user("agent1"), as_user("agent2")
    r = first.post(f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"})
    assert r.status_code == 200, r.text
    r = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": queue_id, "channel": "chat", "contact_id": cid},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["contact_id"], r.json()["state"]) == (cid, "offered")
    r = first.post(f"/api/v1/routing/offers/{_offer_path(r.json()['offer_id'])}/reject", json={})
    assert r.status_code == 200, r.text
    r = second.post(f"/api/v1/routing/agents/{ids['agent2']}/state", json={"state": "available"})
    assert r.status_code == 200, r.text
    r = admin.get(f"/api/v1/routing/contacts/{cid}")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["agent_id"]) == ("offered", ids["agent2"]), r.json()
    r = second.post(f"/api/v1/routing/offers/{_offer_path(r.json()['offer_id'])}/accept")
    assert r.status_code == 200, r.text
    assert second.get(f"/api/v1/routing/contacts/{cid}").json()["state"] == "active"
    assert second.post(f"/api/v1/routing/contacts/{cid}/end").status_code == 200
    r = second.post(f"/api/v1/routing/wrap-ups/{cid}/end", json={"disposition": "resolved"})
    assert r.status_code == 200, r.text
    ended = assert_problem(admin.get(f"/api/v1/routing/contacts/{cid}"), 404)
    assert ended["code"] == "unknown_contact", ended


def test_the_edge_ids_are_in_the_grammar() -> None:
    for good in EDGE_IDS:
        assert re.fullmatch(ID_PATTERN, good), good
    for bad in BAD_IDS:
        assert not re.fullmatch(ID_PATTERN, bad), bad


@pytest.mark.parametrize("some_id", EDGE_IDS)
def test_every_accepted_id_reaches_every_route(as_user, tenants, some_id):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    _check_queue_routes(admin, some_id)
    _check_contact_routes(as_user, ids, some_id, some_id)
    # A second contact with a queued wait: priority, cancel (DELETE) by its id.
    r = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": some_id, "channel": "voice", "contact_id": "w" + some_id[:63]},
    )
    assert r.status_code == 422, r.text  # the queue serves chat only
    for name in ("agent1", "agent2"):
        r = as_user(name).post(
            f"/api/v1/routing/agents/{ids[name]}/state", json={"state": "away", "reason": "x"}
        )
        assert r.status_code == 200, r.text
    waiting = "w" + some_id[:63]
    r = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": some_id, "channel": "chat", "contact_id": waiting},
    )
    assert (r.status_code, r.json()["state"]) == (201, "waiting"), r.text
    r = admin.post(f"/api/v1/routing/contacts/{waiting}/priority", json={"priority": 5})
    assert (r.status_code, r.json()["priority"]) == (200, 5), r.text
    assert admin.delete(f"/api/v1/routing/contacts/{waiting}").status_code == 204
    for name in ("agent1", "agent2"):  # a queue with members cannot go
        r = admin.put(f"/api/v1/routing/agents/{ids[name]}", json={"capacity": {"chat": 1}})
        assert r.status_code == 200, r.text
    assert admin.delete(f"/api/v1/routing/queues/{some_id}").status_code == 204
    assert_problem(admin.get(f"/api/v1/routing/queues/{some_id}"), 404)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(queue_id=st.from_regex(ID_PATTERN, fullmatch=True))
def test_generated_ids_reach_the_queue_routes(as_user, tenants, queue_id):  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    _check_queue_routes(admin, queue_id)
    assert admin.delete(f"/api/v1/routing/queues/{queue_id}").status_code == 204


@pytest.mark.parametrize("bad", BAD_IDS)
def test_ids_outside_the_grammar_are_refused_where_they_are_chosen(as_user, tenants, bad):  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    r = admin.post("/api/v1/routing/queues", json={**QUEUE, "id": "ok"})
    assert r.status_code == 201, r.text
    chosen: list[tuple[str, dict[str, Any], list[Any]]] = [
        ("/api/v1/routing/queues", {**QUEUE, "id": bad}, ["body", "id"]),
        (
            "/api/v1/routing/contacts",
            {"queue_id": "ok", "channel": "chat", "contact_id": bad},
            ["body", "contact_id"],
        ),
        ("/api/v1/routing/contacts", {"queue_id": bad, "channel": "chat"}, ["body", "queue_id"]),
        (
            "/api/v1/wfm/forecasts",
            {"source": "history", "queue_id": bad, "channel": "chat"},
            ["body", "queue_id"],
        ),
    ]
    for url, body, loc in chosen:
        problem = assert_problem(admin.post(url, json=body), 422)
        assert loc in [e["loc"] for e in problem["errors"]], problem
    problem = assert_problem(
        admin.put("/api/v1/voice/queues/ok/policy", json={"voicemail_queue": bad}), 422
    )
    assert ["body", "voicemail_queue"] in [e["loc"] for e in problem["errors"]], problem
    # Nothing of it was created.
    assert [q["definition"]["id"] for q in admin.get("/api/v1/routing/queues").json()] == ["ok"]
    assert admin.get("/api/v1/routing/contacts").json() == []


def test_the_engine_still_restores_an_id_with_a_slash_written_before() -> None:
    # The API refuses "/" now; a queue "a/b" created before must not stop a tenant's routing
    # from loading (snapshot restore and log replay both validate definitions).
    created = datetime(2026, 1, 1, tzinfo=UTC)
    engine = Engine()
    engine.handle(AddQueue(QueueDef(id="a/b", channels=("chat",))), created)
    engine.handle(ContactArrived("web/42", "a/b", "chat"), created)
    restored = Engine.restore(engine.snapshot())
    assert restored.queue_ids() == ["a/b"]
    assert restored.contact_ids() == ["web/42"]
