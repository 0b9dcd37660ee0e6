"""`omnidesk schedule SCENARIO.yaml` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from omnidesk.cli import schedule as schedule_cli

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "schedule" / "week.yaml"

# Unquoted times on purpose: YAML 1.1 would read 10:00 as the number 600.
TINY = """
horizon: {start: 2026-03-29, days: 1, interval_minutes: 60}
requirement:
  lang.en: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
shift_templates:
  - name: day
    length_minutes: 240
    start_times: [06:00, 08:00, 10:00, 12:00]
agents:
  - id: berlin
    timezone: Europe/Berlin
    skills: [lang.en]
    availability: {sun: [[10:00, 14:00]]}
    target_hours_per_week: 28
  - id: newyork
    timezone: America/New_York
    skills: [lang.en]
    availability: {sun: [[06:00, 18:00]]}
    target_hours_per_week: 28
"""


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    schedule_cli.register(root)
    return root


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["schedule", *args])
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_tiny_scenario_as_json_in_local_time(app: typer.Typer, tmp_path: Path) -> None:
    code, out, err = run(app, write(tmp_path, TINY), "--json", "--time-limit", "5")
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "OPTIMAL"
    assert (data["under_minutes"], data["over_minutes"]) == (0, 0)
    shifts = {a["agent_id"]: [s["start"] for s in a["shifts"]] for a in data["agents"]}
    # Berlin is on summer time from this very morning: 10:00 local is 08:00 UTC. New York
    # (UTC-4) takes 12:00-16:00 UTC, which is 08:00 local.
    assert shifts == {
        "berlin": ["2026-03-29T10:00:00+02:00"],
        "newyork": ["2026-03-29T08:00:00-04:00"],
    }
    assert data["coverage"]["skills"]["lang.en"]["scheduled"][8:16] == [1.0] * 8


def test_tables_show_local_shifts_and_the_coverage(app: typer.Typer, tmp_path: Path) -> None:
    code, out, err = run(app, write(tmp_path, TINY), "--time-limit", "5")
    assert code == 0, err
    assert "OPTIMAL" in out
    assert "berlin (Europe/Berlin)" in out and "10:00-14:00" in out and "+02:00" in out
    assert "newyork (America/New_York)" in out and "08:00-12:00" in out and "-04:00" in out
    assert "Coverage" in out and "lang.en" in out


def test_the_example_week_solves(app: typer.Typer) -> None:
    code, out, err = run(app, str(EXAMPLE), "--json", "--time-limit", "2")
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] in ("OPTIMAL", "FEASIBLE")
    scenario: dict[str, Any] = yaml.load(EXAMPLE.read_text(), Loader=schedule_cli._Loader)
    assert {a["agent_id"] for a in data["agents"]} == {a["id"] for a in scenario["agents"]}
    for agent, spec in zip(data["agents"], scenario["agents"], strict=True):
        paid = sum(s["paid_minutes"] for s in agent["shifts"])
        assert spec["min_hours_per_week"] * 60 <= paid <= spec["max_hours_per_week"] * 60
    berlin_sunday = [
        s["start"]
        for a in data["agents"]
        if a["timezone"] == "Europe/Berlin"
        for s in a["shifts"]
        if s["start"].startswith("2026-03-29")
    ]
    assert berlin_sunday and all(s.endswith("+02:00") for s in berlin_sunday)
    assert (
        data["under_minutes"] < sum(sum(v) for v in scenario["requirement"].values()) * 30 * 7
    )  # it staffs something


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (None, ["--time-limit", "5"], "Error: SCENARIO: cannot read"),
        ("horizon: [unclosed", [], "Error: SCENARIO:"),
        ("- a list", [], "Error: SCENARIO:"),
        (TINY.replace("days: 1", "days: 0"), [], "Error: horizon.days:"),
        (
            TINY.replace("timezone: Europe/Berlin", "timezone: Mars/Base"),
            [],
            "Error: agents.0.timezone:",
        ),
        (TINY + "surprise: 1\n", [], "Error: surprise:"),
        (
            TINY.replace("[0, 0, 0, 0, 0, 0, 0, 0, 1", "[0, 0, 0, 0, 0, 0, 0, 1"),
            [],
            "Error: requirement.lang.en:",
        ),
        (
            TINY.replace(
                "target_hours_per_week: 28\n  - id: newyork",
                "min_hours_per_week: 35\n  - id: newyork",
            ),
            [],
            "Error: agents.0.min_hours_per_week:",
        ),
        (TINY, ["--time-limit", "0"], "Error: --time-limit:"),
    ],
)
def test_bad_input_names_the_field_and_exits_2(
    app: typer.Typer, tmp_path: Path, text: str | None, args: list[str], expected: str
) -> None:
    path = str(tmp_path / "missing.yaml") if text is None else write(tmp_path, text)
    code, out, err = run(app, path, *args)
    assert code == 2, out
    assert err.startswith(expected), err
    assert out == ""
