"""Softphone registrations (registrations.py, registration_endpoints.py): the API, the realtime
snapshot's `voice.registrations` and the `voice.registration_changed` events — who sees whose,
and each change: registered, a refresh (no event), moved, unregistered, expired — plus the info
log lines. The phone here is a raw UDP socket speaking REGISTER with digest authentication;
tests/e2e/voice has baresip registering for real."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs
from voice_config_helpers import DOMAIN, voice_tenant

from omnidesk.bench.voice_testbed import SipAgent, voice_settings
from omnidesk.channels.voice.sip.auth import Credentials, DigestClient
from omnidesk.channels.voice.sip.message import SipResponse, parse_message
from spine_checks import all_events

AGENT1 = ("agent1", "agent1-sip-secret")
USER_AGENT = "TestPhone/1.0"


@pytest.fixture(name="settings")
def _voice_on(settings: Any) -> Any:
    return settings.model_copy(update=voice_settings())


def _setup(as_user: Any, tenants: Any) -> dict[str, str]:
    ids: dict[str, str] = tenants["demo"].ids
    agent2 = SipAgent(ids["agent2"], "agent2", "agent2-sip-secret")
    voice_tenant(as_user("admin"), (SipAgent(ids["agent1"], *AGENT1), agent2))
    return ids


class Phone:
    """A softphone as far as REGISTER goes: one UDP socket, digest answers, a fixed Contact
    (so that the same contact can register from another socket: a phone that moved)."""

    def __init__(self, server_port: int, contact_port: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.contact_port = contact_port or self.port
        self.server_port = server_port
        self.call_id = uuid.uuid4().hex
        self.cseq = 0

    def _message(self, user: str, expires: int, extra: str = "") -> bytes:
        self.cseq += 1
        return (
            f"REGISTER sip:{DOMAIN} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:{user}@{DOMAIN}>;tag=t{self.port}\r\n"
            f"To: <sip:{user}@{DOMAIN}>\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {self.cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@127.0.0.1:{self.contact_port}>\r\n"
            f"Expires: {expires}\r\n"
            f"User-Agent: {USER_AGENT}\r\n"
            f"{extra}"
            "Content-Length: 0\r\n\r\n"
        ).encode()

    async def _final(self) -> SipResponse:
        loop = asyncio.get_running_loop()
        while True:
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), 5)
            response = parse_message(data)
            assert isinstance(response, SipResponse)
            if response.status >= 200:
                return response

    async def register(self, user: str, password: str, expires: int = 120) -> int:
        self.sock.sendto(self._message(user, expires), ("127.0.0.1", self.server_port))
        challenge = await self._final()
        assert challenge.status == 401, challenge.status
        answer = DigestClient(Credentials(user, password)).answer(
            challenge, "REGISTER", f"sip:{DOMAIN}"
        )
        assert answer is not None
        extra = f"{answer[0]}: {answer[1]}\r\n"
        self.sock.sendto(self._message(user, expires, extra), ("127.0.0.1", self.server_port))
        return (await self._final()).status

    def close(self) -> None:
        self.sock.close()


def _same(registration: dict[str, Any]) -> dict[str, Any]:
    """A registration with its instants parsed: the API writes UTC as `Z`, events as +00:00."""
    times = {k: datetime.fromisoformat(registration[k]) for k in ("registered_at", "expires_at")}
    return registration | times


def _changes(user: Any, after: int = 0) -> list[dict[str, Any]]:
    events = all_events(user, after)[0]
    found = [e["data"] for e in events if e["event"] == "voice.registration_changed"]
    for data in found:
        data["registration"] = _same(data["registration"])
        data["registrations"] = [_same(r) for r in data["registrations"]]
    return found


def _snapshot_registrations(user: Any) -> dict[str, Any]:
    with user.websocket() as ws:
        ws.send_json({"type": "register", "last_event_id": None})
        snapshot = ws.receive_json()
    voice: dict[str, Any] = snapshot["state"]["voice"]
    return {k: [_same(r) for r in v] for k, v in voice["registrations"].items()}


def _wait_changes(user: Any, count: int, after: int = 0) -> list[dict[str, Any]]:
    for _ in range(100):
        found = _changes(user, after)
        if len(found) >= count:
            return found
        time.sleep(0.05)  # the events are written just after the phone's 200 OK
    raise AssertionError(f"expected {count} registration events, saw {_changes(user, after)}")


def test_who_sees_which_softphones(app, client, tenants, as_user):  # type: ignore[no-untyped-def]
    ids = _setup(as_user, tenants)
    port = app.state.voice.sip.udp_port
    phone = Phone(port)
    try:
        with capture_logs() as logs:
            assert client.portal.call(phone.register, *AGENT1) == 200
        [line] = [e for e in logs if e["event"] == "voice.softphone_registered"]
        assert line["log_level"] == "info" and line["username"] == "agent1"
        assert line["source"] == f"udp:127.0.0.1:{phone.port}" and "password" not in str(line)

        admin, supervisor = as_user("admin"), as_user("supervisor")
        agent1, agent2 = as_user("agent1"), as_user("agent2")
        [reg] = admin.get("/api/v1/voice/registrations").json()
        assert reg["user_id"] == ids["agent1"] and reg["username"] == "agent1"
        assert reg["aor"] == f"sip:agent1@{DOMAIN}"
        assert reg["contact"] == f"sip:agent1@127.0.0.1:{phone.port}"
        assert (reg["transport"], reg["address"], reg["port"]) == ("udp", "127.0.0.1", phone.port)
        assert reg["user_agent"] == USER_AGENT
        now = datetime.now(UTC)
        registered_at = datetime.fromisoformat(reg["registered_at"])
        expires_at = datetime.fromisoformat(reg["expires_at"])
        assert abs(registered_at - now) < timedelta(seconds=5)
        assert abs(expires_at - (now + timedelta(seconds=120))) < timedelta(seconds=5)

        # The agent's supervisor and the agent themselves see it; the other agent does not.
        assert supervisor.get("/api/v1/voice/registrations").json() == [reg]
        assert agent1.get("/api/v1/voice/registrations").json() == [reg]
        assert agent2.get("/api/v1/voice/registrations").json() == []
        one = agent1.get(f"/api/v1/voice/registrations/{ids['agent1']}").json()
        assert one == {
            "user_id": ids["agent1"],
            "sip_username": "agent1",
            "registered": True,
            "registrations": [reg],
        }
        assert supervisor.get(f"/api/v1/voice/registrations/{ids['agent1']}").json() == one
        assert agent2.get(f"/api/v1/voice/registrations/{ids['agent1']}").status_code == 404
        mine = agent2.get(f"/api/v1/voice/registrations/{ids['agent2']}").json()
        assert mine["registered"] is False and mine["sip_username"] == "agent2"
        assert admin.get(f"/api/v1/voice/registrations/{uuid.uuid4()}").status_code == 404
        other = as_user("admin", "other")
        assert other.get("/api/v1/voice/registrations").json() == []
        assert other.get(f"/api/v1/voice/registrations/{ids['agent1']}").status_code == 404

        # The snapshot: the same rule.
        expected = {ids["agent1"]: [_same(reg)]}
        assert _snapshot_registrations(admin) == expected
        assert _snapshot_registrations(supervisor) == expected
        assert _snapshot_registrations(agent1) == expected
        assert _snapshot_registrations(agent2) == {}

        # The event: to the agent and their teams' supervisors, not to the other agent.
        [event] = _wait_changes(admin, 1)
        assert event["change"] == "registered" and event["registration"] == _same(reg)
        assert event["registrations"] == [_same(reg)] and event["previous"] is None
        assert _changes(supervisor) == [event] and _changes(agent1) == [event]
        assert _changes(agent2) == []
    finally:
        phone.close()


def test_each_change_is_one_event(app, client, tenants, as_user):  # type: ignore[no-untyped-def]
    ids = _setup(as_user, tenants)
    voice = app.state.voice
    port = voice.sip.udp_port
    admin = as_user("admin")
    first = Phone(port)
    moved = Phone(port, contact_port=first.port)  # the same contact, from another socket
    try:
        assert client.portal.call(first.register, *AGENT1) == 200
        assert client.portal.call(first.register, *AGENT1) == 200  # a refresh: no event
        [registered] = _wait_changes(admin, 1)
        assert registered["change"] == "registered"

        with capture_logs() as logs:
            assert client.portal.call(moved.register, *AGENT1) == 200
        registered_then_moved = _wait_changes(admin, 2)
        assert [e["change"] for e in registered_then_moved] == ["registered", "moved"]
        move = registered_then_moved[1]
        assert move["previous"] == {"transport": "udp", "address": "127.0.0.1", "port": first.port}
        assert move["registration"]["port"] == moved.port
        assert move["registrations"] == [move["registration"]]  # one phone, now from elsewhere
        assert [e["event"] for e in logs] == ["voice.softphone_moved"]

        assert client.portal.call(moved.register, *AGENT1, 0) == 200  # Expires: 0
        changes = _wait_changes(admin, 3)
        assert changes[2]["change"] == "unregistered" and changes[2]["registrations"] == []
        assert admin.get("/api/v1/voice/registrations").json() == []

        # Registered again, then not refreshed: expired (the registrar's clock moved on).
        assert client.portal.call(first.register, *AGENT1) == 200
        registrar = voice.sip.registrar
        real_clock = registrar.clock

        async def later() -> None:
            registrar.clock = lambda: real_clock() + 121
            voice.softphones.check_expiries()

        try:
            client.portal.call(later)
        finally:
            registrar.clock = real_clock
        changes = _wait_changes(admin, 5)
        assert [e["change"] for e in changes[3:]] == ["registered", "expired"]
        assert changes[4]["registrations"] == [] and changes[4]["user_id"] == ids["agent1"]
        assert as_user("agent1").get("/api/v1/voice/registrations").json() == []
    finally:
        first.close()
        moved.close()
