"""Export, erasure (with the recordings) and retention, on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

from crm_helpers import API, customer, search, setup_crm, tenant_of
from sqlalchemy import select
from test_crm_interactions import _catch_up, _record, _routing

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.models import Recording
from omnidesk.platform.audit import AuditEntry
from omnidesk.platform.database import utcnow


def _recording(client, app, tenant_id: uuid.UUID) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """A stored call recording: its row and its file under data_dir."""
    data_dir = app.state.services.settings.data_dir
    path = data_dir / "voice" / "recordings" / str(tenant_id) / "call-7.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVE")
    row_id = uuid.uuid4()

    async def go() -> None:
        session = app.state.services.db.session(tenant_id)
        try:
            session.add(
                Recording(
                    id=row_id,
                    tenant_id=tenant_id,
                    contact_id="call-7",
                    state="complete",
                    path=str(path.relative_to(data_dir)),
                )
            )
            await session.commit()
        finally:
            await session.close()

    client.portal.call(go)
    return str(row_id), path


def test_export_then_erase_removes_personal_data_and_recordings(client, app, as_user) -> None:
    setup_crm(as_user("admin"))
    agent, admin = as_user("agent1"), as_user("admin")
    tenant_id = tenant_of(client, app)
    c = customer(agent, "Greta Privat", ("phone", "030 7654321"), fields={"contract_no": "X1"})
    agent.post(f"{API}/customers/{c['id']}/notes", json={"body": "lives at Hauptstr. 1"})
    case = agent.post(
        f"{API}/cases", json={"customer_id": c["id"], "title": "Greta's order"}
    ).json()
    recording, path = _recording(client, app, tenant_id)
    _record(
        client,
        app,
        tenant_id,
        ev.CallStarted(call_id="call-7", direction="inbound", caller="+49307654321", callee=None),
        ev.RecordingSaved(
            call_id="call-7",
            recording_id=recording,
            contact_id=None,
            seconds=1.0,
            sha256="x",
            complete=True,
        ),
    )
    _catch_up(client, app, tenant_id)
    assert agent.get(f"{API}/customers/{c['id']}/export").status_code == 403
    exported = admin.get(f"{API}/customers/{c['id']}/export").json()
    assert exported["customer"]["display_name"] == "Greta Privat"
    assert exported["recordings"] == [
        {"id": recording, "url": f"/api/v1/voice/recordings/{recording}/audio"}
    ]
    assert [n["body"] for n in exported["notes"]] == ["lives at Hauptstr. 1"]
    assert {i["kind"] for i in exported["timeline"]} >= {"note", "case_created", "interaction"}
    r = admin.post(f"{API}/customers/{c['id']}/erase")
    assert r.status_code == 200, r.text
    assert r.json()["recordings"] == 1 and r.json()["identities"] == 1
    assert not path.exists()
    gone = admin.get(f"{API}/customers/{c['id']}").json()
    assert gone["status"] == "erased" and gone["display_name"] is None
    assert gone["identities"] == [] and gone["fields"] == {}
    assert admin.get(f"{API}/cases/{case['id']}").json()["title"] == "[erased]"
    after = admin.get(f"{API}/customers/{c['id']}/export").json()
    assert [n["body"] for n in after["notes"]] == [None] and after["recordings"] == []
    assert len(after["interactions"]) == 1  # the contact still counts, without its content
    assert search(admin, q="greta privat") == [] and search(admin, phone="030 7654321") == []
    assert admin.post(f"{API}/customers/{c['id']}/erase").status_code == 409

    async def audited() -> list[AuditEntry]:
        session = app.state.services.db.session(tenant_id)
        try:
            rows = await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "crm.customer.erase")
            )
            recordings = await session.scalars(select(Recording))
            assert list(recordings) == []
            return list(rows)
        finally:
            await session.close()

    (entry,) = client.portal.call(audited)
    assert entry.details["recordings"] == 1 and "Greta" not in str(entry.details)


def test_retention_purges_ended_contacts_content_on_schedule(client, app, as_user, tenants) -> None:
    admin = _routing(as_user, tenants["demo"].ids)
    tenant_id = tenant_of(client, app)
    r = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": "support", "channel": "chat", "contact_id": "old"},
    )
    assert r.status_code == 201
    assert admin.delete("/api/v1/routing/contacts/old").status_code == 204
    _catch_up(client, app, tenant_id)
    (record,) = admin.get(f"{API}/interactions", params={"contact_id": "old"}).json()
    assert record["state"] == "ended"
    c = customer(admin, "Old Timer")
    admin.put(f"{API}/interactions/{record['id']}/customer", json={"customer_id": c["id"]})
    note = admin.post(
        f"{API}/customers/{c['id']}/notes", json={"body": "secret", "interaction_id": record["id"]}
    ).json()
    runtime = app.state.crm
    assert (
        client.portal.call(runtime.run_once, utcnow() + timedelta(days=400)) == {}
    )  # no retention set
    assert admin.put(f"{API}/settings", json={"retention_days": 30}).status_code == 200
    assert client.portal.call(runtime.run_once, utcnow() + timedelta(days=29)) == {}
    assert client.portal.call(runtime.run_once, utcnow() + timedelta(days=31)) == {tenant_id: 1}
    purged = admin.get(f"{API}/interactions/{record['id']}").json()
    assert purged["content_purged_at"] is not None
    timeline = admin.get(f"{API}/customers/{c['id']}/timeline").json()["items"]
    assert [i["note"]["body"] for i in timeline if i["kind"] == "note"] == [None]
    assert note["body"] == "secret"
