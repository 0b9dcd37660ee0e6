"""The web chat widget's API on both databases: configuration by admins, visitors starting and
resuming a conversation with the pre-chat form, messages stored once however often they are
sent, the socket's snapshot and resume by id (nothing missed, nothing twice), signed identities
(history on any browser; a forged or unsigned id refused), and another tenant's widget, a
foreign site or a file of someone else's conversation refused with the reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from omnidesk.channels.chat.identity import sign

SECRET = "widget-secret-0123456789abcdef"
QUEUE = {"id": "web", "channels": ["chat"], "name": "Web chat", "steps": [{"target": None}]}
WIDGET = {
    "title": "Talk to us",
    "greeting": "Hello!",
    "colour": "#112233",
    "prechat_fields": [
        {"key": "name", "label": "Name", "required": True},
        {"key": "email", "label": "Email", "type": "email"},
        {"key": "language", "label": "Language", "type": "language"},
    ],
    "languages": ["en", "de"],
}


def chat_account(as_user, tenant: str = "demo", **widget: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    admin = as_user("admin", tenant)
    body = {
        "kind": "chat",
        "name": "Website",
        "queue_id": "web",
        "secret": SECRET if tenant == "demo" else SECRET + "-other",
        "widget": {**WIDGET, **widget},
    }
    r = admin.post("/api/v1/channels/accounts", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def routing(as_user, tenants, tenant: str = "demo") -> None:  # type: ignore[no-untyped-def]
    ids = tenants[tenant].ids
    admin = as_user("admin", tenant)
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin.put(
        f"/api/v1/routing/agents/{ids['agent1']}",
        json={"queues": {"web": 1}, "capacity": {"chat": 2}},
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def widget(as_user, tenants) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    routing(as_user, tenants)
    return chat_account(as_user)


class Visitor:
    """A browser: the widget's requests with its identity headers, from a site's origin."""

    def __init__(self, client, key: str, headers: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.base = f"/api/v1/chat/widget/{key}"
        self.headers = {"origin": "https://shop.example", **(headers or {})}

    @classmethod
    def anonymous(cls, client, key: str) -> Visitor:  # type: ignore[no-untyped-def]
        visitor = cls(client, key)
        r = visitor.post("/visitors")
        assert r.status_code == 201, r.text
        visitor.headers["X-Omnidesk-Visitor"] = r.json()["visitor_token"]
        return visitor

    @classmethod
    def signed(cls, client, key: str, user: str, secret: str = SECRET) -> Visitor:  # type: ignore[no-untyped-def]
        return cls(
            client, key, {"X-Omnidesk-User": user, "X-Omnidesk-User-Hash": sign(secret, user)}
        )

    def get(self, path: str = "", **kw: Any) -> Any:
        self.client.cookies.clear()
        return self.client.get(self.base + path, headers=self.headers, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        self.client.cookies.clear()
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.post(self.base + path, headers=headers, **kw)

    def socket(self) -> Any:
        self.client.cookies.clear()
        return self.client.websocket_connect(self.base + "/socket")

    def register(self, last: int | None) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "register", "last_event_id": last}
        if "X-Omnidesk-Visitor" in self.headers:
            message["visitor_token"] = self.headers["X-Omnidesk-Visitor"]
        else:
            message["user_id"] = self.headers["X-Omnidesk-User"]
            message["user_hash"] = self.headers["X-Omnidesk-User-Hash"]
        return message


def until(ws: Any, wanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Messages up to the wanted one (queue updates and the like pass by)."""
    seen = []
    while True:
        message = ws.receive_json()
        seen.append(message)
        if wanted(message):
            return seen


def events(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in seen if m["type"] == "event"]


def test_start_send_resume_and_reply_over_the_socket(client, as_user, tenants, widget) -> None:  # type: ignore[no-untyped-def]
    key = widget["id"]
    assert widget["webhook_url"] == f"/api/v1/chat/widget/{key}"
    assert widget["secrets_set"] == ["secret"] and SECRET not in str(widget)
    browser = Visitor(client, key)
    config = browser.get().json()
    assert config["online"] is True and config["title"] == "Talk to us"
    assert [f["key"] for f in config["prechat_fields"]] == ["name", "email", "language"]
    assert "secret" not in str(config).lower()

    # No identity yet: refused with the reason; then a token for this browser.
    r = browser.post("/conversation", json={"prechat": {"name": "Jane"}})
    assert r.status_code == 401 and "token" in r.json()["detail"]
    browser = Visitor.anonymous(client, key)
    # The form's rules: a required field, an email, a language of the widget, no other keys.
    for bad, field in (
        ({"email": "jane@example.com"}, "prechat.name"),
        ({"name": "Jane", "email": "nope"}, "prechat.email"),
        ({"name": "Jane", "language": "fr"}, "language"),
    ):
        r = browser.post("/conversation", json={"prechat": bad})
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert browser.post("/conversation", json={"prechat": {"age": "3"}}).status_code == 422
    assert browser.get("/conversation").json() == {"conversation": None, "messages": []}

    r = browser.post(
        "/conversation",
        json={"prechat": {"name": "Jane Doe", "email": "jane@example.com", "language": "de"}},
    )
    assert r.status_code == 200, r.text
    started = r.json()
    (form,) = started["messages"]
    assert form["form"] == "prechat" and form["from"] == "visitor"
    assert "Name: Jane Doe" in form["text"] and "Email: jane@example.com" in form["text"]
    # Starting again resumes the open conversation: nothing new is stored.
    again = browser.post("/conversation", json={"prechat": {"name": "Jane Doe"}}).json()
    assert again == started

    # A message, sent twice (a retry after a lost answer): stored once.
    hello = {"client_id": "msg-0001-abcdef", "text": "Hallo, wo ist meine Bestellung?"}
    first = browser.post("/conversation/messages", json=hello)
    assert first.status_code == 201, first.text
    retry = browser.post("/conversation/messages", json=hello)
    assert retry.status_code == 201 and retry.json()["duplicate"] is True
    assert retry.json()["message"]["id"] == first.json()["message"]["id"]
    assert [m["text"] for m in browser.get("/conversation").json()["messages"]][1:] == [
        hello["text"]
    ]

    # The conversation is on a CRM customer named by the form, routed as a chat contact, in
    # the language the visitor chose; the agent sees the form's answers in the transcript.
    admin = as_user("admin")
    (conv,) = admin.get("/api/v1/conversations").json()
    assert conv["channel"] == "chat" and conv["account_kind"] == "chat"
    assert conv["language"] == "de" and conv["language_source"] == "explicit"
    assert conv["peer_name"] == "Jane Doe"
    customer = admin.get(f"/api/v1/crm/customers/{conv['customer_id']}").json()
    assert customer["display_name"] == "Jane Doe"
    assert customer["identities"][0]["kind"] == "webchat"
    contact = admin.get(f"/api/v1/routing/contacts/{conv['contact_id']}").json()
    assert contact["channel"] == "chat" and contact["queue_id"] == "web"
    assert contact["attributes"]["offline"] is False
    agent = as_user("agent1")
    assert (
        as_user("agent1")
        .post(
            f"/api/v1/routing/agents/{tenants['demo'].ids['agent1']}/state",
            json={"state": "available"},
        )
        .status_code
        == 200
    )
    transcript = agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    assert transcript[0]["text"].startswith("Pre-chat form")

    with browser.socket() as ws:
        ws.send_json(browser.register(None))
        seen = until(ws, lambda m: m["type"] == "ready")
        snapshot = seen[0]
        assert snapshot["type"] == "snapshot"
        assert [m["id"] for m in snapshot["messages"]] == [
            form["id"],
            first.json()["message"]["id"],
        ]
        mark = snapshot["last_event_id"]
        # The agent's reply reaches the socket as an event after the snapshot's id.
        r = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Gleich!"})
        assert r.status_code == 201, r.text
        reply = r.json()
        (event,) = events(until(ws, lambda m: m["type"] == "event"))
        assert event["event"] == "message" and event["data"]["id"] == reply["id"]
        assert event["data"]["from"] == "agent" and event["data"]["text"] == "Gleich!"
        assert event["id"] > mark
        # An internal note never reaches the visitor; the agent types, the visitor sees it.
        agent.post(f"/api/v1/conversations/{conv['id']}/notes", json={"text": "VIP"})
        typing = agent.post(
            f"/api/v1/chat/conversations/{conv['id']}/typing", json={"active": True}
        )
        assert typing.status_code == 200 and typing.json()["delivered_to"] == 1
        seen = until(ws, lambda m: m["type"] == "typing")
        assert events(seen) == [] and seen[-1]["from"] == "agent"
        # The visitor types and reads the reply: the agent's message is read.
        ws.send_json({"type": "typing", "active": True})
        ws.send_json({"type": "read", "message_ids": [reply["id"]]})
        ws.send_json({"type": "ping"})
        pong = until(ws, lambda m: m["type"] == "pong")[-1]
        last = pong["last_event_id"]
        assert last >= event["id"]
    visitor_typing = agent.get(f"/api/v1/chat/conversations/{conv['id']}/typing").json()
    assert visitor_typing["visitor_typing"] is True
    statuses = {
        m["id"]: m for m in agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    }
    assert statuses[reply["id"]]["status"] == "read"
    assert {"delivered", "read"} <= set(statuses[reply["id"]]["status_times"])

    # While disconnected: another reply and a message from the visitor's other tab.
    later = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Da?"})
    assert later.status_code == 201
    other_tab = browser.post(
        "/conversation/messages", json={"client_id": "msg-0002-abcdef", "text": "Ja"}
    )
    assert other_tab.status_code == 201
    # Resuming from the snapshot's id: exactly the three messages after it, in order, once.
    with browser.socket() as ws:
        ws.send_json(browser.register(mark))
        seen = until(ws, lambda m: m["type"] == "ready")
        replayed = [e["data"]["id"] for e in events(seen) if e["event"] == "message"]
        assert replayed == [reply["id"], later.json()["id"], other_tab.json()["message"]["id"]]
        assert seen[-1]["last_event_id"] >= events(seen)[-1]["id"]
        resume_at = seen[-1]["last_event_id"]
    # Resuming from the last id: nothing again; an id the server never gave: a snapshot.
    with browser.socket() as ws:
        ws.send_json(browser.register(resume_at))
        assert events(until(ws, lambda m: m["type"] == "ready")) == []
    with browser.socket() as ws:
        ws.send_json(browser.register(10**9))
        seen = until(ws, lambda m: m["type"] == "ready")
        assert seen[0]["type"] == "snapshot" and seen[0]["reason"] == "unknown_event_id"
        assert len(seen[0]["messages"]) == 5


def test_signed_identity_follows_the_user_and_cannot_be_forged(
    client, app, as_user, tenants, widget
) -> None:  # type: ignore[no-untyped-def]
    key = widget["id"]
    laptop = Visitor.signed(client, key, "cust-42")
    r = laptop.post("/conversation", json={"prechat": {"name": "Max Mustermann"}})
    assert r.status_code == 200, r.text
    # The form's answers are no sample of the visitor's language: none is detected from them.
    (started,) = as_user("admin").get("/api/v1/conversations").json()
    assert started["language"] is None and started["peer_name"] == "Max Mustermann"
    sent = laptop.post("/conversation/messages", json={"client_id": "laptop-0001", "text": "Hi"})
    assert sent.status_code == 201
    # Nobody is available: the socket says where the visitor stands in line.
    with laptop.socket() as ws:
        ws.send_json(laptop.register(None))
        queue = until(ws, lambda m: m["type"] == "queue")[-1]
        assert queue["state"] == "waiting" and queue["position"] == 1
        assert queue["estimated_wait_seconds"] is None  # no available member to estimate by
        # An agent comes: the next look (the hub's ticker, run here at once) says offered.
        agent1 = tenants["demo"].ids["agent1"]
        state = as_user("agent1").post(
            f"/api/v1/routing/agents/{agent1}/state", json={"state": "available"}
        )
        assert state.status_code == 200, state.text
        client.portal.call(app.state.chat_hub.tick)
        assert until(ws, lambda m: m["type"] == "queue")[-1] == {
            "type": "queue",
            "state": "offered",
        }
    # The same user on another browser (no token, nothing in its storage): the same history.
    phone = Visitor.signed(client, key, "cust-42")
    history = phone.get("/conversation").json()
    assert [m["text"] for m in history["messages"]][1:] == ["Hi"]
    assert history["conversation"]["id"] == r.json()["conversation"]["id"]

    # Forgeries: a wrong hash, a hash for another id, no hash, another widget's secret.
    for headers in (
        {"X-Omnidesk-User": "cust-42", "X-Omnidesk-User-Hash": "0" * 64},
        {"X-Omnidesk-User": "cust-42", "X-Omnidesk-User-Hash": sign(SECRET, "cust-43")},
        {"X-Omnidesk-User": "cust-42"},
        {
            "X-Omnidesk-User": "cust-42",
            "X-Omnidesk-User-Hash": sign("another-secret-xx", "cust-42"),
        },
    ):
        r = Visitor(client, key, headers).get("/conversation")
        assert r.status_code == 401, r.text
        assert "hash" in r.json()["detail"]
    # An anonymous visitor never reaches the signed user's conversation.
    anonymous = Visitor.anonymous(client, key)
    assert anonymous.get("/conversation").json()["conversation"] is None
    # Nor does a socket with a forged hash.
    with anonymous.socket() as ws:
        ws.send_json({"type": "register", "last_event_id": None, "user_id": "cust-42",
                      "user_hash": "f" * 64})  # fmt: skip
        error = ws.receive_json()
        assert error["type"] == "error" and error["status"] == 401
    # One customer in the CRM, whichever browser.
    admin = as_user("admin")
    (conv,) = admin.get("/api/v1/conversations").json()
    customer = admin.get(f"/api/v1/crm/customers/{conv['customer_id']}").json()
    assert customer["identities"][0]["value"] == "u:cust-42"

    # A widget that serves signed users only refuses anonymous visitors.
    r = admin.put(
        f"/api/v1/channels/accounts/{key}/widget", json={**WIDGET, "require_identity": True}
    )
    assert r.status_code == 200, r.text
    assert Visitor(client, key).post("/visitors").status_code == 403
    assert anonymous.get("/conversation").status_code == 403
    assert phone.get("/conversation").status_code == 200
    # Rotating the secret: the old signature no longer holds.
    r = admin.put(
        f"/api/v1/channels/accounts/{key}/widget",
        json={**WIDGET, "secret": "a-brand-new-secret-123"},
    )
    assert r.status_code == 200 and r.json()["config"]["require_identity"] is False
    assert phone.get("/conversation").status_code == 401
    rotated = Visitor.signed(client, key, "cust-42", "a-brand-new-secret-123")
    assert rotated.get("/conversation").json()["conversation"] is not None
    assert (
        as_user("agent1").put(f"/api/v1/channels/accounts/{key}/widget", json=WIDGET).status_code
        == 403
    )


def test_other_tenants_foreign_sites_files_and_offline(client, as_user, tenants, widget) -> None:  # type: ignore[no-untyped-def]
    key = widget["id"]
    routing(as_user, tenants, "other")
    other = chat_account(as_user, "other", allowed_origins=["https://other.example"])
    jane = Visitor.anonymous(client, key)
    assert jane.post("/conversation", json={"prechat": {"name": "Jane"}}).status_code == 200

    # Files within the tenant's limits; over them refused with the reason, nothing stored.
    admin = as_user("admin")
    limits = {"languages": ["en"], "attachment_max_bytes": 1000,
              "attachment_types": ["image/*", "application/pdf"]}  # fmt: skip
    assert admin.put("/api/v1/channels/settings", json=limits).status_code == 200
    assert jane.get().json()["attachment_max_bytes"] == 1000
    upload = lambda data, kind, cid: jane.post(  # noqa: E731
        "/conversation/files", params={"client_id": cid, "filename": "shot.png"},
        content=data, headers={"content-type": kind},
    )  # fmt: skip
    assert upload(b"x" * 2000, "image/png", "file-0001").status_code == 413
    r = upload(b"MZ", "application/x-msdownload", "file-0002")
    assert r.status_code == 415 and "not accepted" in r.json()["detail"]
    r = upload(b"\x89PNG tiny", "image/png", "file-0003")
    assert r.status_code == 201, r.text
    (file,) = r.json()["message"]["attachments"]
    assert file["state"] == "stored" and file["filename"] == "shot.png"
    got = jane.get(f"/conversation/files/{file['id']}")
    assert got.status_code == 200 and got.content == b"\x89PNG tiny"
    # Another visitor of the same widget cannot read it.
    stranger = Visitor.anonymous(client, key)
    assert stranger.get(f"/conversation/files/{file['id']}").status_code == 404

    # Another tenant's widget: Jane's token names nobody there, her file is not there, a
    # signature made for this widget is not valid there, and that widget refuses our site.
    there = Visitor(client, other["id"], {"origin": "https://other.example",
                    "X-Omnidesk-Visitor": jane.headers["X-Omnidesk-Visitor"]})  # fmt: skip
    assert there.get("/conversation").json()["conversation"] is None
    assert there.get(f"/conversation/files/{file['id']}").status_code == 404
    r = Visitor.signed(client, other["id"], "cust-42").get("/conversation")
    assert r.status_code in (401, 403)
    foreign = Visitor(client, other["id"])  # from https://shop.example
    r = foreign.get()
    assert r.status_code == 403 and "may not embed" in r.json()["detail"]
    r = foreign.post("/conversation/messages", json={"client_id": "x-00000001", "text": "hi"})
    assert r.status_code == 403
    unknown = Visitor(client, "00000000-0000-4000-8000-000000000000")
    r = unknown.get()
    assert r.status_code == 404 and "widget" in r.json()["detail"]
    # Nothing reached the other tenant's conversations.
    assert as_user("admin", "other").get("/api/v1/conversations").json() == []

    # CORS: the site's preflight and answers carry its origin.
    client.cookies.clear()
    pre = client.options(
        f"/api/v1/chat/widget/{key}/conversation/messages",
        headers={"origin": "https://shop.example", "access-control-request-method": "POST",
                 "access-control-request-headers": "content-type, x-omnidesk-visitor"},
    )  # fmt: skip
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://shop.example"
    assert "x-omnidesk-visitor" in pre.headers["access-control-allow-headers"]
    assert jane.get().headers["access-control-allow-origin"] == "https://shop.example"

    # Outside business hours (a widget open on no day): offline, and the offline form is
    # stored and routed as a contact marked offline.
    closed = {**WIDGET, "business_hours": {"timezone": "Europe/Riga", "days": {}}}
    assert admin.put(f"/api/v1/channels/accounts/{key}/widget", json=closed).status_code == 200
    late = Visitor.anonymous(client, key)
    assert late.get().json()["online"] is False
    form = {"client_id": "offline-0001", "name": "Olga", "email": "olga@example.com",
            "message": "Please call me back"}  # fmt: skip
    r = late.post("/offline", json=form)
    assert r.status_code == 201, r.text
    assert r.json()["message"]["form"] == "offline" and r.json()["delivery"] == "chat"
    assert late.post("/offline", json=form).json()["duplicate"] is True
    assert late.post("/offline", json={**form, "email": "x"}).status_code == 422
    convs = {c["peer_name"]: c for c in admin.get("/api/v1/conversations").json()}
    contact = admin.get(f"/api/v1/routing/contacts/{convs['Olga']['contact_id']}").json()
    assert contact["attributes"]["offline"] is True
    bad_hours = {**WIDGET, "business_hours": {"timezone": "Mars/Base", "days": {}}}
    assert admin.put(f"/api/v1/channels/accounts/{key}/widget", json=bad_hours).status_code == 422
