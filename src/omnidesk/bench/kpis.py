"""`omnidesk bench kpis`: how fast the KPI rollups follow the event log, and what a one-year
report costs.

    omnidesk bench kpis --events 10000000 [--days 365] [--database-url URL] --json

Writes a synthetic year of routing's events for one new tenant straight into the event log
(bulk insert, timed apart: it is the setup, not the measure), in the shapes the engine logs
them: each contact arrives in one of the queues, waits, and is answered (an agent goes busy,
talks, wraps up with a code, is available again) or abandoned; a few are transferred to another
queue. Then:

- ingestion: the ingester's own catch-up (analytics.ingester.catch_up, as the server runs it)
  from the first event to the last: events per second;
- check: the contacts the rollups count as offered equal the queue visits generated;
- report: a one-year daily report of each queue (analytics.service.queue_report, as
  `GET /api/v1/analytics/queues?interval=day` runs it): milliseconds per report.

Targets (issue 16): at least 20,000 events/s ingested, a one-year daily report per queue in under
a second on PostgreSQL. Without --database-url it uses a new SQLite file in a temporary
directory; with one, the database is migrated and gets a new tenant each run (use a scratch one).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import math
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import create_engine, func, insert, select, update

from omnidesk.analytics import ingester, service
from omnidesk.analytics.models import QueueInterval
from omnidesk.platform import migrate
from omnidesk.platform.database import SYSTEM, Database, resolve_urls
from omnidesk.platform.eventlog import EventRecord, EventSequence
from omnidesk.platform.tenancy import create_tenant

TARGET_EVENTS_PER_SECOND = 20_000
TARGET_REPORT_MS = 1000
CHUNK = 10_000  # rows per INSERT statement of the load
NO_AUDIENCE: dict[str, list[str]] = {"users": [], "teams": [], "scope_change_for": []}


@dataclass(frozen=True)
class Shape:
    queues: int
    agents: int  # 0: as many as the traffic needs
    days: int
    seed: int


def events(shape: Shape, wanted: int, start: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
    """(type, payload) in the order the engine would log them (by instant) until about
    `wanted` events: the queues first, then contacts arriving at random instants over the days.
    An answered contact goes to the agent free soonest (it waits longer when all are busy), so
    each agent's states follow one another as routing's would."""
    rng = random.Random(shape.seed)
    queues = [f"q{i}" for i in range(shape.queues)]
    for q in queues:
        yield (
            "routing.queue_added",
            {
                "at": start.isoformat(),
                "queue": {"id": q, "channels": ["chat"], "service_level_seconds": 20},
            },
        )
    contacts = max(1, wanted // 9)
    # Enough agents for about 85 % occupancy (a contact takes about 400 s of an agent's time
    # in all): a center staffed for its traffic, whose agents' states change all day, not
    # agents idle for weeks, whose idle time would be most of the state rows.
    staff = shape.agents or max(2, math.ceil(contacts / shape.days * 400 / 86_400 / 0.85))
    free: list[tuple[datetime, str]] = [
        (start, str(uuid.UUID(int=rng.getrandbits(128)))) for _ in range(staff)
    ]
    heapq.heapify(free)
    pending: list[tuple[datetime, int, str, dict[str, Any]]] = []  # later events, by instant
    order = itertools.count()
    count = shape.queues
    span = shape.days * 86_400
    for n, offset in enumerate(sorted(rng.uniform(0, span) for _ in range(contacts))):
        if count >= wanted:
            break
        at = start + timedelta(seconds=offset)
        # Every later contact arrives at `at` or after: what is due by now can be written.
        while pending and pending[0][0] <= at:
            _, _, kind, payload = heapq.heappop(pending)
            yield kind, payload
        for kind, payload in _contact(rng, n, at, queues, free):
            due = datetime.fromisoformat(payload["at"])
            heapq.heappush(pending, (due, next(order), kind, payload))
            count += 1
    while pending:
        _, _, kind, payload = heapq.heappop(pending)
        yield kind, payload


def _contact(
    rng: random.Random, n: int, at: datetime, queues: list[str], free: list[tuple[datetime, str]]
) -> Iterator[tuple[str, dict[str, Any]]]:
    def event(kind: str, when: datetime, **fields: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, "at": when.isoformat(), **fields}

    contact, queue = f"k{n}", rng.choice(queues)
    yield event("routing.contact_received", at, contact_id=contact, queue_id=queue,
                channel="chat", priority=0, emergency=False)  # fmt: skip
    yield event("routing.contact_queued", at, contact_id=contact, queue_id=queue, channel="chat",
                step=0, reserved_for=None, reason="arrived")  # fmt: skip
    if rng.random() < 0.1:  # the customer gives up
        gave_up = at + timedelta(seconds=rng.expovariate(1 / 30))
        yield event("routing.contact_ended", gave_up, contact_id=contact, queue_id=queue,
                    reason="cancelled", agent_id=None, detail=None)  # fmt: skip
        return
    agent_free, agent = heapq.heappop(free)
    answered = max(at + timedelta(seconds=rng.expovariate(1 / 10)), agent_free)
    others = [q for q in queues if q != queue]
    if others and rng.random() < 0.05:  # moved to another queue before the answer: a 2nd visit
        queue = rng.choice(others)
        yield event("routing.contact_queued", at + (answered - at) / 2, contact_id=contact,
                    queue_id=queue, channel="chat", step=0, reserved_for=None,
                    reason="transfer")  # fmt: skip
    talked = answered + timedelta(seconds=rng.uniform(60, 600))
    wrapped = talked + timedelta(seconds=rng.uniform(5, 60))
    heapq.heappush(free, (wrapped, agent))
    wait = (answered - at).total_seconds()
    yield event("routing.offer_accepted", answered, offer_id=f"{contact}#1", contact_id=contact,
                agent_id=agent, queue_id=queue, channel="chat", waited_seconds=wait,
                within_service_level=wait <= 20)  # fmt: skip
    yield event("routing.agent_state_changed", answered, agent_id=agent, state="busy",
                reason=None, previous_state="available", previous_reason=None)  # fmt: skip
    yield event("routing.contact_ended", talked, contact_id=contact, queue_id=queue,
                reason="completed", agent_id=agent, detail=None)  # fmt: skip
    yield event("routing.wrap_up_started", talked, agent_id=agent, contact_id=contact,
                ends_at=None)  # fmt: skip
    yield event("routing.agent_state_changed", talked, agent_id=agent, state="wrap_up",
                reason=None, previous_state="busy", previous_reason=None)  # fmt: skip
    yield event("routing.wrap_up_ended", wrapped, agent_id=agent, contact_id=contact,
                disposition="resolved", automatic=False)  # fmt: skip
    yield event("routing.agent_state_changed", wrapped, agent_id=agent, state="available",
                reason=None, previous_state="wrap_up", previous_reason=None)  # fmt: skip


def load(url: str, tenant_id: uuid.UUID, shape: Shape, wanted: int, start: datetime) -> int:
    """Bulk-insert the events with consecutive seqs (synchronous driver: setup, not measured)."""
    engine = create_engine(resolve_urls(url).sync_url)
    seq = 0
    visits = 0
    try:
        with engine.begin() as conn:
            rows: list[dict[str, Any]] = []
            for kind, payload in events(shape, wanted, start):
                seq += 1
                visits += kind == "routing.contact_queued"
                subject = payload.get("contact_id") or payload.get("agent_id") or ""
                rows.append(
                    {
                        "tenant_id": tenant_id,
                        "seq": seq,
                        "type": kind,
                        "version": 1,
                        "occurred_at": datetime.fromisoformat(payload["at"]),
                        "actor_id": None,
                        "subject_type": "contact" if "contact_id" in payload else "agent",
                        "subject_id": str(subject),
                        "payload": payload,
                        "audience": NO_AUDIENCE,
                    }
                )
                if len(rows) == CHUNK:
                    conn.execute(insert(EventRecord), rows)
                    rows = []
            if rows:
                conn.execute(insert(EventRecord), rows)
            conn.execute(
                update(EventSequence)
                .where(EventSequence.tenant_id == tenant_id)
                .values(last_seq=seq)
            )
    finally:
        engine.dispose()
    return visits


async def _tenant(url: str) -> uuid.UUID:
    db = Database(url)
    try:
        session = db.session(SYSTEM)
        try:
            tenant = await create_tenant(session, f"kpi-bench-{uuid.uuid4().hex[:8]}", "KPI bench")
            await session.commit()
            return tenant.id
        finally:
            await session.close()
    finally:
        await db.dispose()


async def _measure(url: str, tenant_id: uuid.UUID, shape: Shape, start: datetime) -> dict[str, Any]:
    db = Database(url)
    try:
        began = time.perf_counter()
        ingested = await ingester.catch_up(db, tenant_id)
        ingest_seconds = time.perf_counter() - began
        session = db.session(tenant_id)
        try:
            offered = await session.scalar(select(func.sum(QueueInterval.offered)))
            timings = []
            for q in (f"q{i}" for i in range(shape.queues)):
                began = time.perf_counter()
                report = await service.queue_report(
                    session,
                    tenant_id,
                    start=start,
                    end=start + timedelta(days=shape.days),
                    interval="day",
                    queue_id=q,
                    channel=None,
                )
                timings.append((time.perf_counter() - began) * 1000)
                assert len(report.intervals) == shape.days
        finally:
            await session.close()
    finally:
        await db.dispose()
    return {
        "ingested_events": ingested,
        "ingest_seconds": round(ingest_seconds, 2),
        "events_per_second": round(ingested / ingest_seconds) if ingest_seconds else None,
        "offered_counted": int(offered or 0),
        "report_ms": {
            "queues": len(timings),
            "p50": round(statistics.median(timings), 1),
            "max": round(max(timings), 1),
        },
    }


def run(
    wanted: int,
    database_url: str | None = None,
    *,
    days: int = 365,
    queues: int = 5,
    agents: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    shape = Shape(queues=queues, agents=agents, days=days, seed=seed)
    # The year ends at the last midnight (UTC: the tenant's default report zone).
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days)
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-kpis-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'kpis.db'}"
        migrate.upgrade(url)
        tenant_id = asyncio.run(_tenant(url))
        began = time.perf_counter()
        visits = load(url, tenant_id, shape, wanted, start)
        load_seconds = time.perf_counter() - began
        figures = asyncio.run(_measure(url, tenant_id, shape, start))
    return {
        "backend": resolve_urls(url).backend,
        "events": figures["ingested_events"],
        "days": days,
        "queues": queues,
        "load_seconds": round(load_seconds, 1),
        "queue_visits": visits,
        **figures,
        "counts_agree": figures["offered_counted"] == visits,
        "targets": {
            "events_per_second": TARGET_EVENTS_PER_SECOND,
            "report_ms": TARGET_REPORT_MS,
            "ingest_met": (figures["events_per_second"] or 0) >= TARGET_EVENTS_PER_SECOND,
            "report_met": figures["report_ms"]["max"] < TARGET_REPORT_MS,
        },
    }


def command(
    events_wanted: Annotated[
        int, typer.Option("--events", min=100, help="Events written to the log (about).")
    ] = 1_000_000,
    days: Annotated[
        int, typer.Option("--days", min=1, max=3660, help="Days the events spread over.")
    ] = 365,
    queues: Annotated[int, typer.Option("--queues", min=1, max=500, help="Queues.")] = 5,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="A scratch database (default: a temporary SQLite file)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic log.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """KPIs: events per second the rollups ingest, and a one-year daily report per queue."""
    if not as_json:
        typer.echo(f"Writing about {events_wanted:,} events and ingesting them...", err=True)
    result = run(events_wanted, database_url, days=days, queues=queues, seed=seed)
    if as_json:
        typer.echo(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="KPI benchmark")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    table.add_row("Events (backend)", f"{result['events']:,} ({result['backend']})")
    table.add_row("Load (s)", str(result["load_seconds"]))
    table.add_row("Ingested (events/s)", f"{result['events_per_second']:,}")
    table.add_row("Counts agree", str(result["counts_agree"]))
    report = result["report_ms"]
    table.add_row(
        f"{result['days']}-day daily report: p50 / max ms", f"{report['p50']} / {report['max']}"
    )
    Console().print(table)
