"""Channel switches (POST /crm/contacts/{id}/switch): a messaging conversation becomes a
callback, the callback continues on messaging; each keeps the customer and case, prefers the
agent who had it, lands on the timeline and carries what came before on its card. A known
customer's new conversation links to their open case. Bad input refused with nothing
half-applied. On both databases, with the voice channel running (no softphone: no ring)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from crm_helpers import API, customer, setup_crm

from omnidesk.bench.voice_testbed import voice_settings
from omnidesk.channels.messaging.signature import sign

ROUTING = "/api/v1/routing"
CONV = "/api/v1/conversations"
SECRET = "gateway-shared-secret-0123456789"
QUEUE = {
    "id": "support",
    "channels": ["chat", "voice", "messaging"],
    "name": "Support",
    "steps": [{"target": None}],
    "offer_timeout_seconds": 600,
}
PEER = "+37120000001"


@pytest.fixture(name="settings")
def _voice_on(settings: Any) -> Any:
    return settings.model_copy(update=voice_settings())


def _settle(client: Any, app: Any) -> None:
    client.portal.call(app.state.crm.settled)


def _deliver(client: Any, account: dict[str, Any], message: dict[str, Any]) -> None:
    raw = json.dumps({"messages": [message]}).encode()
    client.cookies.clear()
    r = client.post(
        account["webhook_url"],
        content=raw,
        headers={"content-type": "application/json", "X-Omnidesk-Signature": sign(SECRET, raw)},
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def world(client, app, as_user, tenants) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A support queue for chat, calls and messaging; agent1 (no room for calls, so a callback
    waits for them and no softphone is rung) and agent2 available; a messaging account; Anna,
    a known customer with an open case."""
    ids = tenants["demo"].ids
    admin = as_user("admin")
    setup_crm(admin)
    assert admin.post(f"{ROUTING}/queues", json=QUEUE).status_code == 201
    chats = {**QUEUE, "id": "chats", "name": "Chats", "channels": ["chat"]}
    assert admin.post(f"{ROUTING}/queues", json=chats).status_code == 201
    for agent in ("agent1", "agent2"):
        r = admin.put(
            f"{ROUTING}/agents/{ids[agent]}",
            json={"queues": {"support": 1, "chats": 1}, "capacity": {"messaging": 3, "chat": 1}},
        )
        assert r.status_code == 200, r.text
    r = admin.post(
        "/api/v1/channels/accounts",
        json={"kind": "webhook", "name": "SMS", "provider": "sms-gw", "queue_id": "support",
              "outbound_url": "http://127.0.0.1:9/outbound", "secret": SECRET},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    agent1 = as_user("agent1")
    anna = customer(agent1, "Anna Berzina", ("email", "anna@example.com"))
    r = agent1.post(
        f"{API}/customers/{anna['id']}/identities",
        json={"kind": "messaging", "provider": "sms-gw", "value": PEER},
    )
    assert r.status_code == 201, r.text
    case = agent1.post(f"{API}/cases", json={"customer_id": anna["id"], "title": "Broken router"})
    assert case.status_code == 201, case.text
    r = agent1.post(f"{ROUTING}/agents/{ids['agent1']}/state", json={"state": "available"})
    assert r.status_code == 200, r.text
    return {"ids": ids, "account": _account(admin), "anna": anna, "case": case.json()}


def _account(admin: Any) -> dict[str, Any]:
    (account,) = admin.get("/api/v1/channels/accounts").json()
    return account  # type: ignore[no-any-return]


def test_messaging_to_callback_to_messaging_keeps_the_matter(client, app, as_user, world) -> None:  # type: ignore[no-untyped-def]
    ids, anna, case = world["ids"], world["anna"], world["case"]
    agent1, admin = as_user("agent1"), as_user("admin")

    # Anna writes on messaging: her conversation's contact links to her open case (a known
    # customer's new contact) and is offered to agent1, who takes it and notes the matter.
    _deliver(client, world["account"], {"id": "m-1", "from": PEER, "text": "Please call me back"})
    (conv,) = agent1.get(CONV).json()
    assert conv["customer_id"] == anna["id"]
    chat_contact = conv["contact_id"]
    status = admin.get(f"{ROUTING}/contacts/{chat_contact}").json()
    assert status["agent_id"] == ids["agent1"] and status["state"] == "offered", status
    assert status["attributes"]["customer"]["open_case_id"] == case["id"]
    offer = status["offer_id"].replace("#", "%23")
    assert agent1.post(f"{ROUTING}/offers/{offer}/accept").status_code == 200
    r = agent1.post(f"{CONV}/{conv['id']}/notes", json={"text": "Router reset did not help"})
    assert r.status_code == 201, r.text
    _settle(client, app)
    (record,) = agent1.get(f"{API}/interactions", params={"contact_id": chat_contact}).json()
    assert record["case_id"] == case["id"] and record["customer_id"] == anna["id"]

    # The switch: a callback to a number Anna never used, which becomes hers.
    r = agent1.post(
        f"{API}/contacts/{chat_contact}/switch",
        json={"channel": "voice", "address": "030 1234567"},
    )
    assert r.status_code == 201, r.text
    switched = r.json()
    assert switched["kind"] == "callback" and switched["channel"] == "voice"
    assert switched["customer_id"] == anna["id"] and switched["case_id"] == case["id"]
    assert switched["preferred_agent_id"] == ids["agent1"] and switched["routed"] is True
    callback = switched["contact_id"]
    waiting = admin.get(f"{ROUTING}/contacts/{callback}").json()
    assert waiting["queue_id"] == "support" and waiting["state"] == "waiting", waiting
    assert waiting["attributes"]["callback_number"] == "+49301234567"
    assert waiting["attributes"]["switched_from"] == chat_contact
    identities = agent1.get(f"{API}/customers/{anna['id']}").json()["identities"]
    assert {"phone", "+49301234567"} <= {v for i in identities for v in (i["kind"], i["value"])}

    # The callback's record continues the conversation's; the timeline shows the switch.
    _settle(client, app)
    (cb_record,) = agent1.get(f"{API}/interactions", params={"contact_id": callback}).json()
    assert cb_record["kind"] == "callback" and cb_record["customer_id"] == anna["id"]
    assert cb_record["case_id"] == case["id"]
    assert cb_record["switched_from"] == record["id"]
    items = agent1.get(f"{API}/customers/{anna['id']}/timeline").json()["items"]
    entry = next(i for i in items if i["kind"] == "channel_switch")
    assert entry["data"]["to_contact_id"] == callback and entry["data"]["to_channel"] == "voice"
    assert entry["interaction"]["contact_id"] == chat_contact

    # The agent who picks the callback up sees everything before it: the messages and notes.
    card = agent1.get(f"{API}/contacts/{callback}/card").json()
    before = card["switched_from"]
    assert before["contact_id"] == chat_contact and before["channel"] == "messaging"
    assert before["conversation_id"] == conv["id"]
    assert [(m["kind"], m["text"]) for m in before["messages"]] == [
        ("message", "Please call me back"),
        ("note", "Router reset did not help"),
    ]
    assert card["case_id"] == case["id"]

    # The call continues on messaging (a link sent by text): a new conversation on the
    # customer's number, its card pointing back at the callback. agent1, who had the matter, is
    # on a break and agent2 is free: the contact waits for agent1 (the preference) and is
    # offered to them once they are back.
    r = agent1.post(
        f"{ROUTING}/agents/{ids['agent1']}/state", json={"state": "away", "reason": "break"}
    )
    assert r.status_code == 200, r.text
    r = as_user("agent2").post(
        f"{ROUTING}/agents/{ids['agent2']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    r = agent1.post(
        f"{API}/contacts/{callback}/switch",
        json={"channel": "messaging", "address": "+37120000099"},
    )
    assert r.status_code == 201, r.text
    moved = r.json()
    assert moved["kind"] == "conversation" and moved["routed"] is True
    (new_conv,) = admin.get(CONV, params={"contact_id": moved["contact_id"]}).json()
    assert new_conv["id"] == moved["conversation_id"] and new_conv["customer_id"] == anna["id"]
    assert new_conv["peer_id"] == "+37120000099"
    reserved = admin.get(f"{ROUTING}/contacts/{moved['contact_id']}").json()
    assert reserved["state"] == "waiting", reserved
    r = agent1.post(f"{ROUTING}/agents/{ids['agent1']}/state", json={"state": "available"})
    assert r.status_code == 200, r.text
    offered = admin.get(f"{ROUTING}/contacts/{moved['contact_id']}").json()
    assert offered["agent_id"] == ids["agent1"], offered
    (system,) = admin.get(f"{CONV}/{new_conv['id']}/messages").json()
    assert system["kind"] == "system" and callback in system["text"]
    _settle(client, app)
    card = agent1.get(f"{API}/contacts/{moved['contact_id']}/card").json()
    assert card["switched_from"]["contact_id"] == callback
    assert card["switched_from"]["kind"] == "callback" and card["switched_from"]["messages"] == []
    assert card["case_id"] == case["id"]
    kinds = [
        i["kind"] for i in agent1.get(f"{API}/customers/{anna['id']}/timeline").json()["items"]
    ]
    assert kinds.count("channel_switch") == 2


def test_bad_switches_are_refused_and_change_nothing(client, app, as_user, world) -> None:  # type: ignore[no-untyped-def]
    anna = world["anna"]
    agent1, admin = as_user("agent1"), as_user("admin")
    # A chat whose customer is known, and one whose customer is not.
    for contact, body in (("chat-1", {"customer": {"customer_id": anna["id"]}}), ("chat-2", {})):
        r = admin.post(
            f"{ROUTING}/contacts",
            json={"queue_id": "chats", "channel": "chat", "contact_id": contact, **body},
        )
        assert r.status_code == 201, r.text
    other = customer(agent1, "Otto", ("phone", "+493099999999"))
    _settle(client, app)
    before = agent1.get(f"{API}/customers/{anna['id']}").json()["identities"]

    def switch(contact: str, user: Any = agent1, **body: Any) -> Any:
        return user.post(f"{API}/contacts/{contact}/switch", json=body)

    r = switch("nobody", channel="voice", address="+49301234567")
    assert r.status_code == 404, r.text
    r = switch("chat-1", channel="fax", address="+49301234567")
    assert r.status_code == 422 and r.json()["field"] == "channel", r.text
    assert "voice" in r.json()["supported"]
    r = switch("chat-1", channel="email", address="anna@example.com")  # no email account
    assert r.status_code == 422 and r.json()["field"] == "channel", r.text
    r = switch("chat-1", channel="voice", address="12", queue_id="support")
    assert r.status_code == 422 and r.json()["field"] == "address", r.text
    # The chat's queue takes no calls and nothing else is named.
    r = switch("chat-1", channel="voice", address="+49301234567")
    assert r.status_code == 422 and r.json()["field"] == "queue_id", r.text
    r = switch("chat-1", channel="voice", address="+49301234567", queue_id="nope")
    assert r.status_code == 422 and r.json()["field"] == "queue_id", r.text
    # Another customer's number; no address and no phone of her own; no customer at all.
    r = switch("chat-1", channel="voice", address="030 99999999", queue_id="support")
    assert r.status_code == 409 and r.json()["customer_id"] == other["id"], r.text
    r = switch("chat-1", channel="voice", queue_id="support")
    assert r.status_code == 422 and r.json()["field"] == "address", r.text
    r = switch("chat-2", channel="voice", address="+49301234567", queue_id="support")
    assert r.status_code == 409 and r.json()["field"] == "contact_id", r.text
    # Another tenant's user cannot reach the contact; unknown fields are refused.
    r = switch("chat-1", as_user("admin", "other"), channel="voice", address="+49301234567")
    assert r.status_code == 404, r.text
    assert switch("chat-1", channel="voice", number="+49301234567").status_code == 422
    # Nothing of it was applied: no identity, no switch on the timeline, no new contact.
    assert agent1.get(f"{API}/customers/{anna['id']}").json()["identities"] == before
    items = agent1.get(f"{API}/customers/{anna['id']}/timeline").json()["items"]
    assert "channel_switch" not in [i["kind"] for i in items]
    contacts = {c["contact_id"] for c in admin.get(f"{ROUTING}/contacts").json()}
    assert contacts == {"chat-1", "chat-2"}

    # Given properly, the same switch goes through; an existing identity needs no address.
    r = switch("chat-1", channel="voice", address="+49301234567", queue_id="support")
    assert r.status_code == 201, r.text
    assert r.json()["case_id"] == world["case"]["id"]  # the customer's open case
    r = switch("chat-1", channel="voice", queue_id="support")
    assert r.status_code == 201, r.text
