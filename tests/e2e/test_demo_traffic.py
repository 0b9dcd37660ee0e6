"""`omnidesk demo traffic --seconds 60 --agents 2` against a real server: calls are answered by
the simulated agents, who wrap up with a disposition, and the call history, the recordings
list and the event log show it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from demo_server import DemoServer

from omnidesk.demo.agents import DISPOSITIONS
from omnidesk_cli import run_omnidesk
from spine_checks import all_events

TOOLS = ("sipp", "sox", "baresip", "espeak-ng")
pytestmark = [
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}"
    ),
    pytest.mark.slow,
]


@pytest.mark.timeout(300)
def test_a_minute_of_demo_traffic_is_answered_and_recorded(tmp_path: Path) -> None:
    server = DemoServer(tmp_path)
    server.demo()
    server.start()
    try:
        done = run_omnidesk(
            "demo", "traffic", "--seconds", "60", "--agents", "2", "--calls-per-minute", "10",
            "--url", server.base, "--sip-port", str(server.sip_port),
            env=server.env, cwd=tmp_path, timeout=240,
        )  # fmt: skip
        assert done.returncode == 0, f"{done.stderr[-4000:]}\n{server.server_log()}"
        assert "calls placed" in done.stderr  # the progress line
        assert "answered" in done.stdout  # the summary

        admin = server.login("admin")
        users = {u["username"]: u["id"] for u in admin.get("/api/v1/users").json()}
        answered = admin.get(
            "/api/v1/voice/call-history", params={"outcome": "answered", "limit": 200}
        ).json()["items"]
        assert len(answered) >= 2, done.stderr[-3000:]
        agents = {users["agent1"], users["agent2"]}
        assert {call["agent_id"] for call in answered} <= agents
        assert all(call["queue_id"] in ("support", "sales") for call in answered)
        assert all(call["ivr_path"][:2] == ["welcome", "check_hours"] for call in answered)
        # Both queues record every call: the answered calls' recordings are listed.
        recordings = admin.get("/api/v1/voice/recordings", params={"limit": 200}).json()["items"]
        recorded = {r["call_id"] for r in recordings if r["kind"] == "call"}
        assert recorded & {call["call_id"] for call in answered}

        events, _ = all_events(admin)
        kinds = [e["event"] for e in events]
        assert kinds.count("routing.offer_accepted") >= len(answered)
        wrapped = [e["data"] for e in events if e["event"] == "routing.wrap_up_ended"]
        assert any(w.get("disposition") in DISPOSITIONS for w in wrapped), wrapped
        # They logged off at the end.
        states = admin.get("/api/v1/routing/agents").json()
        assert {a["status"]["state"] for a in states} == {"offline"}
    finally:
        server.stop()
