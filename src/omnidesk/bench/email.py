"""`omnidesk bench email`: inbound mails per second through the SMTP listener to routed contacts.

    omnidesk bench email --mails 2000 --connections 8 [--database-url URL] --json

Runs the real app (its lifespan: routing, the conversation store, the email channel with its
SMTP listener on a free port of 127.0.0.1) with a new tenant, an `email` queue and an email
account, then sends N mails over C SMTP connections (aiosmtplib, in the same process and event
loop as the server: the figure is what one process does with everything on it). Each mail is
from its own customer, so each is a new CRM customer, a new conversation and a new routing
contact. A mail counts when the listener answered 250 — which it does only after the mail is
committed and its contact handed to routing. Reports mails/s, the per-mail p50/p99 from DATA
to 250 in ms, and checks that every mail became a routed contact.

Without --database-url it uses a new SQLite file in a temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Annotated, Any

import aiosmtplib
import httpx2
import typer
from sqlalchemy import func, select

from omnidesk.app import create_app
from omnidesk.channels.conversations.models import Conversation
from omnidesk.directory.demo import load_demo
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.settings import load_settings

ADDRESS = "bench@example.com"
TEXT = (
    "Hello, I have a question about my last invoice: the amount differs from the offer "
    "we agreed on. Could you please check it and call me back? Thank you."
)


def _mail(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Customer {n} <customer{n}@example.org>"
    message["To"] = ADDRESS
    message["Subject"] = f"Invoice question {n}"
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(TEXT)
    return message


async def _setup(app: Any) -> None:
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # one line per setup request
    logins = await load_demo(app.state.services.db, "bench-email")
    admin = next(login for login in logins if login.username == "admin")
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:
        r = await client.post(
            "/api/v1/auth/login",
            json={"tenant": "bench-email", "username": "admin", "password": admin.password},
        )
        r.raise_for_status()
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        queue = {"id": "email", "channels": ["email"], "name": "Email", "steps": [{"target": None}]}
        r = await client.post("/api/v1/routing/queues", json=queue, headers=headers)
        r.raise_for_status()
        account = {
            "kind": "email",
            "name": "Bench",
            "queue_id": "email",
            "address": ADDRESS,
            "smtp_host": "127.0.0.1",
            "smtp_port": 9,
            "smtp_security": "none",
        }
        r = await client.post("/api/v1/channels/accounts", json=account, headers=headers)
        r.raise_for_status()


async def _sender(port: int, numbers: list[int], latencies: list[float]) -> None:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
    await smtp.connect()
    try:
        for n in numbers:
            message = _mail(n)
            started = time.perf_counter()
            await smtp.send_message(message)
            latencies.append(time.perf_counter() - started)
    finally:
        await smtp.quit()


async def _run(mails: int, connections: int, database_url: str, data_dir: Path) -> dict[str, Any]:
    settings = load_settings(
        None,
        database_url=database_url,
        data_dir=data_dir,
        log_level="warning",
        email_smtp_enabled=True,
        email_smtp_port=0,
        routing_max_backlog=0,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await _setup(app)
        port = app.state.email.listener.port
        # Warm-up: the language detector loads its models on first use.
        await _sender(port, [-1], [])
        latencies: list[float] = []
        shares = [list(range(i, mails, connections)) for i in range(connections)]
        started = time.perf_counter()
        await asyncio.gather(*(_sender(port, share, latencies) for share in shares if share))
        seconds = time.perf_counter() - started
        session = app.state.services.db.session(SYSTEM)
        try:
            routed = await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.contact_id.is_not(None), Conversation.routing_pending.is_(False)
                )
            )
        finally:
            await session.close()
        backend = app.state.services.db.backend
    ordered = sorted(latencies)
    return {
        "mails": mails,
        "connections": connections,
        "backend": backend,
        "seconds": round(seconds, 3),
        "mails_per_second": round(mails / seconds, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        # The warm-up mail is one more routed contact.
        "routed_contacts": int(routed or 0) - 1,
    }


def run(mails: int, connections: int, database_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-email-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        return asyncio.run(_run(mails, connections, url, Path(tmp) / "data"))


def command(
    mails: Annotated[int, typer.Option("--mails", min=1, help="Mails sent.")] = 1000,
    connections: Annotated[
        int, typer.Option("--connections", min=1, max=200, help="SMTP connections at once.")
    ] = 8,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="A scratch database (default: a temporary SQLite file)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Email: inbound mails per second through the SMTP listener to routed contacts."""
    if not as_json:
        typer.echo(f"Sending {mails:,} mails over {connections} connections...", err=True)
    result = run(mails, connections, database_url)
    if as_json:
        typer.echo(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Email benchmark (SMTP listener → routed contacts)")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    table.add_row("Mails (backend)", f"{result['mails']:,} ({result['backend']})")
    table.add_row("Connections", str(result["connections"]))
    table.add_row("Mails per second", f"{result['mails_per_second']:,}")
    table.add_row("DATA → 250 p50 / p99 ms", f"{result['p50_ms']} / {result['p99_ms']}")
    table.add_row("Routed contacts", f"{result['routed_contacts']:,}")
    Console().print(table)
    if result["routed_contacts"] != result["mails"]:
        raise typer.Exit(1)
