"""A ready-to-call tenant, for `omnidesk bench voice` and the voice end-to-end tests.

`configure` sets a tenant up through the same HTTP API an administrator uses: the SIP domain,
a trunk (calls allowed from loopback, optionally an outbound carrier), an IVR flow, a number
pointing at it, a routing queue with its recording policy, and agents with a routing profile
and a SIP login (optionally made available). Going through the API, not the services, keeps
the benchmark and the tests honest: what they call is what a real deployment is configured by.

Also here: `free_port` and `voice_settings`, the settings both need to run the voice server
on loopback next to sipp and softphones.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

LOOPBACK_TRUNK: dict[str, Any] = {"name": "carrier", "allowed_addresses": ["127.0.0.1/32"]}


class Api(Protocol):
    """What `configure` needs of an HTTP client logged in as the tenant's admin."""

    def post(self, url: str, *, json: Any) -> Any: ...

    def put(self, url: str, *, json: Any) -> Any: ...


class SetupError(RuntimeError):
    """The API refused a step of the set-up (the message has the URL, status and body)."""


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (the SIP server and sipp listen on
    both). It is closed again before it is returned, so it is free now, not reserved."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = int(t.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def voice_settings(**extra: Any) -> dict[str, Any]:
    """Settings overrides that run the voice server on loopback: a free SIP port, RTP ports
    chosen by the OS (port_min 0) so that runs side by side never fight over a fixed range."""
    return {"voice_enabled": True, "voice_sip_port": free_port(), "voice_rtp_port_min": 0} | extra


@dataclass(frozen=True)
class SipAgent:
    """A user who gets a SIP login. With a `queue_weight`, also a routing profile that serves
    the testbed's queue on one voice call at a time (a supervisor who only listens in has
    none)."""

    user_id: str
    username: str
    password: str
    queue_weight: int | None = 1
    available: bool = False


@dataclass(frozen=True)
class VoiceTenant:
    """What `configure` sets up: the tenant's SIP domain, a trunk, `flow` behind `number`,
    the routing `queue` with its recording policy, and the agents."""

    domain: str
    number: str
    flow: dict[str, Any]
    queue: dict[str, Any]
    record: str = "always"
    trunk: dict[str, Any] = field(default_factory=lambda: dict(LOOPBACK_TRUNK))
    agents: Sequence[SipAgent] = ()


def routing_queue(
    queue_id: str, name: str, *, offer_timeout_seconds: int, wrap_up_seconds: int
) -> dict[str, Any]:
    """A voice queue any agent serving it may take (one step, no skill target)."""
    return {
        "id": queue_id,
        "channels": ["voice"],
        "name": name,
        "steps": [{"target": None}],
        "offer_timeout_seconds": offer_timeout_seconds,
        "wrap_up_seconds": wrap_up_seconds,
    }


def queue_flow(flow_id: str, queue_id: str) -> dict[str, Any]:
    """An IVR flow that puts every call straight into `queue_id`."""
    return {
        "id": flow_id,
        "language": "en",
        "timezone": "UTC",
        "start": "queue",
        "nodes": {"queue": {"type": "queue", "queue": queue_id}},
    }


def ok(response: Any, status: int = 200) -> Any:
    """The JSON body of `response` (None if empty); SetupError unless it has `status`."""
    if response.status_code != status:
        raise SetupError(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else None


def configure(api: Api, bed: VoiceTenant) -> str:
    """Set the tenant up as `bed` says; returns the flow's id."""
    ok(api.put("/api/v1/voice/settings", json={"sip_domain": bed.domain}))
    ok(api.post("/api/v1/voice/trunks", json=bed.trunk), 201)
    flow = {"name": bed.flow["id"], "definition": bed.flow}
    flow_id = str(ok(api.post("/api/v1/voice/flows", json=flow), 201)["id"])
    ok(api.post("/api/v1/voice/numbers", json={"number": bed.number, "flow_id": flow_id}), 201)
    ok(api.post("/api/v1/routing/queues", json=bed.queue), 201)
    queue_id = bed.queue["id"]
    ok(api.put(f"/api/v1/voice/queues/{queue_id}/policy", json={"record": bed.record}))
    for agent in bed.agents:
        if agent.queue_weight is not None:
            queues = {queue_id: agent.queue_weight}
            profile = {"skills": {}, "queues": queues, "capacity": {"voice": 1}}
            ok(api.put(f"/api/v1/routing/agents/{agent.user_id}", json=profile))
        login = {"username": agent.username, "password": agent.password}
        ok(api.put(f"/api/v1/voice/agents/{agent.user_id}/sip", json=login))
        if agent.available:
            state = {"state": "available"}
            ok(api.post(f"/api/v1/routing/agents/{agent.user_id}/state", json=state))
    return flow_id
