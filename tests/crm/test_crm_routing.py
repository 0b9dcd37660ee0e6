"""The CRM in routing: wrap-up dispositions, customer attributes on arriving contacts, the
last agent preferred, the customer card with the offer, repeat contacts; on both databases."""

from __future__ import annotations

from typing import Any

from crm_helpers import API, customer, setup_crm, tenant_of
from sqlalchemy import delete, update

from omnidesk.crm.models import Interaction, ProjectionCursor, TimelineEntry

ROUTING = "/api/v1/routing"
QUEUE = {
    "id": "support",
    "channels": ["chat", "voice", "email", "messaging"],
    "name": "Support",
    "steps": [{"target": None}],
    "offer_timeout_seconds": 600,
}
GOLD = {
    **QUEUE,
    "id": "gold",
    "name": "Gold",
    "steps": [{"target": 'contact.customer.tier == "gold"'}],
    "disposition_required": True,
}


def _settle(client: Any, app: Any) -> None:
    client.portal.call(app.state.crm.settled)


def _setup(as_user: Any, ids: dict[str, str]) -> Any:
    admin = as_user("admin")
    setup_crm(admin)
    for queue in (QUEUE, GOLD):
        r = admin.post(f"{ROUTING}/queues", json=queue)
        assert r.status_code == 201, r.text
    for agent in ("agent1", "agent2"):
        r = admin.put(
            f"{ROUTING}/agents/{ids[agent]}",
            json={
                "queues": {"support": 1, "gold": 1},
                "capacity": {"chat": 3, "voice": 1, "messaging": 2, "email": 2},
            },
        )
        assert r.status_code == 200, r.text
    for code, resolved, category in (("solved", True, "support"), ("callback", False, None)):
        r = admin.post(
            f"{API}/dispositions",
            json={"code": code, "label": code.title(), "resolved": resolved, "category": category},
        )
        assert r.status_code == 201, r.text
    return admin


def _available(as_user: Any, ids: dict[str, str], *agents: str) -> None:
    for agent in agents:
        r = as_user(agent).post(f"{ROUTING}/agents/{ids[agent]}/state", json={"state": "available"})
        assert r.status_code == 200, r.text


def _arrive(
    admin: Any, contact_id: str, queue: str = "support", channel: str = "chat", **body: Any
) -> Any:
    r = admin.post(
        f"{ROUTING}/contacts",
        json={"queue_id": queue, "channel": channel, "contact_id": contact_id, **body},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _handle(agent: Any, view: dict[str, Any]) -> None:
    offer = view["offer_id"].replace("#", "%23")
    assert agent.post(f"{ROUTING}/offers/{offer}/accept").status_code == 200
    assert agent.post(f"{ROUTING}/contacts/{view['contact_id']}/end").status_code == 200


def test_dispositions_are_the_tenants_codes_and_land_on_the_record(
    client, app, as_user, tenants
) -> None:
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    agent = as_user("agent1")
    # Defining codes: admins only; a duplicate is 409; a bad code 422; retiring keeps it.
    assert agent.post(f"{API}/dispositions", json={"code": "x", "label": "X"}).status_code == 403
    assert (
        admin.post(f"{API}/dispositions", json={"code": "solved", "label": "S"}).status_code == 409
    )
    r = admin.post(f"{API}/dispositions", json={"code": "Bad Code", "label": "X"})
    assert r.status_code == 422
    r = admin.post(f"{API}/dispositions", json={"code": "spam", "label": "Spam"})
    assert r.status_code == 201
    r = admin.patch(f"{API}/dispositions/spam", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert [d["code"] for d in agent.get(f"{API}/dispositions").json()] == [
        "callback",
        "solved",
        "spam",
    ]
    # Another tenant has none of them.
    assert as_user("admin", "other").get(f"{API}/dispositions").json() == []

    anna = customer(agent, "Anna Gold", ("email", "anna@example.com"), tier="gold")
    _available(as_user, ids, "agent1")
    view = _arrive(admin, "g1", "gold", customer={"kind": "email", "value": "ANNA@example.com"})
    assert view["agent_id"] == ids["agent1"], view  # the gold rule matched her contact
    _handle(agent, view)
    end = f"{ROUTING}/wrap-ups/g1/end"
    # The gold queue requires a disposition; unknown and retired codes are refused.
    r = agent.post(end, json={})
    assert r.status_code == 422 and r.json()["code"] == "disposition_required", r.text
    r = agent.post(end, json={"disposition": "nonsense"})
    assert r.status_code == 422 and r.json()["field"] == "disposition", r.text
    assert agent.post(end, json={"disposition": "spam"}).status_code == 422
    r = agent.post(end, json={"disposition": "solved", "note": "Reset the router."})
    assert r.status_code == 200, r.text
    _settle(client, app)
    record = agent.get(f"{API}/interactions", params={"contact_id": "g1"}).json()[0]
    expected = {
        "customer_id": anna["id"],
        "disposition": "solved",
        "disposition_note": "Reset the router.",
        "resolved": True,
        "disposition_category": "support",
    }
    assert {k: record[k] for k in expected} == expected
    items = agent.get(f"{API}/customers/{anna['id']}/timeline").json()["items"]
    assert [i["kind"] for i in items] == ["disposition", "interaction"]
    assert items[0]["data"]["code"] == "solved" and items[0]["data"]["resolved"] is True

    # From the event log: rebuilt from scratch (a new database of records), the same.
    tenant_id = tenant_of(client, app)
    services = app.state.services

    async def rebuild() -> None:
        session = services.db.session(tenant_id)
        try:
            await session.execute(
                delete(TimelineEntry).where(TimelineEntry.ref_type == "interaction")
            )
            await session.execute(delete(Interaction))
            await session.execute(update(ProjectionCursor).values(last_seq=0))
            await session.commit()
        finally:
            await session.close()
        await app.state.crm.follower.catch_up(tenant_id)

    client.portal.call(rebuild)
    again = agent.get(f"{API}/interactions", params={"contact_id": "g1"}).json()[0]
    assert {k: again[k] for k in expected} == expected
    items = agent.get(f"{API}/customers/{anna['id']}/timeline").json()["items"]
    assert [i["kind"] for i in items] == ["disposition", "interaction"]


def test_a_returning_customer_with_an_open_case_prefers_the_last_agent(
    client, app, as_user, tenants
) -> None:
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    agent1, agent2 = as_user("agent1"), as_user("agent2")
    r = admin.put(
        f"{API}/settings",
        json={"default_region": "DE", "prefer_last_agent_seconds": 600, "repeat_window_days": 7},
    )
    assert r.status_code == 200 and r.json()["prefer_last_agent_seconds"] == 600
    bob = customer(agent1, "Bob Berg", ("phone", "030 5550101"), language="de", vip=True)
    case = agent1.post(f"{API}/cases", json={"customer_id": bob["id"], "title": "Router"}).json()
    _available(as_user, ids, "agent2")
    first = _arrive(admin, "b1", customer={"kind": "phone", "value": "+49 30 5550101"})
    assert first["agent_id"] == ids["agent2"]
    attributes = first["attributes"]
    assert attributes["customer"] == {
        "id": bob["id"],
        "tier": None,
        "vip": True,
        "language": "de",
        "tags": [],
        "open_case_id": case["id"],
        "last_agent_id": None,
        "repeat": False,
    }
    assert attributes["language"] == "de"  # the customer's, as the channel gave none
    _handle(agent2, first)
    assert agent2.post(f"{ROUTING}/wrap-ups/b1/end", json={}).status_code == 200
    _settle(client, app)
    record = agent1.get(f"{API}/interactions", params={"contact_id": "b1"}).json()[0]
    assert (record["customer_id"], record["case_id"], record["repeat"]) == (
        bob["id"],
        case["id"],
        False,
    )

    # Back again: agent1 is free too, but the case's last agent is reserved for the contact.
    _available(as_user, ids, "agent1")
    assert (
        as_user("agent2")
        .post(f"{ROUTING}/agents/{ids['agent2']}/state", json={"state": "away", "reason": "break"})
        .status_code
        == 200
    )
    second = _arrive(admin, "b2", customer={"kind": "phone", "value": "0305550101"})
    assert second["state"] == "waiting" and second["agent_id"] is None, second
    assert second["attributes"]["customer"]["last_agent_id"] == ids["agent2"]
    assert second["attributes"]["customer"]["repeat"] is True
    _available(as_user, ids, "agent2")
    view = admin.get(f"{ROUTING}/contacts/b2").json()
    assert view["agent_id"] == ids["agent2"], view
    _settle(client, app)
    record = agent1.get(f"{API}/interactions", params={"contact_id": "b2"}).json()[0]
    assert record["repeat"] is True and record["case_id"] == case["id"]
    first_record = agent1.get(f"{API}/interactions", params={"contact_id": "b1"}).json()[0]
    assert record["repeat_of"] == first_record["id"]

    # Without a case, the same reason within the window makes a repeat; another reason not.
    eve = customer(agent1, "Eve Early", ("email", "eve@example.com"))
    for contact_id, reason in (("r1", "billing"), ("r2", "delivery"), ("r3", "billing")):
        _arrive(
            admin, contact_id, customer={"customer_id": eve["id"]}, attributes={"reason": reason}
        )
        _settle(client, app)  # each is on record before the next arrives
    found = {
        r["contact_id"]: r
        for r in agent1.get(f"{API}/interactions", params={"customer_id": eve["id"]}).json()
    }
    assert [found[c]["repeat"] for c in ("r1", "r2", "r3")] == [False, False, True]
    assert found["r3"]["repeat_of"] == found["r1"]["id"] and found["r3"]["reason"] == "billing"

    # A routing contact with a bad identity is refused with the field; nothing enters routing.
    r = admin.post(
        f"{ROUTING}/contacts",
        json={
            "queue_id": "support",
            "channel": "chat",
            "contact_id": "bad",
            "customer": {"kind": "phone", "value": "12"},
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "customer.value", r.text
    assert admin.get(f"{ROUTING}/contacts/bad").status_code == 404
    r = admin.post(
        f"{ROUTING}/contacts",
        json={"queue_id": "support", "channel": "chat", "customer": {"kind": "phone"}},
    )
    assert r.status_code == 422


def test_the_offer_tells_the_agent_the_customer_card(client, app, as_user, tenants) -> None:
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    agent = as_user("agent1")
    cleo = customer(
        agent, "Cleo Park", ("email", "cleo@example.com"), ("phone", "030 7777777"), language="en"
    )
    r = agent.put(
        f"{API}/customers/{cleo['id']}/consent", json={"recording": True, "source": "call"}
    )
    assert r.status_code == 200, r.text
    case = agent.post(f"{API}/cases", json={"customer_id": cleo["id"], "title": "Refund"}).json()
    _available(as_user, ids, "agent1")
    # An earlier contact, handled and dispositioned.
    earlier = _arrive(
        admin, "k1", customer={"customer_id": cleo["id"]}, attributes={"reason": "refund"}
    )
    _handle(agent, earlier)
    assert (
        agent.post(f"{ROUTING}/wrap-ups/k1/end", json={"disposition": "callback"}).status_code
        == 200
    )
    _settle(client, app)
    with client.websocket_connect(
        "/api/v1/realtime", headers={"cookie": f"omnidesk_session={agent.cookie}"}
    ) as ws:
        ws.send_json({"type": "register", "last_event_id": None})
        assert ws.receive_json()["type"] == "snapshot"
        view = _arrive(admin, "k2", customer={"kind": "email", "value": "cleo@example.com"})
        assert view["agent_id"] == ids["agent1"]
        card_event = None
        while card_event is None:
            message = ws.receive_json()
            if message["type"] == "event" and message["event"] == "offer.customer_card":
                card_event = message["data"]
        assert card_event["offer_id"] == view["offer_id"]
        assert card_event["customer_id"] == cleo["id"] and card_event["case_id"] == case["id"]
        assert card_event["repeat"] is True  # the same case within the window
        assert "Cleo" not in str(card_event)  # ids only in the log
    card = agent.get(f"{API}/contacts/k2/card").json()
    assert card["repeat"] is True and card["case_id"] == case["id"]
    shown = card["customer"]
    assert shown["display_name"] == "Cleo Park" and shown["language"] == "en"
    assert sorted(i["kind"] for i in shown["identities"]) == ["email", "phone"]
    assert [c["id"] for c in shown["open_cases"]] == [case["id"]]
    assert [c["disposition"] for c in shown["last_contacts"]] == ["callback"]
    assert shown["consent"]["recording"]["value"] is True
    assert agent.get(f"{API}/contacts/nobody/card").status_code == 404


def test_one_customer_writes_calls_and_emails_one_case_one_timeline(
    client, app, as_user, tenants
) -> None:
    """Messaging, then a call, then an email (by the API until the channels exist)."""
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    agent = as_user("agent1")
    _available(as_user, ids, "agent1")
    whatsapp = {"kind": "messaging", "provider": "whatsapp", "value": "4915112345678"}
    first = _arrive(admin, "m1", channel="messaging", customer=whatsapp)
    who = first["attributes"]["customer"]
    assert who["open_case_id"] is None and who["repeat"] is False
    _settle(client, app)
    # The agent learns who it is: name, phone and email, and opens a case for the matter.
    record = agent.get(f"{API}/interactions", params={"contact_id": "m1"}).json()[0]
    me = record["customer_id"]
    assert me == who["id"]
    assert (
        agent.patch(f"{API}/customers/{me}", json={"display_name": "Dana Diaz"}).status_code == 200
    )
    for kind, value in (("phone", "+4915112345678"), ("email", "dana@example.com")):
        r = agent.post(f"{API}/customers/{me}/identities", json={"kind": kind, "value": value})
        assert r.status_code == 201, r.text
    case = agent.post(f"{API}/cases", json={"customer_id": me, "title": "Late order"}).json()
    r = agent.put(f"{API}/interactions/{record['id']}/case", json={"case_id": case["id"]})
    assert r.status_code == 200
    _handle(agent, first)
    agent.post(f"{ROUTING}/wrap-ups/m1/end", json={"disposition": "callback"})
    # She calls: the same customer, and the contact joins her open case.
    call = _arrive(
        admin, "v1", channel="voice", customer={"kind": "phone", "value": "0151 12345678"}
    )
    assert call["attributes"]["customer"]["id"] == me
    assert call["attributes"]["customer"]["open_case_id"] == case["id"]
    assert call["agent_id"] == ids["agent1"]
    _handle(agent, call)
    agent.post(f"{ROUTING}/wrap-ups/v1/end", json={"disposition": "callback"})
    # Then she emails.
    mail = _arrive(
        admin, "e1", channel="email", customer={"kind": "email", "value": "Dana@Example.com"}
    )
    assert mail["attributes"]["customer"]["id"] == me
    _handle(agent, mail)
    agent.post(f"{ROUTING}/wrap-ups/e1/end", json={"disposition": "solved"})
    _settle(client, app)

    records = {
        r["contact_id"]: r
        for r in agent.get(f"{API}/interactions", params={"customer_id": me}).json()
    }
    assert set(records) == {"m1", "v1", "e1"}
    assert {r["case_id"] for r in records.values()} == {case["id"]}
    assert [records[c]["repeat"] for c in ("m1", "v1", "e1")] == [False, True, True]
    assert records["e1"]["resolved"] is True
    assert [c["id"] for c in agent.get(f"{API}/cases", params={"customer_id": me}).json()] == [
        case["id"]
    ]
    items = agent.get(f"{API}/customers/{me}/timeline").json()["items"]
    channels = [i["interaction"]["channel"] for i in items if i["kind"] == "interaction"]
    assert channels == ["email", "voice", "messaging"]
    assert sum(1 for i in items if i["kind"] == "disposition") == 3
    # Searching her by any of them finds the one customer.
    for q in ("dana@example.com", "0151 12345678", "Dana Diaz", case["number"]):
        assert [
            c["id"] for c in agent.get(f"{API}/customers", params={"q": q}).json()["results"]
        ] == [me]
