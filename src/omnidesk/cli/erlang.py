"""`omnidesk erlang ...`: Erlang B / C / A figures and staffing from the command line.

Thin layer over omnidesk.wfm: parse options, call the pure functions, print a rich table or
(--json) one JSON object with snake_case keys. Bad input -> message naming the option on stderr,
exit code 2 (the same code click uses for usage errors).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omnidesk.wfm import erlang as erl
from omnidesk.wfm import staffing

Row = dict[str, float | int | None]

# Options shared by the commands. Typed as float so forecasts with fractional volumes work.
Calls = Annotated[float, typer.Option("--calls", help="Contacts offered in the interval.")]
IntervalSeconds = Annotated[
    float, typer.Option("--interval-seconds", help="Interval length in seconds, e.g. 1800.")
]
Aht = Annotated[float, typer.Option("--aht", help="Average handle time in seconds.")]
AnswerTime = Annotated[
    float, typer.Option("--answer-time", help="Service-level threshold T in seconds.")
]
Agents = Annotated[int, typer.Option("--agents", help="Agents staffed (on the phones).")]
Patience = Annotated[
    float, typer.Option("--patience", help="Mean patience before abandoning, in seconds.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]

_LABELS: dict[str, str] = {
    "blocking": "Blocking probability",
    "offered_load": "Offered load (Erlangs)",
    "agents": "Agents",
    "agents_with_shrinkage": "Agents with shrinkage",
    "p_wait": "P(wait)",
    "service_level": "Service level",
    "asa": "ASA (s)",
    "occupancy": "Occupancy",
    "p_abandon": "P(abandon)",
    "mean_wait": "Mean wait, all contacts (s)",
    "mean_queue": "Mean queue length",
}
_PERCENT = {"blocking", "p_wait", "service_level", "occupancy", "p_abandon"}


def _json_value(value: float | int | None) -> float | int | None:
    # JSON has no Infinity: an unstable Erlang C queue reports its infinite ASA as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _text(key: str, value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return "∞ (unstable: agents ≤ offered load)"
    if key in _PERCENT:
        return f"{value:.4%}"
    return f"{value:,.4f}"


def _run(title: str, as_json: bool, compute: Callable[[], Row]) -> None:
    try:
        row = compute()
    except erl.ErlangInputError as exc:
        option = "--" + exc.field.replace("_", "-")
        typer.echo(f"Error: {option}: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps({k: _json_value(v) for k, v in row.items()}))
        return
    table = Table(title=title)
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    for key, value in row.items():
        table.add_row(_LABELS.get(key, key), _text(key, value))
    Console().print(table)


def erlang_b_cmd(
    load: Annotated[float, typer.Option("--load", help="Offered traffic in Erlangs.")],
    lines: Annotated[int, typer.Option("--lines", help="Lines (servers) in the group.")],
    as_json: JsonFlag = False,
) -> None:
    """Erlang B: probability that a contact is blocked (no queue)."""
    _run("Erlang B", as_json, lambda: {"blocking": erl.erlang_b_value(load, lines)})


def erlang_c_cmd(
    calls: Calls,
    interval_seconds: IntervalSeconds,
    aht: Aht,
    agents: Agents,
    answer_time: AnswerTime,
    as_json: JsonFlag = False,
) -> None:
    """Erlang C (M/M/n, callers never abandon): wait probability, service level, ASA."""

    def compute() -> Row:
        p = erl.erlang_c_point(
            calls=calls,
            interval_seconds=interval_seconds,
            aht=aht,
            agents=agents,
            answer_time=answer_time,
        )
        return {
            "offered_load": p.offered_load,
            "p_wait": p.p_wait,
            "service_level": p.service_level,
            "asa": p.asa,
            "occupancy": p.occupancy,
        }

    _run("Erlang C", as_json, compute)


def erlang_a_cmd(
    calls: Calls,
    interval_seconds: IntervalSeconds,
    aht: Aht,
    agents: Agents,
    answer_time: AnswerTime,
    patience: Patience,
    as_json: JsonFlag = False,
) -> None:
    """Erlang A (M/M/n+M, exponential patience): adds abandonment, mean wait and queue."""

    def compute() -> Row:
        p = erl.erlang_a_point(
            calls=calls,
            interval_seconds=interval_seconds,
            aht=aht,
            agents=agents,
            answer_time=answer_time,
            patience=patience,
        )
        return {
            "offered_load": p.offered_load,
            "p_wait": p.p_wait,
            "service_level": p.service_level,
            "asa": p.asa,
            "occupancy": p.occupancy,
            "p_abandon": p.p_abandon,
            "mean_wait": p.mean_wait,
            "mean_queue": p.mean_queue,
        }

    _run("Erlang A", as_json, compute)


def staff_cmd(
    model: Annotated[str, typer.Option("--model", help="Queue model: c (Erlang C) or a.")],
    calls: Calls,
    interval_seconds: IntervalSeconds,
    aht: Aht,
    answer_time: AnswerTime,
    target_sl: Annotated[
        float | None,
        typer.Option("--target-sl", help="Service-level target as a fraction, e.g. 0.8."),
    ] = None,
    target_asa: Annotated[
        float | None, typer.Option("--target-asa", help="Largest acceptable ASA in seconds.")
    ] = None,
    max_occupancy: Annotated[
        float | None, typer.Option("--max-occupancy", help="Occupancy cap, e.g. 0.85.")
    ] = None,
    max_abandon: Annotated[
        float | None,
        typer.Option("--max-abandon", help="Abandonment cap as a fraction (model a only)."),
    ] = None,
    shrinkage: Annotated[
        float, typer.Option("--shrinkage", help="Share of paid time off the phones, e.g. 0.3.")
    ] = 0.0,
    patience: Annotated[
        float | None, typer.Option("--patience", help="Mean patience in seconds (model a).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Least agents meeting the targets, then grossed up by shrinkage."""

    def compute() -> Row:
        p = staffing.staff(
            model,
            calls=calls,
            interval_seconds=interval_seconds,
            aht=aht,
            answer_time=answer_time,
            target_sl=target_sl,
            target_asa=target_asa,
            max_abandon=max_abandon,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
            patience=patience,
        ).point()
        row: Row = {
            "agents": p.agents,
            "agents_with_shrinkage": p.agents_with_shrinkage,
            "service_level": p.service_level,
            "p_wait": p.p_wait,
            "asa": p.asa,
            "occupancy": p.occupancy,
        }
        if p.p_abandon is not None:
            row["p_abandon"] = p.p_abandon
        return row

    _run(f"Staffing (Erlang {model.upper()})", as_json, compute)


def bench_erlang_cmd(
    intervals: Annotated[
        int, typer.Option("--intervals", min=1, max=1_000_000, help="Intervals to staff.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random intervals.")] = 2024,
    peers: Annotated[
        bool, typer.Option("--peers/--no-peers", help="Also run pyworkforce (bench extra).")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Erlang C staffing (80 % in 20 s) over many intervals, beside pyworkforce."""
    from omnidesk.bench import erlang as bench_erlang

    result = bench_erlang.run(intervals, seed=seed, peers=peers)
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"Erlang C staffing of {intervals:,} intervals")
    table.add_column("Measure")
    table.add_column("Omnidesk", justify="right")
    table.add_column("pyworkforce", justify="right")
    own, peer = result["omnidesk"], result["pyworkforce"] or {}
    table.add_row("seconds", f"{own['seconds']:.4f}", _opt(peer.get("seconds"), ".3f"))
    table.add_row(
        "intervals/s",
        f"{own['intervals_per_second']:,.0f}",
        _opt(peer.get("intervals_per_second"), ",.0f"),
    )
    table.add_row("total agents", str(own["total_agents"]), _opt(peer.get("total_agents"), "d"))
    Console().print(table)
    if result["pyworkforce"] is None:
        typer.echo("pyworkforce not run (--no-peers, or not installed: pip install '.[bench]')")
    else:
        typer.echo(
            f"speed ratio {result['speed_ratio']:.0f}x; identical agent counts in "
            f"{result['identical_agent_counts']:,} of {intervals:,} intervals"
        )


def _opt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def register(app: typer.Typer) -> None:
    """Add the `erlang` command group to the main app, and `erlang` to the `bench` group."""
    from omnidesk.cli.bench import bench_group

    bench_group(app).command("erlang")(bench_erlang_cmd)
    group = typer.Typer(
        name="erlang",
        help="Erlang B, C and A queueing figures and staffing.",
        no_args_is_help=True,
        add_completion=False,
    )
    group.command("b")(erlang_b_cmd)
    group.command("c")(erlang_c_cmd)
    group.command("a")(erlang_a_cmd)
    group.command("staff")(staff_cmd)
    app.add_typer(group, name="erlang")
