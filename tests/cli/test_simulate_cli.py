"""`omnidesk simulate` and `omnidesk bench twin` through typer's CliRunner: the example
scenarios run, --json is snake_case JSON on stdout only, bad input exits 2 naming the field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from omnidesk.cli import bench as bench_cli
from omnidesk.cli import simulate as simulate_cli

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "twin"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    bench_cli.register(root)
    simulate_cli.register(root)
    return root


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_mmn_example_json(app: typer.Typer) -> None:
    result = runner.invoke(
        app, ["simulate", str(EXAMPLES / "mmn.yaml"), "--replications", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["replications"] == 3 and report["seed"] == 1
    assert [r["variant"] for r in report["runs"]] == ["baseline", "plus-2-agents"]
    assert [d["variant"] for d in report["differences"]] == ["plus-2-agents"]
    assert all(re.fullmatch(r"[a-z0-9_]+", k) for k in _keys(report) if not k[0].isdigit())
    base, more = (r["total"] for r in report["runs"])
    assert more["service_level"]["mean"] > base["service_level"]["mean"]
    diff = report["differences"][0]["total"]["service_level"]
    assert diff["mean"] == pytest.approx(
        more["service_level"]["mean"] - base["service_level"]["mean"]
    )
    assert diff["ci_low"] > 0  # two more agents help, and the paired CI says so


def test_day_example_tables(app: typer.Typer) -> None:
    result = runner.invoke(
        app, ["simulate", str(EXAMPLES / "day.yaml"), "--replications", "1", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "baseline: totals",
        "voice/voice",
        "chat/chat",
        "email/email",
        "Service level",
        "occupancy by agent group",
        "berlin-early",
        "per interval",
        "Mon 07:00",
        "english-sooner - baseline: paired differences",
        "plus-10-agents - baseline",
    ):
        assert text in out, text
    assert "simulated baseline" not in out  # the progress bar is on stderr


def test_the_text_report_states_the_engine_settings(app: typer.Typer, tmp_path: Path) -> None:
    text = (EXAMPLES / "mmn.yaml").read_text() + "engine:\n  tick_seconds: 2\n"
    path = tmp_path / "ticks.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["simulate", str(path), "--replications", "1"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())  # as one line, however the terminal wrapped it
    for run in ("baseline", "plus-2-agents"):
        assert (
            f'{run}: engine settings missed_state="away", missed_reason="missed", '
            "max_overflow_hops=5, rescan_on_tick=true, handle_time_smoothing=0.2, "
            "agent_contact_wrap_up_seconds=null, tick_seconds=2.0* "
            "(* differs from the server's default); missed_away_seconds=30"
        ) in out


def test_one_variant_only(app: typer.Typer, tmp_path: Path) -> None:
    text = (EXAMPLES / "mmn.yaml").read_text()
    text += "  - name: minus-2-agents\n    agents:\n      - id: agent\n        count: 13\n"
    path = tmp_path / "three.yaml"
    path.write_text(text)
    args = ["simulate", str(path), "--replications", "2", "--json"]
    everything = json.loads(runner.invoke(app, args).stdout)
    assert [r["variant"] for r in everything["runs"]] == [
        "baseline",
        "plus-2-agents",
        "minus-2-agents",
    ]
    result = runner.invoke(app, [*args, "--variant", "minus-2-agents"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["variant"] for r in report["runs"]] == ["baseline", "minus-2-agents"]
    assert report["runs"][1]["agents"] == 13
    # The same customers whichever variants run beside the baseline.
    assert report["runs"][1]["total"] == everything["runs"][2]["total"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--variant", "nope"], "Error: --variant: no variant named 'nope'"),
        (["--replications", "0"], "Error: --replications: at least 1"),
        (["--seed", "-1"], "Error: --seed: must be >= 0"),
    ],
)
def test_bad_options_exit_2(app: typer.Typer, args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["simulate", str(EXAMPLES / "mmn.yaml"), *args, "--json"])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert result.stdout == ""


def test_bad_scenario_names_every_field(app: typer.Typer, tmp_path: Path) -> None:
    text = (EXAMPLES / "mmn.yaml").read_text()
    text = text.replace(
        "channels: [voice]", "channels: [voice]\n    steps: [{target: 'skills.x >'}]"
    )
    text = text.replace("count: 15", "count: -1")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["simulate", str(path), "--json"])
    assert result.exit_code == 2
    assert "Error: queues[0].steps[0].target: " in result.stderr
    assert "(line 1, column" in result.stderr
    assert "Error: agents[0].count: " in result.stderr
    assert result.stdout == ""


def test_missing_file_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "cannot read the scenario" in result.stderr


def test_bench_twin_runs_at_tiny_sizes(app: typer.Typer) -> None:
    sizes = ["--customers", "400", "--small-agents", "5", "--large-agents", "12"]
    day = ["--day-agents", "20", "--day-contacts", "300"]
    result = runner.invoke(app, ["bench", "twin", *sizes, *day, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["params"]["customers"] == 400
    for key, agents in (("mmn_small", 5), ("mmn_large", 12)):
        run = data[key]
        assert run["agents"] == agents
        for simulator in ("twin", "ciw"):
            figures = run[simulator]
            assert figures["customers"] > 300
            assert 0 <= figures["service_level"] <= 1 and 0 <= figures["p_abandon"] <= 1
        assert run["speed_ratio"] > 0
        assert set(run["erlang_a"]) == {"service_level", "p_abandon", "asa"}
    assert data["day"]["twin"]["customers"] > 200
    # Without --json: tables, and progress only on stderr.
    result = runner.invoke(app, ["bench", "twin", *sizes, *day, "--no-ciw"])
    assert result.exit_code == 0, result.output
    assert "M/M/5+M" in result.stdout and "Multi-skill day" in result.stdout
    assert "ciw" not in result.stdout


def test_bench_twin_bad_size_exits_2(app: typer.Typer) -> None:
    result = runner.invoke(app, ["bench", "twin", "--customers", "0", "--json"])
    assert result.exit_code == 2
    assert "--customers" in result.stderr
