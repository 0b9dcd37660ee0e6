"""Erasure reaches every place a customer's personal data lands, not only the CRM's tables:
the routing log and events (wrap-up and transfer notes), voice's call records and events
(numbers), and the conversation store (messages, names, addresses, attachment files). Checked
the blunt way: after the erasure, no row of any table holds any of the customer's values."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

from crm_helpers import API, customer, setup_crm, tenant_of
from sqlalchemy import select, text
from test_crm_interactions import _catch_up, _record

from omnidesk.channels.messaging.signature import sign
from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.models import Call
from omnidesk.platform.database import Base, utcnow

ROUTING = "/api/v1/routing"
SECRET = "gateway-shared-secret-0123456789"
QUEUE = {
    "id": "support",
    "channels": ["chat", "messaging", "voice"],
    "name": "Support",
    "steps": [{"target": None}],
}
# The customer's values: none may survive the erasure anywhere.
NAME = "Zebulon Quaxley"
PHONE = "+49305550199"
EMAIL = "zeb.quaxley@example.org"
WRAP_NOTE = "Zebulon asked to reset the router WRAPNOTE"
TRANSFER_NOTE = "caller is upset TRANSFERNOTE"
MESSAGE = "Hi, my IBAN is DE00 MSGSECRET 1234"
ATTACHMENT = b"%PDF-1.4 ATTACHSECRET"
PERSONAL = ("Zebulon", "Quaxley", "5550199", "zeb.quaxley", "WRAPNOTE", "TRANSFERNOTE",
            "MSGSECRET", "statement-zq.pdf")  # fmt: skip


def _setup(as_user: Any, ids: dict[str, str]) -> Any:
    admin = as_user("admin")
    setup_crm(admin)
    assert admin.post(f"{ROUTING}/queues", json=QUEUE).status_code == 201
    for agent in ("agent1", "agent2"):
        r = admin.put(
            f"{ROUTING}/agents/{ids[agent]}",
            json={"queues": {"support": 1}, "capacity": {"chat": 1, "messaging": 1, "voice": 1}},
        )
        assert r.status_code == 200, r.text
    return admin


def _available(as_user: Any, ids: dict[str, str], agent: str) -> None:
    r = as_user(agent).post(f"{ROUTING}/agents/{ids[agent]}/state", json={"state": "available"})
    assert r.status_code == 200, r.text


def _accept(user: Any, offer_id: str) -> None:
    r = user.post(f"{ROUTING}/offers/{offer_id.replace('#', '%23')}/accept")
    assert r.status_code == 200, r.text


def _every_row(client: Any, app: Any) -> list[tuple[str, str]]:
    """(table, the row as text) of every row of every table: a leak shows wherever it is."""
    db = app.state.services.db

    async def go() -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        async with db.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in await conn.execute(text(f'SELECT * FROM "{table.name}"')):
                    rows.append((table.name, json.dumps([str(v) for v in row])))
        return rows

    return client.portal.call(go)  # type: ignore[no-any-return]


def test_erasure_leaves_no_personal_value_in_any_table(client, app, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    agent1, agent2 = as_user("agent1"), as_user("agent2")
    tenant_id = tenant_of(client, app)
    zeb = customer(
        admin, NAME, ("phone", "030 5550199"), ("email", EMAIL), fields={"contract_no": "ZQ-1"}
    )
    r = admin.post(
        f"{API}/customers/{zeb['id']}/identities",
        json={"kind": "messaging", "provider": "sms-gw", "value": PHONE},
    )
    assert r.status_code in (200, 201), r.text

    # A chat: offered to agent1, transferred to agent2 with a note, wrapped up with a note.
    _available(as_user, ids, "agent1")
    r = admin.post(
        f"{ROUTING}/contacts",
        json={
            "queue_id": "support",
            "channel": "chat",
            "contact_id": "zq-chat",
            "customer": {"kind": "email", "value": EMAIL},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["agent_id"] == ids["agent1"], r.text
    _accept(agent1, r.json()["offer_id"])
    _available(as_user, ids, "agent2")
    r = agent1.post(
        f"{ROUTING}/contacts/zq-chat/transfer",
        json={"target_kind": "agent", "target": ids["agent2"], "note": TRANSFER_NOTE},
    )
    assert r.status_code == 200, r.text
    offer = agent2.get(f"{ROUTING}/contacts/zq-chat").json()["offer_id"]
    _accept(agent2, offer)
    assert agent2.post(f"{ROUTING}/contacts/zq-chat/end").status_code == 200
    r = agent2.post(f"{ROUTING}/wrap-ups/zq-chat/end", json={"note": WRAP_NOTE})
    assert r.status_code == 200, r.text

    # A call: its record (CDR) and its events hold the number.
    started = utcnow() - timedelta(minutes=5)

    async def cdr() -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            session.add(
                Call(
                    tenant_id=tenant_id, call_id="zq-call", direction="inbound",
                    from_uri=f"sip:{PHONE}@trunk.example", to_uri="sip:100@pbx",
                    number="100", started_at=started, ended_at=started + timedelta(minutes=1),
                )
            )  # fmt: skip
            await session.commit()
        finally:
            await session.close()

    client.portal.call(cdr)
    _record(
        client,
        app,
        tenant_id,
        ev.CallStarted(call_id="zq-call", direction="inbound", caller=PHONE, callee="100"),
        ev.CallEnded(
            call_id="zq-call", direction="inbound", caller=PHONE, callee="100", contact_id=None,
            agent_id=None, started_at=started, connected_at=None,
            ended_at=started + timedelta(minutes=1), reason="caller_hangup",
        ),
    )  # fmt: skip

    # A message with an attachment through a signed webhook account, and an agent's note.
    r = admin.post(
        "/api/v1/channels/accounts",
        json={
            "kind": "webhook", "name": "SMS", "provider": "sms-gw", "queue_id": "support",
            "outbound_url": "http://127.0.0.1:9/never", "secret": SECRET,
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    account = r.json()
    raw = json.dumps(
        {
            "messages": [
                {
                    "id": "zq-m1", "from": PHONE, "name": NAME, "text": MESSAGE,
                    "attachments": [{
                        "filename": "statement-zq.pdf", "content_type": "application/pdf",
                        "data": base64.b64encode(ATTACHMENT).decode(),
                    }],
                }
            ]
        }
    ).encode()  # fmt: skip
    client.cookies.clear()
    r = client.post(
        account["webhook_url"],
        content=raw,
        headers={"content-type": "application/json", "X-Omnidesk-Signature": sign(SECRET, raw)},
    )
    assert r.status_code == 200, r.text
    (conv,) = admin.get("/api/v1/conversations").json()
    assert conv["customer_id"] == zeb["id"], conv
    r = admin.post(f"/api/v1/conversations/{conv['id']}/notes", json={"text": "Zebulon again"})
    assert r.status_code == 201, r.text
    _catch_up(client, app, tenant_id)

    before = _every_row(client, app)
    for value in PERSONAL:  # the test sees each value before: it would see a leak after
        assert any(value.lower() in row.lower() for _, row in before), value
    data_dir = app.state.services.settings.data_dir
    files = [p for p in data_dir.rglob("*") if p.is_file() and p.read_bytes() == ATTACHMENT]
    assert files, "the attachment is stored as a file"

    r = admin.post(f"{API}/customers/{zeb['id']}/erase")
    assert r.status_code == 200, r.text
    erased = r.json()
    assert erased["conversations"] == 1 and erased["calls"] == 1, erased

    leaks = sorted(
        {(table, value) for table, row in _every_row(client, app) for value in PERSONAL
         if value.lower() in row.lower()}
    )  # fmt: skip
    assert leaks == [], "\n".join(map(str, leaks))
    assert not any(p.exists() for p in files)
    # What is not personal stays: the contacts still count, with their queue and times.
    (chat,) = admin.get(f"{API}/interactions", params={"contact_id": "zq-chat"}).json()
    assert chat["queue_ids"] == ["support"] and chat["ended_at"] is not None
    assert admin.get(f"/api/v1/conversations/{conv['id']}").status_code == 200

    async def calls() -> list[Call]:
        session = app.state.services.db.session(tenant_id)
        try:
            return list(await session.scalars(select(Call)))
        finally:
            await session.close()

    (call,) = client.portal.call(calls)
    assert call.started_at is not None and call.number == "100"
    assert uuid.UUID(zeb["id"])  # the id stays: aggregates and the audit trail refer to it


def test_retention_takes_the_content_everywhere_and_keeps_the_customer(
    client, app, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = _setup(as_user, ids)
    agent1 = as_user("agent1")
    tenant_id = tenant_of(client, app)
    zeb = customer(admin, NAME, ("email", EMAIL))
    r = admin.post(
        f"{API}/customers/{zeb['id']}/identities",
        json={"kind": "messaging", "provider": "sms-gw", "value": PHONE},
    )
    assert r.status_code in (200, 201), r.text
    _available(as_user, ids, "agent1")
    r = admin.post(
        f"{ROUTING}/contacts",
        json={"queue_id": "support", "channel": "chat", "contact_id": "old-chat",
              "customer": {"kind": "email", "value": EMAIL}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    _accept(agent1, r.json()["offer_id"])
    assert agent1.post(f"{ROUTING}/contacts/old-chat/end").status_code == 200
    r = agent1.post(f"{ROUTING}/wrap-ups/old-chat/end", json={"note": WRAP_NOTE})
    assert r.status_code == 200, r.text
    r = admin.post(
        "/api/v1/channels/accounts",
        json={
            "kind": "webhook", "name": "SMS", "provider": "sms-gw", "queue_id": "support",
            "outbound_url": "http://127.0.0.1:9/never", "secret": SECRET,
        },
    )  # fmt: skip
    account = r.json()
    raw = json.dumps(
        {"messages": [{"id": "old-m1", "from": PHONE, "text": MESSAGE, "attachments": [{
            "filename": "statement-zq.pdf", "content_type": "application/pdf",
            "data": base64.b64encode(ATTACHMENT).decode()}]}]}
    ).encode()  # fmt: skip
    client.cookies.clear()
    r = client.post(
        account["webhook_url"],
        content=raw,
        headers={"content-type": "application/json", "X-Omnidesk-Signature": sign(SECRET, raw)},
    )
    assert r.status_code == 200, r.text
    _catch_up(client, app, tenant_id)
    content = ("WRAPNOTE", "MSGSECRET", "statement-zq.pdf")
    rows = _every_row(client, app)
    assert all(any(v.lower() in row.lower() for _, row in rows) for v in content)
    files = [
        p
        for p in app.state.services.settings.data_dir.rglob("*")
        if p.is_file() and p.read_bytes() == ATTACHMENT
    ]
    assert files

    assert admin.put(f"{API}/settings", json={"retention_days": 30}).status_code == 200
    runtime = app.state.crm
    assert client.portal.call(runtime.run_once, utcnow() + timedelta(days=29)) == {}
    assert [v for _, row in _every_row(client, app) for v in content if v.lower() in row.lower()]
    assert client.portal.call(runtime.run_once, utcnow() + timedelta(days=31)) == {tenant_id: 1}

    leaks = sorted(
        {(t, v) for t, row in _every_row(client, app) for v in content if v.lower() in row.lower()}
    )
    assert leaks == [], leaks
    assert not any(p.exists() for p in files)
    # The customer is not erased by retention: who they are stays, what was said goes.
    assert admin.get(f"{API}/customers/{zeb['id']}").json()["display_name"] == NAME
    (conv,) = admin.get("/api/v1/conversations").json()
    (message,) = admin.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    assert message["text"] is None and message["direction"] == "inbound"
