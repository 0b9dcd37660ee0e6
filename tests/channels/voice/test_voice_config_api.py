"""Voice configuration through the API on both databases: CRUD, validation (4xx with a reason
and nothing changed), permissions by role, HA1 correctness, DID uniqueness, flow versions."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from voice_config_helpers import (
    DID,
    DID_2,
    DOMAIN,
    DOMAIN_B,
    FLOW,
    FLOW_2,
    create_flow,
    create_number,
    set_domain,
)

from omnidesk.channels.voice.models import SipCredential, Trunk
from omnidesk.channels.voice.vault import install_key, unseal
from omnidesk.platform.database import SYSTEM
from spine_checks import (
    all_events,
    assert_no_new_events,
    assert_problem,
    audit_entries,
    event_cursor,
    events_of,
)

AUDIO_CAP = 40_000


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # A small audio cap (under the app's body limit) so the voice check itself is what refuses.
    return settings.model_copy(update={"voice_audio_max_bytes": AUDIO_CAP})


def _rows(client: Any, app: Any, model: Any) -> list[Any]:
    async def read() -> list[Any]:
        session = app.state.services.db.session(SYSTEM)
        try:
            return list((await session.scalars(select(model))).all())
        finally:
            await session.close()

    return client.portal.call(read)  # type: ignore[no-any-return]


def _unchanged(admin: Any, before: tuple[int, list[Any]]) -> None:
    assert_no_new_events(admin, before[0])
    assert audit_entries(admin) == before[1]


def _mark(admin: Any) -> tuple[int, list[Any]]:
    return event_cursor(admin), audit_entries(admin)


# --- settings ---------------------------------------------------------------------------------


def test_settings_defaults_update_roles_and_domain_uniqueness(as_user) -> None:
    admin, agent = as_user("admin"), as_user("agent1")
    defaults = agent.get("/api/v1/voice/settings")
    assert defaults.status_code == 200, defaults.text
    assert defaults.json()["sip_domain"] is None and defaults.json()["ring_timeout_s"] == 20

    before = _mark(admin)
    for who in ("agent1", "supervisor"):
        r = as_user(who).put("/api/v1/voice/settings", json={"sip_domain": DOMAIN})
        assert_problem(r, 403, "admin")
    assert_problem(
        admin.put("/api/v1/voice/settings", json={"sip_domain": "nodots"}), 422, "two labels"
    )
    assert_problem(
        admin.put("/api/v1/voice/settings", json={"sip_domain": "a..b"}), 422, "host name"
    )
    assert_problem(admin.put("/api/v1/voice/settings", json={"ring_timeout_s": 1}), 422)
    assert_problem(
        admin.put("/api/v1/voice/settings", json={"default_moh": "missing.wav"}),
        422,
        "missing.wav",
    )
    assert_problem(admin.put("/api/v1/voice/settings", json={"bogus": 1}), 422, "bogus")
    _unchanged(admin, before)

    saved = set_domain(admin, "Voice.Demo.Example.", language="de", ring_timeout_s=30)
    assert saved["sip_domain"] == DOMAIN and saved["language"] == "de"
    assert agent.get("/api/v1/voice/settings").json()["ring_timeout_s"] == 30
    [event] = events_of(admin, "voice.settings_updated")
    assert event["data"]["sip_domain"] == DOMAIN
    assert {"sip_domain", "language", "ring_timeout_s"} <= set(event["data"]["changed"])
    assert audit_entries(admin)[0]["action"] == "voice.settings.set"

    # A SIP domain names exactly one tenant of the install.
    admin_b = as_user("admin", tenant="other")
    before_b = _mark(admin_b)
    r = admin_b.put("/api/v1/voice/settings", json={"sip_domain": DOMAIN})
    assert_problem(r, 409, "another tenant")
    _unchanged(admin_b, before_b)
    assert admin_b.get("/api/v1/voice/settings").json()["sip_domain"] is None
    set_domain(admin_b, DOMAIN_B)


# --- SIP credentials --------------------------------------------------------------------------


def test_sip_credentials_store_only_ha1_and_follow_roles(client, app, as_user, tenants) -> None:
    ids = tenants["demo"].ids
    admin, agent1, agent2 = as_user("admin"), as_user("agent1"), as_user("agent2")
    url = f"/api/v1/voice/agents/{ids['agent1']}/sip"
    secret = "s3cret-Pass:word"
    assert_problem(agent1.put(url, json={"username": "1001", "password": secret}), 409, "domain")
    set_domain(admin)
    before = _mark(admin)
    assert_problem(agent1.put(url, json={"username": "10 01", "password": secret}), 422)
    assert_problem(agent1.put(url, json={"username": "1001", "password": "short"}), 422)
    assert_problem(agent1.put(url, json={"username": "1001"}), 422, "password")
    # Another agent's or (as a supervisor) a team member's password: refused.
    assert_problem(agent2.put(url, json={"username": "1001", "password": secret}), 403)
    assert_problem(
        as_user("supervisor").put(url, json={"username": "1001", "password": secret}), 403
    )
    _unchanged(admin, before)

    r = agent1.put(url, json={"username": "1001", "password": secret})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "user_id": ids["agent1"],
        "username": "1001",
        "set": True,
        "realm": DOMAIN,
        "updated_at": r.json()["updated_at"],
    }
    [row] = _rows(client, app, SipCredential)
    text = f"1001:{DOMAIN}:{secret}".encode()
    assert row.ha1_md5 == hashlib.md5(text).hexdigest()
    assert row.ha1_sha256 == hashlib.sha256(text).hexdigest()
    assert row.realm == DOMAIN
    # The password is nowhere: not in the row, the events, the audit log or any response.
    assert secret not in repr(vars(row))
    assert secret not in json.dumps(all_events(admin)[0]) + json.dumps(audit_entries(admin))
    assert [e["data"] for e in events_of(admin, "voice.sip_credential_set")] == [
        {"user_id": ids["agent1"], "username": "1001"}
    ]

    # Reads: oneself, a supervisor of one's team, an admin; never the HA1.
    for caller in (agent1, as_user("supervisor"), admin):
        got = caller.get(url)
        assert got.status_code == 200 and got.json()["set"] is True, got.text
        assert row.ha1_md5 not in got.text and row.ha1_sha256 not in got.text
    assert_problem(agent2.get(url), 404)

    # Usernames are unique in the domain; the admin may set anyone's.
    url2 = f"/api/v1/voice/agents/{ids['agent2']}/sip"
    before = _mark(admin)
    assert_problem(admin.put(url2, json={"username": "1001", "password": secret}), 409, "taken")
    _unchanged(admin, before)
    assert admin.put(url2, json={"username": "1002", "password": secret}).status_code == 200
    assert agent2.get(url2).json()["username"] == "1002"

    # Removal: oneself or an admin.
    assert_problem(agent2.delete(url), 403)
    assert agent1.delete(url).status_code == 204
    assert agent1.get(url).json() == {"user_id": ids["agent1"], "username": None, "set": False}
    assert_problem(agent1.delete(url), 404)
    assert admin.delete(url2).status_code == 204
    assert _rows(client, app, SipCredential) == []
    assert len(events_of(admin, "voice.sip_credential_removed")) == 2


def test_ha1_matches_the_rfc_2617_example() -> None:
    from omnidesk.channels.voice.vault import ha1

    # RFC 2617 section 3.5: Mufasa / testrealm@host.com / "Circle Of Life".
    md5 = ha1("Mufasa", "testrealm@host.com", "Circle Of Life", "MD5")
    assert md5 == "939e7578ed9e3c518a452acee763bce9"
    sha = ha1("Mufasa", "http-auth@example.org", "Circle of Life", "SHA-256")
    assert sha == hashlib.sha256(b"Mufasa:http-auth@example.org:Circle of Life").hexdigest()


def test_changing_the_domain_needs_consent_to_clear_credentials(client, app, as_user, tenants):
    admin = as_user("admin")
    set_domain(admin)
    url = f"/api/v1/voice/agents/{tenants['demo'].ids['agent1']}/sip"
    assert admin.put(url, json={"username": "1001", "password": "password1"}).status_code == 200
    before = _mark(admin)
    r = admin.put("/api/v1/voice/settings", json={"sip_domain": "new.demo.example"})
    assert_problem(r, 409, "reset_credentials")
    _unchanged(admin, before)
    assert len(_rows(client, app, SipCredential)) == 1
    body = {"sip_domain": "new.demo.example", "reset_credentials": True}
    r = admin.put("/api/v1/voice/settings", json=body)
    assert r.status_code == 200, r.text
    assert _rows(client, app, SipCredential) == []
    assert events_of(admin, "voice.settings_updated")[-1]["data"]["credentials_reset"] == 1


# --- trunks -----------------------------------------------------------------------------------

TRUNK = {
    "name": "carrier",
    "allowed_addresses": ["203.0.113.0/24", "2001:db8::1"],
    "inbound_username": "carrier-in",
    "inbound_password": "inbound-secret",
    "outbound": {
        "host": "sip.Carrier.example",
        "port": 5080,
        "transport": "tcp",
        "username": "acct42",
        "password": "outbound-secret",
    },
    "caller_id": "+493012345600",
}


def test_trunk_crud_validation_and_secrets(client, app, as_user, settings) -> None:
    admin, supervisor, agent = as_user("admin"), as_user("supervisor"), as_user("agent1")
    set_domain(admin)
    before = _mark(admin)
    bad = [
        ({"allowed_addresses": ["203.0.113.1/24"]}, "host bits"),
        ({"allowed_addresses": ["not-an-ip"]}, "not an ip address"),
        ({"allowed_addresses": ["10.0.0.1", "10.0.0.1"]}, "twice"),
        ({"outbound": {"host": "bad host!"}}, "host name"),
        ({"outbound": {"host": "h.example", "transport": "tls"}}, "transport"),
        ({"outbound": {"host": "h.example", "port": 0}}, "port"),
        ({"outbound": {"host": "h.example", "password": "x"}}, "username"),
        ({"caller_id": "12345"}, "e.164"),
        ({"inbound_username": None, "inbound_password": "long-enough"}, "inbound_username"),
    ]
    for change, reason in bad:
        assert_problem(admin.post("/api/v1/voice/trunks", json={**TRUNK, **change}), 422, reason)
    assert_problem(supervisor.post("/api/v1/voice/trunks", json=TRUNK), 403)
    assert_problem(agent.post("/api/v1/voice/trunks", json=TRUNK), 403)
    _unchanged(admin, before)

    r = admin.post("/api/v1/voice/trunks", json=TRUNK)
    assert r.status_code == 201, r.text
    trunk = r.json()
    assert trunk["allowed_addresses"] == ["203.0.113.0/24", "2001:db8::1/128"]
    assert trunk["inbound"] == {"username": "carrier-in", "password_set": True}
    assert trunk["outbound"] == {
        "host": "sip.carrier.example",
        "port": 5080,
        "transport": "tcp",
        "username": "acct42",
        "password_set": True,
    }
    assert_problem(admin.post("/api/v1/voice/trunks", json=TRUNK), 409, "exists")
    # An agent credential may not take the trunk's username (one realm, one namespace).
    url = f"/api/v1/voice/agents/{as_user('admin').get('/api/v1/auth/me').json()['id']}/sip"
    r = admin.put(url, json={"username": "carrier-in", "password": "password1"})
    assert_problem(r, 409, "taken")

    [row] = _rows(client, app, Trunk)
    key = install_key(None, settings.data_dir)
    assert unseal(key, row.outbound_password_sealed) == "outbound-secret"
    assert "outbound-secret" not in row.outbound_password_sealed
    assert (
        row.inbound_ha1_md5
        == hashlib.md5(f"carrier-in:{DOMAIN}:inbound-secret".encode()).hexdigest()
    )
    every = json.dumps([all_events(admin)[0], audit_entries(admin), trunk])
    for secret in (
        "outbound-secret",
        "inbound-secret",
        row.inbound_ha1_md5,
        row.inbound_ha1_sha256,
    ):
        assert secret not in every

    # Reads: staff only.
    assert supervisor.get(f"/api/v1/voice/trunks/{trunk['id']}").json() == trunk
    assert [t["id"] for t in supervisor.get("/api/v1/voice/trunks").json()] == [trunk["id"]]
    assert_problem(agent.get("/api/v1/voice/trunks"), 403)
    assert_problem(agent.get(f"/api/v1/voice/trunks/{trunk['id']}"), 403)

    # Update: passwords left out are kept, null clears; a renamed inbound user needs one.
    update = {k: v for k, v in TRUNK.items() if k != "inbound_password"}
    update["outbound"] = {k: v for k, v in TRUNK["outbound"].items() if k != "password"}
    r = admin.put(f"/api/v1/voice/trunks/{trunk['id']}", json={**update, "name": "carrier-2"})
    assert r.status_code == 200, r.text
    assert r.json()["inbound"]["password_set"] and r.json()["outbound"]["password_set"]
    [row] = _rows(client, app, Trunk)
    assert unseal(key, row.outbound_password_sealed) == "outbound-secret"
    renamed = {**update, "inbound_username": "carrier-x"}
    r = admin.put(f"/api/v1/voice/trunks/{trunk['id']}", json=renamed)
    assert_problem(r, 422, "inbound_password")
    cleared = {**update, "outbound": {**update["outbound"], "password": None}}
    r = admin.put(f"/api/v1/voice/trunks/{trunk['id']}", json=cleared)
    assert r.status_code == 200 and r.json()["outbound"]["password_set"] is False, r.text
    assert [e["data"]["action"] for e in events_of(admin, "voice.trunk_changed")] == [
        "created",
        "updated",
        "updated",
    ]

    assert admin.delete(f"/api/v1/voice/trunks/{trunk['id']}").status_code == 204
    assert_problem(admin.get(f"/api/v1/voice/trunks/{trunk['id']}"), 404)
    assert _rows(client, app, Trunk) == []


# --- numbers and flows ------------------------------------------------------------------------


def test_numbers_are_unique_across_tenants_and_validated(as_user) -> None:
    admin, admin_b = as_user("admin"), as_user("admin", tenant="other")
    flow = create_flow(admin)
    before = _mark(admin)
    for number, reason in (("12345", "e.164"), ("+4930", "valid"), ("+99912345678", "")):
        r = admin.post("/api/v1/voice/numbers", json={"number": number, "flow_id": flow["id"]})
        assert_problem(r, 422, reason)
    r = admin.post("/api/v1/voice/numbers", json={"number": DID, "flow_id": str(uuid.uuid4())})
    assert_problem(r, 422, "flow")
    body = {"number": DID, "flow_id": flow["id"], "trunk_id": str(uuid.uuid4())}
    assert_problem(admin.post("/api/v1/voice/numbers", json=body), 422, "trunk")
    assert_problem(as_user("supervisor").post("/api/v1/voice/numbers", json=body), 403)
    _unchanged(admin, before)

    # Formatting is normalised to E.164.
    number = create_number(admin, "+49 30 1234 5678", flow["id"])
    assert number["number"] == DID
    assert_problem(admin.post("/api/v1/voice/numbers", json={**number, "id": None}), 422)
    r = admin.post("/api/v1/voice/numbers", json={"number": DID, "flow_id": flow["id"]})
    assert_problem(r, 409, "in use")

    # Tenant B cannot take it either, and learns nothing else; nothing changes for B.
    flow_b = create_flow(admin_b)
    before_b = _mark(admin_b)
    r = admin_b.post("/api/v1/voice/numbers", json={"number": DID, "flow_id": flow_b["id"]})
    body_b = assert_problem(r, 409, "in use")
    assert flow["id"] not in json.dumps(body_b) and number["id"] not in json.dumps(body_b)
    _unchanged(admin_b, before_b)
    assert admin_b.get("/api/v1/voice/numbers").json() == []
    other = create_number(admin_b, DID_2, flow_b["id"])
    r = admin.put(
        f"/api/v1/voice/numbers/{number['id']}", json={"number": DID_2, "flow_id": flow["id"]}
    )
    assert_problem(r, 409, "in use")

    # Reads and deletion.
    assert as_user("supervisor").get(f"/api/v1/voice/numbers/{number['id']}").json() == number
    assert_problem(as_user("agent1").get("/api/v1/voice/numbers"), 403)
    assert [n["id"] for n in admin.get("/api/v1/voice/numbers").json()] == [number["id"]]
    assert admin.delete(f"/api/v1/voice/numbers/{number['id']}").status_code == 204
    assert_problem(admin.get(f"/api/v1/voice/numbers/{number['id']}"), 404)
    # Freed: now B may move its DID... and A may use the released one again.
    assert create_number(admin, DID, flow["id"])["number"] == DID
    assert admin_b.get("/api/v1/voice/numbers").json() == [other]


def test_flows_keep_versions_and_a_used_flow_cannot_be_deleted(as_user) -> None:
    admin = as_user("admin")
    before = _mark(admin)
    for definition, reason in (({}, "empty"), ([1], "dictionary"), ("x", "dictionary")):
        r = admin.post("/api/v1/voice/flows", json={"name": "f", "definition": definition})
        assert_problem(r, 422, reason)
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(40):
        cursor["n"] = {}
        cursor = cursor["n"]
    assert_problem(
        admin.post("/api/v1/voice/flows", json={"name": "f", "definition": deep}), 422, "deeper"
    )
    big = {"text": "x" * 300_000}
    assert_problem(
        admin.post("/api/v1/voice/flows", json={"name": "f", "definition": big}), 422, "limited"
    )
    assert_problem(
        as_user("supervisor").post("/api/v1/voice/flows", json={"name": "f", "definition": FLOW}),
        403,
    )
    _unchanged(admin, before)

    flow = create_flow(admin, "welcome", FLOW)
    assert flow["version"] == 1 and flow["definition"] == FLOW
    assert_problem(
        admin.post("/api/v1/voice/flows", json={"name": "welcome", "definition": FLOW}), 409
    )
    url = f"/api/v1/voice/flows/{flow['id']}"
    v2 = admin.put(url, json={"name": "welcome", "definition": FLOW_2, "version": 1})
    assert v2.status_code == 200, v2.text
    assert v2.json()["version"] == 2 and v2.json()["definition"] == FLOW_2
    # The same definition again is no new version (a save without a change piles nothing up).
    again = admin.put(url, json={"name": "welcome-2", "definition": FLOW_2, "version": 2})
    again = again.json()
    assert again["version"] == 2 and again["name"] == "welcome-2"
    assert [v["version"] for v in again["versions"]] == [1, 2]
    old = admin.get(f"{url}/versions/1").json()
    assert old["definition"] == FLOW and old["current"] is False
    assert admin.get(f"{url}/versions/2").json()["current"] is True
    assert_problem(admin.get(f"{url}/versions/3"), 404)
    assert as_user("supervisor").get(url).json()["version"] == 2
    assert_problem(as_user("agent1").get(url), 403)
    assert [f["name"] for f in admin.get("/api/v1/voice/flows").json()] == ["welcome-2"]
    versions = [e["data"]["version"] for e in events_of(admin, "voice.flow_changed")]
    assert versions == [1, 2, 2]

    number = create_number(admin, DID, flow["id"])
    before = _mark(admin)
    assert_problem(admin.delete(url), 409, DID)
    _unchanged(admin, before)
    assert admin.get(url).status_code == 200
    assert admin.delete(f"/api/v1/voice/numbers/{number['id']}").status_code == 204
    assert admin.delete(url).status_code == 204
    assert_problem(admin.get(url), 404)
    assert_problem(admin.get(f"{url}/versions/1"), 404)
