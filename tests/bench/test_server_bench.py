"""`omnidesk bench server` on PostgreSQL: its throwaway database is made, used and dropped.

(SQLite, the default, runs in tests/cli/test_json_output.py through the real command.)
Behaviour only; the figures are never asserted on speed.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from omnidesk.bench import server_process
from omnidesk.bench.server import Params, run

PG_URL = os.environ.get("OMNIDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
pytestmark = pytest.mark.skipif(
    "postgresql" not in os.environ.get("OMNIDESK_TEST_BACKENDS", "sqlite,postgresql"),
    reason="PostgreSQL backend not selected",
)


def _bench_databases() -> set[str]:
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'omnidesk_bench_%'"
        ).fetchall()
    return {row[0] for row in rows}


def test_a_throwaway_database_is_made_on_the_server_and_dropped(tmp_path: Path) -> None:
    before = _bench_databases()
    with server_process.fresh_database(PG_URL, tmp_path) as url:
        name = make_url(url).database
        assert name is not None and name.startswith("omnidesk_bench_")
        assert _bench_databases() == before | {name}
    assert _bench_databases() == before


def test_a_tiny_run_on_postgresql_offers_every_contact() -> None:
    before = _bench_databases()
    result = run(Params(agents=3, rate=2, seconds=1.5, talk_seconds=(0.1, 0.2)), PG_URL)
    assert result["params"]["backend"] == "postgresql"
    contacts = result["contacts"]
    assert contacts["created"] == 3
    assert contacts["offered"] == contacts["accepted"] == contacts["ended"] == 3
    assert result["lost_offers"] == 0 and result["agents"]["stuck"] == 0
    # The server's own counts: each contact took statements, and each request named its user.
    server = result["server"]
    assert server["db_statements"]["insert"] > 0 and server["db_statements_per_offer"] > 0
    lookups = server["auth_lookups"]
    assert lookups.get("hit", 0) + lookups.get("miss", 0) >= 3 * 3  # create, accept, end
    assert _bench_databases() == before
