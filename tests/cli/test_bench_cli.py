"""`omnidesk bench ...` through typer's CliRunner, at tiny sizes: behaviour only, no timings."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from omnidesk.cli import bench as bench_cli

runner = CliRunner()
TINY = ["--agents", "30", "--queues", "3", "--skills", "3", "--contacts", "120", "--seed", "4"]


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    bench_cli.register(root)
    return root


def test_routing_json_has_the_figures_in_snake_case(app: typer.Typer) -> None:
    result = runner.invoke(app, ["bench", "routing", *TINY, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["params"] == {"agents": 30, "queues": 3, "skills": 3, "contacts": 120, "seed": 4}
    for key in (
        "decisions",
        "decisions_per_second",
        "decisions_per_cpu_second",
        "commands_per_second",
        "memory_per_waiting_contact_bytes",
        "calibration_ms",
    ):
        assert isinstance(data[key], int | float), key
    assert data["decisions"] >= 120  # every contact is offered at least once
    assert set(data["latency_us"]) == {"p50", "p99", "max"}
    assert "contact_arrived" in data["per_command"]
    assert all(k == k.lower() and " " not in k for k in data)


def test_routing_same_seed_same_workload(app: typer.Typer) -> None:
    runs = [
        json.loads(runner.invoke(app, ["bench", "routing", *TINY, "--json", "--no-memory"]).stdout)
        for _ in range(2)
    ]
    assert runs[0]["decisions"] == runs[1]["decisions"]
    assert runs[0]["commands"] == runs[1]["commands"]
    assert "memory_per_waiting_contact_bytes" not in runs[0]


def test_routing_table(app: typer.Typer) -> None:
    result = runner.invoke(app, ["bench", "routing", *TINY])
    assert result.exit_code == 0, result.output
    for label in ("Decisions per second", "p50 / p99", "Memory per waiting contact", "GC pauses"):
        assert label in result.stdout
    assert "garbage collector on" in result.stdout and "GC OFF" not in result.stdout
    assert "Routing 120 contacts" in result.stderr  # progress goes to stderr, not the table
    with_off = runner.invoke(app, ["bench", "routing", *TINY, "--no-memory", "--gc-off"])
    assert "GC OFF, for comparison: decisions per second" in with_off.stdout


def test_rules_table_and_json(app: typer.Typer) -> None:
    tiny = ["bench", "rules", "--agents", "5", "--seconds", "0.02"]
    table = runner.invoke(app, tiny)
    assert table.exit_code == 0, table.output
    assert "typical: skills.lang.de >= 4" in " ".join(table.stdout.split())
    figures = json.loads(runner.invoke(app, [*tiny, "--json"]).stdout)
    assert set(figures) == {"typical", "membership", "nested", "clock", "follow_the_sun"}
    assert all(f["evaluations_per_second"] > 0 for f in figures.values())


@pytest.mark.parametrize(
    ("option", "value"), [("--agents", "0"), ("--queues", "0"), ("--contacts", "-1")]
)
def test_bad_sizes_name_the_option(app: typer.Typer, option: str, value: str) -> None:
    args = [*TINY]
    args[args.index(option) + 1] = value
    result = runner.invoke(app, ["bench", "routing", *args, "--json"])
    assert result.exit_code == 2
    assert option in result.stderr
    assert result.stdout == ""


def test_other_benchmarks_join_the_same_group_in_any_order() -> None:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    def twin() -> None:
        """A later benchmark."""
        typer.echo("twin ran")

    bench_cli.bench_group(root).command("twin")(twin)  # registered before `routing`
    bench_cli.register(root)
    assert [g.name for g in root.registered_groups] == ["bench"]
    assert runner.invoke(root, ["bench", "twin"]).stdout == "twin ran\n"
    listing = runner.invoke(root, ["bench", "--help"]).stdout
    assert "routing" in listing and "twin" in listing
