"""A real call from a known customer's number: sipp calls from the customer's mobile, the
voice channel resolves the caller through the CRM before the call enters routing, so the
contact carries the customer's attributes (the tier a rule can route on, the open case), the
agent's offer comes with the customer card, and the call lands on the customer's timeline,
linked to the open case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voice_call_helpers import (
    CALLER_HZ,
    PEERS,
    agent1_phone,
    configure,
    finish_sipp,
    kill,
    make_available,
    needs,
    registered,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench import sipp as sipp_scenarios
from omnidesk.bench.sipp import tone_wav
from spine_checks import events_of

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()
CRM = "/api/v1/crm"
MOBILE = "+4915112345678"


def _caller(tmp: Path) -> Path:
    text = sipp_scenarios.caller_scenario(
        tone_wav(tmp / "caller.wav", CALLER_HZ), digits=["1"], dtmf="info", caller=MOBILE
    )
    path = tmp / "caller.xml"
    path.write_text(text)
    return path


async def test_a_customers_call_brings_the_card_and_lands_on_the_timeline(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin, agent1 = as_user("admin"), as_user("agent1")
    configure(admin, ids)
    assert admin.put(f"{CRM}/settings", json={"default_region": "DE"}).status_code == 200
    body: dict[str, Any] = {
        "display_name": "Greta Gold",
        "tier": "gold",
        "language": "de",
        "identities": [{"kind": "phone", "value": "0151 12345678"}],
    }
    greta = admin.post(f"{CRM}/customers", json=body).json()
    case = admin.post(f"{CRM}/cases", json={"customer_id": greta["id"], "title": "Invoice"}).json()
    voice = app.state.voice
    phone = agent1_phone(tmp_path, settings.voice_sip_port)
    await phone.start()
    try:
        await registered(voice, "agent1")
        make_available(as_user, ids, "agent1")
        caller = await start_sipp(tmp_path, _caller(tmp_path), settings.voice_sip_port)
        try:
            await phone.wait_event("CALL_ESTABLISHED", within=40)
            call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
            await _wait(lambda: call.state == "connected", what="the bridge")
            # The contact routing handled carries the customer's attributes.
            contact = admin.get(f"/api/v1/routing/contacts/{call.contact_id}").json()
            assert contact["attributes"]["customer"]["tier"] == "gold", contact
            assert contact["attributes"]["customer"]["open_case_id"] == case["id"]
            # The agent was told the customer with the offer, and can show the card.
            cards = await _wait(
                lambda: events_of(agent1, "offer.customer_card"), what="the offer's card"
            )
            assert len(cards) == 1, cards  # once per offer
            told = cards[0]
            assert told["data"]["customer_id"] == greta["id"]
            assert told["data"]["contact_id"] == call.contact_id
            card = agent1.get(f"{CRM}/contacts/{call.contact_id}/card").json()
            assert card["customer"]["display_name"] == "Greta Gold", card
            assert card["customer"]["identities"][0]["value"] == MOBILE
            assert [c["id"] for c in card["customer"]["open_cases"]] == [case["id"]]
            assert card["case_id"] == case["id"]
            await phone.command("hangup")
            await phone.wait_event("CALL_CLOSED")
            await finish_sipp(caller, tmp_path)
        finally:
            await kill(caller)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await phone.stop()

    # On Greta's timeline: the call, on her case, with its steps from the log. The
    # record is ended by routing's contact_ended, and the call's own end (voice's
    # call_ended) is projected from a later event: wait for both.
    def ended() -> Any:
        items = agent1.get(f"{CRM}/customers/{greta['id']}/timeline").json()["items"]
        calls = [i for i in items if i["kind"] == "interaction"]
        if not calls or calls[0]["interaction"]["state"] != "ended":
            return None
        steps = {s["step"] for s in calls[0]["interaction"]["steps"]}
        return calls if "call_ended" in steps else None

    calls = await _wait(ended, what="the call on the timeline")
    assert len(calls) == 1, calls
    entry = calls[0]
    record = entry["interaction"]
    assert (record["channel"], record["case_id"], record["customer_id"]) == (
        "voice",
        case["id"],
        greta["id"],
    )
    steps = [s["step"] for s in record["steps"]]
    assert {"call_started", "received", "identified", "accepted", "call_ended"} <= set(steps)
    assert record["agent_ids"] == [ids["agent1"]]
