"""`omnidesk erlang ...` through typer's CliRunner, on an app that only has the erlang group
(the real main app also needs platform_cmds, which lives elsewhere)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from omnidesk.cli import erlang as erlang_cli

runner = CliRunner()

_C = [
    "--calls", "100", "--interval-seconds", "1800", "--aht", "180", "--answer-time", "20",
]  # fmt: skip


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    erlang_cli.register(root)
    return root


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["erlang", *args])
    return result.exit_code, result.stdout, result.stderr


def test_b_json(app: typer.Typer) -> None:
    code, out, _ = run(app, "b", "--load", "10", "--lines", "15", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["blocking"]
    assert data["blocking"] == pytest.approx(0.0365, abs=5e-5)


def test_c_json_keys_and_values(app: typer.Typer) -> None:
    code, out, _ = run(app, "c", *_C, "--agents", "14", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["offered_load", "p_wait", "service_level", "asa", "occupancy"]
    # Call Centre Helper worked example (see tests/wfm/test_erlang.py).
    assert data["offered_load"] == 10.0
    assert data["service_level"] == pytest.approx(0.88835, abs=5e-6)
    assert data["asa"] == pytest.approx(7.8359, abs=5e-5)


def test_c_unstable_reports_null_asa(app: typer.Typer) -> None:
    code, out, _ = run(app, "c", *_C, "--agents", "10", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["p_wait"] == 1.0 and data["asa"] is None


def test_a_json_keys(app: typer.Typer) -> None:
    code, out, _ = run(app, "a", *_C, "--agents", "9", "--patience", "120", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == [
        "offered_load",
        "p_wait",
        "service_level",
        "asa",
        "occupancy",
        "p_abandon",
        "mean_wait",
        "mean_queue",
    ]
    assert 0 < data["p_abandon"] < data["p_wait"] < 1
    assert data["mean_queue"] == pytest.approx(100 / 1800 * data["mean_wait"], rel=1e-12)


def test_staff_c_json(app: typer.Typer) -> None:
    code, out, _ = run(
        app, "staff", "--model", "c", *_C, "--target-sl", "0.8", "--max-occupancy", "0.85",
        "--shrinkage", "0.3", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert list(data) == [
        "agents",
        "agents_with_shrinkage",
        "service_level",
        "p_wait",
        "asa",
        "occupancy",
    ]
    assert (data["agents"], data["agents_with_shrinkage"]) == (14, 20)


def test_staff_a_json_has_abandonment(app: typer.Typer) -> None:
    code, out, _ = run(
        app, "staff", "--model", "a", *_C, "--target-sl", "0.8", "--patience", "120",
        "--target-asa", "15", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert list(data)[-1] == "p_abandon"
    assert data["agents"] <= 14  # abandonment never needs more agents here than Erlang C
    assert data["service_level"] >= 0.8 and data["asa"] <= 15


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("b", "--load", "10", "--lines", "15"), "Blocking probability"),
        (("c", *_C, "--agents", "14"), "Service level"),
        (("a", *_C, "--agents", "14", "--patience", "60"), "P(abandon)"),
        (("staff", "--model", "c", *_C, "--target-sl", "0.8"), "Agents with shrinkage"),
    ],
)
def test_tables(app: typer.Typer, args: tuple[str, ...], expected: str) -> None:
    code, out, _ = run(app, *args)
    assert code == 0
    assert expected in out
    assert "{" not in out  # a table, not JSON


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("b", "--load", "-1", "--lines", "3"), "--load"),
        (("c", *_C[:1], "0", *_C[2:], "--agents", "14"), "--calls"),
        (("c", *_C, "--agents", "14", "--aht", "-5"), "--aht"),
        (("a", *_C, "--agents", "14", "--patience", "0"), "--patience"),
        (("staff", "--model", "c", *_C, "--target-sl", "0.8", "--max-occupancy", "1"),
         "--max-occupancy"),
        (("staff", "--model", "c", *_C, "--target-sl", "1.5"), "--target-sl"),
        (("staff", "--model", "a", *_C, "--target-sl", "0.8"), "--patience"),
        (("staff", "--model", "x", *_C, "--target-sl", "0.8"), "--model"),
        (("staff", "--model", "c", "--calls", "1000000", *_C[2:], "--target-sl", "0.8"),
         "--calls"),
        (("staff", "--model", "c", *_C, "--shrinkage", "1"), "--target-sl"),
    ],
)  # fmt: skip
def test_bad_input_exit_2_names_option(
    app: typer.Typer, args: tuple[str, ...], option: str
) -> None:
    code, out, err = run(app, *args, "--json")
    assert code == 2
    assert out == ""
    assert option in err


def test_missing_option_is_a_usage_error(app: typer.Typer) -> None:
    code, _, err = run(app, "c", "--calls", "100")
    assert code == 2
    assert "--interval-seconds" in err or "Missing option" in err


def test_bench_erlang_runs_beside_pyworkforce_with_identical_agent_counts() -> None:
    main_app = typer.Typer()

    @main_app.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    erlang_cli.register(main_app)
    result = runner.invoke(main_app, ["bench", "erlang", "--intervals", "300", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["intervals"] == 300
    # Both staff the same intervals; the counts must agree (they are exact Erlang C answers).
    assert data["identical_agent_counts"] == 300, data["differing_intervals"]
    assert data["omnidesk"]["total_agents"] == data["pyworkforce"]["total_agents"]
    assert data["speed_ratio"] > 0
    table = runner.invoke(main_app, ["bench", "erlang", "--intervals", "50", "--no-peers"])
    assert table.exit_code == 0, table.output
    assert "pyworkforce not run" in table.stdout
    bad = runner.invoke(main_app, ["bench", "erlang", "--intervals", "0"])
    assert bad.exit_code == 2
