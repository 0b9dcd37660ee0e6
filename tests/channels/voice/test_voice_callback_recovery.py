"""A callback waiting in line survives a restart of the voice server (callbacks.py, recovery.py):
the new server takes it back from routing's contact and the asking call's `callback` step, and
rings the agent when routing offers it — at once if the offer outlived the old server.

No softphone is registered here, so each ring fails at once and the server rejects the offer
with reason "not_registered": that routing event is how these tests see that a ring was tried.
The ring and the dialling with real peers are covered by tests/e2e/voice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from voice_config_helpers import voice_tenant

from omnidesk.bench.voice_testbed import SipAgent, voice_settings
from omnidesk.channels.voice.callbacks import Callback
from omnidesk.channels.voice.calls import VoiceCall
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.wiring import start_voice, stop_voice
from omnidesk.directory.models import User
from omnidesk.platform.database import SYSTEM
from omnidesk.routing.api import AcceptOffer
from spine_checks import all_events

DID = "+493012345678"
CUSTOMER = "+49 30 555 01234"  # as a caller might key it: stored normalised
CUSTOMER_E164 = "+493055501234"


@pytest.fixture(name="settings")
def _voice_on(settings: Any) -> Any:
    return settings.model_copy(update=voice_settings())


def _setup(as_user: Any, tenants: Any) -> dict[str, str]:
    ids: dict[str, str] = tenants["demo"].ids
    voice_tenant(as_user("admin"), (SipAgent(ids["agent1"], "agent1", "agent1-sip-secret"),))
    return ids


async def _tenant(app: Any, user_id: str) -> uuid.UUID:
    session = app.state.services.db.session(SYSTEM)
    try:
        found = await session.scalar(select(User.tenant_id).where(User.id == uuid.UUID(user_id)))
    finally:
        await session.close()
    assert found is not None
    return found


async def _ask_for_callback(app: Any, tenant_id: uuid.UUID, attributes: dict[str, Any]) -> str:
    """A call in the IVR asks for a callback through the real CallbackDesk.register."""
    voice = app.state.voice
    # register never touches the caller's SIP dialog or media leg when the caller is not
    # waiting in a queue (keep_place off), so this call needs neither.
    call = VoiceCall(
        tenant_id=tenant_id,
        sip=None,  # type: ignore[arg-type]
        leg=None,  # type: ignore[arg-type]
        caller=CUSTOMER_E164,
        number=DID,
        trunk_id=None,
    )
    call.attributes.update(attributes)
    cb = await voice.callbacks.register(call, ivr.OfferCallback(number=CUSTOMER, queue="support"))
    assert cb is not None
    return str(cb.id)


async def _restart(settings: Any, app: Any) -> list[Callback]:
    await stop_voice(app.state.voice)
    app.state.voice = await start_voice(settings, app.state.services, app.state.routing)
    recovered: list[Callback] = await asyncio.wait_for(app.state.voice.callbacks_recovered, 20)
    return recovered


async def _stop(app: Any) -> None:
    await stop_voice(app.state.voice)
    app.state.voice = None  # the app's shutdown stops only a server that runs


async def _start(settings: Any, app: Any) -> list[Callback]:
    app.state.voice = await start_voice(settings, app.state.services, app.state.routing)
    recovered: list[Callback] = await asyncio.wait_for(app.state.voice.callbacks_recovered, 20)
    return recovered


def _routing_events(admin: Any, kind: str, contact_id: str) -> list[dict[str, Any]]:
    events, _ = all_events(admin)
    return [
        e["data"]
        for e in events
        if e["event"] == kind and e["data"].get("contact_id") == contact_id
    ]


def _wait_for(check: Any, what: str, within: float = 15.0) -> Any:
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


def test_waiting_callback_is_taken_back_and_rings_when_offered(
    app, client, tenants, as_user, settings
):  # type: ignore[no-untyped-def]
    ids = _setup(as_user, tenants)
    admin = as_user("admin")
    tenant_id = client.portal.call(_tenant, app, ids["admin"])
    attributes = {"lang": "de", "vip": True, "tries": 2, "ivr": {"not": "plain"}}
    cid = client.portal.call(_ask_for_callback, app, tenant_id, attributes)
    assert cid.startswith("callback-")
    [asked] = [
        e["data"]
        for e in all_events(admin)[0]
        if e["event"] == "voice.call_state_changed" and e["data"]["state"] == "callback"
    ]
    assert cid == f"callback-{asked['call_id']}"  # the contact leads back to its call

    recovered = client.portal.call(_restart, settings, app)

    voice = app.state.voice
    assert [cb.id for cb in recovered] == [cid]
    cb = voice.callbacks.pending[cid]
    assert (cb.number, cb.queue_id, cb.call_id, cb.state) == (
        CUSTOMER_E164,
        "support",
        asked["call_id"],
        "waiting",
    )
    assert cb.tenant_id == tenant_id
    # The plain attributes, as register gave routing (the nested one is not carried).
    assert cb.attributes == {
        "lang": "de",
        "vip": True,
        "tries": 2,
        "callback_number": CUSTOMER_E164,
        "callback_for": asked["call_id"],
    }
    contact = admin.get(f"/api/v1/routing/contacts/{cid}").json()
    assert contact["state"] == "waiting"

    # Offered now: the new server rings agent1 (who has no softphone registered: 480).
    r = as_user("agent1").post(
        f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    [rejected] = _wait_for(
        lambda: _routing_events(admin, "routing.offer_rejected", cid), "the ring to fail"
    )
    assert rejected["agent_id"] == ids["agent1"] and rejected["reason"] == "not_registered"

    # Back in line after the failed ring, it is taken back again by the next start.
    recovered = client.portal.call(_restart, settings, app)
    assert [cb.id for cb in recovered] == [cid]


def test_offer_that_outlived_the_server_rings_at_once(app, client, tenants, as_user, settings):  # type: ignore[no-untyped-def]
    ids = _setup(as_user, tenants)
    admin = as_user("admin")
    tenant_id = client.portal.call(_tenant, app, ids["admin"])
    cid = client.portal.call(_ask_for_callback, app, tenant_id, {})
    client.portal.call(_stop, app)

    # Routing offers the callback while no voice server runs: nothing rings.
    r = as_user("agent1").post(
        f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    contact = admin.get(f"/api/v1/routing/contacts/{cid}").json()
    assert contact["state"] == "offered" and contact["agent_id"] == ids["agent1"]
    [offer] = _routing_events(admin, "routing.offer_created", cid)
    assert _routing_events(admin, "routing.offer_rejected", cid) == []

    recovered = client.portal.call(_start, settings, app)

    assert [cb.id for cb in recovered] == [cid]
    # Rung at once for the surviving offer (well before its 60 s timeout), not left to hang.
    [rejected] = _wait_for(
        lambda: _routing_events(admin, "routing.offer_rejected", cid), "the ring to fail"
    )
    assert rejected["offer_id"] == offer["offer_id"] and rejected["reason"] == "not_registered"
    assert app.state.voice.callbacks.pending[cid].state == "waiting"  # back in line, pending


async def _accept(app: Any, tenant_id: uuid.UUID, offer_id: str, agent_id: str) -> None:
    await app.state.routing.execute(tenant_id, AcceptOffer(offer_id, agent_id))


def test_callback_connected_when_the_server_died_is_left_to_the_agent(
    app, client, tenants, as_user, settings
):  # type: ignore[no-untyped-def]
    ids = _setup(as_user, tenants)
    admin = as_user("admin")
    tenant_id = client.portal.call(_tenant, app, ids["admin"])
    cid = client.portal.call(_ask_for_callback, app, tenant_id, {})
    client.portal.call(_stop, app)
    r = as_user("agent1").post(
        f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    [offer] = _routing_events(admin, "routing.offer_created", cid)
    # As the old server did on the agent's answer, just before dialling the customer.
    client.portal.call(_accept, app, tenant_id, offer["offer_id"], ids["agent1"])

    recovered = client.portal.call(_start, settings, app)

    # That call is gone; ringing the agent again for a contact they hold would be wrong.
    assert recovered == [] and cid not in app.state.voice.callbacks.pending
    contact = admin.get(f"/api/v1/routing/contacts/{cid}").json()
    assert contact["state"] == "active" and contact["agent_id"] == ids["agent1"]


def test_callback_requested_outside_a_call_is_taken_back_too(
    app, client, tenants, as_user, settings
):  # type: ignore[no-untyped-def]
    """A channel switch's callback (`request_callback`: no asking call) is recovered from its
    request's `callback` step like an IVR's."""
    ids = _setup(as_user, tenants)
    tenant_id = client.portal.call(_tenant, app, ids["admin"])
    r = as_user("agent1").post(
        "/api/v1/crm/customers",
        json={"display_name": "Anna", "identities": [{"kind": "phone", "value": CUSTOMER_E164}]},
    )
    assert r.status_code == 201, r.text

    async def ask() -> str:
        return await app.state.voice.request_callback(  # type: ignore[no-any-return]
            tenant_id,
            CUSTOMER_E164,
            "support",
            customer_id=uuid.UUID(r.json()["id"]),
            attributes={"switched_from": "chat-1"},
        )

    cid = client.portal.call(ask)
    assert cid.startswith("callback-req-")
    recovered = client.portal.call(_restart, settings, app)
    assert [cb.id for cb in recovered] == [cid]
    cb = app.state.voice.callbacks.pending[cid]
    assert (cb.number, cb.queue_id, cb.state) == (CUSTOMER_E164, "support", "waiting")
    assert cb.attributes["switched_from"] == "chat-1"
