"""A queue's history, on both databases: every save a version with who and when, each
version's whole definition (what the admin console diffs), and a restore that saves an old
definition as a new version, checked like an edit."""

from __future__ import annotations

QUEUE = {"id": "billing", "channels": ["chat"], "name": "Billing", "steps": [{"target": None}]}
BASE = "/api/v1/routing/queues/billing"


def _three_saves(as_user, client) -> None:  # type: ignore[no-untyped-def]
    """Version 1 by admin, 2 by a second admin (Ada), 3 by admin again."""
    from conftest import login

    admin = as_user("admin")
    body = {"username": "ada", "display_name": "Ada", "role": "admin", "password": "ada-pw-123456"}
    assert admin.post("/api/v1/users", json=body).status_code == 201
    admin2 = login(client, "demo", "ada", body["password"])
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin2.put(BASE, json={**QUEUE, "priority": 5, "version": 1})
    assert r.status_code == 200, r.text
    r = admin.put(BASE, json={**QUEUE, "priority": 5, "name": "Invoices", "version": 2})
    assert r.status_code == 200, r.text


def test_every_save_is_a_version_with_who_and_when(as_user, client):
    _three_saves(as_user, client)
    admin = as_user("admin")
    r = admin.get(f"{BASE}/versions")
    assert r.status_code == 200, r.text
    history = r.json()
    assert [(v["version"], v["action"]) for v in history] == [
        (1, "created"),
        (2, "updated"),
        (3, "updated"),
    ]
    assert [v["actor"]["username"] for v in history] == ["admin", "ada", "admin"]
    assert all(v["actor"]["user_id"] and v["actor"]["name"] for v in history)
    assert history[0]["at"] <= history[1]["at"] <= history[2]["at"]
    # Each version's whole definition: what the console diffs field by field.
    one, two, three = (admin.get(f"{BASE}/versions/{n}").json() for n in (1, 2, 3))
    assert (one["definition"]["priority"], one["definition"]["name"]) == (0, "Billing")
    assert (two["definition"]["priority"], two["definition"]["name"]) == (5, "Billing")
    assert (three["definition"]["priority"], three["definition"]["name"]) == (5, "Invoices")
    assert three["definition"] == admin.get(BASE).json()["definition"]
    assert two["actor"]["username"] == "ada" and two["version"] == 2
    r = admin.get(f"{BASE}/versions/4")
    assert r.status_code == 404, r.text


def test_a_restore_is_a_new_version_equal_to_the_old_one(as_user, client):
    _three_saves(as_user, client)
    admin = as_user("admin")
    r = admin.post(f"{BASE}/versions/2/restore", json={"version": 3})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 4
    assert r.json()["name"] == "Billing"
    current = admin.get(BASE).json()
    assert current["version"] == 4
    two, four = (admin.get(f"{BASE}/versions/{n}").json() for n in (2, 4))
    assert four["definition"] == two["definition"] == current["definition"]
    assert (four["action"], four["restored_from"]) == ("restored", 2)
    history = admin.get(f"{BASE}/versions").json()
    # History is never rewritten: 1..3 as they were, 4 added.
    assert [(v["version"], v["action"], v["restored_from"]) for v in history] == [
        (1, "created", None),
        (2, "updated", None),
        (3, "updated", None),
        (4, "restored", 2),
    ]
    # A restore on a stale view is refused, nothing saved.
    r = admin.post(f"{BASE}/versions/1/restore", json={"version": 3})
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["version"]) == ("version_conflict", 4)
    assert admin.get(BASE).json()["version"] == 4
    r = admin.post(f"{BASE}/versions/9/restore", json={"version": 4})
    assert r.status_code == 404, r.text
    r = admin.post(f"{BASE}/versions/1/restore", json={})
    assert r.status_code == 422, r.text


def test_a_restore_that_is_invalid_today_is_refused(as_user):
    admin = as_user("admin")
    spill = {"id": "spill", "channels": ["chat"]}
    assert admin.post("/api/v1/routing/queues", json=spill).status_code == 201
    overflowing = {
        **QUEUE,
        "steps": [
            {"target": None, "timeout_seconds": 60},
            {"overflow": {"kind": "queue", "queue_id": "spill"}},
        ],
    }
    assert admin.post("/api/v1/routing/queues", json=overflowing).status_code == 201
    assert admin.put(BASE, json={**QUEUE, "version": 1}).status_code == 200
    assert admin.delete("/api/v1/routing/queues/spill").status_code == 204
    r = admin.post(f"{BASE}/versions/1/restore", json={"version": 2})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "version_not_restorable"
    assert "spill" in problem["detail"]
    assert admin.get(BASE).json()["version"] == 2
    # The deleted queue's history stays readable, its deletion in it.
    history = admin.get("/api/v1/routing/queues/spill/versions").json()
    assert [(v["version"], v["action"]) for v in history] == [(1, "created"), (1, "deleted")]


def test_a_restore_keeps_the_waiting_contacts(as_user):
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin.put(BASE, json={**QUEUE, "channels": ["chat", "email"], "version": 1})
    assert r.status_code == 200, r.text
    for n in range(2):
        r = admin.post(
            "/api/v1/routing/contacts",
            json={"contact_id": f"c-{n}", "queue_id": "billing", "channel": "chat"},
        )
        assert r.status_code in (200, 201), r.text
    r = admin.post(f"{BASE}/versions/1/restore", json={"version": 2})
    assert r.status_code == 200, r.text
    queue = admin.get(BASE).json()
    assert queue["definition"]["channels"] == ["chat"]
    assert queue["status"]["waiting"] == 2
    # Dropping a channel contacts wait on is refused, as for an edit.
    email = {"contact_id": "c-mail", "queue_id": "billing", "channel": "email"}
    r = admin.put(BASE, json={**QUEUE, "channels": ["email", "chat"], "version": 3})
    assert r.status_code == 200, r.text
    assert admin.post("/api/v1/routing/contacts", json=email).status_code in (200, 201)
    r = admin.post(f"{BASE}/versions/1/restore", json={"version": 4})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "queue_in_use"
    assert admin.get(BASE).json()["status"]["waiting"] == 3


def test_history_is_for_admins_of_the_queues_tenant(as_user, client):
    _three_saves(as_user, client)
    for who in ("supervisor", "agent1"):
        user = as_user(who)
        assert user.get(f"{BASE}/versions").status_code == 403
        assert user.get(f"{BASE}/versions/1").status_code == 403
        r = user.post(f"{BASE}/versions/1/restore", json={"version": 3})
        assert r.status_code == 403
    other = as_user("admin", tenant="other")
    assert other.get(f"{BASE}/versions").status_code == 404
    assert other.get(f"{BASE}/versions/1").status_code == 404
    r = other.post(f"{BASE}/versions/1/restore", json={"version": 3})
    assert r.status_code == 404, r.text
    # The other tenant's own queue of the same id has its own history.
    assert other.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    history = other.get(f"{BASE}/versions").json()
    assert [(v["version"], v["actor"]["username"]) for v in history] == [(1, "admin")]
    assert as_user("admin").get(BASE).json()["version"] == 3


def test_a_deleted_queue_is_listed_and_restored_from_its_last_version(as_user):
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin.put(BASE, json={**QUEUE, "name": "Invoices", "priority": 3, "version": 1})
    assert r.status_code == 200, r.text
    assert admin.get("/api/v1/routing/deleted-queues").json() == []
    assert admin.delete(BASE).status_code == 204
    deleted = admin.get("/api/v1/routing/deleted-queues").json()
    assert [(q["id"], q["name"], q["version"]) for q in deleted] == [("billing", "Invoices", 2)]
    assert deleted[0]["actor"]["username"] == "admin" and deleted[0]["deleted_at"]
    # Named on a stale version: refused, nothing added.
    r = admin.post(f"{BASE}/versions/2/restore", json={"version": 1})
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["version"]) == ("version_conflict", 2)
    assert admin.get(BASE).status_code == 404
    r = admin.post(f"{BASE}/versions/2/restore", json={"version": 2})
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["name"], r.json()["priority"]) == (3, "Invoices", 3)
    assert admin.get(BASE).json()["version"] == 3
    assert admin.get("/api/v1/routing/deleted-queues").json() == []
    history = admin.get(f"{BASE}/versions").json()
    assert [(v["version"], v["action"], v["restored_from"]) for v in history] == [
        (1, "created", None),
        (2, "updated", None),
        (2, "deleted", None),
        (3, "restored", 2),
    ]
    # Restoring it again now that it exists is an ordinary restore on its current version.
    r = admin.post(f"{BASE}/versions/1/restore", json={"version": 2})
    assert r.status_code == 409, r.text


def test_deleted_queues_are_for_admins(as_user):
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    assert admin.delete(BASE).status_code == 204
    r = as_user("supervisor").get("/api/v1/routing/deleted-queues")
    assert r.status_code == 403, r.text
