"""One conversation has at most one open round: a message arriving while its new round waits to
be handed to routing (refused and left `routing_pending` for the sweep, or in the moment between
the round's transaction and routing taking it) joins that round instead of opening another
routing contact. On both databases."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from test_generic_webhook import account, deliver, gateway  # noqa: F401  (fixtures)

from omnidesk.channels.conversations import service as service_module
from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.adapter import InboundMessage
from omnidesk.routing.api import RoutingError

CUSTOMER = "+37120000042"


def _rounds_in_routing(admin: Any, conv: dict[str, Any]) -> list[str]:
    """The conversation's rounds that routing holds a contact for (rounds 1-3 looked at)."""
    conv_id = uuid.UUID(conv["id"])
    ids = [store.round_contact_id(conv_id, n) for n in (1, 2, 3)]
    return [c for c in ids if admin.get(f"/api/v1/routing/contacts/{c}").status_code == 200]


def test_a_message_while_the_round_is_refused_joins_it(  # type: ignore[no-untyped-def]
    client,
    app,
    as_user,
    account,  # noqa: F811
    monkeypatch,
) -> None:
    admin, agent = as_user("admin"), as_user("agent1")
    routing = app.state.conversations.routing

    async def refused(*args: Any, **kw: Any) -> Any:
        raise RoutingError("queue sms is gone", code="unknown_queue")

    # Routing refuses the round (as when its queue was removed): the message is stored, the
    # round left pending for the sweep.
    monkeypatch.setattr(routing, "arrive", refused)
    first = {"id": "r-1", "from": CUSTOMER, "text": "My parcel has not arrived"}
    assert deliver(client, account, {"messages": [first]}).status_code == 200
    (conv,) = admin.get("/api/v1/conversations").json()
    assert conv["rounds"] == 1 and _rounds_in_routing(admin, conv) == []

    # The customer writes again before the sweep hands the round over: it joins the round.
    again = {"id": "r-2", "from": CUSTOMER, "text": "Hello?"}
    assert deliver(client, account, {"messages": [again]}).status_code == 200
    (now,) = admin.get("/api/v1/conversations").json()
    assert now["rounds"] == 1 and now["contact_id"] == conv["contact_id"]

    # Routing takes rounds again: the sweep hands the one round over, both messages on it.
    monkeypatch.undo()
    client.portal.call(app.state.conversations.sweep)
    assert _rounds_in_routing(admin, now) == [conv["contact_id"]]
    messages = agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    texts = [m["text"] for m in messages if m["kind"] == "message"]
    assert texts == ["My parcel has not arrived", "Hello?"]


def test_a_message_while_the_round_is_handed_over_joins_it(  # type: ignore[no-untyped-def]
    client,
    app,
    as_user,
    account,  # noqa: F811
    monkeypatch,
) -> None:
    """The second message of a new conversation arrives after the first one's transaction
    opened the round and before routing took it (made certain by delivering it from inside
    routing's `arrive`)."""
    admin, agent = as_user("admin"), as_user("agent1")
    service = app.state.conversations
    account_id = uuid.UUID(account["id"])
    arrive = service.routing.arrive
    during: list[Any] = []
    started: list[str] = []

    async def second_message_first(tenant_id: Any, command: Any, *args: Any, **kw: Any) -> Any:
        if not started:  # only the first message's hand-over (a second round would call again)
            started.append(command.contact_id)
            found = await service.account(account_id)
            message = InboundMessage(external_id="h-2", peer_id=CUSTOMER, text="Hello?")
            during.append(await service.receive(found, message))
        return await arrive(tenant_id, command, *args, **kw)

    monkeypatch.setattr(service.routing, "arrive", second_message_first)
    first = {"id": "h-1", "from": CUSTOMER, "text": "My parcel has not arrived"}
    assert deliver(client, account, {"messages": [first]}).status_code == 200
    monkeypatch.undo()

    (conv,) = agent.get("/api/v1/conversations").json()
    (joined,) = during
    assert not joined.duplicate and joined.conversation_id == uuid.UUID(conv["id"])
    # One round, one routing contact: the second message waits on the first one's round.
    assert conv["rounds"] == 1 and joined.contact_id == conv["contact_id"]
    assert _rounds_in_routing(admin, conv) == [conv["contact_id"]]
    messages = agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    assert [m["text"] for m in messages] == ["My parcel has not arrived", "Hello?"]


@pytest.fixture(autouse=True)
def _no_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the test runs the sweep after its start (the background one, on its period,
    could hand the pending round over)."""
    monkeypatch.setattr(service_module, "SWEEP_SECONDS", 3600.0)
