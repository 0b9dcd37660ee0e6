"""Supervisors on a live conversation (issue 14): monitoring scoped to their teams' queues with
the conversation's events live on the socket, a whisper that reaches the agent and never the
channel adapter, who is viewing, and taking the conversation over through routing. On both
databases."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from omnidesk.channels.messaging.signature import sign

# The channels' fake provider (the generic webhook's outbound end), shared with their tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "messaging"))
from messaging_fakes import FakeGateway, serve

SECRET = "gateway-shared-secret-0123456789"

QUEUE = {"id": "sms", "channels": ["messaging"], "name": "SMS", "steps": [{"target": None}]}
CUSTOMER = "+37120000001"


@pytest.fixture
def gateway() -> Any:
    fake = FakeGateway(SECRET)
    with serve(fake.app()) as base:
        fake.base = base
        yield fake


@pytest.fixture
def sent_to_adapter(app, client, monkeypatch) -> list[Any]:  # type: ignore[no-untyped-def]
    """Every message handed to the webhook adapter's `send`, recorded before it goes out."""
    adapter = app.state.conversations.adapters["webhook"]
    original = adapter.send
    handed: list[Any] = []

    async def spy(account: Any, message: Any) -> Any:
        handed.append(message)
        return await original(account, message)

    monkeypatch.setattr(adapter, "send", spy)
    return handed


@pytest.fixture
def live(client, as_user, tenants, gateway) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A webhook account on queue `sms`; agent1 works the customer's conversation."""
    ids = tenants["demo"].ids
    admin, agent = as_user("admin"), as_user("agent1")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    profile = {"queues": {"sms": 1}, "capacity": {"messaging": 2}}
    assert admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json=profile).status_code == 200
    state = agent.post(f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"})
    assert state.status_code == 200, state.text
    account = admin.post(
        "/api/v1/channels/accounts",
        json={
            "kind": "webhook",
            "name": "SMS gateway",
            "provider": "sms-gw",
            "queue_id": "sms",
            "outbound_url": f"{gateway.base}/outbound",
            "secret": SECRET,
        },
    )
    assert account.status_code == 201, account.text
    first = {"id": "in-1", "from": CUSTOMER, "text": "Where is my order?", "language": "en"}
    assert deliver(client, account.json(), {"messages": [first]}).status_code == 200
    (conv,) = agent.get("/api/v1/conversations").json()
    offer = agent.get(f"/api/v1/routing/contacts/{conv['contact_id']}").json()["offer_id"]
    accepted = agent.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept")
    assert accepted.status_code == 200, accepted.text
    return {"account": account.json(), "conv": conv, "ids": ids}


def deliver(client, account: dict[str, Any], body: dict[str, Any]) -> Any:  # type: ignore[no-untyped-def]
    raw = json.dumps(body).encode()
    client.cookies.clear()
    return client.post(
        account["webhook_url"],
        content=raw,
        headers={"content-type": "application/json", "X-Omnidesk-Signature": sign(SECRET, raw)},
    )


def events_until(ws: Any, done: Any) -> list[dict[str, Any]]:
    seen = []
    while True:
        message = ws.receive_json()
        if message["type"] == "event":
            seen.append(message)
            if done(message):
                return seen


def registered(ws: Any) -> None:
    ws.send_json({"type": "register", "last_event_id": None})
    assert ws.receive_json()["type"] == "snapshot"


@pytest.fixture
def other_supervisor(client, as_user) -> Any:  # type: ignore[no-untyped-def]
    """A supervisor of another team (Sales), in the same tenant."""
    from conftest import login

    admin = as_user("admin")
    team = admin.post("/api/v1/teams", json={"name": "Sales"}).json()
    password = "another-supervisor-pass-1"
    user = admin.post(
        "/api/v1/users",
        json={
            "username": "sup2",
            "display_name": "Sara Sales",
            "role": "supervisor",
            "password": password,
        },
    )
    assert user.status_code == 201, user.text
    member = admin.put(
        f"/api/v1/teams/{team['id']}/members/{user.json()['id']}", json={"role": "supervisor"}
    )
    assert member.status_code == 200, member.text
    return login(client, "demo", "sup2", password)


def test_monitoring_is_scoped_and_live(client, as_user, live, other_supervisor) -> None:  # type: ignore[no-untyped-def]
    conv, ids = live["conv"], live["ids"]
    base = f"/api/v1/conversations/{conv['id']}"
    supervisor, agent, admin = as_user("supervisor"), as_user("agent1"), as_user("admin")

    # The supervisor of the agent's team and admins see it; another team's supervisor does not.
    assert [c["id"] for c in supervisor.get("/api/v1/conversations").json()] == [conv["id"]]
    assert [c["id"] for c in admin.get("/api/v1/conversations").json()] == [conv["id"]]
    assert other_supervisor.get("/api/v1/conversations").json() == []
    for method, path, body in (
        ("GET", base, None),
        ("GET", f"{base}/messages", None),
        ("POST", f"{base}/whispers", {"text": "psst"}),
        ("POST", f"{base}/takeover", None),
        ("PUT", f"{base}/viewing", None),
    ):
        r = other_supervisor.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
    # Agents cannot whisper or take over (even on their own conversation).
    assert agent.post(f"{base}/whispers", json={"text": "x"}).status_code == 403
    assert agent.post(f"{base}/takeover").status_code == 403

    # Monitoring: the customer's next message reaches the supervisor's socket as it is stored.
    with supervisor.websocket() as ws:
        registered(ws)
        again = {"id": "in-2", "from": CUSTOMER, "text": "Hello?", "language": "en"}
        assert deliver(client, live["account"], {"messages": [again]}).status_code == 200
        seen = events_until(ws, lambda m: m["event"] == "conversation.message_added")
    assert seen[-1]["data"]["conversation_id"] == conv["id"]
    assert seen[-1]["data"]["direction"] == "inbound"
    texts = [m["text"] for m in supervisor.get(f"{base}/messages").json()]
    assert texts == ["Where is my order?", "Hello?"]

    # Who is viewing: the agent's socket hears of the supervisor opening it and of the
    # supervisor's last socket closing.
    with agent.websocket() as agent_ws:
        registered(agent_ws)
        with supervisor.websocket() as sup_ws:
            registered(sup_ws)
            viewers = supervisor.put(f"{base}/viewing")
            assert viewers.status_code == 200, viewers.text
            assert [v["name"] for v in viewers.json()] == ["Sam Supervisor"]
            started = events_until(
                agent_ws, lambda m: m["event"] == "conversation.viewing_started"
            )[-1]["data"]
            assert started["user_id"] == ids["supervisor"] and started["role"] == "supervisor"
            assert [v["user_id"] for v in agent.get(f"{base}/viewers").json()] == [
                ids["supervisor"]
            ]
            # Saying it again changes nothing (a screen re-announces after each snapshot).
            assert len(supervisor.put(f"{base}/viewing").json()) == 1
        stopped = events_until(agent_ws, lambda m: m["event"] == "conversation.viewing_stopped")
        assert stopped[-1]["data"]["user_id"] == ids["supervisor"]
    assert agent.get(f"{base}/viewers").json() == []
    # An explicit stop ends it too.
    agent.put(f"{base}/viewing")
    assert agent.delete(f"{base}/viewing").status_code == 204
    assert supervisor.get(f"{base}/viewers").json() == []


def test_whisper_reaches_the_agent_never_the_adapter(  # type: ignore[no-untyped-def]
    as_user, live, gateway, sent_to_adapter
) -> None:
    conv, ids = live["conv"], live["ids"]
    base = f"/api/v1/conversations/{conv['id']}"
    supervisor, agent = as_user("supervisor"), as_user("agent1")
    with agent.websocket() as ws:
        registered(ws)
        r = supervisor.post(f"{base}/whispers", json={"text": "Offer the 10 % voucher"})
        assert r.status_code == 201, r.text
        seen = events_until(ws, lambda m: m["event"] == "conversation.message_added")
    whisper = r.json()
    assert whisper["kind"] == "note" and whisper["direction"] == "internal"
    assert whisper["whisper_to"] == ids["agent1"] and whisper["sender_id"] == ids["supervisor"]
    assert seen[-1]["data"]["kind"] == "note" and "text" not in seen[-1]["data"]
    shown = agent.get(f"{base}/messages").json()[-1]
    assert shown["text"] == "Offer the 10 % voucher" and shown["whisper_to"] == ids["agent1"]
    assert supervisor.post(f"{base}/whispers", json={"text": ""}).status_code == 422

    # The agent's reply goes out through the same adapter: only the reply was ever handed to it.
    reply = agent.post(f"{base}/messages", json={"text": "You get a 10 % voucher."})
    assert reply.status_code == 201, reply.text
    assert [m.text for m in sent_to_adapter] == ["You get a 10 % voucher."]
    assert [s["text"] for s in gateway.sent] == ["You get a 10 % voucher."]


@pytest.fixture
def crm_behind(app, client) -> None:  # type: ignore[no-untyped-def]
    """The CRM's interaction records do not follow the event log (their projection is behind,
    as under load): what routing says must be enough."""
    client.portal.call(app.state.crm.follower.stop)


def test_take_over_moves_the_contact_to_the_supervisor(  # type: ignore[no-untyped-def]
    crm_behind, as_user, live, gateway
) -> None:
    conv, ids = live["conv"], live["ids"]
    base = f"/api/v1/conversations/{conv['id']}"
    supervisor, agent, admin = as_user("supervisor"), as_user("agent1"), as_user("admin")
    contact = f"/api/v1/routing/contacts/{conv['contact_id']}"

    # Without an agent profile a supervisor cannot hold a contact: said clearly, nothing moved.
    r = supervisor.post(f"{base}/takeover")
    assert r.status_code == 409 and r.json()["code"] == "no_agent_profile", r.text
    assert "agent profile" in r.json()["detail"]
    profile = {"queues": {}, "capacity": {"messaging": 1}}
    assert admin.put(f"/api/v1/routing/agents/{ids['supervisor']}", json=profile).status_code == 200
    # Offline in routing: not ready, nothing moved.
    r = supervisor.post(f"{base}/takeover")
    assert r.status_code == 409 and r.json()["code"] == "supervisor_not_ready", r.text
    assert admin.get(contact).json()["agent_id"] == ids["agent1"]

    state = supervisor.post(
        f"/api/v1/routing/agents/{ids['supervisor']}/state", json={"state": "available"}
    )
    assert state.status_code == 200, state.text
    with agent.websocket() as ws:
        registered(ws)
        r = supervisor.post(f"{base}/takeover")
        assert r.status_code == 200, r.text
        told = events_until(ws, lambda m: m["event"] == "conversation.taken_over")[-1]["data"]
    assert r.json()["state"] == "active"
    assert told["from_agent_id"] == ids["agent1"] and told["to_agent_id"] == ids["supervisor"]
    moved = admin.get(contact).json()
    assert moved["agent_id"] == ids["supervisor"] and moved["state"] == "active"
    # The agent went to wrap-up (routing's rule for a transfer).
    was = admin.get(f"/api/v1/routing/agents/{ids['agent1']}").json()["status"]
    assert was["contacts"] == {conv["contact_id"]: "wrap_up"}, was
    assert supervisor.post(f"{base}/takeover").json()["code"] == "conflict"

    # The conversation continues with the supervisor replying; the agent, wrapping the contact
    # up, reads what happened (routing has the contact on them: no wait for the CRM's records).
    reply = supervisor.post(f"{base}/messages", json={"text": "I am Sam, I will help you."})
    assert reply.status_code == 201 and reply.json()["status"] == "sent", reply.text
    assert [s["text"] for s in gateway.sent] == ["I am Sam, I will help you."]
    read = agent.get(f"{base}/messages")
    assert read.status_code == 200, read.text
    history = read.json()
    assert [m["event"] for m in history if m["kind"] == "system"] == ["taken_over"]
    assert history[-1]["sender_id"] == ids["supervisor"]
    assert supervisor.get(f"{base}").json()["last_agent_id"] == ids["supervisor"]
