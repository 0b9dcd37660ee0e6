"""The database layer's own behaviour that no endpoint shows."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from omnidesk.platform import database
from omnidesk.platform.database import SYSTEM, Database


async def test_sqlite_names_who_holds_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A writer that gives up on "database is locked" logs who held the lock: a holder that
    # waits on something else while keeping it is then named, not guessed.
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")
    other = Database(f"sqlite:///{tmp_path / 'two.db'}")
    try:

        async def hold(started: asyncio.Event, release: asyncio.Event) -> None:
            session = db.session(SYSTEM)
            try:
                await session.execute(text("select 1"))
                started.set()
                await release.wait()
            finally:
                await session.close()

        started, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(hold(started, release), name="the-holder")
        await started.wait()
        assert [h.task.split(" ")[0] for h in db.write_holders()] == ["the-holder"]
        # And where it waits now: its await chain down to the event it waits for.
        assert db.write_holders()[0].where().startswith("hold:"), db.write_holders()[0].where()
        assert "wait:" in db.write_holders()[0].where()
        assert other.write_holders() == []  # another file's lock is not this one's
        # A writer that gives up waiting logs the holder and where it waits.
        monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
        impatient = Database(f"sqlite:///{tmp_path / 'one.db'}")
        try:
            with (
                capture_logs() as logs,
                pytest.raises(OperationalError, match="database is locked"),
            ):
                async with impatient.session(SYSTEM) as waiter:
                    await waiter.execute(text("select 1"))
        finally:
            await impatient.dispose()
        timed_out = [e for e in logs if e["event"] == "sqlite write lock timed out"]
        assert len(timed_out) == 1, logs
        [named] = timed_out[0]["write_lock_holders"]
        assert named.startswith("the-holder") and " at hold:" in named, named
        async with db.snapshot_session(SYSTEM) as reader:  # a reader takes no write lock
            await reader.execute(text("select 1"))
            assert len(db.write_holders()) == 1
        release.set()
        await holder
        assert db.write_holders() == []  # released on close (a rollback)
        session = db.session(SYSTEM)
        await session.execute(text("create table t (a integer)"))
        await session.commit()
        await session.close()
        assert db.write_holders() == []  # and on commit
    finally:
        await db.dispose()
        await other.dispose()


async def test_an_invalidated_connection_still_closes_and_frees_the_lock(tmp_path: Path) -> None:
    # A connection invalidated mid-transaction (a cancelled await, a dropped link) must still
    # close: a hook that raised on it here once left a session holding SQLite's write lock.
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        session = db.session(SYSTEM)
        await session.execute(text("select 1"))
        connection = await session.connection()
        await connection.invalidate()
        await session.close()  # raised PendingRollbackError from the holder hook before
        assert db.write_holders() == []
        other = db.session(SYSTEM)
        await other.execute(text("create table t (a integer)"))
        await other.commit()
        await other.close()
    finally:
        await db.dispose()


async def test_a_slow_shutdown_names_what_each_task_waits_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A shutdown that hangs (a service's stop awaiting something that never comes) logs every
    # task's chain of awaits, so a hang in CI names its cause.
    from omnidesk import app

    monkeypatch.setattr(app, "SLOW_SHUTDOWN_SECONDS", 0.01)

    async def stuck_stop(never: asyncio.Event) -> None:
        await never.wait()

    never = asyncio.Event()
    stuck = asyncio.create_task(stuck_stop(never), name="stuck-service")
    with capture_logs() as logs:
        await app._report_slow_shutdown()
    stuck.cancel()
    [report] = [e for e in logs if e["event"] == "shutdown is slow"]
    [line] = [t for t in report["tasks"] if t.startswith("stuck-service:")]
    assert "stuck_stop:" in line and "wait:" in line, line


def test_ordered_ids_are_uuid7_and_sort_by_when_they_were_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rows inserted in batches (new customers) get these ids so that their indexes grow at one
    # edge: a later millisecond's id sorts after an earlier one's, as text too (SQLite stores
    # a uuid as its hex), and ids of one millisecond still differ.
    now = [1_797_000_000_000_000_000]
    monkeypatch.setattr(database.time, "time_ns", lambda: now[0])
    first = [database.ordered_id() for _ in range(50)]
    now[0] += 1_000_000
    later = database.ordered_id()
    assert {i.version for i in [*first, later]} == {7}
    assert {i.variant for i in first} == {uuid.RFC_4122}
    assert len(set(first)) == 50
    assert all(i < later and i.hex < later.hex for i in first)
    assert later.int >> 80 == 1_797_000_000_001


async def test_json_values_read_back_whole_including_integers_beyond_64_bits(
    db: Database,
) -> None:
    """PostgreSQL's JSON is decoded by orjson, which would turn an integer beyond 64 bits
    (PostgreSQL keeps any) into a float: such values must still read back exact."""
    from sqlalchemy import JSON, bindparam, cast, select

    value = {"big": 123456789012345678901234567890, "list": [1.5, "ä", None, {"n": -3}]}
    small = {"id": "c1", "n": 2**63 - 1}
    session = db.session(SYSTEM)
    try:
        for wanted in (value, small):
            param = bindparam("v", wanted, type_=JSON)
            # SQLite: a JSON value is text (CAST would take its numeric affinity).
            stmt = select(cast(param, JSON) if db.backend == "postgresql" else param)
            assert await session.scalar(stmt) == wanted
    finally:
        await session.close()
