"""What the admin console rests on, on both databases: rules checked as the admin types (the
engine's own parser, its line and column), and queues saved only on the version they were
edited on (two admins, the later save refused instead of lost)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

QUEUE = {"id": "billing", "channels": ["chat"], "name": "Billing", "steps": [{"target": None}]}


def test_a_rule_is_checked_with_the_parsers_line_and_column(as_user):
    admin = as_user("admin")
    r = admin.post("/api/v1/routing/rules/check", json={"rule": "skills.lang.de >= 3"})
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "error": None}
    r = admin.post(
        "/api/v1/routing/rules/check", json={"rule": "skills.billing >= 2\nAND (contact.x =="}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is False
    assert (body["error"]["line"], body["error"]["column"]) == (2, 18)
    assert body["error"]["message"]
    # The same rule in a queue is refused with the same place, on the step's field.
    step = {"target": "skills.billing >= 2\nAND (contact.x =="}
    r = admin.post("/api/v1/routing/queues", json={**QUEUE, "steps": [step]})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert (problem["line"], problem["column"], problem["field"]) == (
        2,
        18,
        "queue.steps[0].target",
    )
    assert (
        as_user("agent1").post("/api/v1/routing/rules/check", json={"rule": "true"}).status_code
        == 403
    )
    r = admin.post("/api/v1/routing/rules/check", json={"rule": "x" * 10_001})
    assert r.status_code == 422
    assert "rule" in r.text


def test_a_stale_queue_edit_is_refused_not_lost(as_user):
    admin = as_user("admin")
    r = admin.post("/api/v1/routing/queues", json=QUEUE)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    seen = admin.get("/api/v1/routing/queues/billing").json()
    assert seen["version"] == 1
    assert [q["version"] for q in admin.get("/api/v1/routing/queues").json()] == [1]
    # Two admins opened version 1; the first saves, the second's save is refused.
    r = admin.put("/api/v1/routing/queues/billing", json={**QUEUE, "priority": 5, "version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    r = admin.put("/api/v1/routing/queues/billing", json={**QUEUE, "name": "Late", "version": 1})
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["code"] == "version_conflict"
    assert (problem["field"], problem["version"]) == ("version", 2)
    current = admin.get("/api/v1/routing/queues/billing").json()
    assert current["definition"]["priority"] == 5
    assert current["definition"]["name"] == "Billing"
    assert current["version"] == 2
    # On the current version it saves; without a version it replaces (older clients).
    r = admin.put("/api/v1/routing/queues/billing", json={**QUEUE, "name": "B2", "version": 2})
    assert r.status_code == 200 and r.json()["version"] == 3
    r = admin.put("/api/v1/routing/queues/billing", json=QUEUE)
    assert r.status_code == 200 and r.json()["version"] == 4
    r = admin.put("/api/v1/routing/queues/billing", json={**QUEUE, "version": 0})
    assert r.status_code == 422


@pytest.mark.parametrize("snapshot", [False, True], ids=["replayed", "from-snapshot"])
def test_queue_versions_survive_a_restart(app, settings, as_user, client, snapshot):
    """Replayed from the log after a crash, or loaded from the closing snapshot: the same
    version, so an edit opened before the restart still saves and a stale one still does not."""
    from omnidesk.app import create_app

    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin.put("/api/v1/routing/queues/billing", json={**QUEUE, "priority": 1, "version": 1})
    assert r.json()["version"] == 2
    client.portal.call(lambda: app.state.routing.stop(snapshot=snapshot))
    with TestClient(create_app(settings)) as other:
        other.cookies.clear()
        headers = admin.headers()
        assert other.get("/api/v1/routing/queues/billing", headers=headers).json()["version"] == 2
        stale = {**QUEUE, "version": 1}
        r = other.put("/api/v1/routing/queues/billing", json=stale, headers=headers)
        assert r.status_code == 409, r.text
        r = other.put(
            "/api/v1/routing/queues/billing", json={**stale, "version": 2}, headers=headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 3


def test_racing_saves_of_one_version_let_exactly_one_through(app, as_user, client):
    """Saves made on the same version at the same time (one event loop, all in flight
    together): one is saved and every other is refused."""
    import asyncio

    import httpx2

    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    headers = admin.headers()

    async def race() -> list[int]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as http:

            async def save(n: int) -> int:
                body = {**QUEUE, "priority": n, "version": 1}
                r = await http.put("/api/v1/routing/queues/billing", json=body, headers=headers)
                return r.status_code

            return sorted(await asyncio.gather(*(save(n) for n in range(6))))

    assert client.portal.call(race) == [200] + [409] * 5
    assert admin.get("/api/v1/routing/queues/billing").json()["version"] == 2
