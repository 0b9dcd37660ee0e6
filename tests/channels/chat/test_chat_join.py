"""A visitor's message joining a contact that an agent works (the path of every message after a
chat's first): stored with its event in one transaction, with no CRM resolve and no attachment
lookup, and on the agent's socket; sent again, it is stored once and nothing is written."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from test_chat_widget import Visitor, widget  # noqa: F401  (the fixture)


class Transactions:
    """The statements each asyncio task sent, and the transactions it committed (with their
    statements), while `watching`."""

    def __init__(self) -> None:
        self.open: dict[int, list[str]] = {}  # by connection
        self.committed: dict[str, list[list[str]]] = {}  # by task name
        self.sent: dict[str, list[str]] = {}

    @staticmethod
    def _task() -> str:
        task = asyncio.current_task()
        return task.get_name() if task is not None else "(none)"

    def statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        text = " ".join(statement.split())
        self.open.setdefault(id(conn), []).append(text)
        self.sent.setdefault(self._task(), []).append(text)

    def commit(self, conn: Any) -> None:
        done = self.open.pop(id(conn), [])
        self.committed.setdefault(self._task(), []).append(done)

    def rollback(self, conn: Any) -> None:
        self.open.pop(id(conn), None)

    def request(self) -> str:
        """The task of the visitor's request: the one that looked for the message by its id."""
        (task,) = {
            task
            for task, statements in self.sent.items()
            if any("conversation_messages.external_id = " in s for s in statements)
        }
        return task

    def writer(self) -> str:
        """The task that wrote inbound messages (group commit: one per tenant, ADR 0034)."""
        (task,) = {t for t in self.sent if t.startswith("conversations-inbound-")}
        return task

    @contextmanager
    def watching(self, app: Any) -> Iterator[Transactions]:
        engine = app.state.services.db.engine.sync_engine
        hooks = (
            ("before_cursor_execute", self.statement),
            ("commit", self.commit),
            ("rollback", self.rollback),
        )
        for name, hook in hooks:
            event.listen(engine, name, hook)
        try:
            yield self
        finally:
            for name, hook in hooks:
                event.remove(engine, name, hook)


def _until_added(ws: Any, message_id: str) -> dict[str, Any]:
    while True:
        message = ws.receive_json()
        added = message.get("event") == "conversation.message_added"
        if added and message["data"]["message_id"] == message_id:
            return message


def test_a_message_joining_a_worked_contact_is_one_transaction(  # type: ignore[no-untyped-def]
    client,
    app,
    as_user,
    tenants,
    widget,  # noqa: F811
) -> None:
    agent_id = tenants["demo"].ids["agent1"]
    agent = as_user("agent1")
    state = agent.post(f"/api/v1/routing/agents/{agent_id}/state", json={"state": "available"})
    assert state.status_code == 200, state.text
    browser = Visitor.anonymous(client, widget["id"])
    started = browser.post("/conversation", json={"prechat": {"name": "Jane"}})
    assert started.status_code == 200, started.text
    (conv,) = agent.get("/api/v1/conversations").json()
    offer = agent.get(f"/api/v1/routing/contacts/{conv['contact_id']}").json()["offer_id"]
    accepted = agent.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept")
    assert accepted.status_code == 200, accepted.text

    hello = {"client_id": "join-0001-abcdef", "text": "Hello, where is my parcel?"}
    with agent.websocket() as desk:
        desk.send_json({"type": "register", "last_event_id": None})
        assert desk.receive_json()["type"] == "snapshot"
        with Transactions().watching(app) as seen:
            sent = browser.post("/conversation/messages", json=hello)
            assert sent.status_code == 201, sent.text
            message = sent.json()["message"]
            added = _until_added(desk, message["id"])
        # The agent working the contact hears of it, on the conversation's current round.
        assert added["data"]["contact_id"] == conv["contact_id"]
        assert added["data"]["direction"] == "inbound"

        request, writer = seen.request(), seen.writer()
        # The request writes nothing itself: its message's batch is written by the tenant's
        # inbound writer, one transaction (here a batch of one): the message and its event.
        assert seen.committed.get(request, []) == []
        (stored,) = seen.committed[writer]
        assert any(s.startswith("INSERT INTO conversation_messages") for s in stored)
        assert any(s.startswith("INSERT INTO events") for s in stored)
        assert any(s.startswith("UPDATE event_sequences") for s in stored)
        statements = " ".join(seen.sent[request] + seen.sent[writer])
        assert "crm_identities" not in statements and "crm_customers" not in statements
        assert "conversation_attachments" not in statements  # no media to fetch

        # The widget's retry of the same message: the stored one, nothing written.
        with Transactions().watching(app) as again:
            retry = browser.post("/conversation/messages", json=hello)
        assert retry.status_code == 201 and retry.json()["duplicate"] is True
        assert retry.json()["message"]["id"] == message["id"]
        assert again.committed.get(again.request(), []) == []
    texts = [m["text"] for m in browser.get("/conversation").json()["messages"]]
    assert texts.count(hello["text"]) == 1
    # The answer showed the message as stored: the same view the history reads back.
    assert browser.get("/conversation").json()["messages"][-1] == message
