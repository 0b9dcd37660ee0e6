"""Every command with `--json` prints exactly one JSON document on stdout (logs go to stderr).

The commands are found by walking the real `omnidesk` command tree, so a new `--json` command
without a case here fails `test_every_json_command_has_a_case`. Each case runs the real entry
point in a subprocess at a tiny size and parses the whole of stdout as one document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from test_schedule_cli import TINY as TINY_SCHEDULE
from typer.core import TyperGroup

from omnidesk.cli.main import command_tree
from omnidesk_cli import run_omnidesk

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCHEDULE = "{tmp}/schedule.yaml"  # written from TINY_SCHEDULE by the test

# Arguments (besides --json) that make each command quick; keys are the command's path.
CASES: dict[str, list[str]] = {
    "erlang b": ["--load", "5", "--lines", "8"],
    "erlang c": ["--calls", "100", "--interval-seconds", "1800", "--aht", "180", "--agents", "12",
                 "--answer-time", "20"],
    "erlang a": ["--calls", "100", "--interval-seconds", "1800", "--aht", "180", "--agents", "12",
                 "--answer-time", "20", "--patience", "120"],
    "erlang staff": ["--model", "c", "--calls", "100", "--interval-seconds", "1800", "--aht",
                     "180", "--answer-time", "20", "--target-sl", "0.8"],
    "forecast": [str(EXAMPLES / "forecast" / "contacts.csv"), "--channel", "chat", "--method",
                 "theta", "--horizon-days", "1", "--backtest-days", "1"],
    "simulate": [str(EXAMPLES / "twin" / "mmn.yaml"), "--replications", "1"],
    "schedule": [SCHEDULE, "--time-limit", "5"],
    "bench routing": ["--agents", "30", "--queues", "3", "--skills", "3", "--contacts", "100"],
    "bench rules": ["--agents", "10", "--seconds", "0.02"],
    "bench erlang": ["--intervals", "20"],
    "bench twin": ["--customers", "200", "--small-agents", "3", "--large-agents", "5",
                   "--day-agents", "10", "--day-contacts", "100"],
    # The whole voice server with sipp (`make install` installs it): 2 calls, 1 s measured.
    "bench voice": ["--calls", "2", "--seconds", "1", "--rate", "4"],
    "bench media": ["--legs", "2", "--seconds", "0.5"],
    # A real server with 5 agents on WebSockets; short talks so the drain ends quickly.
    "bench server": ["--agents", "5", "--rate", "2", "--seconds", "3", "--talk-seconds",
                     "0.1-0.3"],
    "bench realtime": ["--sockets", "20", "--events", "30", "--teams", "3"],
    # A real server and Debian's Chromium (`make install` installs it and builds the desk).
    "bench desk": ["--loads", "1", "--events", "2"],
    "bench crm": ["--customers", "300", "--samples", "100"],
    "bench kpis": ["--events", "3000", "--days", "20", "--queues", "3"],
    # A real server with 5 widget sockets and the desk's socket.
    "bench chat": ["--visitors", "5", "--messages", "10", "--rate", "20"],
    # A real server with the SMTP listener; a handful of mails through it to routed contacts.
    "bench email": ["--mails", "5", "--connections", "1"],
    # The media engine and the browser phones' aiortc end, 2 aiortc browsers, 2 RTP callers.
    "bench webrtc": ["--calls", "2", "--seconds", "2"],
}  # fmt: skip


def _check_bench_server(document: dict[str, Any]) -> None:
    # The documented figures (docs/routing.md, "Measuring the server path").
    for key in ("create_ms", "offer_delivery_ms", "accept_ms", "end_ms"):
        assert set(document[key]) == {"count", "p50", "p95", "p99", "max"}, key
    assert set(document["contacts"]) >= {"created", "offered", "accepted", "ended"}
    assert set(document["agents"]) >= {"stuck", "missed_events", "states_at_end"}
    assert set(document["http_errors"]) >= {"by_operation", "4xx", "5xx", "429"}
    assert set(document["server"]) >= {"cpu_seconds", "cpu_pct", "peak_rss_mb"}
    assert set(document["machine"]) >= {"cores", "load_average_start"}
    assert isinstance(document["offers_per_second"], float)
    # Behaviour, not timing: 5 free agents and 6 contacts over 3 s; each is offered, accepted
    # and ended, and nobody is left stuck.
    contacts = document["contacts"]
    assert contacts["created"] == 6
    assert contacts["offered"] == contacts["accepted"] == contacts["ended"] == 6
    assert document["offer_delivery_ms"]["count"] == 6
    assert document["lost_offers"] == 0 and document["drained"] is True
    assert document["agents"]["stuck"] == 0 and document["agents"]["missed_events"] == 0
    assert document["http_errors"]["4xx"] == document["http_errors"]["5xx"] == 0


def _check_bench_desk(document: dict[str, Any]) -> None:
    # Both offers were painted and measured; the figures are the documented ones.
    assert document["events"] == 2
    for key in ("first_contentful_paint_ms", "desk_live_ms", "event_to_screen_ms"):
        assert set(document[key]) == {"p50", "p95", "max"}, key


def _check_bench_webrtc(document: dict[str, Any]) -> None:
    # Both calls stayed up, and each side heard the other's tone through the engine.
    assert document["calls"] == document["calls_up_at_end"] == 2
    assert document["caller_audio_path_ok"] is True
    assert document["browser_heard_the_caller"] is True
    assert document["caller_rx_packets"] > 0 and document["browser_rx_frames"] > 0
    for side in ("caller", "browser"):
        assert set(document) >= {f"{side}_rx_interval_{q}_ms" for q in ("p50", "p99", "max")}
    # CPU per call on both sides, and the machine's load beside the intervals it moves.
    assert document["server_cpu_percent_per_call"] > 0
    assert document["browser_peers_cpu_percent_per_call"] > 0
    assert len(document["machine"]["load_average_start"]) == 3


def _check_bench_chat(document: dict[str, Any]) -> None:
    # Every visitor message reached the desk's socket, once measured; nothing refused.
    assert document["messages_sent"] == document["messages_delivered"] == 10
    assert document["lost"] == 0 and document["http_errors"] == 0
    assert set(document["delivery_ms"]) == {"count", "p50", "p99", "max"}
    assert "memory_per_connection_kb" in document["server"]
    # The server's own count of the statements it sent (its /metrics), per message.
    assert document["server"]["db_statements_per_message"] > 0
    assert document["http_errors_by_status"] == {}


# What each command's document must say beyond being one JSON object.
CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "bench server": _check_bench_server,
    "bench chat": _check_bench_chat,
    "bench desk": _check_bench_desk,
    "bench webrtc": _check_bench_webrtc,
}


def _json_commands(group: TyperGroup, prefix: str = "") -> set[str]:
    found = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, TyperGroup):
            found |= _json_commands(command, f"{path} ")
        elif any("--json" in param.opts for param in command.params):
            found.add(path)
    return found


def test_every_json_command_has_a_case() -> None:
    root = typer.main.get_command(command_tree())
    assert isinstance(root, TyperGroup)
    assert _json_commands(root) == set(CASES)


@pytest.mark.parametrize("command", sorted(CASES))
def test_prints_exactly_one_json_document(command: str, tmp_path: Path) -> None:
    (tmp_path / "schedule.yaml").write_text(TINY_SCHEDULE)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in CASES[command]]
    done = run_omnidesk(*command.split(), *args, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)  # the whole of stdout: nothing before or after it
    assert isinstance(document, dict) and document
    if command in CHECKS:
        CHECKS[command](document)
