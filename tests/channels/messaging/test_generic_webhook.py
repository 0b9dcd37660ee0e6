"""The generic signed-webhook channel and the store's rules every channel shares: HTML
sanitised when stored, an explicit language wins over detection, attachment limits, notes,
canned responses and uploads, the reply reaching the provider signed. On both databases."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from messaging_fakes import FakeGateway, serve

from omnidesk.channels.messaging.signature import sign

SECRET = "gateway-shared-secret-0123456789"
QUEUE = {"id": "sms", "channels": ["messaging"], "name": "SMS", "steps": [{"target": None}]}


@pytest.fixture
def gateway() -> Any:
    fake = FakeGateway(SECRET)
    with serve(fake.app()) as base:
        fake.base = base
        yield fake


@pytest.fixture
def account(as_user, tenants, gateway) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin.put(
        f"/api/v1/routing/agents/{ids['agent1']}",
        json={"queues": {"sms": 1}, "capacity": {"messaging": 2}},
    )
    assert r.status_code == 200, r.text
    r = as_user("agent1").post(
        f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    r = admin.put(
        "/api/v1/channels/settings",
        json={
            "languages": ["en", "de", "es", "lv"],
            "attachment_max_bytes": 1000,
            "attachment_types": ["image/*", "application/pdf"],
        },
    )
    assert r.status_code == 200, r.text
    body = {
        "kind": "webhook",
        "name": "SMS gateway",
        "provider": "sms-gw",
        "queue_id": "sms",
        "outbound_url": f"{gateway.base}/outbound",
        "secret": SECRET,
    }
    r = admin.post("/api/v1/channels/accounts", json=body)
    assert r.status_code == 201, r.text
    # A queue that does not exist, a missing secret: refused with the field named.
    assert (
        admin.post("/api/v1/channels/accounts", json={**body, "queue_id": "nope"}).json()["field"]
        == "queue_id"
    )
    without = {k: v for k, v in body.items() if k != "secret"}
    assert admin.post("/api/v1/channels/accounts", json=without).status_code == 422
    assert as_user("agent1").get("/api/v1/channels/accounts").status_code == 403
    return r.json()  # type: ignore[no-any-return]


def deliver(client, account: dict[str, Any], body: dict[str, Any], secret: str = SECRET) -> Any:  # type: ignore[no-untyped-def]
    raw = json.dumps(body).encode()
    client.cookies.clear()
    return client.post(
        account["webhook_url"],
        content=raw,
        headers={"content-type": "application/json", "X-Omnidesk-Signature": sign(secret, raw)},
    )


def test_inbound_stored_sanitised_and_routed_reply_signed(
    client, as_user, account, gateway
) -> None:  # type: ignore[no-untyped-def]
    pdf = b"%PDF-1.4 tiny"
    message = {
        "id": "sms-1",
        "from": "+37120000000",
        "name": "Jānis",
        # The customer chose Latvian in the provider's menu: that wins over the text.
        "language": "lv",
        "html": '<p onclick="steal()">Hello <b>there</b><script>alert(1)</script>'
        ' <a href="javascript:x">link</a></p>',
        "attachments": [
            {"filename": "invoice.pdf", "content_type": "application/pdf",
             "data": base64.b64encode(pdf).decode()},
            {"filename": "big.png", "content_type": "image/png",
             "data": base64.b64encode(b"x" * 2000).decode()},
            {"filename": "run.exe", "content_type": "application/x-msdownload",
             "data": base64.b64encode(b"MZ").decode()},
        ],
    }  # fmt: skip
    assert deliver(client, account, {"messages": [message]}, secret="forged").status_code == 401
    r = deliver(client, account, {"messages": [message]})
    assert r.status_code == 200, r.text
    assert deliver(client, account, {"messages": [message]}).json()["duplicates"] == 1
    agent = as_user("agent1")
    (conv,) = agent.get("/api/v1/conversations").json()
    assert conv["language"] == "lv" and conv["language_source"] == "explicit"
    (stored,) = agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    assert "<script>" not in stored["html"] and "onclick" not in stored["html"]
    assert "javascript:" not in stored["html"] and "<b>there</b>" in stored["html"]
    assert stored["text"] == "Hello there link"
    states = {a["filename"]: (a["state"], a["reason"]) for a in stored["attachments"]}
    assert states["invoice.pdf"] == ("stored", None)
    assert states["big.png"][0] == "refused" and "limit" in states["big.png"][1]
    assert states["run.exe"][0] == "refused" and "not allowed" in states["run.exe"][1]

    # A note stays inside; an upload over the limit or of a refused type is refused.
    base = f"/api/v1/conversations/{conv['id']}"
    note = agent.post(f"{base}/notes", json={"text": "VIP, be quick"})
    assert note.status_code == 201 and note.json()["kind"] == "note"
    upload = lambda data, kind: agent.post(  # noqa: E731
        f"{base}/attachments", params={"filename": "f"}, content=data,
        headers={"content-type": kind},
    )  # fmt: skip
    assert upload(b"x" * 2000, "image/png").status_code == 413
    assert upload(b"MZ", "application/x-msdownload").status_code == 415
    picture = upload(b"\x89PNG small", "image/png")
    assert picture.status_code == 201, picture.text

    # A canned response with the picture: reaches the gateway signed, in the documented shape.
    canned = as_user("supervisor").post(
        "/api/v1/channels/canned-responses",
        json={"shortcut": "thanks", "title": "Thanks", "text": "Paldies, mēs palīdzēsim!"},
    )
    assert canned.status_code == 201, canned.text
    # The gateway is fast: its "delivered" for the id it will answer with overtakes the answer.
    early = deliver(client, account, {"statuses": [{"id": "gw-1", "status": "delivered"}]})
    assert early.status_code == 200, early.text
    r = agent.post(
        f"{base}/messages",
        json={"canned_response_id": canned.json()["id"], "attachment_ids": [picture.json()["id"]]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "delivered" and r.json()["external_id"] == "gw-1"
    assert set(r.json()["status_times"]) == {"queued", "sent", "delivered"}
    (sent,) = gateway.sent
    assert sent["to"] == "+37120000000" and sent["text"] == "Paldies, mēs palīdzēsim!"
    assert base64.b64decode(sent["attachments"][0]["data"]) == b"\x89PNG small"
    assert gateway.bad_signatures == 0
    # The same upload cannot be sent twice.
    again = agent.post(f"{base}/messages", json={"attachment_ids": [picture.json()["id"]]})
    assert again.status_code == 422

    # Statuses by the gateway's id; a failure after delivery does not undo it.
    for status in ("delivered", "failed"):
        r = deliver(client, account, {"statuses": [{"id": "gw-1", "status": status}]})
        assert r.status_code == 200, r.text
    messages = agent.get(f"{base}/messages").json()
    assert messages[-1]["status"] == "delivered"


def test_malformed_deliveries_are_refused(client, account) -> None:  # type: ignore[no-untyped-def]
    assert deliver(client, account, {"messages": [{"id": "x"}]}).status_code == 422
    assert deliver(client, account, {"unknown": []}).status_code == 422
    bad = {"messages": [{"id": "m", "from": "p", "attachments": [
        {"filename": "a.pdf", "content_type": "application/pdf", "data": "%%%"}]}]}  # fmt: skip
    assert deliver(client, account, bad).status_code == 422


def test_overload_defers_new_contacts_and_lets_live_ones_through(  # type: ignore[no-untyped-def]
    client, as_user, account, overloaded
) -> None:
    """Under overload a message that would open a new contact is refused with 429 before
    anything is stored, so the provider's retry brings it once; a message of a contact
    already in routing still reaches its agent."""
    first = {"id": "sms-1", "from": "+37120000000", "text": "My parcel has not arrived"}
    assert deliver(client, account, {"messages": [first]}).status_code == 200
    agent = as_user("agent1")
    (conv,) = agent.get("/api/v1/conversations").json()

    with overloaded():
        other = {"id": "sms-9", "from": "+37129999999", "text": "Hello?"}
        shed = deliver(client, account, {"messages": [other]})
        assert shed.status_code == 429, shed.text
        assert shed.headers["Retry-After"] == "1"
        live = {**first, "id": "sms-2", "text": "Any news?"}
        assert deliver(client, account, {"messages": [live]}).status_code == 200
    convs = agent.get("/api/v1/conversations").json()
    assert [c["id"] for c in convs] == [conv["id"]]  # nothing of the refused one was kept
    texts = [m["text"] for m in agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()]
    assert texts == ["My parcel has not arrived", "Any news?"]

    again = deliver(client, account, {"messages": [other]})  # the provider's retry
    assert again.status_code == 200 and again.json()["received"] == 1, again.text
    assert len(agent.get("/api/v1/conversations").json()) == 2
