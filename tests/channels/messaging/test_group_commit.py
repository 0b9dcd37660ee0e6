"""Group commit of inbound messages (docs/adr/0034-group-commit-for-inbound-messages.md): messages
of many customers arriving together are stored in shared transactions, each exactly once and in
order per conversation; none is acknowledged, and none of its events published, before its
transaction committed; one bad message never fails the others of its batch. On both databases,
through the conversation service that every digital channel shares."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from test_generic_webhook import account, gateway  # noqa: F401  (fixtures)

from omnidesk.channels.conversations import service as service_module
from omnidesk.channels.conversations.adapter import Account, InboundMessage
from omnidesk.channels.conversations.service import ConversationService, Received
from omnidesk.platform.events import PublishedEvent

WRITER = "conversations-inbound-"


def _message(key: str, customer: int, text: str | None = None) -> InboundMessage:
    return InboundMessage(external_id=key, peer_id=f"+3712{customer:07d}", text=text or key)


async def _as_one_batch(
    service: ConversationService, found: Account, messages: Sequence[InboundMessage]
) -> list[Received | BaseException]:
    """Receive `messages` at once, written as one batch: the writer is held (before its
    transaction's first statement, so holding no lock) on a warm-up message's batch until all
    of them wait behind it; they then make the next batch together."""
    writer = service._inbound
    prepare = writer._prepare
    assert prepare is not None
    held, go = asyncio.Event(), asyncio.Event()

    async def hold(uow: Any, items: Any) -> None:
        if not held.is_set():
            held.set()
            await go.wait()
        await prepare(uow, items)

    writer._prepare = hold
    try:
        warm = asyncio.create_task(service.receive(found, _message("warm-up", 9_999_999)))
        await held.wait()
        tasks = [asyncio.create_task(service.receive(found, m)) for m in messages]
        # The writer's queue has no event to wait for: looked at until all are in it.
        while len(writer._queues.get(found.tenant_id, ())) < len(messages):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        go.set()
        await asyncio.gather(warm, return_exceptions=True)
        return list(await asyncio.gather(*tasks, return_exceptions=True))
    finally:
        writer._prepare = prepare


def _texts(admin: Any) -> dict[str, list[str]]:
    """Each conversation's inbound texts in the order the desk shows them, by customer."""
    out = {}
    for conv in admin.get("/api/v1/conversations", params={"limit": 200}).json():
        messages = admin.get(f"/api/v1/conversations/{conv['id']}/messages").json()
        out[conv["peer_id"]] = [m["text"] for m in messages if m["direction"] == "inbound"]
    return out


def _listen(app: Any) -> tuple[list[PublishedEvent], Any]:
    heard: list[PublishedEvent] = []
    return heard, app.state.services.bus.subscribe(heard.append)


def test_many_customers_at_once_each_message_stored_once_in_order(  # type: ignore[no-untyped-def]
    client,
    app,
    as_user,
    account,  # noqa: F811
) -> None:
    service: ConversationService = app.state.conversations
    customers, each = 12, 4
    heard, subscription = _listen(app)

    async def run() -> list[list[Received]]:
        found = await service.account(uuid.UUID(account["id"]))
        assert found is not None

        async def customer(n: int) -> list[Received]:
            # A customer's messages one after another (a widget, a phone), the customers at once.
            return [
                await service.receive(found, _message(f"m-{n}-{k}", n, f"{n}: message {k}"))
                for k in range(each)
            ]

        return list(await asyncio.gather(*(customer(n) for n in range(customers))))

    try:
        results = client.portal.call(run)
    finally:
        subscription.close()
    # Concurrent messages did share transactions (else this test would not test them).
    assert service._inbound.batches > 0
    stored = [r for rs in results for r in rs]
    assert not any(r.duplicate for r in stored)
    assert len({r.message_id for r in stored}) == customers * each
    # Every message once, in its customer's conversation, in the order it was sent.
    texts = _texts(as_user("admin"))
    assert texts == {
        f"+3712{n:07d}": [f"{n}: message {k}" for k in range(each)] for n in range(customers)
    }
    # Each published once, after its commit: one message_added per message.
    added = [e.payload["message_id"] for e in heard if e.type == "conversation.message_added"]
    assert sorted(added) == sorted(str(r.message_id) for r in stored)


def test_nothing_is_acknowledged_or_published_before_its_commit(  # type: ignore[no-untyped-def]
    client,
    app,
    as_user,
    account,  # noqa: F811
    monkeypatch,
) -> None:
    """The writer's commits fail (the disk, a lost connection): every sender of the batch gets
    the error, each message having been tried once more alone; nothing is stored, no event is
    published. Once commits work again, the same messages are stored."""
    service: ConversationService = app.state.conversations
    commit = AsyncSession.commit

    async def failing(self: AsyncSession) -> None:
        task = asyncio.current_task()
        if task is not None and task.get_name().startswith(WRITER):
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        await commit(self)

    monkeypatch.setattr(AsyncSession, "commit", failing)
    heard, subscription = _listen(app)
    messages = [_message(f"f-{n}", n) for n in range(5)]

    async def run() -> list[Received | BaseException]:
        found = await service.account(uuid.UUID(account["id"]))
        assert found is not None
        return await _as_one_batch(service, found, messages)

    try:
        results = client.portal.call(run)
    finally:
        subscription.close()
    assert all(isinstance(r, OperationalError) for r in results), results
    assert [e.type for e in heard if e.type.startswith("conversation.")] == []
    assert _texts(as_user("admin")) == {}

    monkeypatch.undo()
    results = client.portal.call(run)
    assert not any(isinstance(r, BaseException) for r in results), results
    assert _texts(as_user("admin")) == {
        **{f"+3712{n:07d}": [f"f-{n}"] for n in range(5)},
        "+37129999999": ["warm-up"],
    }


def test_a_bad_message_does_not_fail_its_batch_mates(  # type: ignore[no-untyped-def]
    client,
    app,
    as_user,
    account,  # noqa: F811
    monkeypatch,
) -> None:
    """In one batch: a message whose write fails (a bug, a row the database refuses), a
    redelivery racing its original, and good messages. The bad one's sender gets its error;
    the redelivery is stored once; every other message is stored."""
    service: ConversationService = app.state.conversations
    inbound_row = service_module._inbound_row

    def bad_row(conv: Any, account: Any, message: InboundMessage, content: Any) -> Any:
        if message.text == "poison":
            raise ValueError("a row this message cannot be stored as")
        return inbound_row(conv, account, message, content)

    monkeypatch.setattr(service_module, "_inbound_row", bad_row)
    good = [_message(f"g-{n}", n) for n in range(4)]
    messages = [good[0], good[1], _message("p-1", 7, "poison"), good[2], good[3], good[1]]

    async def run() -> list[Received | BaseException]:
        found = await service.account(uuid.UUID(account["id"]))
        assert found is not None
        return await _as_one_batch(service, found, messages)

    heard, subscription = _listen(app)
    try:
        results = client.portal.call(run)
    finally:
        subscription.close()
    first, second, poison, third, fourth, again = results
    assert isinstance(poison, ValueError)
    for r in (first, second, third, fourth, again):
        assert isinstance(r, Received), r
    assert isinstance(second, Received) and isinstance(again, Received)
    # The same provider id twice: stored once, the other answered as a duplicate of it.
    assert sorted([second.duplicate, again.duplicate]) == [False, True]
    assert second.message_id == again.message_id
    texts = _texts(as_user("admin"))
    assert texts == {
        **{f"+3712{n:07d}": [f"g-{n}"] for n in range(4)},
        "+37129999999": ["warm-up"],
    }
    added = [e.payload["message_id"] for e in heard if e.type == "conversation.message_added"]
    assert len(added) == len(set(added)) == 5  # the warm-up and the four good ones


@pytest.fixture(autouse=True)
def _no_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "SWEEP_SECONDS", 3600.0)
