"""`omnidesk schedule SCENARIO.yaml`: shift schedules from a scenario file, with CP-SAT.

Thin layer over omnidesk.wfm.scheduling: read the YAML (the same shapes as the API, agents given
inline), solve, print each agent's shifts in their local time and the coverage per skill, or
(--json) everything. Bad input -> "Error: <field>: <reason>" on stderr, exit code 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from omnidesk.wfm.scheduling import Problem, Schedule, SchedulingError, SolverOptions, solve
from omnidesk.wfm.scheduling.schemas import (
    ScenarioIn,
    agent_of,
    horizon_of,
    requirement_of,
    templates_of,
    weights_of,
)


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads 10:30 as the base-60 integer 630; here it stays the time "10:30"."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def _fail(field: str, message: str) -> typer.Exit:
    typer.echo(f"Error: {field}: {message}", err=True)
    return typer.Exit(code=2)


def _read(path: Path) -> ScenarioIn:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail("SCENARIO", f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as exc:
        raise _fail("SCENARIO", f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise _fail("SCENARIO", f"{path} must hold a mapping (horizon, requirement, ...)")
    try:
        return ScenarioIn.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "SCENARIO"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise _fail(where, f"{err['msg']}{more}") from None


def problem_of(scenario: ScenarioIn) -> Problem:
    horizon = horizon_of(scenario.horizon)
    agents = tuple(
        agent_of(a.id, a.timezone, a.skills, a, f"agents.{i}")
        for i, a in enumerate(scenario.agents)
    )
    return Problem(
        horizon,
        requirement_of(scenario.requirement, horizon),
        templates_of(scenario.shift_templates),
        agents,
        weights_of(scenario.weights),
    )


def _hours(minutes: float) -> str:
    return f"{minutes / 60:.2f}"


def _print(schedule: Schedule) -> None:
    console = Console()
    bound = "" if schedule.best_bound is None else f", bound {schedule.best_bound:,.0f}"
    console.print(
        f"[bold]{schedule.status}[/bold]: objective {schedule.objective:,.0f}{bound} "
        f"in {schedule.wall_seconds:.1f} s"
    )
    for agent in schedule.agents:
        tz = ZoneInfo(agent.timezone)
        paid = " / ".join(_hours(m) for m in agent.paid_minutes_by_week)
        target = " / ".join(_hours(m) for m in agent.target_minutes_by_week)
        table = Table(
            title=f"{agent.agent_id} ({agent.timezone}): {paid} h paid, target {target}",
            caption="* unpaid break"
            if any(not b.paid for s in agent.shifts for b in s.breaks)
            else None,
        )
        for column in ("Day", "Local", "UTC", "Breaks", "Template", "Paid h"):
            table.add_column(column)
        for shift in agent.shifts:
            start, end = shift.start.astimezone(tz), shift.end.astimezone(tz)
            breaks = " ".join(
                f"{b.start.astimezone(tz):%H:%M}-{b.end.astimezone(tz):%H:%M}"
                + ("" if b.paid else "*")
                for b in shift.breaks
            )
            offset = f"{start:%z}"
            table.add_row(
                f"{start:%a %Y-%m-%d}",
                f"{start:%H:%M}-{end:%H:%M}",
                f"{offset[:3]}:{offset[3:]}",
                breaks or "-",
                shift.template,
                _hours(shift.paid_minutes),
            )
        if not agent.shifts:
            table.add_row("-", "no shifts", "", "", "", "0.00")
        console.print(table)
    cov = Table(title="Coverage (agent-hours)")
    for column in ("Skill", "Required", "Scheduled", "Short", "Surplus", "Intervals short"):
        cov.add_column(column, justify="right" if column != "Skill" else "left")
    for c in schedule.coverage:
        required = sum(c.required) * c.interval_minutes
        short = sum(1 for g in c.gap if g < 0)
        cov.add_row(
            c.skill,
            _hours(required),
            _hours(sum(c.scheduled_minutes)),
            _hours(c.under_minutes),
            _hours(c.over_minutes),
            f"{short} of {len(c.gap)}",
        )
    console.print(cov)
    if schedule.unassigned_minutes:
        console.print(
            f"Worked by agents without a required skill: {_hours(schedule.unassigned_minutes)} h"
        )


def as_json(schedule: Schedule) -> dict[str, Any]:
    """Shifts as local wall-clock times with their UTC offset."""
    return schedule.to_dict(local=True)


def schedule_cmd(
    scenario: Annotated[
        Path, typer.Argument(help="YAML with horizon, requirement, shift_templates and agents.")
    ],
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds the solver may take.")
    ] = 10.0,
    as_json_flag: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Build shift schedules (OR-Tools CP-SAT) for the agents of a scenario file."""
    data = _read(scenario)
    try:
        problem = problem_of(data)
        result = solve(problem, SolverOptions(time_limit_seconds=time_limit))
    except SchedulingError as exc:
        field = "--time-limit" if exc.field == "time_limit_seconds" else exc.field
        raise _fail(field, exc.message) from None
    if as_json_flag:
        typer.echo(json.dumps(as_json(result)))
    else:
        _print(result)


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule_cmd)
