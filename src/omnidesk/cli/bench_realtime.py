"""`omnidesk bench realtime`: the realtime hub's fan-out at N sockets (code:
omnidesk.bench.realtime). How to read it: docs/realtime.md, "Server internals".

    omnidesk bench realtime --sockets 1000 --events 2000 --json
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omnidesk.cli.bench import JsonFlag, bench_group


def realtime_cmd(
    sockets: Annotated[int, typer.Option("--sockets", min=1, help="Connected sockets.")] = 1000,
    events: Annotated[int, typer.Option("--events", min=1, help="Events published.")] = 2000,
    teams: Annotated[int, typer.Option("--teams", min=1, help="Teams (one supervisor each).")] = 50,
    admins: Annotated[int, typer.Option("--admins", min=0, help="Admin sockets.")] = 5,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Events per publication (one command's).")
    ] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic audiences.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Realtime fan-out: CPU per event and messages per event at N sockets (fake sockets)."""
    from omnidesk.bench.realtime import run

    result = run(sockets, events, teams=teams, admins=admins, batch=batch, seed=seed)
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"Realtime fan-out at {result['params']['sockets']:,} sockets")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    for label, key in (
        ("CPU per event (µs)", "cpu_us_per_event"),
        ("Wall time per event (µs)", "wall_us_per_event"),
        ("Messages sent per event", "messages_per_event"),
        ("CPU per message sent (µs)", "cpu_us_per_message"),
        ("Wake-ups (events queued for a socket)", "wakeups"),
        ("Registering every socket at once (s)", "register_seconds"),
        ("Lock holds for those snapshots", "register_lock_holds"),
    ):
        table.add_row(label, f"{result[key]}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    bench_group(app).command("realtime")(realtime_cmd)
