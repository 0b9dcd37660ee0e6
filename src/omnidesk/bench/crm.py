"""`omnidesk bench crm`: identity resolution per second and search latency at N customers.

    omnidesk bench crm --customers 1000000 [--database-url URL] --json

Loads N synthetic customers into a new tenant by bulk insert (each with a name, a German mobile
number and an email address; names from Faker's locale lists plus a long tail of made-up
surnames, with accents), then measures through the real service functions:

- resolution of known numbers (given in national format, so each is normalised too) and of
  new ones (each creates a customer and records its event): identities.resolve_many() for 100
  at a time in one unit of work (as the interaction projection resolves a batch of events, an
  import its rows), and identities.resolve() in a unit of work of its own (a transaction per
  contact, as a channel resolving one arrival), and crm.resolver.Resolver with 50 concurrent
  callers each resolving one number at a time (contacts arriving together, each resolving its
  caller: their resolutions share units of work). Each row normalises its numbers cold (the
  normalisation cache is emptied first);
- search: search.find() (the endpoint's use case, hits loaded with their identities) for a
  name with one typo (and accents dropped or kept), a phone number in another format and an
  email address in other case; p50/p95 in ms and recall (the wanted customer among the hits).

Without --database-url it uses a new SQLite file in a temporary directory. With one, the
database is migrated and gets a new tenant each run (use a scratch database: it grows by N).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import phonenumbers
import typer
from sqlalchemy import create_engine, insert

from omnidesk.crm import identities, maintenance, normalize, search
from omnidesk.crm import repository as repo
from omnidesk.crm.models import Customer, Identity, SearchDoc, SearchTerm
from omnidesk.crm.resolver import Resolver
from omnidesk.crm.schemas import IdentityIn
from omnidesk.platform import migrate
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import SYSTEM, Database, resolve_urls, utcnow
from omnidesk.platform.tenancy import create_tenant
from omnidesk.platform.uow import UnitOfWork

LOCALES = ("en_US", "de_DE", "es_ES", "lv_LV", "fr_FR", "it_IT", "tr_TR", "cs_CZ", "sv_SE")
CHUNK = 20_000
BATCH = 100  # resolutions per unit of work in the batched measurement
CALLERS = 50  # concurrent callers in the concurrent single measurement
TARGET_RESOLVE = 5_000
TARGET_P95_MS = 50.0


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    email: str


class People:
    """N deterministic synthetic people: person(i) is the same for a seed on every run."""

    def __init__(self, count: int, seed: int) -> None:
        rng = random.Random(seed)
        first: set[str] = set()
        last: set[str] = set()
        for locale in LOCALES:
            # Faker is in the bench extra; only its name lists are used.
            module = importlib.import_module(f"faker.providers.person.{locale}")
            first.update(getattr(module.Provider, "first_names", ()))
            last.update(getattr(module.Provider, "last_names", ()))
        self.first = sorted(first)
        self.last = sorted(last) + _made_up_surnames(rng, max(1000, count // 7))
        self.count = count
        self.seed = seed

    def person(self, i: int) -> Person:
        rng = random.Random(self.seed * 1_000_003 + i)
        first = rng.choice(self.first)
        last = rng.choice(self.last)
        if rng.random() < 0.1:
            last = f"{last}-{rng.choice(self.last)}"
        name = f"{first} {last}"
        local = ".".join(normalize.terms(name)) or "customer"
        return Person(name, f"+49151{i:08d}", f"{local}.{i}@example.com")


# fmt: off
_SYLLABLES = [
    "ab", "al", "an", "ar", "ber", "bo", "ca", "da", "del", "dor", "el", "en", "er", "fa",
    "gar", "ha", "in", "is", "ka", "ko", "la", "le", "li", "lo", "ma", "mi", "mo", "na",
    "ne", "no", "or", "pa", "pe", "ra", "re", "ri", "ro", "sa", "se", "si", "so", "ta",
    "te", "ti", "to", "ul", "va", "ve", "vi", "wa", "ze", "zo", "ān", "ēr", "īs", "ūk",
    "ņa", "ša", "ži", "ćo", "ño", "ül", "ør", "äk",
]
# fmt: on


def _made_up_surnames(rng: random.Random, count: int) -> list[str]:
    """The long tail real customer bases have: many surnames seen once or twice."""
    names: set[str] = set()
    while len(names) < count:
        parts = [rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))]
        names.add("".join(parts).capitalize())
    return sorted(names)


# --- loading -------------------------------------------------------------------------------


def load(url: str, tenant_id: uuid.UUID, people: People) -> float:
    """Bulk insert (Core executemany, one transaction per chunk); returns seconds taken."""
    engine = create_engine(resolve_urls(url).sync_url)
    started = time.perf_counter()
    terms: set[str] = set()
    try:
        for start in range(0, people.count, CHUNK):
            rows = _chunk(tenant_id, people, range(start, min(start + CHUNK, people.count)))
            customers, idents, docs = rows
            for doc in docs:
                terms.update(doc["name"].split())
            with engine.begin() as conn:
                conn.execute(insert(Customer), customers)
                conn.execute(insert(Identity), idents)
                conn.execute(insert(SearchDoc), docs)
        with engine.begin() as conn:
            conn.execute(
                insert(SearchTerm), [{"tenant_id": tenant_id, "term": t} for t in sorted(terms)]
            )
    finally:
        engine.dispose()
    return time.perf_counter() - started


def _chunk(
    tenant_id: uuid.UUID, people: People, indices: range
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    now = utcnow()
    customers, idents, docs = [], [], []
    for i in indices:
        person = people.person(i)
        customer_id = uuid.UUID(int=(tenant_id.int ^ (i + 1)))
        customers.append(
            {
                "id": customer_id,
                "tenant_id": tenant_id,
                "display_name": person.name,
                "vip": False,
                "tags": [],
                "fields": {},
                "consent": {},
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
        )
        for kind, value in (("phone", person.phone), ("email", person.email)):
            idents.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "customer_id": customer_id,
                    "kind": kind,
                    "provider": "",
                    "value": value,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        docs.append(
            {
                "tenant_id": tenant_id,
                "customer_id": customer_id,
                "name": normalize.fold(person.name),
            }
        )
    return customers, idents, docs


# --- measuring -----------------------------------------------------------------------------


async def _tenant(db: Database) -> uuid.UUID:
    session = db.session(SYSTEM)
    try:
        tenant = await create_tenant(session, f"crm-bench-{uuid.uuid4().hex[:8]}", "CRM bench")
        await session.commit()
    finally:
        await session.close()
    session = db.session(tenant.id)
    try:
        settings = await repo.settings(session, tenant.id)
        settings.default_region = "DE"
        await session.commit()
    finally:
        await session.close()
    return tenant.id


def _national(e164: str) -> str:
    """+4915100001234 -> '01510 0001234' (how a customer would type it)."""
    number = phonenumbers.parse(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


async def _resolve_rate(
    db: Database, tenant_id: uuid.UUID, numbers: list[str], per_uow: int
) -> dict[str, Any]:
    bus = InProcessBus()
    created = 0
    normalize.forget()  # every row normalises its numbers cold, as they were first seen
    started = time.perf_counter()
    for start in range(0, len(numbers), per_uow):
        session = db.session(tenant_id)
        try:
            async with UnitOfWork(session, bus, tenant_id=tenant_id) as uow:
                keys = [
                    normalize.identity("phone", raw, region="DE")
                    for raw in numbers[start : start + per_uow]
                ]
                if per_uow == 1:
                    found = [await identities.resolve(uow, keys[0])]
                else:
                    found = await identities.resolve_many(uow, keys)
                created += sum(r.created for r in found)
        finally:
            await session.close()
    seconds = time.perf_counter() - started
    return {
        "resolutions": len(numbers),
        "created": created,
        "per_uow": per_uow,
        "per_second": round(len(numbers) / seconds),
    }


async def _resolve_concurrent(
    db: Database, tenant_id: uuid.UUID, numbers: list[str], callers: int
) -> dict[str, Any]:
    """`callers` concurrent callers, each resolving its numbers one at a time through the
    Resolver (as contacts arriving together do): how many single resolutions per second."""
    resolver = Resolver(db, InProcessBus())
    normalize.forget()
    created = 0

    async def caller(mine: list[str]) -> None:
        nonlocal created
        for raw in mine:
            found = await resolver.resolve(tenant_id, IdentityIn(kind="phone", value=raw))
            created += found.created

    started = time.perf_counter()
    await asyncio.gather(*(caller(numbers[k::callers]) for k in range(callers)))
    seconds = time.perf_counter() - started
    return {
        "resolutions": len(numbers),
        "created": created,
        "callers": callers,
        "units_of_work": resolver.batches,
        "per_second": round(len(numbers) / seconds),
    }


def _typo(rng: random.Random, name: str) -> str:
    words = name.split()
    longest = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[longest]
    if len(word) >= 4:
        at = rng.randrange(1, len(word) - 2)
        kind = rng.choice(("swap", "drop", "replace"))
        if kind == "swap":
            word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        elif kind == "drop":
            word = word[:at] + word[at + 1 :]
        else:
            word = word[:at] + rng.choice("aeiouklmnrst") + word[at + 1 :]
    words[longest] = word
    typed = " ".join(words)
    return normalize.fold(typed) if rng.random() < 0.5 else typed


async def _search_latency(
    db: Database, tenant_id: uuid.UUID, queries: list[tuple[str, uuid.UUID]]
) -> dict[str, Any]:
    timings, found = [], 0
    for q, wanted in queries:
        started = time.perf_counter()
        session = db.session(tenant_id)
        try:
            hits = await search.find(session, search.Query(q=q), region="DE", limit=20)
            await session.rollback()
        finally:
            await session.close()
        timings.append((time.perf_counter() - started) * 1000)
        found += any(hit.id == wanted for hit in hits)
    timings.sort()
    return {
        "queries": len(queries),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2),
        "max_ms": round(timings[-1], 2),
        "recall": round(found / len(queries), 3),
    }


async def _measure(
    url: str, tenant_id: uuid.UUID, people: People, samples: int, seed: int
) -> dict[str, Any]:
    db = Database(url)
    rng = random.Random(seed + 1)
    try:
        picks = [rng.randrange(people.count) for _ in range(samples)]
        known = [_national(people.person(i).phone) for i in picks]
        fresh = [f"+49152{i:08d}" for i in range(3 * samples)]
        single = min(samples, 2_000)
        resolve = {
            "existing_batched": await _resolve_rate(db, tenant_id, known, BATCH),
            "existing_single": await _resolve_rate(db, tenant_id, known[:single], 1),
            "existing_concurrent": await _resolve_concurrent(db, tenant_id, known, CALLERS),
            "new_batched": await _resolve_rate(db, tenant_id, fresh[samples : 2 * samples], BATCH),
            "new_single": await _resolve_rate(db, tenant_id, fresh[:single], 1),
            "new_concurrent": await _resolve_concurrent(
                db, tenant_id, fresh[2 * samples :], CALLERS
            ),
        }
        count = min(samples, 300)
        searches: dict[str, list[tuple[str, uuid.UUID]]] = {"name": [], "phone": [], "email": []}
        for i in (rng.randrange(people.count) for _ in range(count)):
            person = people.person(i)
            customer_id = uuid.UUID(int=(tenant_id.int ^ (i + 1)))
            searches["name"].append((_typo(rng, person.name), customer_id))
            phone = _national(person.phone) if rng.random() < 0.5 else _spaced(person.phone)
            searches["phone"].append((phone, customer_id))
            searches["email"].append((person.email.upper(), customer_id))
        return {
            "resolve": resolve,
            "search": {k: await _search_latency(db, tenant_id, v) for k, v in searches.items()},
        }
    finally:
        await db.dispose()


def _spaced(e164: str) -> str:
    return f"{e164[:3]} ({e164[3:6]}) {e164[6:10]}-{e164[10:]}"


def run(
    customers: int, database_url: str | None = None, *, seed: int = 0, samples: int = 10_000
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-crm-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'crm.db'}"
        migrate.upgrade(url)
        people = People(customers, seed)
        tenant_id = asyncio.run(_setup(url))
        load_seconds = load(url, tenant_id, people)
        asyncio.run(_analyze(url))
        figures = asyncio.run(_measure(url, tenant_id, people, samples, seed))
    resolve = figures["resolve"]
    worst_p95 = max(s["p95_ms"] for s in figures["search"].values())
    return {
        "customers": customers,
        "backend": resolve_urls(url).backend,
        "load_seconds": round(load_seconds, 1),
        "load_customers_per_second": round(customers / load_seconds) if load_seconds else None,
        **figures,
        "targets": {
            "resolve_per_second": TARGET_RESOLVE,
            "search_p95_ms": TARGET_P95_MS,
            "resolve_batched_met": min(
                resolve["existing_batched"]["per_second"], resolve["new_batched"]["per_second"]
            )
            >= TARGET_RESOLVE,
            "resolve_single_met": min(
                resolve["existing_single"]["per_second"], resolve["new_single"]["per_second"]
            )
            >= TARGET_RESOLVE,
            "resolve_concurrent_met": min(
                resolve["existing_concurrent"]["per_second"],
                resolve["new_concurrent"]["per_second"],
            )
            >= TARGET_RESOLVE,
            "search_met": worst_p95 < TARGET_P95_MS,
        },
    }


async def _analyze(url: str) -> None:
    db = Database(url)
    try:
        if db.backend == "postgresql":
            # After a bulk load, GIN indexes hold the new rows in their pending list, which every
            # search then scans (30 ms instead of 0.1 ms) until autovacuum merges it: do it now.
            async with db.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in maintenance.TABLES:
                    await conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
            return
        async with db.engine.begin() as conn:
            await maintenance.analyze(conn)
    finally:
        await db.dispose()


async def _setup(url: str) -> uuid.UUID:
    db = Database(url)
    try:
        return await _tenant(db)
    finally:
        await db.dispose()


def _rows(result: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "Customers", f"{result['customers']:,} ({result['backend']})"
    yield (
        "Load (s, customers/s)",
        f"{result['load_seconds']}, {result['load_customers_per_second']:,}",
    )
    for name, figures in result["resolve"].items():
        yield f"Resolve {name} (per s)", f"{figures['per_second']:,}"
    for name, figures in result["search"].items():
        yield (
            f"Search {name}: p50 / p95 ms, recall",
            f"{figures['p50_ms']} / {figures['p95_ms']}, {figures['recall']}",
        )


def command(
    customers: Annotated[
        int, typer.Option("--customers", min=1, help="Customers loaded.")
    ] = 100_000,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="A scratch database (default: a temporary SQLite file)."
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", min=100, help="Resolutions measured per kind.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic customers.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """CRM: identity resolutions per second and search p95 at N customers."""
    if not as_json:
        typer.echo(f"Loading {customers:,} customers and measuring...", err=True)
    result = run(customers, database_url, seed=seed, samples=samples)
    if as_json:
        typer.echo(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="CRM benchmark")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    for label, value in _rows(result):
        table.add_row(label, value)
    Console().print(table)
