"""`omnidesk simulate SCENARIO.yaml`: the digital twin from the command line.

Runs the scenario's baseline and its what-if variants through the real routing engine on a
virtual clock (omnidesk.wfm.twin), over replications, and prints per queue/channel and per
interval figures with 95 % confidence intervals, and each variant's paired difference from
the baseline. --json prints one JSON object (snake_case keys) on stdout; the progress bar is
on stderr either way. A bad scenario -> every problem, each naming its field, on stderr and
exit code 2. docs/wfm.md, "Digital twin", explains the scenario and the figures.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

# The figures shown in the tables, with their labels; all of them are in --json.
_TOTAL_ROWS = (
    ("offered", "Offered"),
    ("answered", "Answered"),
    ("abandoned", "Abandoned"),
    ("overflowed", "Overflowed"),
    ("unanswered", "Unanswered at the end"),
    ("service_level", "Service level"),
    ("service_level_design", "SL excl. short abandons"),
    ("asa", "ASA (s)"),
    ("mean_wait", "Mean wait, all (s)"),
    ("abandon_rate", "Abandon rate"),
    ("p_wait", "P(wait)"),
)
_INTERVAL_COLUMNS = (
    ("offered", "Offered"),
    ("service_level", "SL"),
    ("asa", "ASA s"),
    ("abandon_rate", "Aband. %"),
    ("occupancy", "Occupancy"),
)
_DIFF_ROWS = (
    ("service_level", "Service level"),
    ("service_level_design", "SL excl. short abandons"),
    ("asa", "ASA (s)"),
    ("mean_wait", "Mean wait (s)"),
    ("abandon_rate", "Abandon rate"),
    ("p_wait", "P(wait)"),
    ("occupancy", "Occupancy"),
    ("answered", "Answered"),
    ("abandoned", "Abandoned"),
)


def _value(key: str, value: float | None, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    from omnidesk.wfm.twin.stats import PERCENT  # loaded by now: figures come from the twin

    sign = "+" if signed else ""
    if key in PERCENT:
        return f"{value * 100:{sign}.1f}%"
    return f"{value:{sign},.1f}"


def _with_ci(key: str, figure: dict[str, Any]) -> str:
    text = _value(key, figure["mean"])
    half = figure["half_width"]
    if half is None or text == "-":
        return text
    from omnidesk.wfm.twin.stats import PERCENT

    if key in PERCENT:
        return f"{text} ±{half * 100:.1f}"
    return f"{text} ±{half:,.1f}"


def _totals_table(run: dict[str, Any], replications: int) -> Table:
    # Figures as rows and queue/channel streams as columns: a day has few streams and many
    # figures, and this way the table fits a terminal.
    table = Table(
        title=f"{run['variant']}: totals ({run['agents']:,} agents; mean ±95 % CI over "
        f"{replications} replications)"
    )
    table.add_column("Figure")
    for stream in run["streams"]:
        table.add_column(f"{stream['queue_id']}/{stream['channel']}", justify="right")
    table.add_column("All", justify="right")
    for key, label in _TOTAL_ROWS:
        table.add_row(
            label,
            *(_with_ci(key, stream[key]) for stream in run["streams"]),
            _with_ci(key, run["total"][key]),
        )
    return table


def _groups_table(run: dict[str, Any]) -> Table:
    table = Table(title=f"{run['variant']}: occupancy by agent group")
    table.add_column("Group")
    table.add_column("Agents", justify="right")
    table.add_column("Occupancy", justify="right")
    table.add_column("Excl. away", justify="right")
    for group in run["groups"]:
        table.add_row(
            group["group_id"],
            f"{group['agents']:,}",
            _with_ci("occupancy", group["occupancy"]),
            _with_ci("occupancy_design", group["occupancy_design"]),
        )
    total = run["total"]
    table.add_row(
        "All",
        f"{run['agents']:,}",
        _with_ci("occupancy", total["occupancy"]),
        _with_ci("occupancy_design", total["occupancy_design"]),
    )
    return table


def _intervals_table(run: dict[str, Any], zone: ZoneInfo) -> Table:
    table = Table(title=f"{run['variant']}: per interval (by arrival; local time {zone.key})")
    table.add_column("Interval")
    for _, label in _INTERVAL_COLUMNS:
        table.add_column(label, justify="right")
    for interval in run["intervals"]:
        start = datetime.fromisoformat(interval["start"]).astimezone(zone)
        table.add_row(
            start.strftime("%a %H:%M"),
            *(_with_ci(key, interval[key]) for key, _ in _INTERVAL_COLUMNS),
        )
    return table


def _difference_table(diff: dict[str, Any], replications: int) -> Table:
    table = Table(
        title=f"{diff['variant']} - {diff['against']}: paired differences over "
        f"{replications} replications (same customers)"
    )
    table.add_column("Figure")
    table.add_column("Difference", justify="right")
    table.add_column("95 % CI", justify="right")
    table.add_column("Significant", justify="center")
    for key, label in _DIFF_ROWS:
        figure = diff["total"][key]
        low, high = figure["ci_low"], figure["ci_high"]
        ci = (
            "-"
            if low is None or high is None
            else f"[{_value(key, low, signed=True)}, {_value(key, high, signed=True)}]"
        )
        significant = "" if low is None or high is None else ("yes" if low > 0 or high < 0 else "")
        table.add_row(label, _value(key, figure["mean"], signed=True), ci, significant)
    return table


def _settings_line(run: dict[str, Any]) -> str:
    # Every setting the engine ran with; a * marks one the scenario changed from the server's.
    changed = set(run["engine_settings_changed"])
    shown = ", ".join(
        f"{name}={json.dumps(value)}{'*' if name in changed else ''}"
        for name, value in run["engine_settings"].items()
    )
    return (
        f"{run['variant']}: engine settings {shown} (* differs from the server's default); "
        f"missed_away_seconds={run['missed_away_seconds']:g}"
    )


def print_report(report: dict[str, Any], timezone: str, console: Console) -> None:
    zone = ZoneInfo(timezone)
    count = report["replications"]
    console.print(
        f"[bold]{report['scenario']}[/bold]: {report['intervals']} intervals of "
        f"{report['interval_minutes']} min from {report['start']}, seed {report['seed']}, "
        f"{count} replications"
    )
    for run in report["runs"]:
        console.print(_settings_line(run))
        console.print(_totals_table(run, count))
        console.print(_groups_table(run))
        console.print(_intervals_table(run, zone))
    for diff in report["differences"]:
        console.print(_difference_table(diff, count))
    perf = report["performance"]
    console.print(
        f"{perf['contacts_simulated']:,} contacts simulated ({perf['engine_commands']:,} engine "
        f"commands) in {perf['wall_seconds']:.1f} s"
    )


def simulate_cmd(
    scenario: Annotated[Path, typer.Argument(help="The scenario YAML file.")],
    replications: Annotated[
        int | None,
        typer.Option("--replications", help="Independent runs (default: the scenario's)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Base seed (default: the scenario's).")
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="Run only this variant beside the baseline (repeatable)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Digital twin: run a scenario through the real routing engine and compare variants."""
    # Imported here: numpy, scipy and the engine are not needed for `omnidesk --help`.
    from omnidesk.wfm.twin import ScenarioError, load_study, run_study

    errors = Console(stderr=True)
    try:
        if replications is not None and replications < 1:
            raise ScenarioError([("--replications", "at least 1")])
        if seed is not None and seed < 0:
            raise ScenarioError([("--seed", "must be >= 0")])
        study = load_study(scenario)
        for name in variant or ():
            study.variant(name)
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as bar:
            task = bar.add_task("simulating", total=None)

            def progress(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=f"simulated {label}")

            report = run_study(
                study, replications=replications, seed=seed, variants=variant, progress=progress
            )
    except ScenarioError as exc:
        for line in exc.lines():
            typer.echo(f"Error: {line}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(report))
        return
    print_report(report, study.scenario.timezone, Console())


def bench_twin_cmd(
    customers: Annotated[
        int, typer.Option("--customers", min=1, help="Customers in each M/M/n+M run.")
    ] = 100_000,
    small_agents: Annotated[
        int, typer.Option("--small-agents", min=1, help="Agents of run (a).")
    ] = 100,
    large_agents: Annotated[
        int, typer.Option("--large-agents", min=1, help="Agents of run (b).")
    ] = 1_000,
    day_agents: Annotated[
        int, typer.Option("--day-agents", min=1, help="Agents of the multi-skill day (c).")
    ] = 1_000,
    day_contacts: Annotated[
        int, typer.Option("--day-contacts", min=1, help="Contacts of the multi-skill day (c).")
    ] = 250_000,
    day_contact_rules: Annotated[
        bool,
        typer.Option(
            "--day-contact-rules",
            help="Day (c) with rules over a contact attribute instead of per-language queues.",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every run.")] = 0,
    ciw: Annotated[
        bool, typer.Option("--ciw/--no-ciw", help="Also run ciw on (a) and (b).")
    ] = True,
    profile: Annotated[
        bool,
        typer.Option("--profile", help="Profile the twin runs (cProfile; slower) and print it."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Digital twin beside ciw: M/M/n+M at two sizes, and a multi-skill day."""
    # How to read it: docs/wfm.md, "Digital twin", "Benchmarks".
    from omnidesk.bench import twin as bench

    errors = Console(stderr=True)
    result: dict[str, Any] = {
        "params": {
            "customers": customers,
            "small_agents": small_agents,
            "large_agents": large_agents,
            "day_agents": day_agents,
            "day_contacts": day_contacts,
            "day_contact_rules": day_contact_rules,
            "seed": seed,
        }
    }
    with errors.status("benchmarking") as status:
        for key, agents in (("mmn_small", small_agents), ("mmn_large", large_agents)):
            status.update(f"M/M/{agents}+M, {customers:,} customers, twin and ciw")
            result[key] = bench.compare_mmn(agents, customers, seed, ciw=ciw, profile=profile)
        status.update(f"multi-skill day: {day_agents:,} agents, {day_contacts:,} contacts")
        result["day"] = bench.run_day(
            day_agents, day_contacts, seed, contact_rules=day_contact_rules, profile=profile
        )
    profiles = (
        {k: result[k].pop("profile") for k in ("mmn_small", "mmn_large", "day")}
        if (profile)
        else {}
    )
    for key, text in profiles.items():
        # Plain echo: rich would wrap pstats' wide lines at the terminal width.
        typer.echo(f"cProfile of the twin, {key} (by own time)\n{text}", err=True)
    if as_json:
        typer.echo(json.dumps(result))
        return
    console = Console()
    for key in ("mmn_small", "mmn_large"):
        console.print(_bench_table(result[key]))
    day = result["day"]["twin"]
    rules = "rules over a contact attribute" if day_contact_rules else "a queue per language"
    console.print(
        f"Multi-skill day, {result['day']['agents']:,} agents, {rules} (twin only): "
        f"{day['customers']:,} contacts in {day['wall_seconds']:.1f} s "
        f"({day['cpu_seconds']:.1f} s CPU) "
        f"({day['customers_per_second']:,}/s); SL {day['service_level']:.1%}, "
        f"abandoned {day['p_abandon']:.1%}, ASA {day['asa']:.1f} s"
    )


def _bench_table(run: dict[str, Any]) -> Table:
    ratio = run["speed_ratio"]
    title = f"M/M/{run['agents']:,}+M, A = {run['offered_load']:,} E"
    if ratio is not None:
        title += f": the twin is {ratio}x as fast as ciw ({run['cpu_speed_ratio']}x in CPU time)"
    table = Table(title=title)
    for label in ("", "Customers", "Wall s", "CPU s", "Per s", "SL", "P(ab.)", "ASA s"):
        table.add_column(label, justify="left" if not label else "right")
    rows = [("twin", run["twin"])]
    if run["ciw"] is not None:
        rows.append(("ciw", run["ciw"]))
    for name, figures in rows:
        table.add_row(
            name,
            f"{figures['customers']:,}",
            f"{figures['wall_seconds']:.2f}",
            f"{figures['cpu_seconds']:.2f}",
            f"{figures['customers_per_second']:,}",
            f"{figures['service_level']:.2%}",
            f"{figures['p_abandon']:.2%}",
            f"{figures['asa']:.2f}",
        )
    exact = run["erlang_a"]
    table.add_row(
        "Erlang A",
        "",
        "",
        "",
        "",
        f"{exact['service_level']:.2%}",
        f"{exact['p_abandon']:.2%}",
        f"{exact['asa']:.2f}",
    )
    return table


def register(app: typer.Typer) -> None:
    """Add `simulate` to the main app and `twin` to its `bench` group."""
    from omnidesk.cli.bench import bench_group

    app.command("simulate")(simulate_cmd)
    bench_group(app).command("twin")(bench_twin_cmd)
