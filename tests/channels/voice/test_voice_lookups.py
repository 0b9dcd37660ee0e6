"""The call layer's lookups (cached, invalidated by committed events) and the sealing vault."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
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
    upload,
    wav_bytes,
)

from omnidesk.channels.voice.audio import AudioStore
from omnidesk.channels.voice.lookups import VoiceLookups
from omnidesk.channels.voice.vault import SealError, install_key, seal, unseal
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.tenancy import tenant_by_slug


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lookups(app, client, settings):  # type: ignore[no-untyped-def]
    services = app.state.services
    key = install_key(None, settings.data_dir)
    found = VoiceLookups(
        services.db,
        services.bus,
        sealing_key=key,
        audio=AudioStore(settings.data_dir),
        clock=Clock(),
    )
    found.start()
    yield found
    found.close()


def _call(client: Any, fn: Any, *args: Any) -> Any:
    return client.portal.call(fn, *args)


def _tenant(client: Any, app: Any, slug: str) -> uuid.UUID:
    async def find() -> uuid.UUID:
        session = app.state.services.db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, slug)
            assert tenant is not None
            return tenant.id
        finally:
            await session.close()

    return client.portal.call(find)  # type: ignore[no-any-return]


def _trunk(admin: Any, name: str, addresses: list[str], **extra: Any) -> dict[str, Any]:
    body = {"name": name, "allowed_addresses": addresses, **extra}
    r = admin.post("/api/v1/voice/trunks", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_domain_and_credentials_follow_changes(client, app, as_user, tenants, lookups) -> None:
    admin = as_user("admin")
    tenant_a = _tenant(client, app, "demo")
    assert _call(client, lookups.tenant_for_domain, DOMAIN) is None
    set_domain(admin)
    # Invalidated by the settings event: no stale "unknown domain" is served.
    assert _call(client, lookups.tenant_for_domain, "Voice.Demo.Example.") == tenant_a
    assert _call(client, lookups.tenant_for_domain, DOMAIN_B) is None

    agent1 = tenants["demo"].ids["agent1"]
    url = f"/api/v1/voice/agents/{agent1}/sip"
    assert admin.put(url, json={"username": "1001", "password": "password1"}).status_code == 200
    text = f"1001:{DOMAIN}:password1".encode()
    assert _call(client, lookups.ha1_for, tenant_a, "1001", "MD5") == hashlib.md5(text).hexdigest()
    sha = _call(client, lookups.ha1_for, tenant_a, "1001", "SHA-256")
    assert sha == hashlib.sha256(text).hexdigest()
    account = _call(client, lookups.sip_account, tenant_a, "1001")
    assert str(account.user_id) == agent1 and account.realm == DOMAIN
    # Another tenant's id never finds it.
    other = uuid.uuid4()
    assert _call(client, lookups.ha1_for, other, "1001", "MD5") is None

    # Cached: asking again costs no query; a change (here: a deactivated user) is seen.
    queries = lookups.queries
    _call(client, lookups.ha1_for, tenant_a, "1001", "MD5")
    assert lookups.queries == queries
    r = admin.patch(f"/api/v1/users/{agent1}", json={"active": False})
    assert r.status_code == 200, r.text
    assert _call(client, lookups.ha1_for, tenant_a, "1001", "MD5") is None
    admin.patch(f"/api/v1/users/{agent1}", json={"active": True})
    assert admin.delete(url).status_code == 204
    assert _call(client, lookups.sip_account, tenant_a, "1001") is None


def test_trunks_by_source_numbers_flows_and_policies(client, app, as_user, lookups) -> None:
    admin, admin_b = as_user("admin"), as_user("admin", tenant="other")
    tenant_a = _tenant(client, app, "demo")
    tenant_b = _tenant(client, app, "other")
    set_domain(admin)
    set_domain(admin_b, DOMAIN_B)
    wide = _trunk(
        admin,
        "wide",
        ["198.51.100.0/24"],
        outbound={"host": "sip.example.com", "username": "u", "password": "carrier-pw"},
    )
    narrow = _trunk(admin, "narrow", ["198.51.100.7"])
    shared_b = _trunk(admin_b, "carrier", ["198.51.100.0/24"])

    found = _call(client, lookups.trunk_for_source, "198.51.100.7")
    assert found is not None and str(found[1].id) == narrow["id"] and found[0] == tenant_a
    assert _call(client, lookups.trunk_for_source, "192.0.2.1") is None
    assert _call(client, lookups.trunk_for_source, "garbage") is None
    # Two tenants allow the same /24: the dialled number decides; without one, nobody.
    assert _call(client, lookups.trunk_for_source, "198.51.100.9") is None
    flow = create_flow(admin, "a", FLOW)
    flow_b = create_flow(admin_b, "b", FLOW_2)
    create_number(admin, DID, flow["id"], trunk_id=wide["id"])
    create_number(admin_b, DID_2, flow_b["id"])
    tenant, trunk = _call(client, lookups.trunk_for_source, "198.51.100.9", DID)
    assert (tenant, str(trunk.id)) == (tenant_a, wide["id"])
    tenant, trunk = _call(client, lookups.trunk_for_source, "198.51.100.9", DID_2)
    assert (tenant, str(trunk.id)) == (tenant_b, shared_b["id"])
    password = _call(client, lookups.outbound_password, tenant_a, uuid.UUID(wide["id"]))
    assert password == "carrier-pw"
    assert _call(client, lookups.outbound_password, tenant_b, uuid.UUID(wide["id"])) is None

    # A DID gives its tenant and the flow's current version; a new version is seen at once.
    assert _call(client, lookups.flow_for_number, DID) == (tenant_a, FLOW)
    assert _call(client, lookups.flow_for_number, DID_2) == (tenant_b, FLOW_2)
    assert _call(client, lookups.flow_for_number, "+15550000000") is None
    r = admin.put(
        f"/api/v1/voice/flows/{flow['id']}", json={"name": "a", "definition": FLOW_2, "version": 1}
    )
    assert r.status_code == 200
    assert _call(client, lookups.flow_for_number, DID) == (tenant_a, FLOW_2)
    assert _call(client, lookups.number_route, DID).flow_version == 2

    # Queue policies: defaults until set.
    assert (
        admin.post(
            "/api/v1/routing/queues", json={"id": "support", "channels": ["voice"]}
        ).status_code
        == 201
    )
    policy = _call(client, lookups.queue_policy, tenant_a, "support")
    assert policy.configured is False and policy.record == "always"
    r = admin.put("/api/v1/voice/queues/support/policy", json={"record": "never"})
    assert r.status_code == 200, r.text
    policy = _call(client, lookups.queue_policy, tenant_a, "support")
    assert policy.configured is True and policy.record == "never"
    assert _call(client, lookups.queue_policy, tenant_b, "support").configured is False

    assert upload(admin, "moh.wav", wav_bytes()).status_code == 201
    path = _call(client, lookups.audio_path, tenant_a, "moh.wav")
    assert path is not None and path.read_bytes() == wav_bytes()
    assert _call(client, lookups.audio_path, tenant_b, "moh.wav") is None
    # A flow names it without ".wav" ({wav: moh}, moh: moh), as the flow check accepts.
    assert _call(client, lookups.audio_path, tenant_a, "moh") == path


def test_entries_expire_without_an_event(client, app, as_user, lookups) -> None:
    admin = as_user("admin")
    tenant_a = _tenant(client, app, "demo")
    set_domain(admin)
    assert _call(client, lookups.tenant_for_domain, DOMAIN) == tenant_a
    lookups.close()  # from now on no event reaches it, as after a change made by hand
    set_domain(admin, "moved.demo.example")
    assert _call(client, lookups.tenant_for_domain, DOMAIN) == tenant_a  # cached
    lookups.clock.now += lookups.ttl_seconds + 1
    assert _call(client, lookups.tenant_for_domain, DOMAIN) is None


def test_sealing_round_trip_and_tamper_detection(tmp_path) -> None:
    key = install_key(None, tmp_path)
    assert install_key(None, tmp_path) == key  # the key file is made once, then read
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temp file left behind
    sealed = seal(key, "pässword")
    assert sealed.startswith("v2:") and "pässword" not in sealed
    assert sealed != seal(key, "pässword")  # a fresh nonce each time
    assert unseal(key, sealed) == "pässword"
    with pytest.raises(SealError):
        unseal(install_key("another key", tmp_path), sealed)
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SealError):
        unseal(key, tampered)
    for bad in ("v9:abc", "v1:" + sealed[3:], "v2:", "v2:" + sealed[3:20], "v2:ä"):
        with pytest.raises(SealError):
            unseal(key, bad)
    assert install_key("shared", tmp_path) == install_key("shared", tmp_path / "elsewhere")


def test_sealed_format_is_aes_gcm_under_an_hkdf_key(tmp_path) -> None:
    # Opened here with the library directly: the format is the documented one, not only
    # whatever seal() and unseal() happen to agree on.
    key = install_key("a long shared secret for the cluster", tmp_path)
    raw = base64.urlsafe_b64decode(seal(key, "outbound-secret").removeprefix("v2:"))
    aes = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"omnidesk/voice/vault",
        info=b"omnidesk voice seal v2 aes-256-gcm",
    ).derive(key)
    plain = AESGCM(aes).decrypt(raw[:12], raw[12:], b"omnidesk-voice-seal:v2")
    assert plain == b"outbound-secret"
    forged = AESGCM(aes).encrypt(b"\0" * 12, b"forged", b"other associated data")
    with pytest.raises(SealError):
        unseal(key, "v2:" + base64.urlsafe_b64encode(b"\0" * 12 + forged).decode())
