"""Blind and attended transfer and the three-way conference, end to end: sipp is the caller
(600 Hz), baresip agent1 (1000 Hz) takes the call, baresip agent2 (1500 Hz) is the target.
Who hears whom is read from the agents' dumps and from the recording, whose right channel
follows what the caller hears once agents change."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    DOMAIN,
    PEERS,
    agent1_phone,
    caller_scenario,
    configure,
    db_rows,
    finish_sipp,
    kill,
    make_available,
    needs,
    read_wav,
    registered,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.baresip import BaresipAgent
from omnidesk.bench.voice_testbed import SipAgent
from omnidesk.channels.voice.media.analysis import dominant_tones
from omnidesk.channels.voice.models import Recording as RecordingRow
from spine_checks import all_events

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()

AGENT2_HZ = 1500
TONES = (CALLER_HZ, AGENT_HZ, AGENT2_HZ)
A, B, C = frozenset({AGENT_HZ}), frozenset({AGENT2_HZ}), frozenset({CALLER_HZ})


def runs(samples: np.ndarray, min_windows: int = 4) -> list[frozenset[float]]:
    """The stable stretches of what was heard: the tone set of each run of at least
    `min_windows` 200 ms windows, in order (short blips at switch-overs are dropped)."""
    out: list[frozenset[float]] = []
    current: frozenset[float] | None = None
    length = 0
    for tones in [*dominant_tones(samples, TONES), None]:
        if tones == current:
            length += 1
            continue
        if current is not None and length >= min_windows and (not out or out[-1] != current):
            out.append(current)
        current, length = tones, 1
    return out


def in_order(seen: list[frozenset[float]], expected: list[frozenset[float]]) -> bool:
    it = iter(seen)
    return all(any(s == e for s in it) for e in expected)


@dataclass
class Scene:
    app: Any
    voice: Any
    ids: dict[str, Any]
    admin: Any
    agent1: BaresipAgent
    agent2: BaresipAgent
    sipp: asyncio.subprocess.Process
    call: Any
    url: str
    tmp: Path


@asynccontextmanager
async def connected_call(
    app: Any, tenants: Any, as_user: Any, settings: Any, tmp: Path
) -> AsyncIterator[Scene]:
    """A caller talking to agent1, with agent2 registered and available."""
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids, agents=(SipAgent(ids["agent2"], "agent2", "an0ther-pass"),))
    voice = app.state.voice
    port = settings.voice_sip_port
    agent1 = agent1_phone(tmp, port)
    agent2 = BaresipAgent(tmp / "agent2", "agent2", "an0ther-pass", DOMAIN, port, AGENT2_HZ)
    await agent1.start()
    try:
        await agent2.start()
        for user in ("agent1", "agent2"):
            await registered(voice, user)
        make_available(as_user, ids, "agent1")
        sipp = await start_sipp(tmp, caller_scenario(tmp, digit="1", how="pcap"), port)
        try:
            await agent1.wait_event("CALL_ESTABLISHED", within=40)
            call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
            await _wait(lambda: call.state == "connected", what="the bridge")
            # Only now: otherwise routing could have offered the call to agent2 first.
            make_available(as_user, ids, "agent2")
            await asyncio.sleep(1.5)  # caller and agent1 talk
            yield Scene(
                app,
                voice,
                ids,
                admin,
                agent1,
                agent2,
                sipp,
                call,
                f"/api/v1/voice/calls/{call.id}",
                tmp,
            )
            await finish_sipp(sipp, tmp)
        finally:
            await kill(sipp)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await agent1.stop()
        await agent2.stop()


def _recording_right(client: Any, app: Any, settings: Any) -> np.ndarray:
    [rec] = db_rows(client, app, RecordingRow)
    samples, channels = read_wav(settings.data_dir / rec.path)
    assert channels == 2
    return samples[:, 1]


async def test_blind_transfer_to_another_agent(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
        ids, mine = s.ids, as_user("agent1")
        # Bad input first: unknown agent or queue, another tenant, a malformed body.
        bad = f"{s.url}/transfer"
        r = mine.post(bad, json={"target": "agent", "id": str(uuid.uuid4())})
        assert r.status_code == 404, r.text
        assert mine.post(bad, json={"target": "queue", "id": "nope"}).status_code == 404
        other = as_user("admin", "other")
        assert other.post(bad, json={"target": "agent", "id": ids["agent2"]}).status_code == 404
        assert (
            other.post(f"{s.url}/consult", json={"target": "queue", "id": "support"}).status_code
            == 404
        )
        assert other.post(f"{s.url}/conference").status_code == 404
        assert mine.post(bad, json={"target": "phone", "id": "x"}).status_code == 422
        assert mine.post(f"{s.url}/consult/complete").status_code == 409  # no consult open
        assert mine.post(f"{s.url}/conference").status_code == 409
        assert (
            as_user("agent2").post(bad, json={"target": "queue", "id": "support"}).status_code
            == 404
        )
        assert s.call.state == "connected" and s.call.agent_id == ids["agent1"]

        r = mine.post(bad, json={"target": "agent", "id": ids["agent2"]})
        assert r.status_code == 200, r.text
        assert r.json()["state"] in ("queued", "ringing", "connected")
        # Not connected any more (or, if agent2 was that quick, a transfer to itself): 409.
        assert s.admin.post(bad, json={"target": "agent", "id": ids["agent2"]}).status_code == 409
        await s.agent1.wait_event("CALL_CLOSED")
        await s.agent2.wait_event("CALL_ESTABLISHED", within=30)
        await _wait(lambda: s.call.state == "connected", what="the new bridge")
        assert s.call.agent_id == ids["agent2"]
        assert s.admin.get(s.url).json()["agent_id"] == ids["agent2"]
        await asyncio.sleep(2.0)
        await s.agent2.command("hangup")

    heard2 = s.agent2.heard()[-1]
    assert runs(heard2)[-1:] == [C], runs(heard2)
    heard1 = s.agent1.heard()[-1]
    assert C in runs(heard1) and B not in runs(heard1)
    right = _recording_right(client, app, settings)
    assert in_order(runs(right), [A, B]), runs(right)

    events, _ = all_events(s.admin)
    [moved] = [e for e in events if e["event"] == "routing.contact_transferred"]
    assert moved["data"]["agent_id"] == ids["agent1"]
    assert (moved["data"]["target_kind"], moved["data"]["target"]) == ("agent", ids["agent2"])
    wraps = [e["data"]["agent_id"] for e in events if e["event"] == "routing.wrap_up_started"]
    assert wraps[:1] == [ids["agent1"]]
    states = [e["data"]["state"] for e in events if e["event"] == "voice.call_state_changed"]
    assert states.count("connected") == 2 and "transferred" in states
    [ended] = [e for e in events if e["event"] == "voice.call_ended"]
    assert ended["data"]["agent_id"] == ids["agent2"]


async def test_consult_then_complete(app, client, tenants, as_user, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
        ids, mine = s.ids, as_user("agent1")
        r = mine.post(f"{s.url}/consult", json={"target": "agent", "id": ids["agent2"]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["state"] == "consulting" and body["consult"]["agent_id"] == ids["agent2"]
        # Not connected to just one agent: no blind transfer, no hold, no second consult.
        r = mine.post(f"{s.url}/transfer", json={"target": "queue", "id": "support"})
        assert r.status_code == 409
        assert mine.post(f"{s.url}/hold").status_code == 409
        assert (
            mine.post(f"{s.url}/consult", json={"target": "queue", "id": "support"}).status_code
            == 409
        )
        await s.agent2.wait_event("CALL_ESTABLISHED", within=30)
        await _wait(lambda: s.call.consult is not None and s.call.consult.answered, what="B")
        await asyncio.sleep(2.0)  # A and B talk; the caller hears music
        r = mine.post(f"{s.url}/consult/complete")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "connected" and r.json()["consult"] is None
        assert r.json()["agent_id"] == ids["agent2"]
        await s.agent1.wait_event("CALL_CLOSED")
        assert mine.get(s.url).status_code == 404  # no longer agent1's call
        await asyncio.sleep(2.0)  # the caller and B
        await s.agent2.command("hangup")

    assert in_order(runs(s.agent1.heard()[-1]), [C, B]), runs(s.agent1.heard()[-1])
    assert in_order(runs(s.agent2.heard()[-1]), [A, C]), runs(s.agent2.heard()[-1])
    right = _recording_right(client, app, settings)
    # What the caller heard: agent1, then (after music while A and B talked) agent2.
    assert in_order(runs(right), [A, B]) and frozenset({AGENT_HZ, AGENT2_HZ}) not in runs(right)
    events, _ = all_events(s.admin)
    kinds = [e["event"] for e in events]
    assert "routing.consult_started" in kinds
    [done] = [e for e in events if e["event"] == "routing.consult_ended"]
    assert done["data"]["outcome"] == "transferred"
    assert done["data"]["consultant_id"] == ids["agent2"]


async def test_consult_cancel_then_conference(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
        ids, mine = s.ids, as_user("agent1")
        consult = f"{s.url}/consult"
        # Cancel: B is released, the caller is back with A.
        assert mine.post(consult, json={"target": "queue", "id": "support"}).status_code == 200
        await s.agent2.wait_event("CALL_ESTABLISHED", within=30)
        await _wait(lambda: s.call.consult is not None and s.call.consult.answered, what="B")
        await asyncio.sleep(1.5)
        r = mine.post(f"{consult}/cancel")
        assert r.status_code == 200 and r.json()["state"] == "connected", r.text
        assert r.json()["agent_id"] == ids["agent1"]
        await s.agent2.wait_event("CALL_CLOSED")
        assert mine.post(f"{consult}/cancel").status_code == 409
        await asyncio.sleep(1.5)

        # Consult again and make it a conference; then A leaves: the caller and B stay.
        closed = s.agent2.count("CALL_CLOSED")
        established = s.agent2.count("CALL_ESTABLISHED")
        await _wait(
            lambda: (
                mine.post(consult, json={"target": "agent", "id": ids["agent2"]}).status_code == 200
            ),
            what="agent2 ready again (after its consult)",
        )
        await s.agent2.wait_for(
            lambda e: s.agent2.count("CALL_ESTABLISHED") > established, within=30
        )
        await _wait(lambda: s.call.consult is not None and s.call.consult.answered, what="B")
        await asyncio.sleep(1.0)
        r = mine.post(f"{s.url}/conference")
        assert r.status_code == 200 and r.json()["state"] == "conference", r.text
        await asyncio.sleep(2.5)  # all three
        await s.agent1.command("hangup")
        await _wait(lambda: s.call.state == "connected", what="A leaving the conference")
        assert s.call.agent_id == ids["agent2"] and not s.call.ended
        assert s.agent2.count("CALL_CLOSED") == closed
        await asyncio.sleep(2.0)  # the caller and B
        await s.agent2.command("hangup")

    first_b, second_b = s.agent2.heard()[-2:]
    assert runs(first_b) == [A], runs(first_b)  # B's consult: only A, never the caller
    three = frozenset({CALLER_HZ, AGENT_HZ})
    assert in_order(runs(second_b), [A, three, C]), runs(second_b)
    heard1 = runs(s.agent1.heard()[-1])
    assert in_order(heard1, [C, B, C, B, frozenset({CALLER_HZ, AGENT2_HZ})]), heard1
    right = runs(_recording_right(client, app, settings))
    both = frozenset({AGENT_HZ, AGENT2_HZ})
    assert in_order(right, [A, A, both, B]), right  # the caller heard both agents at once
    events, _ = all_events(s.admin)
    outcomes = [e["data"]["outcome"] for e in events if e["event"] == "routing.consult_ended"]
    assert outcomes == ["ended", "transferred"]


async def test_conference_consultant_leaves_then_blind_transfer_to_queue(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
        ids, mine = s.ids, as_user("agent1")
        r = mine.post(f"{s.url}/consult", json={"target": "agent", "id": ids["agent2"]})
        assert r.status_code == 200, r.text
        await s.agent2.wait_event("CALL_ESTABLISHED", within=30)
        await _wait(lambda: s.call.consult is not None and s.call.consult.answered, what="B")
        await asyncio.sleep(1.5)  # A and B alone
        r = mine.post(f"{s.url}/conference")
        assert r.status_code == 200 and r.json()["state"] == "conference", r.text
        assert mine.post(f"{s.url}/conference").status_code == 200  # already: no change
        await asyncio.sleep(2.5)
        # B hangs up: the caller and A stay connected.
        await s.agent2.command("hangup")
        await _wait(lambda: s.call.state == "connected", what="B leaving the conference")
        assert s.call.agent_id == ids["agent1"] and s.call.consult is None
        assert s.agent1.count("CALL_CLOSED") == 0
        await asyncio.sleep(2.0)
        # Then a blind transfer to the queue: routing offers it to agent2 (agent1 wraps up).
        established = s.agent2.count("CALL_ESTABLISHED")
        r = mine.post(f"{s.url}/transfer", json={"target": "queue", "id": "support"})
        assert r.status_code == 200, r.text
        await s.agent1.wait_event("CALL_CLOSED")
        await s.agent2.wait_for(
            lambda e: s.agent2.count("CALL_ESTABLISHED") > established, within=30
        )
        await _wait(lambda: s.call.state == "connected", what="the queue transfer")
        assert s.call.agent_id == ids["agent2"]
        await asyncio.sleep(2.0)
        await s.agent2.command("hangup")

    heard1 = runs(s.agent1.heard()[-1])
    assert in_order(heard1, [C, B, frozenset({CALLER_HZ, AGENT2_HZ}), C]), heard1
    conference_b, after_b = s.agent2.heard()[-2:]
    assert in_order(runs(conference_b), [A, frozenset({CALLER_HZ, AGENT_HZ})]), runs(conference_b)
    assert runs(after_b)[-1:] == [C], runs(after_b)
    right = runs(_recording_right(client, app, settings))
    assert in_order(right, [A, frozenset({AGENT_HZ, AGENT2_HZ}), A, B]), right
    events, _ = all_events(s.admin)
    moved = [e["data"] for e in events if e["event"] == "routing.contact_transferred"]
    assert [(m["target_kind"], m["target"]) for m in moved] == [("queue", "support")]
