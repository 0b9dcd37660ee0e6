"""The `voice` section of the realtime snapshot with real peers (sipp calls, baresip answers):
who sees a live call while it waits in the queue and once agent1 has it, and that the voice
events following a snapshot keep its calls what a fresh snapshot shows (hold, mute, resume,
hang-up)."""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime
from pathlib import Path
from typing import Any

from test_voice_transfers import connected_call
from voice_call_helpers import (
    DID,
    PEERS,
    agent1_phone,
    caller_scenario,
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

from conftest import As, login
from omnidesk.bench.voice_testbed import SipAgent
from spine_checks import events_of

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()

CALLER = "+15551230000"  # the From of voice_call_helpers' sipp scenario
TIMES = ("started_at", "connected_at")


# --- a client that follows the voice section like an agent desktop or wallboard would -------


class CallsClient:
    """Keeps the `voice` section of the snapshot and applies `voice.*` events to it: upserts
    for `call_started` / `call_state_changed`, a removal for `call_ended`."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.calls: dict[str, dict[str, Any]] = {}
        self.last_event_id: int | None = None
        self.events: list[dict[str, Any]] = []

    def register(self) -> None:
        self.ws.send_json({"type": "register", "last_event_id": None})
        self.handle(self.ws.receive_json())

    def handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "snapshot":
            self.calls = copy.deepcopy(message["state"]["voice"]["calls"])
            self.last_event_id = message["last_event_id"]
        elif message["type"] == "event":
            assert self.last_event_id is None or message["id"] > self.last_event_id, (
                f"event {message['id']} after {self.last_event_id}: duplicate or out of order"
            )
            self.events.append(message)
            self.last_event_id = message["id"]
            # Only a call's events: voice configuration (SIP logins, flows …) is not live.
            if message["event"].startswith("voice.") and message["subject"]["type"] == "call":
                apply(self.calls, message)
        else:
            raise AssertionError(f"unexpected message {message}")

    def sync(self) -> int:
        """Ping and apply everything that arrives before the pong."""
        self.ws.send_json({"type": "ping"})
        while True:
            message = self.ws.receive_json()
            if message["type"] == "pong":
                return int(message["last_event_id"])
            self.handle(message)

    def voice_events(self, name: str) -> list[dict[str, Any]]:
        return [m for m in self.events if m["event"] == name]


def apply(calls: dict[str, dict[str, Any]], message: dict[str, Any]) -> None:
    """The client rule of docs/voice.md: a call step carries the whole call as it now stands
    (replace your copy, or add it if you only now gain sight of it); the call's end removes it."""
    name, data = message["event"], message["data"]
    call_id = data["call_id"]
    if name == "voice.call_ended":
        calls.pop(call_id, None)
    elif name in ("voice.call_started", "voice.call_state_changed"):
        assert data["call"] is not None and data["call"]["call_id"] == call_id, data
        calls[call_id] = data["call"]
    elif name != "voice.recording_saved":
        raise AssertionError(f"unexpected event {name}")


def calls_of(user: As) -> dict[str, dict[str, Any]]:
    """The `voice.calls` of a fresh snapshot for `user`."""
    with user.websocket() as ws:
        viewer = CallsClient(ws)
        viewer.register()
        return viewer.calls


def _is_iso(value: Any) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _differences(followed: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """Where the calls a client followed differ from a fresh snapshot's. A time a client only
    learned from an event is the event's time, a moment after the call's own: 2 s apart is
    the same time here."""
    out = []
    if set(followed) != set(fresh):
        return [f"calls {sorted(followed)} != {sorted(fresh)}"]
    for call_id, want in fresh.items():
        got = followed[call_id]
        for key in sorted(set(got) | set(want)):
            a, b = got.get(key, "<missing>"), want.get(key, "<missing>")
            if key in TIMES and _is_iso(a) and _is_iso(b):
                gap = abs((datetime.fromisoformat(a) - datetime.fromisoformat(b)).total_seconds())
                if gap <= 2.0:
                    continue
            if a != b:
                out.append(f"{call_id}.{key}: followed {a!r}, fresh {b!r}")
    return out


async def differences_after(live: CallsClient, user: As, within: float = 10.0) -> list[str]:
    """Sync `live` until its calls match a fresh snapshot for `user`; the differences left
    when `within` runs out (none: converged). Why a wait: a call step changes the call in
    memory before its event is committed, so a snapshot may run ahead of the stream for a
    moment (views.py), never for long."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        live.sync()
        diff = _differences(live.calls, calls_of(user))
        if not diff or asyncio.get_running_loop().time() > deadline:
            return diff
        await asyncio.sleep(0.2)


async def converged(live: CallsClient, user: As, within: float = 10.0) -> dict[str, Any]:
    """As `differences_after`, failing unless converged; returns the fresh snapshot."""
    diff = await differences_after(live, user, within)
    assert not diff, f"{user.name}: snapshot + events != fresh snapshot: {diff}"
    return calls_of(user)


def supervisor_of_another_team(admin: As, client: Any) -> As:
    """A supervisor whose team neither serves the call's queue nor has its agent."""
    password = "sup2-password-1234"
    user = {"username": "sup2", "display_name": "Sue", "role": "supervisor", "password": password}
    r = admin.post("/api/v1/users", json=user)
    assert r.status_code == 201, r.text
    sup2 = r.json()["id"]
    r = admin.post("/api/v1/teams", json={"name": "Billing"})
    assert r.status_code == 201, r.text
    r = admin.put(f"/api/v1/teams/{r.json()['id']}/members/{sup2}", json={"role": "supervisor"})
    assert r.status_code == 200, r.text
    return login(client, "demo", "sup2", password)


# --- the tests -------------------------------------------------------------------------------


async def test_call_in_snapshots_while_queued_then_connected(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    # agent2 serves the queue too (a member of the same team), but stays offline: the call can
    # only go to agent1, and agent2 is in the queue's team without being on the call.
    configure(admin, ids, agents=(SipAgent(ids["agent2"], "agent2", "an0ther-pass"),))
    sup2 = supervisor_of_another_team(admin, client)
    outsiders = {
        "agent2": as_user("agent2"),
        "sup2": sup2,
        "other admin": as_user("admin", "other"),
    }
    voice = app.state.voice
    port = settings.voice_sip_port
    agent = agent1_phone(tmp_path, port)
    await agent.start()
    sipp = None
    try:
        await registered(voice, "agent1")
        sipp = await start_sipp(tmp_path, caller_scenario(tmp_path, digit="1", how="pcap"), port)
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "queued", what="the call in the queue")
        # The step's event too: the call changes before its event is written (views.py), and
        # the desktops below should start from a snapshot with nothing of the queue pending.
        await _wait(
            lambda: any(
                e["data"]["state"] == "queued" for e in events_of(admin, "voice.call_state_changed")
            ),
            what="the queued event",
        )

        # Queued: admins and the supervisor of the queue's team; no agent has it yet.
        queued = calls_of(admin)
        assert list(queued) == [call.id]
        view = queued[call.id]
        assert view["state"] == "queued" and view["queue_id"] == "support"
        assert view["agent_id"] is None and view["contact_id"] == call.contact_id
        assert (view["caller"], view["number"]) == (CALLER, DID)
        assert _is_iso(view["started_at"]) and view["connected_at"] is None
        assert calls_of(as_user("supervisor")) == queued
        assert calls_of(as_user("agent1")) == {}
        for name, user in outsiders.items():
            assert calls_of(user) == {}, name

        # Desktops that follow the call from the queue on.
        with admin.websocket() as admin_ws, as_user("supervisor").websocket() as sup_ws:
            admin_live, sup_live = CallsClient(admin_ws), CallsClient(sup_ws)
            admin_live.register()
            sup_live.register()
            assert call.id in admin_live.calls and call.id in sup_live.calls

            make_available(as_user, ids, "agent1")
            await agent.wait_event("CALL_ESTABLISHED", within=40)
            await _wait(lambda: call.state == "connected", what="the bridge")
            # The queue records every call: wait for it, so the views stop changing.
            await _wait(lambda: call.recorder is not None, what="the recording")

            connected = await converged(admin_live, admin)
            await converged(sup_live, as_user("supervisor"))
        view = connected[call.id]
        assert view["state"] == "connected" and view["agent_id"] == ids["agent1"]
        assert view["queue_id"] == "support" and view["recording"] == "recording"
        assert _is_iso(view["connected_at"])
        started, answered = (datetime.fromisoformat(view[k]) for k in TIMES)
        assert started < answered
        assert view["muted"] is False and view["monitors"] == []
        # The live steps reached both desktops, in order.
        steps = [e["data"]["state"] for e in admin_live.voice_events("voice.call_state_changed")]
        assert steps[:2] == ["ringing", "connected"], steps
        assert steps == [
            e["data"]["state"] for e in sup_live.voice_events("voice.call_state_changed")
        ]

        # Connected: agent1 has it now; agent2, the other team's supervisor, the other tenant not.
        assert calls_of(as_user("agent1")) == connected
        assert calls_of(as_user("supervisor")) == connected
        for name, user in outsiders.items():
            assert calls_of(user) == {}, name

        await agent.command("hangup")
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
        assert calls_of(admin) == {} and calls_of(as_user("agent1")) == {}
    finally:
        await kill(sipp)
        await agent.stop()


async def test_events_after_the_snapshot_keep_the_call_current(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
        mine = as_user("agent1")
        viewers = {"admin": s.admin, "supervisor": as_user("supervisor"), "agent1": mine}
        with (
            s.admin.websocket() as admin_ws,
            viewers["supervisor"].websocket() as sup_ws,
            mine.websocket() as agent_ws,
        ):
            live = {
                "admin": CallsClient(admin_ws),
                "supervisor": CallsClient(sup_ws),
                "agent1": CallsClient(agent_ws),
            }
            for name, viewer in live.items():
                viewer.register()
                assert viewer.calls[s.call.id]["state"] == "connected", name

            async def step(action: str, **expected: Any) -> None:
                r = mine.post(f"{s.url}/{action}")
                assert r.status_code == 200, r.text
                for name, viewer in live.items():
                    fresh = await converged(viewer, viewers[name])
                    got = {k: fresh[s.call.id][k] for k in expected}
                    assert got == expected, (action, name, got)

            await step("hold", state="held")
            await step("mute", state="held", muted=True)
            await step("resume", state="connected", muted=True)
            await step("unmute", state="connected", muted=False)
            r = mine.post(f"{s.url}/recording", json={"action": "pause"})
            assert r.status_code == 200, r.text
            for name, viewer in live.items():
                fresh = await converged(viewer, viewers[name])
                assert fresh[s.call.id]["recording"] == "paused", name

            # The agent hangs up from the desktop: the call ends for everyone.
            r = mine.post(f"{s.url}/hangup")
            assert r.status_code == 200, r.text
            for name, viewer in live.items():
                assert await converged(viewer, viewers[name]) == {}, name
                [ended] = viewer.voice_events("voice.call_ended")
                assert ended["data"]["call_id"] == s.call.id, name
                assert s.call.id not in viewer.calls, name
                steps = [
                    e["data"]["state"] for e in viewer.voice_events("voice.call_state_changed")
                ]
                # (The recording's start may come just after the snapshot: it is not counted.)
                steps = steps[steps.index("held") :]
                assert steps == ["held", "muted", "resumed", "unmuted", "recording"], (name, steps)
    # agent2 never saw any of it (not on the call, not a supervisor).
    assert calls_of(as_user("agent2")) == {}


async def test_desktops_open_before_the_call_learn_it_from_the_stream(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    """Desktops connected before the call arrives: it is not in their snapshots, and the
    call's first events (its start, before it had a queue) go to admins only. What the stream
    then tells agent1 and the supervisor must still give the call as a fresh snapshot does."""
    viewers = {"agent1": as_user("agent1"), "supervisor": as_user("supervisor")}
    with viewers["agent1"].websocket() as agent_ws, viewers["supervisor"].websocket() as sup_ws:
        live = {"agent1": CallsClient(agent_ws), "supervisor": CallsClient(sup_ws)}
        for viewer in live.values():
            viewer.register()
            assert viewer.calls == {}
        async with connected_call(app, tenants, as_user, settings, tmp_path) as s:
            await _wait(lambda: s.call.recorder is not None, what="the recording")
            left = {
                name: await differences_after(live[name], user, 5.0)
                for name, user in viewers.items()
            }
            r = viewers["agent1"].post(f"{s.url}/hangup")
            assert r.status_code == 200, r.text
        for name, viewer in live.items():
            viewer.sync()
            assert viewer.calls == {}, name
    assert left == {"agent1": [], "supervisor": []}, left


async def test_a_refused_ring_puts_the_call_back_in_the_queue_for_followers(
    app, client, tenants, as_user, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    """agent1's softphone refuses the ring: the call is back in the queue (routing does not
    offer it to agent1 again), and the desktops following it must say so too."""
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids)
    voice = app.state.voice
    port = settings.voice_sip_port
    agent = agent1_phone(tmp_path, port, answer="manual")
    await agent.start()
    sipp = None
    try:
        await registered(voice, "agent1")
        make_available(as_user, ids, "agent1")
        with admin.websocket() as ws:
            desktop = CallsClient(ws)
            desktop.register()
            sipp = await start_sipp(
                tmp_path, caller_scenario(tmp_path, digit="1", how="pcap"), port
            )
            await agent.wait_event("CALL_INCOMING", within=40)
            call = next(iter(voice.calls.values()))
            assert (await converged(desktop, admin))[call.id]["state"] == "ringing"
            await agent.command("hangup")  # refuses the incoming call (486)
            await _wait(lambda: call.state == "queued" and call.ring is None, what="re-queued")
            left = await differences_after(desktop, admin, 5.0)
            assert calls_of(admin)[call.id]["state"] == "queued"
            r = admin.post(f"/api/v1/voice/calls/{call.id}/hangup")
            assert r.status_code == 200, r.text
            await finish_sipp(sipp, tmp_path)
            await converged(desktop, admin)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        await kill(sipp)
        await agent.stop()
    assert left == [], left
