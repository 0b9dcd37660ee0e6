"""Channel account administration: editing on a version, secrets write-only and kept when
left out, rotating a webhook's secret (the old one refused at once, the new one taken), the
audit log naming what changed and never a secret; canned responses edited on a version.
On both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from omnidesk.channels.messaging.signature import sign

ACCOUNTS = "/api/v1/channels/accounts"
CANNED = "/api/v1/channels/canned-responses"
SECRET = "first-webhook-secret-0123456789"
QUEUE = {"id": "sms", "channels": ["messaging"], "name": "SMS", "steps": [{"target": None}]}
WEBHOOK = {
    "kind": "webhook",
    "name": "SMS gateway",
    "provider": "sms-gw",
    "queue_id": "sms",
    "outbound_url": "http://127.0.0.1:9/never",
    "secret": SECRET,
}


@pytest.fixture
def admin(as_user, tenants) -> Any:  # type: ignore[no-untyped-def]
    user = as_user("admin")
    r = user.post("/api/v1/routing/queues", json=QUEUE)
    assert r.status_code == 201, r.text
    return user


def deliver(client: Any, account: dict[str, Any], secret: str, message_id: str) -> int:
    raw = json.dumps({"messages": [{"id": message_id, "from": "+37120000001", "text": "hi"}]})
    client.cookies.clear()
    response = client.post(
        account["webhook_url"],
        content=raw.encode(),
        headers={
            "content-type": "application/json",
            "X-Omnidesk-Signature": sign(secret, raw.encode()),
        },
    )
    return response.status_code  # type: ignore[no-any-return]


def test_rotating_a_webhook_secret_refuses_the_old_one(client, admin, as_user) -> None:  # type: ignore[no-untyped-def]
    account = admin.post(ACCOUNTS, json=WEBHOOK).json()
    assert account["version"] == 1 and account["secrets_set"] == ["secret"]
    assert SECRET not in json.dumps(admin.get(f"{ACCOUNTS}/{account['id']}").json())
    assert as_user("agent1").post(f"{ACCOUNTS}/{account['id']}/rotate-secret").status_code == 403

    r = admin.post(f"{ACCOUNTS}/{account['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["name"] == "secret" and rotated["version"] == 2
    new = rotated["value"]
    assert len(new) >= 32 and new != SECRET
    # Shown once: neither the account nor the list says it again.
    assert new not in admin.get(f"{ACCOUNTS}/{account['id']}").text
    assert new not in admin.get(ACCOUNTS).text

    assert deliver(client, account, SECRET, "m-old") == 401
    assert deliver(client, account, new, "m-new") == 200

    entries = as_user("admin").get("/api/v1/audit-log", params={"target_id": account["id"]}).json()
    actions = [e["action"] for e in entries]
    assert actions == ["channel.account.rotate_secret", "channel.account.create"]
    assert entries[0]["details"]["secret"] == "secret"
    assert new not in json.dumps(entries) and SECRET not in json.dumps(entries)


def test_an_email_account_has_no_generated_secret(admin) -> None:  # type: ignore[no-untyped-def]
    body = {
        "kind": "email",
        "name": "Support",
        "queue_id": "sms",
        "address": "help@example.com",
        "smtp_host": "127.0.0.1",
        "smtp_password": "relay-password",
    }
    account = admin.post(ACCOUNTS, json=body).json()
    r = admin.post(f"{ACCOUNTS}/{account['id']}/rotate-secret")
    assert r.status_code == 422 and r.json()["field"] == "kind"


def test_editing_keeps_secrets_and_refuses_a_stale_version(client, admin, as_user) -> None:  # type: ignore[no-untyped-def]
    account = admin.post(ACCOUNTS, json=WEBHOOK).json()
    url = f"{ACCOUNTS}/{account['id']}"
    edit = {k: v for k, v in WEBHOOK.items() if k != "secret"}
    r = admin.put(url, json={**edit, "name": "SMS", "version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "SMS" and r.json()["version"] == 2
    assert r.json()["secrets_set"] == ["secret"]
    # The secret left out is kept: the provider's signature still matches.
    assert deliver(client, account, SECRET, "m-1") == 200

    stale = admin.put(url, json={**edit, "name": "Lost", "version": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    assert admin.get(url).json()["name"] == "SMS"
    # A kind cannot change; a queue must exist; agents may not edit.
    chat = {"kind": "chat", "name": "x", "queue_id": "sms", "version": 2}
    assert admin.put(url, json=chat).json()["field"] == "kind"
    assert admin.put(url, json={**edit, "queue_id": "nope"}).json()["field"] == "queue_id"
    assert as_user("agent1").put(url, json=edit).status_code == 403

    # Deactivated, then brought back by an edit.
    assert admin.delete(url).status_code == 204
    assert deliver(client, account, SECRET, "m-2") == 404
    back = admin.put(url, json={**edit, "active": True})
    assert back.status_code == 200 and back.json()["active"] is True
    assert deliver(client, account, SECRET, "m-3") == 200
    actions = [
        e["action"]
        for e in admin.get("/api/v1/audit-log", params={"target_id": account["id"]}).json()
    ]
    assert actions.count("channel.account.update") == 2
    assert "channel.account.deactivate" in actions


def test_an_email_password_is_set_never_shown(admin) -> None:  # type: ignore[no-untyped-def]
    body = {
        "kind": "email",
        "name": "Support",
        "queue_id": "sms",
        "address": "Help@Example.com",
        "smtp_host": "127.0.0.1",
        "imap_host": "127.0.0.1",
        "imap_username": "help",
        "imap_password": "imap-password-1",
    }
    account = admin.post(ACCOUNTS, json=body).json()
    assert account["config"]["address"] == "help@example.com"
    assert account["secrets_set"] == ["imap_password"]
    url = f"{ACCOUNTS}/{account['id']}"
    # Left out on an edit: the mailbox keeps its password (no "needs imap_password").
    without = {k: v for k, v in body.items() if k != "imap_password"}
    r = admin.put(url, json={**without, "smtp_password": "relay-password-2"})
    assert r.status_code == 200, r.text
    assert r.json()["secrets_set"] == ["imap_password", "smtp_password"]
    assert "password-" not in admin.get(url).text
    # Validation on the field, as on create.
    bad = admin.put(url, json={**without, "smtp_port": 0})
    assert bad.status_code == 422 and "smtp_port" in json.dumps(bad.json())


def test_canned_responses_are_edited_on_a_version(admin, as_user) -> None:  # type: ignore[no-untyped-def]
    first = admin.post(CANNED, json={"shortcut": "hi", "title": "Hello", "text": "Hello!"}).json()
    admin.post(CANNED, json={"shortcut": "bye", "title": "Bye", "text": "Bye!"})
    url = f"{CANNED}/{first['id']}"
    r = as_user("supervisor").put(
        url, json={"shortcut": "hello", "title": "Hello", "text": "Hello there!", "version": 1}
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["shortcut"] == "hello"
    stale = admin.put(url, json={"shortcut": "hi", "title": "x", "text": "x", "version": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    taken = admin.put(url, json={"shortcut": "bye", "title": "x", "text": "x"})
    assert taken.status_code == 409 and taken.json()["field"] == "shortcut"
    assert (
        as_user("agent1").put(url, json={"shortcut": "a", "title": "a", "text": "a"}).status_code
        == 403
    )
    assert (
        admin.put(
            f"{CANNED}/{'0' * 8}-0000-0000-0000-{'0' * 12}",
            json={"shortcut": "a", "title": "a", "text": "a"},
        ).status_code
        == 404
    )
    # A delete decided on an older version is refused like a stale save; on the current one
    # (or with no version, as before) it deletes.
    stale = admin.delete(f"{url}?version=1")
    assert stale.status_code == 409 and stale.json()["field"] == "version", stale.text
    assert admin.get(CANNED).json()[0]["shortcut"] in ("hello", "bye")
    assert admin.delete(f"{url}?version=0").status_code == 422
    assert admin.delete(f"{url}?version=2").status_code == 204
    assert [c["shortcut"] for c in admin.get(CANNED).json()] == ["bye"]


WHATSAPP = {
    "kind": "whatsapp",
    "name": "WA",
    "queue_id": "sms",
    "phone_number_id": "1234567",
    "app_secret": "app-secret-0123456789",
    "verify_token": "verify-token-0123",
    "access_token": "token",
}
CHAT = {"kind": "chat", "name": "Site", "queue_id": "sms", "secret": SECRET}


def refused_at(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [".".join(str(p) for p in e["loc"]) for e in response.json()["errors"]]


def test_whatsapp_templates_are_unique_and_described(admin) -> None:  # type: ignore[no-untyped-def]
    follow_up = {"name": "follow_up", "language": "de", "parameters": 2}
    described = {**follow_up, "description": "{{1}}: name, {{2}}: order number"}
    twice = {**WHATSAPP, "templates": [follow_up, {**follow_up, "parameters": 1}]}
    assert refused_at(admin.post(ACCOUNTS, json=twice)) == ["body.whatsapp.templates"]
    both = [described, {**follow_up, "language": "en"}]
    account = admin.post(ACCOUNTS, json={**WHATSAPP, "templates": both})
    assert account.status_code == 201, account.text
    assert account.json()["config"]["templates"][0]["description"].startswith("{{1}}: name")
    # An edit of the templates keeps to the version like any other field.
    url = f"{ACCOUNTS}/{account.json()['id']}"
    edit = {k: v for k, v in WHATSAPP.items() if not k.endswith(("_secret", "_token"))}
    bad = [{**follow_up, "name": "Follow up"}]
    assert refused_at(admin.put(url, json={**edit, "templates": bad, "version": 1})) == [
        "body.whatsapp.templates.0.name"
    ]
    assert admin.put(url, json={**edit, "templates": [], "version": 1}).status_code == 200
    stale = admin.put(url, json={**edit, "templates": both, "version": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    assert admin.get(url).json()["config"]["templates"] == []


def test_widget_hours_and_questions_are_refused_where_they_are_wrong(admin) -> None:  # type: ignore[no-untyped-def]
    hours = {"timezone": "Europe/Riga", "days": {"mon": [["09:00", "12:00"], ["14:00", "13:00"]]}}
    widget = {"business_hours": hours}
    assert refused_at(admin.post(ACCOUNTS, json={**CHAT, "widget": widget})) == [
        "body.chat.widget.business_hours.days.mon.1"
    ]
    zone = {"business_hours": {**hours, "timezone": "Mars/Base", "days": {}}}
    assert refused_at(admin.post(ACCOUNTS, json={**CHAT, "widget": zone})) == [
        "body.chat.widget.business_hours.timezone"
    ]
    twice = {"prechat_fields": [{"key": "order", "label": "Order"}] * 2}
    assert refused_at(admin.post(ACCOUNTS, json={**CHAT, "widget": twice})) == [
        "body.chat.widget.prechat_fields"
    ]
