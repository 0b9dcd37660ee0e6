"""The WhatsApp Cloud API channel end to end, against a local fake of the Cloud API: a signed
webhook becomes a routed contact on the right customer, offered to the agent who speaks the
detected language, whose reply reaches the provider; statuses, duplicates, forgeries, media,
the 24-hour window and reopening. On both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from messaging_fakes import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    FakeWhatsApp,
    serve,
    signed,
    text_message,
    whatsapp_delivery,
)
from sqlalchemy import update

from omnidesk.channels.conversations.adapter import InboundMessage
from omnidesk.channels.conversations.models import ChannelAccount, Conversation
from omnidesk.platform.database import SYSTEM, utcnow
from omnidesk.platform.tenancy import tenant_by_slug

CUSTOMER = "4915112345678"
QUEUE = {
    "id": "messaging",
    "channels": ["messaging"],
    "name": "Messaging",
    # The customer's language first; anyone after a minute.
    "steps": [
        {"target": "skill(contact.language_skill) >= 1", "timeout_seconds": 60},
        {"target": None},
    ],
    "offer_timeout_seconds": 120,
}


@pytest.fixture
def provider() -> Any:
    fake = FakeWhatsApp()
    with serve(fake.app()) as base:
        fake.base = base
        yield fake


@pytest.fixture
def desk(as_user, tenants, provider) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    for agent, language in (("agent1", "lang.en"), ("agent2", "lang.de")):
        r = admin.put(
            f"/api/v1/routing/agents/{ids[agent]}",
            json={
                "skills": {language: 3},
                "queues": {"messaging": 1},
                "capacity": {"messaging": 3},
            },
        )
        assert r.status_code == 200, r.text
        r = as_user(agent).post(
            f"/api/v1/routing/agents/{ids[agent]}/state", json={"state": "available"}
        )
        assert r.status_code == 200, r.text
    r = admin.post(
        "/api/v1/channels/accounts",
        json={
            "kind": "whatsapp",
            "name": "Support number",
            "queue_id": "messaging",
            "phone_number_id": PHONE_NUMBER_ID,
            "api_base_url": provider.base,
            "api_version": "v21.0",
            "templates": [{"name": "follow_up", "language": "de", "parameters": 1}],
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "access_token": TOKEN,
        },
    )
    assert r.status_code == 201, r.text
    account = r.json()
    assert "access_token" not in str(account["config"]) and "app_secret" in account["secrets_set"]
    return {"url": account["webhook_url"], "account": account, "ids": ids}


def post(client, url: str, body: dict[str, Any], secret: str = APP_SECRET) -> Any:  # type: ignore[no-untyped-def]
    raw, signature = signed(body, secret)
    client.cookies.clear()
    return client.post(
        url,
        content=raw,
        headers={"content-type": "application/json", "X-Hub-Signature-256": signature},
    )


def only_conversation(user: Any) -> dict[str, Any]:
    r = user.get("/api/v1/conversations")
    assert r.status_code == 200, r.text
    (found,) = r.json()
    return found  # type: ignore[no-any-return]


def tenant_id(client, app, slug: str = "demo") -> uuid.UUID:  # type: ignore[no-untyped-def]
    async def go() -> uuid.UUID:
        session = app.state.services.db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, slug)
            assert tenant is not None
            return tenant.id
        finally:
            await session.close()

    return client.portal.call(go)  # type: ignore[no-any-return]


def events_until(ws: Any, done: Any) -> list[dict[str, Any]]:
    seen = []
    while True:
        message = ws.receive_json()
        if message["type"] == "event":
            seen.append(message)
            if done(message):
                return seen


def contact(user: Any, contact_id: str) -> dict[str, Any]:
    r = user.get(f"/api/v1/routing/contacts/{contact_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_secrets_are_stored_sealed(client, app, desk) -> None:  # type: ignore[no-untyped-def]
    async def stored() -> dict[str, str]:
        session = app.state.services.db.session(SYSTEM)
        try:
            row = await session.get(ChannelAccount, uuid.UUID(desk["account"]["id"]))
            assert row is not None
            return dict(row.secrets)
        finally:
            await session.close()

    secrets = client.portal.call(stored)
    assert set(secrets) == {"app_secret", "verify_token", "access_token"}
    assert all(value.startswith("v2:") for value in secrets.values())
    assert not {APP_SECRET, VERIFY_TOKEN, TOKEN} & {v for v in secrets.values()}
    assert APP_SECRET not in str(secrets) and TOKEN not in str(secrets)


def test_verification_handshake(client, desk) -> None:  # type: ignore[no-untyped-def]
    url = desk["url"]
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    r = client.get(url, params=params)
    assert r.status_code == 200 and r.text == "1158201444"
    assert r.headers["content-type"].startswith("text/plain")
    r = client.get(url, params={**params, "hub.verify_token": "not-the-token"})
    assert r.status_code == 403
    r = client.get(url.replace(desk["account"]["id"], str(uuid.uuid4())), params=params)
    assert r.status_code == 404


def test_webhook_to_routed_contact_to_reply(client, app, as_user, desk, provider) -> None:  # type: ignore[no-untyped-def]
    ids, url = desk["ids"], desk["url"]
    hello = text_message("wamid.IN1", CUSTOMER, "Guten Tag, ich habe eine Frage zu meiner Rechnung")
    delivery = whatsapp_delivery(
        messages=[hello], contacts=[{"profile": {"name": "Anna Schmidt"}, "wa_id": CUSTOMER}]
    )

    # A forged signature: refused, nothing stored.
    assert post(client, url, delivery, secret="wrong-secret").status_code == 401
    assert as_user("admin").get("/api/v1/conversations").json() == []

    r = post(client, url, delivery)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "duplicates": 0, "statuses": 0}

    admin = as_user("admin")
    conv = only_conversation(admin)
    assert conv["language"] == "de" and conv["language_source"] == "detected"
    assert conv["peer_name"] == "Anna Schmidt" and conv["status"] == "open"
    # The customer: resolved by the WhatsApp id, named from the profile.
    r = admin.get("/api/v1/crm/customers/" + conv["customer_id"])
    assert r.status_code == 200, r.text
    customer = r.json()
    assert customer["display_name"] == "Anna Schmidt"
    assert {"kind": "messaging", "provider": "whatsapp", "value": CUSTOMER}.items() <= customer[
        "identities"
    ][0].items()
    # Routed by language: offered to the German speaker.
    routed = contact(admin, conv["contact_id"])
    assert routed["state"] == "offered" and routed["agent_id"] == ids["agent2"]
    assert routed["attributes"]["language"] == "de"
    assert routed["attributes"]["customer_id"] == conv["customer_id"]
    # Another agent does not see it; the offered one does.
    assert as_user("agent1").get(f"/api/v1/conversations/{conv['id']}").status_code == 404
    agent = as_user("agent2")
    assert agent.get(f"/api/v1/conversations/{conv['id']}").status_code == 200
    r = agent.post(f"/api/v1/routing/offers/{routed['offer_id'].replace('#', '%23')}/accept")
    assert r.status_code == 200, r.text

    # A redelivery is acknowledged and stored once.
    r = post(client, url, delivery)
    assert r.json() == {"received": 0, "duplicates": 1, "statuses": 0}
    messages = agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    assert [m["text"] for m in messages] == [hello["text"]["body"]]

    # The agent's reply reaches the provider, in its format.
    r = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Gerne!"})
    assert r.status_code == 201, r.text
    reply = r.json()
    assert reply["status"] == "sent" and reply["external_id"] == "wamid.OUT1"
    assert provider.sent == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "text",
            "text": {"body": "Gerne!"},
        }
    ]

    # Statuses out of order: read first, then delivered; read stays, both times are kept.
    statuses = [
        {"id": "wamid.OUT1", "status": s, "timestamp": str(t), "recipient_id": CUSTOMER}
        for s, t in (("read", 1_765_000_300), ("delivered", 1_765_000_200))
    ]
    for status in statuses:
        assert post(client, url, whatsapp_delivery(statuses=[status])).status_code == 200
    (_, sent) = agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    assert sent["status"] == "read"
    assert set(sent["status_times"]) >= {"queued", "sent", "delivered", "read"}

    # The CRM's interaction of the contact is the customer's.
    client.portal.call(app.state.crm.follower.catch_up, tenant_id(client, app))
    r = admin.get("/api/v1/crm/interactions", params={"contact_id": conv["contact_id"]})
    assert r.status_code == 200, r.text
    (interaction,) = r.json()["interactions"] if "interactions" in r.json() else r.json()
    assert interaction["customer_id"] == conv["customer_id"]
    assert interaction["channel"] == "messaging"

    # A follow-up joins the open conversation (no new contact) and reaches the agent's desk.
    with agent.websocket() as ws:
        ws.send_json({"type": "register", "last_event_id": None})
        ws.receive_json()
        follow = text_message("wamid.IN2", CUSTOMER, "Die Rechnungsnummer ist 4711")
        assert post(client, url, whatsapp_delivery(messages=[follow])).status_code == 200
        seen = events_until(ws, lambda m: m["event"] == "conversation.message_added")
    assert seen[-1]["data"]["conversation_id"] == conv["id"]
    assert seen[-1]["data"]["direction"] == "inbound"
    assert seen[-1]["data"]["contact_id"] == conv["contact_id"]


def test_media_is_fetched_with_retries_and_downloads_are_authorised(
    client, as_user, desk, provider
) -> None:  # type: ignore[no-untyped-def]
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    provider.media["MEDIA-1"] = (picture, "image/png")
    provider.failures["MEDIA-1"] = 2  # two hiccups, then served
    message = {
        "from": CUSTOMER,
        "id": "wamid.IMG1",
        "timestamp": "1765000000",
        "type": "image",
        "image": {"id": "MEDIA-1", "mime_type": "image/png", "caption": "Das ist kaputt"},
    }
    r = post(client, desk["url"], whatsapp_delivery(messages=[message]))
    assert r.status_code == 200, r.text
    admin = as_user("admin")
    conv = only_conversation(admin)
    (stored,) = admin.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    (attachment,) = stored["attachments"]
    assert attachment["state"] == "stored" and attachment["size"] == len(picture)
    assert provider.media_gets == 3
    download = admin.get(attachment["url"])
    assert download.status_code == 200 and download.content == picture
    # An agent the conversation was never offered to cannot download it.
    offered_to = contact(admin, conv["contact_id"])["agent_id"]
    other = "agent1" if offered_to == desk["ids"]["agent2"] else "agent2"
    assert as_user(other).get(attachment["url"]).status_code == 404


def test_window_reopen_and_templates(client, app, as_user, desk, provider) -> None:  # type: ignore[no-untyped-def]
    url = desk["url"]
    first = text_message("wamid.A", CUSTOMER, "Guten Tag, wo bleibt meine Bestellung bitte?")
    assert post(client, url, whatsapp_delivery(messages=[first])).status_code == 200
    admin, agent = as_user("admin"), as_user("agent2")
    conv = only_conversation(admin)
    offer = contact(admin, conv["contact_id"])["offer_id"]
    assert (
        agent.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept").status_code == 200
    )
    assert (
        agent.post(
            f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Ich schaue nach."}
        ).status_code
        == 201
    )

    # The customer has been silent for 25 hours: only a template may go out.
    db = app.state.services.db

    async def silent() -> None:
        session = db.session(SYSTEM)
        try:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == uuid.UUID(conv["id"]))
                .values(last_inbound_at=utcnow() - timedelta(hours=25))
            )
            await session.commit()
        finally:
            await session.close()

    client.portal.call(silent)
    r = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Noch da?"})
    assert r.status_code == 409 and r.json()["code"] == "outside_service_window"
    assert agent.get(f"/api/v1/conversations/{conv['id']}").json()["reply_window"]["templates_only"]
    template = {"name": "follow_up", "language": "de", "parameters": ["4711"]}
    r = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"template": template})
    assert r.status_code == 201, r.text
    assert provider.sent[-1]["type"] == "template"
    assert provider.sent[-1]["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "4711"}
    ]

    # Closed, then the customer writes again: reopened, routed again, to the last agent first.
    r = agent.post(f"/api/v1/conversations/{conv['id']}/close")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    again = text_message("wamid.B", CUSTOMER, "Danke, aber es ist immer noch nicht da.")
    assert post(client, url, whatsapp_delivery(messages=[again])).status_code == 200
    reopened = agent.get(f"/api/v1/conversations/{conv['id']}").json()
    assert reopened["status"] == "open" and reopened["rounds"] == 2
    assert reopened["contact_id"] != conv["contact_id"]
    assert contact(admin, reopened["contact_id"])["agent_id"] == desk["ids"]["agent2"]
    events = [m["event"] for m in agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()]
    assert events.count("closed") == 1 and events.count("reopened") == 1


def test_a_redelivery_retries_media_the_first_delivery_could_not_fetch(
    client, as_user, desk, provider
) -> None:  # type: ignore[no-untyped-def]
    document = b"%PDF-1.7 the contract"
    provider.media["MEDIA-2"] = (document, "application/pdf")
    provider.failures["MEDIA-2"] = 4  # more than one delivery's attempts
    message = {
        "from": CUSTOMER,
        "id": "wamid.DOC1",
        "timestamp": "1765000000",
        "type": "document",
        "document": {"id": "MEDIA-2", "mime_type": "application/pdf", "filename": "vertrag.pdf"},
    }
    delivery = whatsapp_delivery(messages=[message])
    assert post(client, desk["url"], delivery).json()["received"] == 1
    admin = as_user("admin")
    conv = only_conversation(admin)

    def attachment() -> dict[str, Any]:
        (stored,) = admin.get(f"/api/v1/conversations/{conv['id']}/messages").json()
        (found,) = stored["attachments"]
        return found  # type: ignore[no-any-return]

    # Stored, acknowledged, its file still to come.
    assert attachment()["state"] == "pending" and attachment()["url"] is None
    # Meta delivers again: the message is not stored twice, but its file is fetched now.
    assert post(client, desk["url"], delivery).json()["duplicates"] == 1
    done = attachment()
    assert done["state"] == "stored" and done["filename"] == "vertrag.pdf"
    assert admin.get(done["url"]).content == document


def test_the_same_message_delivered_twice_at_once_is_stored_once(
    client, app, as_user, desk
) -> None:  # type: ignore[no-untyped-def]
    service = app.state.conversations
    message = InboundMessage(
        external_id="wamid.RACE", peer_id=CUSTOMER, text="Hallo, ist da jemand erreichbar?"
    )

    async def twice() -> list[Any]:
        account = await service.account(uuid.UUID(desk["account"]["id"]))
        return list(
            await asyncio.gather(
                service.receive(account, message), service.receive(account, message)
            )
        )

    results = client.portal.call(twice)
    assert sorted(r.duplicate for r in results) == [False, True]
    assert len({r.message_id for r in results}) == 1
    conv = only_conversation(as_user("admin"))
    assert conv["rounds"] == 1
    assert len(as_user("admin").get(f"/api/v1/conversations/{conv['id']}/messages").json()) == 1


def test_a_follow_up_after_the_contact_ended_opens_the_next_round(
    client, app, as_user, desk
) -> None:  # type: ignore[no-untyped-def]
    url, admin, agent = desk["url"], as_user("admin"), as_user("agent2")
    first = text_message("wamid.R1", CUSTOMER, "Guten Tag, ich brauche eine neue Rechnung")
    assert post(client, url, whatsapp_delivery(messages=[first])).status_code == 200
    conv = only_conversation(admin)
    offer = contact(admin, conv["contact_id"])["offer_id"].replace("#", "%23")
    assert agent.post(f"/api/v1/routing/offers/{offer}/accept").status_code == 200
    # The agent ends the contact in routing but leaves the conversation open (a follow-up may
    # come): the conversation stays open, and the customer's next message is a new round.
    assert agent.post(f"/api/v1/routing/contacts/{conv['contact_id']}/end").status_code == 200
    # The agent who handled it keeps reading it (known from the CRM's record of the contact).
    client.portal.call(app.state.crm.follower.catch_up, tenant_id(client, app))
    assert agent.get(f"/api/v1/conversations/{conv['id']}").json()["status"] == "open"
    assert as_user("agent1").get(f"/api/v1/conversations/{conv['id']}").status_code == 404
    later = text_message("wamid.R2", CUSTOMER, "Und bitte auch an meine neue Adresse senden")
    assert post(client, url, whatsapp_delivery(messages=[later])).status_code == 200
    now = agent.get(f"/api/v1/conversations/{conv['id']}").json()
    assert now["rounds"] == 2 and now["contact_id"] != conv["contact_id"]
    routed = contact(admin, now["contact_id"])
    assert routed["state"] in ("waiting", "offered")
    assert routed["attributes"]["conversation_id"] == conv["id"]
    assert (
        routed["reserved_for"] == desk["ids"]["agent2"]
        or routed["agent_id"] == desk["ids"]["agent2"]
    )
