"""Consult (attended transfer) edge cases, end to end, on test_voice_transfers' set-up: sipp is
the customer (600 Hz) talking to agent1's baresip (A, 1000 Hz); agent2's baresip (B, 1500 Hz)
is the consultant.

- the customer hangs up while A consults B (B talking to A, or B's phone still ringing): B's
  phone is released, both agents end up available in routing, the call's record is written;
- B does not answer within `voice_ring_timeout_seconds`: the consult ends by itself, B stays
  available (a consult not taken leaves no missed state), A has the customer back;
- A cancels the consult while B's phone rings: the same, and B can be consulted again.

Who hears whom is read from the agents' dumps and the recording (whose right channel is what
the customer hears once a consult starts)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
import test_voice_transfers as transfers_tests
from test_voice_transfers import A, B, C, connected_call, in_order, runs
from voice_call_helpers import (
    PEERS,
    caller_scenario,
    db_rows,
    needs,
    read_wav,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.models import Recording as RecordingRow
from spine_checks import all_events

pytestmark = needs(*PEERS)
RING_S = 4.0  # short, so that an unanswered consult gives up within the test
settings = voice_settings_fixture(voice_ring_timeout_seconds=RING_S)
SILENT = frozenset[float]()  # a window with none of the three tones: hold music or silence

# The customer's side of test_voice_transfers' caller scenario, once connected, normally waits
# for Omnidesk's BYE. For a customer who hangs up at a moment the test chooses, it waits for an
# OPTIONS instead (the test's cue, sent to sipp in the call's dialog), answers it, and sends
# the BYE itself.
HANG_UP_ON_CUE = """<recv request="OPTIONS" timeout="60000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 10 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""


def customer_hangs_up_on_cue(monkeypatch: pytest.MonkeyPatch) -> None:
    """connected_call's caller, but hanging up on `cue_hangup` instead of waiting for a BYE."""

    def scenario(tmp: Path, **kw: Any) -> Path:
        path = caller_scenario(tmp, **kw)
        text = path.read_text()
        path.write_text(text[: text.index('<recv request="BYE"')] + HANG_UP_ON_CUE)
        return path

    monkeypatch.setattr(transfers_tests, "caller_scenario", scenario)


def cue_hangup(call: Any) -> None:
    """Send sipp the OPTIONS it waits for: an in-dialog request of the customer's call, as if
    from Omnidesk's side of the dialog (sipp finds the call by its Call-ID)."""
    dialog, peer = call.sip.dialog, call.sip.source
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        message = (
            f"OPTIONS sip:caller@{peer.host}:{peer.port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-cue-{dialog.local_tag}\r\n"
            f"From: <sip:omnidesk@127.0.0.1>;tag={dialog.local_tag}\r\n"
            f"To: <sip:caller@{peer.host}>;tag={dialog.remote_tag}\r\n"
            f"Call-ID: {dialog.call_id}\r\n"
            "CSeq: 900 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(message.encode(), (peer.host, peer.port))


def routing_state(as_user: Any, ids: dict[str, Any], who: str) -> str:
    r = as_user("admin").get(f"/api/v1/routing/agents/{ids[who]}")
    assert r.status_code == 200, r.text
    state: str = r.json()["status"]["state"]
    return state


def what_the_customer_heard(client: Any, app: Any, settings: Any) -> list[frozenset[float]]:
    [rec] = db_rows(client, app, RecordingRow)
    samples, channels = read_wav(settings.data_dir / rec.path)
    assert channels == 2
    return runs(samples[:, 1])


def consult_outcomes(admin: Any) -> list[tuple[str | None, str]]:
    events, _ = all_events(admin)
    return [
        (e["data"]["consultant_id"], e["data"]["outcome"])
        for e in events
        if e["event"] == "routing.consult_ended"
    ]


@pytest.mark.parametrize("consultant", ["talking", "ringing"])
async def test_customer_hangs_up_during_a_consult(
    consultant: str,
    app: Any,
    client: Any,
    tenants: Any,
    as_user: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customer_hangs_up_on_cue(monkeypatch)
    async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
        ids, mine = s.ids, as_user("agent1")
        if consultant == "ringing":
            assert (await s.agent2.command("answermode", "manual")).get("ok"), s.agent2.events
        r = mine.post(f"{s.url}/consult", json={"target": "agent", "id": ids["agent2"]})
        assert r.status_code == 200, r.text
        if consultant == "talking":
            await s.agent2.wait_event("CALL_ESTABLISHED", within=30)
            await _wait(lambda: s.call.consult is not None and s.call.consult.answered, what="B")
            await asyncio.sleep(1.5)  # A and B talk; the customer hears music
        else:
            await s.agent2.wait_event("CALL_INCOMING", within=30)
        assert s.call.state == "consulting"
        contact_id = s.call.contact_id

        cue_hangup(s.call)  # the customer hangs up
        await _wait(lambda: s.call.ended, what="the call to end")
        await s.agent2.wait_event("CALL_CLOSED")  # B's phone is released ...
        await s.agent1.wait_event("CALL_CLOSED")  # ... and A's
        assert s.agent2.count("CALL_ESTABLISHED") == (1 if consultant == "talking" else 0)
    # (connected_call has checked that sipp's BYE was answered and the call is gone.)

    # Both agents are free again: B at once, A after the queue's 5 s of wrap-up.
    await _wait(
        lambda: {routing_state(as_user, ids, w) for w in ("agent1", "agent2")} == {"available"},
        within=20,
        what="both agents available",
    )
    [row] = db_rows(client, app, CallRow)
    assert row.contact_id == contact_id and str(row.agent_id) == ids["agent1"]
    assert row.answered_at is not None and row.ended_at is not None
    assert row.end_reason is not None and row.end_reason.startswith("caller"), row.end_reason

    events, _ = all_events(s.admin)
    [ended] = [e["data"] for e in events if e["event"] == "voice.call_ended"]
    assert ended["agent_id"] == ids["agent1"] and ended["reason"] == row.end_reason
    assert ended["contact_id"] == contact_id
    # The consult ended with the call, and the contact with it; nothing was transferred.
    # (Omnidesk releases B just before it ends the contact, so routing may say either.)
    [(consultant_id, outcome)] = consult_outcomes(s.admin)
    assert consultant_id == ids["agent2"] and outcome in ("ended", "contact_ended"), outcome
    finished = [e["data"] for e in events if e["event"] == "routing.contact_ended"]
    assert [f["contact_id"] for f in finished] == [contact_id]
    assert not [e for e in events if e["event"] == "routing.contact_transferred"]
    if consultant == "talking":
        # B only ever heard A: the customer is never put through during a consult.
        heard_by_b = runs(s.agent2.heard()[-1])
        assert A in heard_by_b and not [t for t in heard_by_b if C & t], heard_by_b


async def test_consultant_does_not_answer(
    app: Any, client: Any, tenants: Any, as_user: Any, settings: Any, tmp_path: Path
) -> None:
    async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
        ids, mine = s.ids, as_user("agent1")
        assert (await s.agent2.command("answermode", "manual")).get("ok"), s.agent2.events
        r = mine.post(f"{s.url}/consult", json={"target": "agent", "id": ids["agent2"]})
        assert r.status_code == 200, r.text
        assert r.json()["consult"]["state"] == "ringing"
        await s.agent2.wait_event("CALL_INCOMING", within=30)
        rang_at = asyncio.get_running_loop().time()
        await s.agent2.wait_event("CALL_CLOSED", within=RING_S + 10)  # Omnidesk gave up
        rang = asyncio.get_running_loop().time() - rang_at
        assert RING_S - 1.0 < rang < RING_S + 3.0, rang
        await _wait(lambda: s.call.state == "connected", what="A back with the customer")
        view = mine.get(s.url).json()
        assert view["agent_id"] == ids["agent1"] and view["state"] == "connected", view
        # The consult is over: nothing left to cancel.
        assert mine.post(f"{s.url}/consult/cancel").status_code == 409
        # B was not there; a consult not taken leaves no missed state: B is still available.
        assert routing_state(as_user, ids, "agent2") == "available"
        await asyncio.sleep(2.0)  # the customer and A talk again
        await s.agent1.command("hangup")

    assert s.agent2.count("CALL_ESTABLISHED") == 0
    heard_by_a = runs(s.agent1.heard()[-1])
    assert in_order(heard_by_a, [C, SILENT, C]) and B not in heard_by_a, heard_by_a
    heard_by_customer = what_the_customer_heard(client, app, settings)
    assert in_order(heard_by_customer, [A, SILENT, A]), heard_by_customer
    assert not [t for t in heard_by_customer if B & t], heard_by_customer
    events, _ = all_events(s.admin)
    [gone] = [
        e["data"]["detail"]
        for e in events
        if e["event"] == "voice.call_state_changed" and e["data"]["state"] == "consult_ended"
    ]
    assert gone["why"] == "no answer", gone
    # For routing, B's phone not answering is B not taking the consult (as the ordinary ring
    # path reports a phone that is not answered), not A ending it.
    [(consultant_id, outcome)] = consult_outcomes(s.admin)
    assert consultant_id == ids["agent2"] and outcome in ("rejected", "timed_out"), outcome


async def test_consult_cancelled_while_the_consultant_rings(
    app: Any, client: Any, tenants: Any, as_user: Any, settings: Any, tmp_path: Path
) -> None:
    async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
        ids, mine = s.ids, as_user("agent1")
        consult = f"{s.url}/consult"
        assert (await s.agent2.command("answermode", "manual")).get("ok"), s.agent2.events
        assert mine.post(consult, json={"target": "agent", "id": ids["agent2"]}).status_code == 200
        await s.agent2.wait_event("CALL_INCOMING", within=30)
        assert mine.post(f"{consult}/complete").status_code == 409  # B has not answered
        await asyncio.sleep(1.5)  # A gives B a moment (the customer hears music), in RING_S
        r = mine.post(f"{consult}/cancel")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "connected" and r.json()["consult"] is None, r.json()
        assert r.json()["agent_id"] == ids["agent1"]
        # Cancelled at once: B's ring timeout is still 2.5 s away.
        await s.agent2.wait_event("CALL_CLOSED", within=1.5)
        assert mine.post(f"{consult}/cancel").status_code == 409
        assert routing_state(as_user, ids, "agent2") == "available"
        await asyncio.sleep(2.0)  # the customer and A talk again

        # B's capacity is free again: a second consult rings B's phone; cancel it too.
        assert mine.post(consult, json={"target": "agent", "id": ids["agent2"]}).status_code == 200
        await s.agent2.wait_for(lambda e: s.agent2.count("CALL_INCOMING") == 2, within=30)
        await asyncio.sleep(1.5)
        assert mine.post(f"{consult}/cancel").status_code == 200
        await s.agent2.wait_for(lambda e: s.agent2.count("CALL_CLOSED") == 2, within=1.5)
        await asyncio.sleep(1.5)
        await s.agent1.command("hangup")

    assert s.agent2.count("CALL_ESTABLISHED") == 0
    heard_by_a = runs(s.agent1.heard()[-1])
    assert in_order(heard_by_a, [C, SILENT, C, SILENT, C]) and B not in heard_by_a, heard_by_a
    heard_by_customer = what_the_customer_heard(client, app, settings)
    assert in_order(heard_by_customer, [A, SILENT, A, SILENT, A]), heard_by_customer
    assert not [t for t in heard_by_customer if B & t], heard_by_customer
    assert consult_outcomes(s.admin) == [(ids["agent2"], "ended")] * 2
    events, _ = all_events(s.admin)
    why = [
        e["data"]["detail"]["why"]
        for e in events
        if e["event"] == "voice.call_state_changed" and e["data"]["state"] == "consult_ended"
    ]
    assert why == ["cancelled", "cancelled"], why
    revoked = [e["data"] for e in events if e["event"] == "routing.offer_revoked"]
    assert [(o["agent_id"], o["reason"]) for o in revoked] == [(ids["agent2"], "cancelled")] * 2
