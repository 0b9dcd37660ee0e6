"""Knowledge and scripts over the API: supervisors and admins write, everyone of the tenant
reads and searches, by queue; another tenant sees nothing."""

from __future__ import annotations

from typing import Any

API = "/api/v1/knowledge/articles"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def titles(user: Any, **params: Any) -> list[str]:
    return [a["title"] for a in ok(user.get(API, params=params))]


def test_supervisors_write_agents_read_and_search_by_queue(as_user, tenants) -> None:
    sup, admin, agent = as_user("supervisor"), as_user("admin"), as_user("agent1")
    refund = {
        "title": "Refunds over 100 EUR",
        "body": "Ask the supervisor; refunds above the limit need approval.",
        "queue_ids": ["billing"],
        "tags": ["refund"],
    }
    created = ok(sup.post(API, json=refund), 201)
    assert created["kind"] == "article" and created["queue_ids"] == ["billing"]
    script = {
        "kind": "script",
        "title": "Router does not connect",
        "steps": ["Ask for the router model", "Power cycle: off 30 s, on", "Check the lights"],
        "queue_ids": ["support"],
    }
    ok(admin.post(API, json=script), 201)
    ok(admin.post(API, json={"title": "Opening hours", "body": "Mon-Fri 8-18"}), 201)

    # Agents read everything of the tenant; by queue: that queue's and the ones for every queue.
    assert titles(agent) == ["Opening hours", "Refunds over 100 EUR", "Router does not connect"]
    assert titles(agent, queue="support") == ["Opening hours", "Router does not connect"]
    assert titles(agent, queue="support", kind="script") == ["Router does not connect"]
    # Every word must occur, in any field, in any case; title matches first.
    assert titles(agent, q="REFUND approval") == ["Refunds over 100 EUR"]
    assert titles(agent, q="power cycle") == ["Router does not connect"]
    assert titles(agent, q="supervisor router") == []
    assert titles(agent, q="100%") == []  # LIKE wildcards are plain characters
    assert ok(agent.get(f"{API}/{created['id']}"))["body"].startswith("Ask the supervisor")

    # Agents do not write.
    assert agent.post(API, json={"title": "Mine"}).status_code == 403
    assert agent.put(f"{API}/{created['id']}", json=refund).status_code == 403
    assert agent.delete(f"{API}/{created['id']}").status_code == 403

    changed = ok(sup.put(f"{API}/{created['id']}", json={**refund, "title": "Refunds"}))
    assert changed["title"] == "Refunds" and changed["updated_at"] >= created["updated_at"]
    assert sup.delete(f"{API}/{created['id']}").status_code == 204
    assert agent.get(f"{API}/{created['id']}").status_code == 404
    assert sup.delete(f"{API}/{created['id']}").status_code == 404

    # Another tenant.
    other = as_user("admin", "other")
    assert titles(other) == []
    some = ok(agent.get(API))[0]["id"]
    assert other.get(f"{API}/{some}").status_code == 404
    assert other.put(f"{API}/{some}", json=refund).status_code == 404


def test_bad_articles_are_refused_with_422(as_user, tenants) -> None:
    sup = as_user("supervisor")
    for body in (
        {"title": ""},
        {"title": " padded "},
        {"title": "x", "kind": "poem"},
        {"title": "x", "queue_ids": ["not an id!"]},
        {"title": "x", "steps": [""]},
        {"title": "x", "extra": 1},
    ):
        r = sup.post(API, json=body)
        assert r.status_code == 422, (body, r.text)
    assert ok(sup.get(API)) == []
