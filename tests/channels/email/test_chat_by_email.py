"""The web chat widget mailing through an email account, on both databases, with a local
aiosmtpd relay capturing what goes out: the widget's `email_account_id` checked when saved;
the visitor's transcript (pre-chat answers and the agent's reply included, Auto-Submitted:
auto-generated) mailed on request, a few times per conversation an hour (then 429), never
another visitor's; the offline form becoming an email conversation routed as an `email`
contact, offered to an agent whose reply reaches the relay threaded to it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from mail_servers import Relay

SUPPORT = "support@example.com"
SECRET = "widget-secret-0123456789abcdef"
ORIGIN = {"origin": "https://shop.example"}
WIDGET = {
    "title": "Talk to us",
    "prechat_fields": [
        {"key": "name", "label": "Name", "required": True},
        {"key": "order", "label": "Order number"},
    ],
}
CLOSED = {"timezone": "Europe/Riga", "days": {}}  # open on no day: always offline


@pytest.fixture
def relay(client) -> Iterator[Relay]:  # type: ignore[no-untyped-def]
    found = Relay()
    client.portal.call(found.start)
    yield found
    client.portal.call(found.stop)


def email_body(relay: Relay, address: str = SUPPORT, queue: str = "email") -> dict[str, Any]:
    return {
        "kind": "email",
        "name": "Example Support",
        "queue_id": queue,
        "address": address,
        "smtp_host": "127.0.0.1",
        "smtp_port": relay.port,
        "smtp_security": "none",
    }


@pytest.fixture
def setup(as_user, tenants, relay) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Queues `web` (chat) and `email`, agent1 available on both, an email account."""
    ids = tenants["demo"].ids
    admin = as_user("admin")
    for queue, channel in (("web", "chat"), ("email", "email")):
        body = {"id": queue, "channels": [channel], "name": queue, "steps": [{"target": None}]}
        assert admin.post("/api/v1/routing/queues", json=body).status_code == 201
    r = admin.put(
        f"/api/v1/routing/agents/{ids['agent1']}",
        json={"queues": {"web": 1, "email": 1}, "capacity": {"chat": 2, "email": 2}},
    )
    assert r.status_code == 200, r.text
    r = as_user("agent1").post(
        f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    r = admin.post("/api/v1/channels/accounts", json=email_body(relay))
    assert r.status_code == 201, r.text
    return {"email": r.json()["id"], "ids": ids}


def widget(admin: Any, **config: Any) -> Any:
    body = {
        "kind": "chat",
        "name": "Website",
        "queue_id": "web",
        "secret": SECRET,
        "widget": {**WIDGET, **config},
    }
    return admin.post("/api/v1/channels/accounts", json=body)


class Visitor:
    def __init__(self, client: Any, key: str) -> None:
        self.client = client
        self.base = f"/api/v1/chat/widget/{key}"
        client.cookies.clear()
        r = client.post(self.base + "/visitors", headers=ORIGIN)
        assert r.status_code == 201, r.text
        self.headers = {**ORIGIN, "X-Omnidesk-Visitor": r.json()["visitor_token"]}

    def post(self, path: str, body: dict[str, Any]) -> Any:
        self.client.cookies.clear()  # a visitor has no agent session
        return self.client.post(self.base + path, headers=self.headers, json=body)


def offer_of(admin: Any, contact_id: str) -> dict[str, Any]:
    r = admin.get(f"/api/v1/routing/contacts/{contact_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def accept(agent: Any, offer_id: str) -> None:
    r = agent.post(f"/api/v1/routing/offers/{offer_id.replace('#', '%23')}/accept")
    assert r.status_code == 200, r.text


def test_email_account_checked_when_saved(as_user, relay, setup) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    chat = widget(admin)
    assert chat.status_code == 201, chat.text
    key = chat.json()["id"]
    other = as_user("admin", "other")
    r = other.post("/api/v1/routing/queues", json={"id": "q", "channels": ["email"], "name": "q"})
    assert r.status_code == 201, r.text
    r = other.post("/api/v1/channels/accounts", json=email_body(relay, "help@other.example", "q"))
    assert r.status_code == 201, r.text
    foreign = r.json()["id"]
    for wrong, reason in (
        (str(uuid.uuid4()), "no such email account"),
        (foreign, "no such email account"),  # another tenant's: not found
        (key, "not an email account"),
    ):
        r = widget(admin, email_account_id=wrong)
        assert r.status_code == 422 and reason in r.json()["detail"], r.text
        r = admin.put(
            f"/api/v1/channels/accounts/{key}/widget", json={**WIDGET, "email_account_id": wrong}
        )
        assert r.status_code == 422 and reason in r.json()["detail"], r.text
    assert admin.get(f"/api/v1/chat/widget/{key}").json()["transcript_by_email"] is False
    r = admin.put(
        f"/api/v1/channels/accounts/{key}/widget",
        json={**WIDGET, "email_account_id": setup["email"]},
    )
    assert r.status_code == 200 and r.json()["config"]["email_account_id"] == setup["email"]
    assert admin.get(f"/api/v1/chat/widget/{key}").json()["transcript_by_email"] is True
    # A deactivated email account cannot be chosen.
    assert admin.delete(f"/api/v1/channels/accounts/{setup['email']}").status_code == 204
    r = widget(admin, email_account_id=setup["email"])
    assert r.status_code == 422 and "deactivated" in r.json()["detail"], r.text


def test_transcript_by_email(client, as_user, relay, setup) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    r = widget(admin, email_account_id=setup["email"])
    assert r.status_code == 201, r.text
    key = r.json()["id"]
    olga = Visitor(client, key)
    r = olga.post("/conversation", {"prechat": {"name": "Olga", "order": "A-4711"}})
    assert r.status_code == 200, r.text
    conv_id = r.json()["conversation"]["id"]
    r = olga.post("/conversation/messages", {"client_id": "olga-0001", "text": "Where is it?"})
    assert r.status_code == 201, r.text
    conv = admin.get(f"/api/v1/conversations/{conv_id}").json()
    agent = as_user("agent1")
    accept(agent, offer_of(admin, conv["contact_id"])["offer_id"])
    r = agent.post(f"/api/v1/conversations/{conv_id}/messages", json={"text": "On its way!"})
    assert r.status_code == 201, r.text

    # Someone else's conversation is not found; a visitor without one has none to mail.
    ivan = Visitor(client, key)
    r = ivan.post("/transcript", {"email": "ivan@example.net", "conversation_id": conv_id})
    assert r.status_code == 404, r.text
    assert ivan.post("/conversation", {"prechat": {"name": "Ivan"}}).status_code == 200
    r = ivan.post("/transcript", {"email": "ivan@example.net", "conversation_id": conv_id})
    assert r.status_code == 404, r.text
    assert olga.post("/transcript", {"email": "not-an-address"}).status_code == 422
    assert relay.empty()

    r = olga.post("/transcript", {"email": "olga@example.org", "conversation_id": conv_id})
    assert r.status_code == 200 and r.json() == {"sent": True, "messages": 3}, r.text
    envelope, mail = relay.next()
    assert envelope.mail_from == SUPPORT and envelope.rcpt_tos == ["olga@example.org"]
    assert mail["To"] == "olga@example.org" and SUPPORT in mail["From"]
    assert mail["Subject"] == "Your chat transcript: Talk to us"
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Message-ID"]
    text = mail.get_content()
    for line in ("Pre-chat form", "Name: Olga", "Order number: A-4711", "Where is it?"):
        assert line in text
    assert text.index("Where is it?") < text.index("Agent:") < text.index("On its way!")
    # Only Olga's conversation is in it.
    assert "Ivan" not in text

    # Three per conversation an hour: the fourth is refused with when to try again.
    for _ in range(2):
        assert olga.post("/transcript", {"email": "olga@example.org"}).status_code == 200
        relay.next()
    r = olga.post("/transcript", {"email": "olga@example.org"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, r.text
    assert relay.empty()
    # Another conversation has its own allowance.
    assert ivan.post("/transcript", {"email": "ivan@example.net"}).status_code == 200
    _, mail = relay.next()
    assert "Name: Ivan" in mail.get_content() and "Olga" not in mail.get_content()

    # A widget without an email account mails nothing.
    plain = widget(admin).json()["id"]
    anna = Visitor(client, plain)
    assert anna.post("/conversation", {"prechat": {"name": "Anna"}}).status_code == 200
    r = anna.post("/transcript", {"email": "anna@example.org"})
    assert r.status_code == 409 and "no email account" in r.json()["detail"], r.text
    assert admin.get(f"/api/v1/chat/widget/{plain}").json()["transcript_by_email"] is False


def test_offline_form_becomes_an_email_contact(client, as_user, relay, setup) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    r = widget(admin, email_account_id=setup["email"], business_hours=CLOSED)
    assert r.status_code == 201, r.text
    key = r.json()["id"]
    late = Visitor(client, key)
    form = {
        "client_id": "offline-0001",
        "name": "Olga Berzina",
        "email": "Olga@Example.org",
        "message": "Please send the invoice again.",
        "answers": {"order": "A-4711"},
    }
    r = late.post("/offline", form)
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["delivery"] == "email" and sent["conversation"] is None
    assert sent["duplicate"] is False and sent["message"]["text"].startswith("Please send")
    assert late.post("/offline", form).json()["duplicate"] is True  # a retry: stored once
    assert late.post("/offline", {**form, "answers": {"x": "1"}}).status_code == 422

    # An email conversation of her address on the email account, on her email identity.
    (conv,) = admin.get("/api/v1/conversations").json()
    assert conv["channel"] == "email" and conv["account_id"] == setup["email"]
    assert conv["peer_id"] == "olga@example.org" and conv["peer_name"] == "Olga Berzina"
    customer = admin.get(f"/api/v1/crm/customers/{conv['customer_id']}").json()
    assert {"kind": "email", "value": "olga@example.org"}.items() <= customer["identities"][
        0
    ].items()
    (message,) = admin.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    assert message["subject"] == "Offline message: Talk to us"
    assert "Order number: A-4711" in message["text"] and "Name: Olga Berzina" in message["text"]
    # Routed as an email contact on the email account's queue, offered to the agent.
    contact = offer_of(admin, conv["contact_id"])
    assert contact["channel"] == "email" and contact["queue_id"] == "email"
    assert contact["state"] == "offered" and contact["agent_id"] == setup["ids"]["agent1"]

    agent = as_user("agent1")
    accept(agent, contact["offer_id"])
    r = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Attached."})
    assert r.status_code == 201 and r.json()["status"] == "sent", r.text
    envelope, mail = relay.next()
    assert envelope.rcpt_tos == ["olga@example.org"] and mail["To"] == "olga@example.org"
    token = uuid.UUID(conv["id"]).hex[:8].upper()
    assert mail["Subject"] == f"Re: Offline message: Talk to us [#{token}]"
    # (folded: the id is long)
    assert mail["In-Reply-To"].split() == [f"<{message['external_id']}>"]
    assert "Auto-Submitted" not in mail and mail.get_content().strip() == "Attached."
