"""`omnidesk bench ...`: benchmarks of the engines, one command per engine.

    omnidesk bench routing --agents 10000 --queues 500 --skills 50 --contacts 200000 --json

The `bench` group is shared: a module that adds a benchmark (say `bench erlang`) attaches its
command with `bench_group(app).command("erlang")(its_command)` and registers it like any other
module; whichever module comes first creates the group, so the order does not matter.

Output: a rich table, or (--json) one JSON object with snake_case keys, exactly what
`omnidesk.core.routing.bench.run` returns. How to read it: docs/routing.md, "Reading the
benchmark". Bad input -> message naming the option on stderr, exit code 2.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

GROUP = "bench"

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


def bench_group(app: typer.Typer) -> typer.Typer:
    """The app's `bench` group, created and added on first use."""
    for info in app.registered_groups:
        if info.name == GROUP and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(
        name=GROUP,
        help="Benchmarks: how fast the engines run on this machine.",
        no_args_is_help=True,
        add_completion=False,
    )
    app.add_typer(group, name=GROUP)
    return group


def routing_cmd(
    agents: Annotated[int, typer.Option("--agents", min=1, help="Agents.")] = 10_000,
    queues: Annotated[int, typer.Option("--queues", min=1, help="Queues.")] = 500,
    skills: Annotated[int, typer.Option("--skills", min=1, help="Distinct skills.")] = 50,
    contacts: Annotated[
        int,
        typer.Option(
            "--contacts", min=0, help="Contacts routed (and, for the memory figure, left waiting)."
        ),
    ] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic workload.")] = 0,
    memory: Annotated[
        bool,
        typer.Option("--memory/--no-memory", help="Also measure memory per waiting contact."),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Routing engine: decisions/s, latency per command, memory per waiting contact."""
    # The real engine, driven by a seeded synthetic contact center (docs/routing.md); every
    # command it handles is timed. A full-size run takes about a minute.
    # Imported here: the engine is not needed for `omnidesk --help`.
    from omnidesk.core.routing.bench import run

    if not as_json:
        typer.echo(
            f"Routing {contacts:,} contacts over {agents:,} agents, {queues:,} queues, "
            f"{skills:,} skills (seed {seed})...",
            err=True,
        )
    result = run(
        agents=agents, queues=queues, skills=skills, contacts=contacts, seed=seed, memory=memory
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    Console().print(_routing_table(result))


def _routing_table(result: dict[str, Any]) -> Table:
    latency, cpu = result["latency_us"], result["cpu_latency_us"]
    table = Table(title="Routing benchmark")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    rows: list[tuple[str, str]] = [
        ("Decisions (offers made)", f"{result['decisions']:,}"),
        ("Decisions per second", f"{result['decisions_per_second']:,}"),
        ("Decisions per CPU second", f"{result['decisions_per_cpu_second']:,}"),
        ("Commands per second", f"{result['commands_per_second']:,}"),
        ("Latency p50 / p99 / max (µs)", f"{latency['p50']} / {latency['p99']} / {latency['max']}"),
        ("CPU latency p50 / p99 / max (µs)", f"{cpu['p50']} / {cpu['p99']} / {cpu['max']}"),
    ]
    for kind, figures in result["per_command"].items():
        rows.append(
            (
                f"  {kind}: count, p50 / p99 (µs)",
                f"{figures['count']:,}, {figures['p50_us']} / {figures['p99_us']}",
            )
        )
    if "memory_per_waiting_contact_bytes" in result:
        rows.append(
            (
                "Memory per waiting contact (bytes)",
                f"{result['memory_per_waiting_contact_bytes']:,}",
            )
        )
    rows += [
        ("Engine time (s)", f"{result['engine_seconds']}"),
        ("Simulated time (s)", f"{result['simulated_seconds']:,}"),
        ("Calibration loop (ms)", f"{result['calibration_ms']}"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table


def voice_cmd(
    calls: Annotated[int, typer.Option("--calls", min=1, help="Concurrent recorded calls.")] = 200,
    seconds: Annotated[
        float, typer.Option("--seconds", min=1.0, help="Measured steady-state seconds.")
    ] = 10.0,
    rate: Annotated[float, typer.Option("--rate", min=0.5, help="New calls per second.")] = 8.0,
    as_json: JsonFlag = False,
) -> None:
    """Voice server: N concurrent recorded calls from sipp; RTP interval, loss, CPU, memory."""
    from omnidesk.channels.voice.bench_voice import run

    if not as_json:
        typer.echo(f"Setting up {calls} agents and calling them (sipp)...", err=True)
    try:
        result = run(calls, seconds, rate=rate)
    except RuntimeError as exc:
        typer.echo(f"bench voice: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result))
        return
    interval = result["send_interval_ms"]
    table = Table(title="Voice benchmark")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    for label, value in (
        ("Calls asked", f"{result['calls']}"),
        ("Concurrent recorded calls (peak / min)",
         f"{result['concurrent_recorded_peak']} / {result['concurrent_recorded_min']}"),
        ("RTP send interval p50 / p99 (ms)", f"{interval['p50']} / {interval['p99']}"),
        ("Packets received / lost", f"{result['packets_received']:,} / {result['packets_lost']:,}"),
        ("Loss (%)", f"{result['loss_pct']}"),
        ("CPU (% of one core)", f"{result['cpu_pct']}"),
        ("RSS (MB)", f"{result['rss_mb']}"),
        ("Measured seconds", f"{result['seconds']}"),
    ):  # fmt: skip
        table.add_row(label, value)
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add `bench routing` and `bench voice` to the app's `bench` group."""
    bench_group(app).command("routing")(routing_cmd)
    bench_group(app).command("voice")(voice_cmd)
