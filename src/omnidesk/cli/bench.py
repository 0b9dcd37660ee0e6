"""`omnidesk bench ...`: benchmarks of the engines, one command per engine (code: omnidesk.bench).

    omnidesk bench routing --agents 10000 --queues 500 --skills 50 --contacts 200000 --json

The `bench` group is shared: a module that adds a benchmark (say `bench erlang`) attaches its
command with `bench_group(app).command("erlang")(its_command)` and registers it like any other
module; whichever module comes first creates the group, so the order does not matter.

Output: a rich table, or (--json) one JSON object with snake_case keys, exactly what
`omnidesk.bench.routing.run` returns. How to read it: docs/routing.md, "Reading the
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
    gc_off: Annotated[
        bool,
        typer.Option(
            "--gc-off",
            help="Also run the throughput phase with the garbage collector off (labelled).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Routing engine: decisions/s, latency per command, memory per waiting contact."""
    # The real engine, driven by a seeded synthetic contact center (docs/routing.md); every
    # command it handles is timed. A full-size run takes about a minute.
    # Imported here: the engine is not needed for `omnidesk --help`.
    from omnidesk.bench.routing import run

    if not as_json:
        typer.echo(
            f"Routing {contacts:,} contacts over {agents:,} agents, {queues:,} queues, "
            f"{skills:,} skills (seed {seed})...",
            err=True,
        )
    result = run(
        agents=agents,
        queues=queues,
        skills=skills,
        contacts=contacts,
        seed=seed,
        memory=memory,
        gc_off=gc_off,
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    Console().print(_routing_table(result))


def _routing_table(result: dict[str, Any]) -> Table:
    latency, cpu = result["latency_us"], result["cpu_latency_us"]
    table = Table(title="Routing benchmark (garbage collector on, as the server runs)")
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
    collector = result["gc"]
    collections = collector["collections"]
    rows.append(
        (
            "GC collections gen0 / gen1 / gen2",
            f"{collections['gen0']:,} / {collections['gen1']:,} / {collections['gen2']:,}",
        )
    )
    rows.append(
        (
            "GC pauses total / max (ms)",
            f"{collector['pause_ms_total']} / {collector['pause_ms_max']}",
        )
    )
    if "gc_off" in result:
        off = result["gc_off"]
        rows += [
            ("GC OFF, for comparison: decisions per second", f"{off['decisions_per_second']:,}"),
            (
                "GC OFF, for comparison: latency p50 / p99 / max (µs)",
                f"{off['latency_us']['p50']} / {off['latency_us']['p99']} / "
                f"{off['latency_us']['max']}",
            ),
        ]
    rows += [
        ("Engine time (s)", f"{result['engine_seconds']}"),
        ("Simulated time (s)", f"{result['simulated_seconds']:,}"),
        ("Calibration loop (ms)", f"{result['calibration_ms']}"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table


def rules_cmd(
    seconds: Annotated[
        float, typer.Option("--seconds", min=0.01, help="Seconds of evaluation per rule.")
    ] = 1.0,
    agents: Annotated[int, typer.Option("--agents", min=1, help="Agents in the pool.")] = 1000,
    as_json: JsonFlag = False,
) -> None:
    """Rule language: evaluations per second of a few typical rules over a pool of agents."""
    # How to read it: docs/routing-rules.md, "Performance".
    from omnidesk.bench.rules import RULES, run

    result = run(seconds, agents)
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"Rule evaluation over {agents:,} agents")
    for label in ("Rule", "eval/s", "ns/eval", "eval/s incl. context", "match", "compile µs"):
        table.add_column(label, justify="left" if label == "Rule" else "right")
    for name, figures in result.items():
        table.add_row(
            name,
            f"{figures['evaluations_per_second']:,.0f}",
            f"{figures['ns_per_evaluation']:.1f}",
            f"{figures['with_context_per_second']:,.0f}",
            f"{figures['match_ratio']:.3f}",
            f"{figures['compile_us']:.0f}",
        )
    console = Console()
    console.print(table)
    for name, rule in RULES.items():
        console.print(f"{name}: {rule}", highlight=False, markup=False, soft_wrap=True)


def media_cmd(
    legs: Annotated[
        int, typer.Option("--legs", min=2, help="RTP legs, bridged in pairs (rounded up to even).")
    ] = 400,
    seconds: Annotated[
        float, typer.Option("--seconds", min=0.5, help="Measured seconds (after 1.5 s warm-up).")
    ] = 10.0,
    as_json: JsonFlag = False,
) -> None:
    """Media engine: N bridged RTP legs against loopback far ends; timing, loss, CPU."""
    # How to read it: docs/voice.md, "Benchmarks".
    from omnidesk.bench.media import run

    result = run(legs, seconds, quiet=as_json)
    if as_json:
        typer.echo(json.dumps(result))


def voice_cmd(
    calls: Annotated[int, typer.Option("--calls", min=1, help="Concurrent recorded calls.")] = 200,
    seconds: Annotated[
        float, typer.Option("--seconds", min=1.0, help="Measured steady-state seconds.")
    ] = 10.0,
    rate: Annotated[float, typer.Option("--rate", min=0.5, help="New calls per second.")] = 8.0,
    as_json: JsonFlag = False,
) -> None:
    """Voice server: N concurrent recorded calls from sipp; RTP interval, loss, CPU, memory."""
    from omnidesk.bench.voice import run

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


def _talk_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise typer.BadParameter("seconds as MIN-MAX (e.g. 1-5) or one number") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise typer.BadParameter("needs 0 <= MIN <= MAX")
    return bounds


def server_cmd(
    agents: Annotated[int, typer.Option("--agents", min=1, help="Agents, one socket each.")] = 1000,
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="New contacts per second.")] = 20.0,
    seconds: Annotated[
        float, typer.Option("--seconds", min=0.5, help="Seconds of load (then a drain).")
    ] = 60.0,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Default: SQLite in a temporary directory. A PostgreSQL URL names the server: "
            "a throwaway database is made there and dropped after.",
            show_default=False,
        ),
    ] = None,
    talk_seconds: Annotated[
        str, typer.Option("--talk-seconds", help="Each contact lasts a random MIN-MAX seconds.")
    ] = "1-5",
    drain_seconds: Annotated[
        float,
        typer.Option("--drain-seconds", min=0, help="At most this long for the last contacts."),
    ] = 30.0,
    offer_timeout: Annotated[
        float, typer.Option("--offer-timeout", min=1, help="The queue's offer timeout (s).")
    ] = 30.0,
    as_json: JsonFlag = False,
) -> None:
    """Server path: a real server, N agents on WebSockets, contacts at R/s; latency, CPU."""
    # How to read it: docs/routing.md, "Measuring the server path".
    try:
        from omnidesk.bench.server import Params, run
        from omnidesk.bench.server_report import table
    except ImportError as exc:  # its HTTP client is in the `bench` extra
        typer.echo(f"bench server: {exc}; install it with: pip install '.[bench]'", err=True)
        raise typer.Exit(1) from None

    params = Params(agents, rate, seconds, _talk_range(talk_seconds), drain_seconds, offer_timeout)
    typer.echo(
        f"Starting a server with {agents:,} agents, then {rate}/s contacts for {seconds} s...",
        err=True,
    )
    try:
        result = run(params, database_url)
    except RuntimeError as exc:
        typer.echo(f"bench server: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result))
        return
    Console().print(table(result))


def desk_cmd(
    loads: Annotated[int, typer.Option("--loads", min=1, help="Fresh loads of the desktop.")] = 10,
    events: Annotated[
        int, typer.Option("--events", min=1, max=100, help="Contacts offered, one at a time.")
    ] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The agent desktop in Chromium: first paint, time to live, event-to-screen latency."""
    try:
        from omnidesk.bench.desk import run
    except ImportError as exc:  # Playwright is in the `bench` extra
        typer.echo(f"bench desk: {exc}; install it with: pip install '.[bench]'", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Loading the agent desktop {loads} times, then {events} offers...", err=True)
    try:
        result = run(loads, events)
    except RuntimeError as exc:
        typer.echo(f"bench desk: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title="Agent desktop in Chromium (ms)")
    for column in ("measure", "p50", "p95", "max", "target"):
        table.add_column(column)
    targets = {"first_contentful_paint_ms": "< 1500", "event_to_screen_ms": "< 200"}
    for key in ("first_contentful_paint_ms", "desk_live_ms", "event_to_screen_ms"):
        figures = result[key] or {}
        table.add_row(
            key.removesuffix("_ms").replace("_", " "),
            *(str(figures.get(q, "—")) for q in ("p50", "p95", "max")),
            targets.get(key, ""),
        )
    Console().print(table)


def webrtc_cmd(
    calls: Annotated[int, typer.Option("--calls", min=1, help="Concurrent browser calls.")] = 50,
    seconds: Annotated[
        float, typer.Option("--seconds", min=1.0, help="Measured seconds, once all are up.")
    ] = 10.0,
    as_json: JsonFlag = False,
) -> None:
    """Browser phone: N concurrent WebRTC calls bridged to RTP callers; intervals, CPU."""
    # How to read it: docs/voice.md, "Benchmarks".
    from omnidesk.bench.webrtc import run

    if not as_json:
        typer.echo(f"Connecting {calls} browser phones (aiortc peers) to callers...", err=True)
    try:
        result = run(calls, seconds)
    except (RuntimeError, TimeoutError) as exc:
        typer.echo(f"bench webrtc: {exc or 'the browsers did not connect in time'}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"Browser phone: {result['calls']} calls, {result['browser_side']}")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    for key, value in result.items():
        if key not in ("calls", "browser_side", "target"):
            table.add_row(key.replace("_", " "), str(value))
    table.add_row("target", "50 calls, p99 < 30 ms")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add `bench routing`, `rules`, `media`, `voice`, `server`, `crm`, `desk`, `email`,
    `kpis` and `webrtc` to `bench`."""
    group = bench_group(app)
    group.command("routing")(routing_cmd)
    group.command("rules")(rules_cmd)
    group.command("media")(media_cmd)
    group.command("voice")(voice_cmd)
    group.command("server")(server_cmd)
    group.command("crm")(_crm_command())
    group.command("desk")(desk_cmd)
    group.command("email")(_email_command())
    group.command("kpis")(_kpis_command())
    group.command("webrtc")(webrtc_cmd)


def _email_command() -> Any:
    from omnidesk.bench.email import command

    return command


def _kpis_command() -> Any:
    from omnidesk.bench.kpis import command

    return command


def _crm_command() -> Any:
    from omnidesk.bench.crm import command

    return command
