"""A task cancelled in the middle of a database call must not leave SQLite's write lock behind.

Seen in CI: a background task cancelled at shutdown kept the lock (its cursor, alive in the
cancelled task's traceback, held a closed connection's transaction open), and the routing host's
closing snapshot failed with "database is locked" after busy_timeout.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

from sqlalchemy import text

from omnidesk.platform.database import SYSTEM, Database, _SqliteConnection


def _lock_is_free(path: Path) -> bool:
    probe = sqlite3.connect(path, isolation_level=None, timeout=0.5)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def test_closing_a_connection_with_a_cursor_mid_statement_ends_its_transaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path, isolation_level=None, factory=_SqliteConnection)
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (4)")
    cursor = conn.execute("SELECT x FROM t")
    cursor.fetchone()  # the statement is still active, as when its close was cancelled
    conn.close()
    # A plain sqlite3 connection would stay a zombie holding the lock while `cursor` lives.
    assert _lock_is_free(path)
    assert cursor is not None
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM t").fetchone() == (3,)  # 4 was rolled back
    check.close()


async def test_tasks_cancelled_mid_transaction_never_keep_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    db = Database(f"sqlite:///{path}")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))

        async def writer() -> None:
            while True:
                session = db.session(SYSTEM)
                try:
                    await session.execute(text("SELECT count(*) FROM t"))
                    await session.execute(text("INSERT INTO t VALUES (1)"))
                    await session.commit()
                finally:
                    await session.close()

        rng = random.Random(7)
        cancelled = []  # kept, as a stopped service keeps its task (and so its traceback)
        for _ in range(120):
            task = asyncio.create_task(writer())
            await asyncio.sleep(rng.random() * 0.01)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            cancelled.append(task)
            assert await asyncio.to_thread(_lock_is_free, path), len(cancelled)
    finally:
        await db.dispose()
