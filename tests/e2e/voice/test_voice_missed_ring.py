"""A missed ring, with real peers (missed_ring.py, docs/voice.md "A missed ring"): a call waits
in the support queue, routing offers it to one available agent, and that agent's softphone
does not take it —

- not registered (agent1 has a SIP login but no phone),
- no answer (baresip, manual answer, left ringing): ended by the tenant's `ring_timeout_s`, by
  the server's `voice_ring_timeout_seconds` (the cap), or by the queue's offer timeout —
  whichever comes first, as the docs say,
- busy (baresip hangs up the ringing call: 486),
- declined (sipp as agent2's phone answering 603),
- media failed (sipp as agent2's phone answering with SDP and then sending no RTP).

Each time: routing's outcome (offer rejected with the reason, or timed out), agent state away
"missed", and `voice.ring_missed` saying why — seen by the agent and their supervisor, not by
the other agent. An answered call at the end checks the other side: audio arrives, the call
connects, and the server log has the call's start and end (and the softphone's registration).

One server for the module (SQLite): each test leaves no phone registered and no call behind.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from structlog.testing import capture_logs
from voice_call_helpers import (
    AGENT1,
    DOMAIN,
    PEERS,
    QUEUE,
    SIPP,
    agent1_phone,
    caller_scenario,
    configure,
    finish_sipp,
    kill,
    needs,
    start_sipp,
)
from voice_call_helpers import wait_until as _wait

from conftest import As, login
from omnidesk.app import create_app
from omnidesk.bench.baresip import BaresipAgent
from omnidesk.bench.voice_testbed import SipAgent, free_port, routing_queue, voice_settings
from omnidesk.channels.voice.call_control import control
from omnidesk.directory.demo import load_demo
from omnidesk.platform.settings import load_settings
from spine_checks import all_events

pytestmark = needs(*PEERS)

RING_CAP_S = 8.0  # the server's voice_ring_timeout_seconds
MEDIA_S = 2.0  # the server's voice_answer_media_timeout_seconds
AGENT2 = ("agent2", "s3cret-pass-2")
SCENARIOS = Path(__file__).parent / "scenarios"


@dataclass
class Server:
    app: FastAPI
    client: TestClient
    port: int
    ids: dict[str, str]
    passwords: dict[str, str]
    users: dict[str, As] = field(default_factory=dict)

    def as_user(self, username: str) -> As:
        if username not in self.users:
            self.users[username] = login(self.client, "demo", username, self.passwords[username])
        return self.users[username]

    @property
    def voice(self) -> Any:
        return self.app.state.voice


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("missed-ring")
    shutil.copyfile(sqlite_template, tmp / "omnidesk.db")
    settings = load_settings(
        None,
        database_url=f"sqlite:///{tmp / 'omnidesk.db'}",
        data_dir=tmp / "data",
        auto_migrate=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    ).model_copy(
        update=voice_settings(
            voice_ring_timeout_seconds=RING_CAP_S, voice_answer_media_timeout_seconds=MEDIA_S
        )
    )
    app = create_app(settings)
    with TestClient(app) as client:
        logins = client.portal.call(load_demo, app.state.services.db, "demo")
        passwords = {x.username: x.password for x in logins}
        admin = login(client, "demo", "admin", passwords["admin"])
        ids = {u["username"]: u["id"] for u in admin.get("/api/v1/users").json()}
        configure(admin, ids, record="never", agents=(SipAgent(ids["agent2"], *AGENT2),))
        yield Server(app, client, settings.voice_sip_port, ids, passwords, {"admin": admin})


# --- steps ---------------------------------------------------------------------------------


def available(server: Server, who: str) -> None:
    url = f"/api/v1/routing/agents/{server.ids[who]}/state"
    r = server.as_user(who).post(url, json={"state": "available"})
    assert r.status_code == 200, r.text


def tenant_ring_timeout(server: Server, seconds: int) -> None:
    body = {"sip_domain": DOMAIN, "ring_timeout_s": seconds}
    r = server.as_user("admin").put("/api/v1/voice/settings", json=body)
    assert r.status_code == 200, r.text


def offer_timeout(server: Server, seconds: int) -> None:
    queue = routing_queue("support", "Support", offer_timeout_seconds=seconds, wrap_up_seconds=5)
    r = server.as_user("admin").put("/api/v1/routing/queues/support", json=queue)
    assert r.status_code == 200, r.text


def cursor(server: Server) -> int:
    return all_events(server.as_user("admin"))[1]


def events(user: As, after: int, kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in all_events(user, after)[0] if e["event"] == kind]


async def missed(server: Server, after: int, within: float = 30) -> dict[str, Any]:
    """The call's `voice.ring_missed`, once written."""
    admin = server.as_user("admin")
    found = await _wait(
        lambda: events(admin, after, "voice.ring_missed"), within, "voice.ring_missed"
    )
    [event] = found
    return event


async def end_call(server: Server, sipp: Any, tmp: Path) -> None:
    """Hang the waiting caller up (nobody is available any more) and let sipp finish."""
    voice = server.voice
    call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")

    async def hang_up() -> None:
        await control(call, lambda c: voice.hang_up(c, "test over"))

    server.client.portal.call(hang_up)
    await finish_sipp(sipp, tmp)
    await _wait(lambda: not voice.calls, what="the call to end")


def check_told(server: Server, after: int, event: dict[str, Any], agent: str) -> None:
    """The agent and their supervisor see the miss; the other agent does not. The agent is
    away, "missed", and the call is back in line with the reason on its step."""
    other = "agent2" if agent == "agent1" else "agent1"
    assert event["agent_id"] == server.ids[agent]
    assert (event["agent_state"], event["agent_state_reason"]) == ("away", "missed"), event
    assert events(server.as_user(agent), after, "voice.ring_missed") == [event]
    assert events(server.as_user("supervisor"), after, "voice.ring_missed") == [event]
    assert events(server.as_user(other), after, "voice.ring_missed") == []
    admin = server.as_user("admin")
    status = admin.get(f"/api/v1/routing/agents/{server.ids[agent]}").json()["status"]
    assert (status["state"], status["reason"]) == ("away", "missed"), status
    steps = events(admin, after, "voice.call_state_changed")
    back = [s for s in steps if s["state"] == "queued" and "ring_ended" in s["detail"]]
    assert [s["detail"]["ring_ended"] for s in back] == [event["reason"]]


async def settle(
    server: Server, after: int, event: dict[str, Any], agent: str, sipp: Any, tmp: Path
) -> None:
    """Who was told what, what routing made of it; then end the waiting call."""
    check_told(server, after, event, agent)
    routing_outcome(server, after, event)
    await end_call(server, sipp, tmp)


def routing_outcome(server: Server, after: int, event: dict[str, Any]) -> None:
    """What routing made of it matches the event: the reason, or its own time-out."""
    admin = server.as_user("admin")
    rejected = events(admin, after, "routing.offer_rejected")
    timed_out = events(admin, after, "routing.offer_timed_out")
    if event["outcome"] == "rejected":
        assert [(r["offer_id"], r["reason"]) for r in rejected] == [
            (event["offer_id"], event["reason"])
        ]
        assert timed_out == []
    else:
        assert event["outcome"] == "timed_out" and rejected == []
        assert [t["offer_id"] for t in timed_out] == [event["offer_id"]]


async def call_in(server: Server, tmp: Path) -> Any:
    """A caller for the support queue (sipp), once the server has the call."""
    scenario = caller_scenario(tmp, digit="1", how="info", stay_ms=90000)
    sipp = await start_sipp(tmp, scenario, server.port)

    def arrived() -> bool:
        if sipp.returncode is not None:  # say why rather than wait for a ring that never comes
            raise AssertionError(f"the caller (sipp) exited with {sipp.returncode}")
        return bool(server.voice.calls)

    await _wait(arrived, what="the call")
    return sipp


async def ring_agent1(server: Server, phone: BaresipAgent, tmp: Path) -> tuple[Any, int]:
    """Start agent1's baresip, make agent1 available and call in until the phone rings:
    (the caller's sipp, the event cursor from before the call)."""
    await phone.start()
    await _wait(lambda: server.voice.sip.registrar.lookup(f"sip:agent1@{DOMAIN}"))
    after = cursor(server)
    available(server, "agent1")
    sipp = await call_in(server, tmp)
    try:
        await phone.wait_event("CALL_INCOMING", within=30)
    except BaseException:
        await kill(sipp)
        raise
    return sipp, after


async def stop_phone(server: Server, phone: BaresipAgent, user: str) -> None:
    await phone.stop()  # baresip unregisters as it exits
    aor = f"sip:{user}@{DOMAIN}"
    await _wait(lambda: not server.voice.sip.registrar.lookup(aor), 10, "the un-REGISTER")


async def sipp_phone(server: Server, tmp: Path, port: int, expires: int) -> None:
    """agent2's sipp phone: REGISTER (Expires 0 removes it) from `port`, then exit."""
    text = (SCENARIOS / "agent_register.xml").read_text()
    text = text.replace("{domain}", DOMAIN).replace("{expires}", str(expires))
    (tmp / "register.xml").write_text(text)
    cmd = [
        str(SIPP), f"127.0.0.1:{server.port}", "-sf", "register.xml", "-s", AGENT2[0],
        "-au", AGENT2[0], "-ap", AGENT2[1], "-m", "1", "-i", "127.0.0.1", "-p", str(port),
        "-nostdin", "-timeout", "20", "-timeout_error",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, out.decode(errors="replace")[-2000:]


async def sipp_uas(tmp: Path, scenario: str, port: int) -> Any:
    cmd = [
        str(SIPP), "-sf", str(SCENARIOS / scenario), "-m", "1", "-i", "127.0.0.1",
        "-p", str(port), "-mp", str(free_port()), "-nostdin", "-timeout", "60",
        "-timeout_error", "-trace_err", "-error_file", str(tmp / "uas.err"),
    ]  # fmt: skip
    return await asyncio.create_subprocess_exec(
        *cmd, cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


def log_lines(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name]


# --- the cases -----------------------------------------------------------------------------


async def test_not_registered(server: Server, tmp_path: Path) -> None:
    assert not server.voice.sip.registrar.lookup(f"sip:agent1@{DOMAIN}")
    after = cursor(server)
    available(server, "agent1")
    sipp = await call_in(server, tmp_path)
    try:
        event = await missed(server, after)
        assert (event["reason"], event["outcome"]) == ("not_registered", "rejected"), event
        assert event["sip_status"] == 480 and event["rang_seconds"] is None
        await settle(server, after, event, "agent1", sipp, tmp_path)
    finally:
        await kill(sipp)


# (tenant ring_timeout_s, queue offer timeout) -> the timeout that ends the ring. The server's
# cap is RING_CAP_S (8 s): the tenant's 5 s is shorter; its 20 s is capped at 8; a 3 s offer
# ends before either.
NO_ANSWER = [
    (5, 20, "ring_timeout_s", "rejected", 5.0),
    (20, 20, "voice_ring_timeout_seconds", "rejected", RING_CAP_S),
    (20, 3, "offer_timeout", "timed_out", 2.0),
]


@pytest.mark.parametrize(("tenant_s", "offer_s", "by", "outcome", "at_least"), NO_ANSWER)
async def test_no_answer_and_which_timeout_wins(
    server: Server, tmp_path: Path, tenant_s: int, offer_s: int, by: str, outcome: str,
    at_least: float,
) -> None:  # fmt: skip
    tenant_ring_timeout(server, tenant_s)
    offer_timeout(server, offer_s)
    phone = agent1_phone(tmp_path, server.port, answer="manual")
    sipp = None
    try:
        sipp, after = await ring_agent1(server, phone, tmp_path)
        event = await missed(server, after)
        assert (event["reason"], event["outcome"], event["timed_out_by"]) == (
            "no_answer", outcome, by,
        ), event  # fmt: skip
        # It rang at least as long as the timeout that ended it (a lower bound only: a busy
        # machine may take longer, never shorter).
        assert event["rang_seconds"] >= at_least - 0.5, event
        await phone.wait_event("CALL_CLOSED", within=10)  # the ring was cancelled
        await settle(server, after, event, "agent1", sipp, tmp_path)
    finally:
        await kill(sipp)
        await stop_phone(server, phone, "agent1")
        tenant_ring_timeout(server, 20)
        offer_timeout(server, QUEUE["offer_timeout_seconds"])


async def test_busy(server: Server, tmp_path: Path) -> None:
    phone = agent1_phone(tmp_path, server.port, answer="manual")
    sipp = None
    try:
        sipp, after = await ring_agent1(server, phone, tmp_path)
        await phone.command("hangup")  # baresip refuses a ringing call with 486
        event = await missed(server, after)
        assert (event["reason"], event["outcome"], event["sip_status"]) == (
            "busy", "rejected", 486,
        ), event  # fmt: skip
        await settle(server, after, event, "agent1", sipp, tmp_path)
    finally:
        await kill(sipp)
        await stop_phone(server, phone, "agent1")


@pytest.mark.parametrize(
    ("scenario", "reason", "status"),
    [("uas_decline.xml", "declined", 603), ("uas_answer.xml", "media_failed", None)],
)
async def test_declined_or_answered_without_media(
    server: Server, tmp_path: Path, scenario: str, reason: str, status: int | None
) -> None:
    """sipp as agent2's phone: it declines (603), or answers with SDP and sends no RTP —
    after `voice_answer_media_timeout_seconds` the server hangs it up (sipp gets the BYE)."""
    port = free_port()
    await sipp_phone(server, tmp_path, port, expires=300)
    sipp = uas = None
    try:
        uas = await sipp_uas(tmp_path, scenario, port)
        after = cursor(server)
        available(server, "agent2")
        sipp = await call_in(server, tmp_path)
        event = await missed(server, after)
        assert (event["reason"], event["outcome"], event["sip_status"]) == (
            reason, "rejected", status,
        ), event  # fmt: skip
        if reason == "media_failed":
            assert "no audio" in event["detail"] and event["rang_seconds"] >= MEDIA_S - 0.5
        out, _ = await asyncio.wait_for(uas.communicate(), 30)
        assert uas.returncode == 0, out.decode(errors="replace")[-2000:]
        await settle(server, after, event, "agent2", sipp, tmp_path)
    finally:
        await kill(sipp, uas)
        await sipp_phone(server, tmp_path, port, expires=0)


async def test_answered_call_and_the_server_log(server: Server, tmp_path: Path) -> None:
    """The positive side: a phone that answers and talks connects (its audio arrived), and the
    log says at info level that it registered, that the call started and how it ended."""
    phone = agent1_phone(tmp_path, server.port, answer="manual")
    sipp = None
    admin = server.as_user("admin")
    with capture_logs() as logs:
        try:
            sipp, after = await ring_agent1(server, phone, tmp_path)
            [reg] = admin.get("/api/v1/voice/registrations").json()
            assert reg["user_id"] == server.ids["agent1"] and reg["port"] == phone.sip_port
            assert reg["transport"] == "udp" and "baresip" in (reg["user_agent"] or "")
            await phone.command("accept")
            voice = server.voice
            call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
            await _wait(lambda: call.state == "connected", what="the bridge")
            assert events(admin, after, "voice.ring_missed") == []
            await phone.command("hangup")
            await finish_sipp(sipp, tmp_path)
            await _wait(lambda: not voice.calls, what="the call to end")
        finally:
            await kill(sipp)
            await stop_phone(server, phone, "agent1")
    [registered] = log_lines(logs, "voice.softphone_registered")
    assert registered["username"] == "agent1" and registered["log_level"] == "info"
    assert log_lines(logs, "voice.softphone_unregistered")
    [started] = log_lines(logs, "voice.call_started")
    [ended] = log_lines(logs, "voice.call_ended")
    assert started["log_level"] == ended["log_level"] == "info"
    assert started["call"] == ended["call"] == call.id
    assert started["from"] == "+15551230000" and started["to"] == "+493012345678"
    assert ended["queue"] == "support" and ended["agent"] == server.ids["agent1"]
    assert ended["outcome"] == "agent remote bye"
    assert not [line for line in logs if AGENT1[1] in str(line)]  # no secret in any line
    # Written just after the phone's 200 OK: wait for it.
    changes = await _wait(lambda: events(admin, after, "voice.registration_changed"), 10)
    assert [e["change"] for e in changes] == ["unregistered"]
    assert changes[0]["registration"]["port"] == phone.sip_port
