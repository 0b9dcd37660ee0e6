"""`omnidesk bench chat`: web chat visitors' sockets and customer → desk delivery (code:
omnidesk.bench.chat; how to read it: docs/channels.md, "Measuring web chat").

    omnidesk bench chat --visitors 1000 --messages 2000 --rate 200 --json
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omnidesk.cli.bench import JsonFlag, bench_group


def chat_cmd(
    visitors: Annotated[int, typer.Option("--visitors", min=1, help="Widget sockets.")] = 1000,
    messages: Annotated[int, typer.Option("--messages", min=1, help="Visitor messages.")] = 2000,
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="Messages per second.")] = 200.0,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="A PostgreSQL server to use (default: SQLite)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Web chat: N widget sockets, message delivery visitor → desk socket (p50/p99) and the
    server's memory per widget connection."""
    from omnidesk.bench.chat import run

    result = run(visitors, messages, rate, database_url)
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"Web chat at {visitors:,} visitors, {rate:g} messages/s")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    delivery = result["delivery_ms"]
    server = result["server"]
    for label, value in (
        ("Delivery visitor → desk socket p50 (ms)", delivery["p50"]),
        ("Delivery p99 (ms)", delivery["p99"]),
        ("Delivery max (ms)", delivery["max"]),
        ("Messages sent / delivered / lost", f"{result['messages_sent']} / "
         f"{result['messages_delivered']} / {result['lost']}"),
        ("Achieved rate (messages/s)", result["achieved_rate"]),
        ("Server memory per widget connection (KB)", server["memory_per_connection_kb"]),
        ("Server RSS with the sockets (MB)", server["rss_with_sockets_mb"]),
        ("Server CPU during the load (s)", server["cpu_seconds_during_load"]),
    ):  # fmt: skip
        table.add_row(label, str(value))
    Console().print(table)


def register(app: typer.Typer) -> None:
    bench_group(app).command("chat")(chat_cmd)
