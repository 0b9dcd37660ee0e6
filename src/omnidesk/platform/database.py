"""Database engines, sessions and the one tenant-scoping mechanism.

Every session is opened for a scope: a tenant id, or SYSTEM for the few operations that act
across tenants (creating a tenant, migrations, login lookup by tenant slug). ORM queries on a
tenant session get `tenant_id = :tenant` added to every tenant-owned table automatically, and
rows added through it are stamped with (or checked against) that tenant. A session without a
scope refuses to run queries at all, so a forgotten scope is an error, not a data leak.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import os
import re
import sqlite3
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, ForeignKey, MetaData, TypeDecorator, Uuid, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from omnidesk.platform.logging import get_logger

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, uuid.UUID: Uuid}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def ordered_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. For rows
    inserted many at a time into large tables: ids made one after the other sort together,
    so their primary key (and any index led by them) grows at one edge instead of touching a
    random page per row (at 1,000,000 customers that was most of a batch's pages written:
    docs/crm.md "Speed"). Unique as uuid4 is (74 random bits within a millisecond)."""
    millis = time.time_ns() // 1_000_000
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | int.from_bytes(os.urandom(10)) & _RANDOM_74
    return uuid.UUID(int=value | _VERSION_7)


_RANDOM_74 = (0xFFF << 64) | 0x3FFF_FFFF_FFFF_FFFF  # rand_a (12 bits) and rand_b (62 bits)
_VERSION_7 = (0x7 << 76) | (0b10 << 62)  # version 7, RFC 9562 variant


class TenantScoped:
    """Mixin for every table whose rows belong to a tenant."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class _System(enum.Enum):
    SYSTEM = "system"


SYSTEM = _System.SYSTEM
Scope = uuid.UUID | _System
SCOPE_KEY = "omnidesk_scope"


class ScopeError(RuntimeError):
    """A programming error: a query ran on a session without a tenant scope."""


@event.listens_for(Session, "do_orm_execute")
def _scope_queries(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = state.session.info.get(SCOPE_KEY)
    if scope is None:
        raise ScopeError("query on a session opened without a tenant scope")
    if scope is SYSTEM:
        return
    tenant_id = scope
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    scope = session.info.get(SCOPE_KEY)
    if scope is None:
        raise ScopeError("flush on a session opened without a tenant scope")
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        current = getattr(obj, "tenant_id", None)
        if scope is SYSTEM:
            if current is None:
                raise ScopeError(f"{type(obj).__name__} added without a tenant on a system session")
        elif current is None:
            obj.tenant_id = scope
        elif current != scope:
            raise ScopeError(f"{type(obj).__name__} of another tenant written in tenant scope")


@dataclass(frozen=True)
class DatabaseURLs:
    async_url: str
    sync_url: str
    backend: str  # "sqlite" | "postgresql"


def resolve_urls(url: str) -> DatabaseURLs:
    """Accept plain `sqlite:///file.db` / `postgresql://…` and pick the drivers we ship."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return DatabaseURLs(
            async_url=parsed.set(drivername="sqlite+aiosqlite").render_as_string(False),
            sync_url=parsed.set(drivername="sqlite").render_as_string(False),
            backend="sqlite",
        )
    if backend in ("postgresql", "postgres"):
        driver = parsed.set(drivername="postgresql+psycopg").render_as_string(False)
        return DatabaseURLs(async_url=driver, sync_url=driver, backend="postgresql")
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


# Execution option of a snapshot session's connection (SQLite: a deferred, read-only BEGIN).
_READ_SNAPSHOT = "omnidesk_read_snapshot"


@dataclass(frozen=True)
class WriteHolder:
    """Who took SQLite's write lock in this process, and since when (time.monotonic())."""

    task: str
    since: float
    database: str
    ref: weakref.ref[asyncio.Task[Any]] | None = field(default=None, compare=False, repr=False)

    def where(self) -> str:
        """Where the holding task is now: its chain of awaits, innermost last. A transaction
        that holds the lock for long is waiting on something, and this names it; a task that
        has ended while its entry remains left a transaction open (a leaked connection)."""
        task = self.ref() if self.ref is not None else None
        if task is None:
            return "(task gone)"
        return await_chain(task)

    def describe(self, now: float) -> str:
        """One line for a log: the task, how long it has held the lock, where it waits."""
        return f"{self.task} for {now - self.since:.1f}s at {self.where()}"


def await_chain(task: asyncio.Task[Any]) -> str:
    """Where a task is now: its chain of awaits, innermost last."""
    if task.done():
        return "(task ended)"
    # Task.get_stack() gives only the outermost frame of a suspended coroutine: follow
    # what each coroutine awaits instead, down to the future it waits on.
    chain: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(chain) < 40:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            break
        chain.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " > ".join(chain) or "(no frames)"


_log = get_logger(__name__)
# How long a writer waits for SQLite's one write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15000

# Process-wide: two apps on one SQLite file (a restart test, a CLI beside the server) contend
# for the same lock, so the holder may be another Database object's.
_WRITE_HOLDERS: dict[int, WriteHolder] = {}


def _task_name() -> str:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return "(no event loop)"
    if task is None:
        return "(no task)"
    coro = task.get_coro()
    return f"{task.get_name()} ({getattr(coro, '__qualname__', '?')})"


def _task_ref() -> weakref.ref[asyncio.Task[Any]] | None:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    return weakref.ref(task) if task is not None else None


class _SqliteConnection(sqlite3.Connection):
    """A SQLite connection that finalizes its cursors when it is closed.

    Why: a task cancelled in the middle of a database call (a background loop stopped, a
    request whose client went away) has its cursor's close cancelled too, and SQLAlchemy then
    closes the connection under it. SQLite's close (`sqlite3_close_v2`) leaves a connection
    with a statement still active as a "zombie" that keeps its transaction, and so the one
    write lock, until that cursor is garbage collected; the cancelled task's traceback keeps
    the cursor alive for as long as anything holds the task. Every other writer then waits
    out busy_timeout and fails with "database is locked" (tests/platform/test_sqlite_cancel.py).
    Closing the cursors first lets the close end the transaction at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cursors: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()

    def cursor(self, factory: Any = sqlite3.Cursor) -> Any:
        cursor = super().cursor(factory)
        self._cursors.add(cursor)
        return cursor

    # The connection's shortcuts make their cursors in C, past cursor(): route them through it.
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)  # type: ignore[no-any-return]

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, parameters)  # type: ignore[no-any-return]

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        return self.cursor().executescript(script)  # type: ignore[no-any-return]

    def close(self) -> None:
        for cursor in list(self._cursors):
            with contextlib.suppress(sqlite3.Error):
                cursor.close()
        super().close()


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Why IMMEDIATE: a deferred transaction that reads and then writes can fail at once
        # with SQLITE_BUSY when another writer committed in between; taking the write lock
        # up front makes concurrent requests wait (busy_timeout) instead of failing, and it
        # serialises event-sequence allocation exactly like the row lock does on PostgreSQL.
        # A snapshot session never writes: a deferred transaction reads one WAL snapshot
        # (fixed at its first read) without holding writers up.
        if conn.get_execution_options().get(_READ_SNAPSHOT):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            # Who holds the one write lock: named when a writer gives up waiting for it
            # ("database is locked"), so a holder that waits on something else is found.
            # Keyed by the Connection object: on an invalidated connection even reading its
            # DBAPI connection raises, and this must never break a rollback.
            _WRITE_HOLDERS[id(conn)] = WriteHolder(
                _task_name(), time.monotonic(), str(sync_engine.url.database), _task_ref()
            )

    @event.listens_for(sync_engine, "commit")
    @event.listens_for(sync_engine, "rollback")
    def _on_end(conn: Any) -> None:
        _WRITE_HOLDERS.pop(id(conn), None)

    @event.listens_for(sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        # A writer that gave up waiting for the lock: name who held it, and where that task
        # waits, whichever writer it was (the error alone says nothing about the holder).
        if "database is locked" not in str(context.original_exception):
            return
        name = str(sync_engine.url.database)
        now = time.monotonic()
        _log.error(
            "sqlite write lock timed out",
            waiter=_task_name(),
            write_lock_holders=[
                h.describe(now) for h in list(_WRITE_HOLDERS.values()) if h.database == name
            ],
        )


# 19 digits in a row: perhaps an integer beyond 64 bits, which orjson would turn into a float.
# psycopg hands its loader bytes: searched as they are, not decoded first.
_LONG_DIGITS = re.compile(rb"\d{19}")


def _json_loads(text: str | bytes) -> Any:
    """JSON and JSONB values from PostgreSQL, decoded by orjson (several times json.loads'
    speed). A value that may hold an integer beyond 64 bits (PostgreSQL keeps any; orjson
    would decode it as a float, losing digits) goes to json, which keeps it exact. PostgreSQL
    only: SQLite's JSON is text written by json.dumps, which may hold NaN (orjson refuses)."""
    if _LONG_DIGITS.search(text.encode() if isinstance(text, str) else text):
        return json.loads(text)
    return orjson.loads(text)


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.urls = resolve_urls(url)
        self.backend = self.urls.backend
        kwargs: dict[str, Any] = {"echo": echo}
        if self.backend == "postgresql":
            kwargs.update(
                pool_size=10, max_overflow=20, pool_pre_ping=True, json_deserializer=_json_loads
            )
        else:
            kwargs["connect_args"] = {"factory": _SqliteConnection}
        self.engine: AsyncEngine = create_async_engine(self.urls.async_url, **kwargs)
        if self.backend == "sqlite":
            _configure_sqlite(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self, scope: Scope) -> AsyncSession:
        session = self._sessions()
        session.info[SCOPE_KEY] = scope
        return session

    @asynccontextmanager
    async def snapshot_session(self, scope: Scope) -> AsyncIterator[AsyncSession]:
        """A read-only session whose reads all see one consistent point in time (the first
        read's): REPEATABLE READ on PostgreSQL, a WAL read snapshot on SQLite. Neither holds
        writers up."""
        session = self.session(scope)
        try:
            if self.backend == "postgresql":
                conn = await session.connection(
                    execution_options={"isolation_level": "REPEATABLE READ"}
                )
                await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            else:
                await session.connection(execution_options={_READ_SNAPSHOT: True})
            yield session
        finally:
            await session.rollback()
            await session.close()

    @asynccontextmanager
    async def read_session(self, scope: Scope) -> AsyncIterator[AsyncSession]:
        """A session for a few reads that never writes and needs no single point in time
        across them (authentication's one or two rows). On SQLite it is a snapshot session
        (a deferred BEGIN never waits for the write lock); on PostgreSQL reads in autocommit,
        which never wait on writers either: a snapshot transaction's isolation level is set
        and reset on the pooled connection, marked read-only, begun and rolled back, round
        trips that every request paid for nothing."""
        if self.backend != "postgresql":
            async with self.snapshot_session(scope) as session:
                yield session
            return
        session = self.session(scope)
        try:
            # Autocommit: each read is its own statement, with no BEGIN and ROLLBACK around
            # them (psycopg switches it on the client, without a round trip).
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        finally:
            await session.rollback()
            await session.close()

    def write_holders(self) -> list[WriteHolder]:
        """SQLite: the transactions of this process holding (or taking) this database's write
        lock now. For diagnosis when a writer times out; always empty on PostgreSQL."""
        if self.backend != "sqlite":
            return []
        name = str(self.engine.sync_engine.url.database)
        return [h for h in list(_WRITE_HOLDERS.values()) if h.database == name]

    async def dispose(self) -> None:
        await self.engine.dispose()
