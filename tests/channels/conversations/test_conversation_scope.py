"""Who sees which conversation in GET /conversations (and GET /conversations/{id}): admins all,
supervisors those of their teams' queues (routing's rule), agents those offered to them or
that they handled; the `contact_id` and `customer_id` filters. On both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from omnidesk.channels.messaging.signature import sign

SECRET = "gateway-shared-secret-0123456789"
PASSWORD = "a long enough password 42"
CONV = "/api/v1/conversations"


class User:
    """Requests as one user, logged in with a password this test set."""

    def __init__(self, client: Any, tenant: str, username: str, password: str) -> None:
        client.cookies.clear()
        r = client.post(
            "/api/v1/auth/login",
            json={"tenant": tenant, "username": username, "password": password},
        )
        assert r.status_code == 200, r.text
        self.client, self.cookie = client, r.cookies["omnidesk_session"]
        self.csrf = r.json()["csrf_token"]
        client.cookies.clear()

    def request(self, method: str, url: str, **kw: Any) -> Any:
        self.client.cookies.clear()
        headers = {"cookie": f"omnidesk_session={self.cookie}", "X-CSRF-Token": self.csrf}
        return self.client.request(method, url, headers=headers, **kw)


def _deliver(client: Any, account: dict[str, Any], message: dict[str, Any]) -> None:
    raw = json.dumps({"messages": [message]}).encode()
    client.cookies.clear()
    r = client.post(
        account["webhook_url"],
        content=raw,
        headers={"content-type": "application/json", "X-Omnidesk-Signature": sign(SECRET, raw)},
    )
    assert r.status_code == 200, r.text


def _account(admin: Any, queue: str, provider: str) -> dict[str, Any]:
    r = admin.post(
        "/api/v1/channels/accounts",
        json={"kind": "webhook", "name": queue, "provider": provider, "queue_id": queue,
              "outbound_url": "http://127.0.0.1:9/outbound", "secret": SECRET},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def world(client, app, as_user, tenants) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Queue "a" served by agent1 (the demo team, supervised by `supervisor`); queue "b" by
    agent3 of team B, supervised by sup2. One customer writes on each queue's account."""
    ids = tenants["demo"].ids
    admin = as_user("admin")
    team_b = admin.post("/api/v1/teams", json={"name": "Team B"}).json()["id"]
    users = {}
    for name, role, team_role in (
        ("sup2", "supervisor", "supervisor"),
        ("agent3", "agent", "member"),
    ):
        r = admin.post(
            "/api/v1/users",
            json={"username": name, "display_name": name, "role": role, "password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        users[name] = r.json()["id"]
        r = admin.put(f"/api/v1/teams/{team_b}/members/{users[name]}", json={"role": team_role})
        assert r.status_code == 200, r.text
    for queue, agent_id in (("a", ids["agent1"]), ("b", users["agent3"])):
        r = admin.post(
            "/api/v1/routing/queues",
            json={
                "id": queue,
                "channels": ["messaging"],
                "name": queue,
                "steps": [{"target": None}],
            },
        )
        assert r.status_code == 201, r.text
        r = admin.put(
            f"/api/v1/routing/agents/{agent_id}",
            json={"queues": {queue: 1}, "capacity": {"messaging": 2}},
        )
        assert r.status_code == 200, r.text
    r = as_user("agent1").post(
        f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    accounts = {q: _account(admin, q, f"gw-{q}") for q in ("a", "b")}
    _deliver(client, accounts["a"], {"id": "a-1", "from": "+37120000001", "text": "Hello from A"})
    _deliver(client, accounts["b"], {"id": "b-1", "from": "+37120000002", "text": "Hello from B"})
    client.portal.call(app.state.crm.settled)
    convs = {c["account_id"]: c for c in admin.get(CONV).json()}
    return {
        "accounts": accounts,
        "a": convs[accounts["a"]["id"]],
        "b": convs[accounts["b"]["id"]],
        "sup2": User(client, "demo", "sup2", PASSWORD),
        "agent3": User(client, "demo", "agent3", PASSWORD),
    }


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()}


def test_each_role_sees_its_scope_and_the_filters_narrow_it(client, app, as_user, world) -> None:  # type: ignore[no-untyped-def]
    a, b = world["a"], world["b"]
    admin, supervisor = as_user("admin"), as_user("supervisor")
    sup2, agent3 = world["sup2"], world["agent3"]

    assert _ids(admin.get(CONV)) == {a["id"], b["id"]}
    # Supervisors: their teams' queues only; another queue's conversation does not exist.
    assert _ids(supervisor.get(CONV)) == {a["id"]}
    assert _ids(sup2.request("GET", CONV)) == {b["id"]}
    assert supervisor.get(f"{CONV}/{b['id']}").status_code == 404
    assert sup2.request("GET", f"{CONV}/{a['id']}/messages").status_code == 404
    assert sup2.request("GET", f"{CONV}/{b['id']}").status_code == 200
    # Agents: offered to them (agent1 is available on "a"); agent3 was never offered "b".
    assert _ids(as_user("agent1").get(CONV)) == {a["id"]}
    assert _ids(as_user("agent2").get(CONV)) == set()
    assert _ids(agent3.request("GET", CONV)) == set()

    # Filters: by customer and by routing contact.
    assert _ids(admin.get(CONV, params={"customer_id": a["customer_id"]})) == {a["id"]}
    assert _ids(admin.get(CONV, params={"contact_id": b["contact_id"]})) == {b["id"]}
    assert _ids(supervisor.get(CONV, params={"contact_id": b["contact_id"]})) == set()
    assert _ids(admin.get(CONV, params={"contact_id": "cv-nothing-1"})) == set()
    assert admin.get(CONV, params={"customer_id": "not-a-uuid"}).status_code == 422

    # An earlier round's contact still finds its conversation; the agent who handled it
    # keeps seeing it after it is closed and no longer theirs in routing.
    agent1 = as_user("agent1")
    assert agent1.post(f"{CONV}/{a['id']}/close").status_code == 200
    first = a["contact_id"]
    _deliver(client, world["accounts"]["a"], {"id": "a-2", "from": "+37120000001", "text": "Again"})
    client.portal.call(app.state.crm.settled)
    now = admin.get(f"{CONV}/{a['id']}").json()
    assert now["contact_id"] != first and now["rounds"] == 2
    assert _ids(admin.get(CONV, params={"contact_id": first})) == {a["id"]}
    assert _ids(agent1.get(CONV, params={"contact_id": first})) == {a["id"]}
    assert _ids(supervisor.get(CONV, params={"customer_id": a["customer_id"]})) == {a["id"]}
    # Another tenant sees none of it.
    assert _ids(as_user("admin", "other").get(CONV, params={"contact_id": first})) == set()
