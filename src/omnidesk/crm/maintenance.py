"""Keeping the query planner informed: planner statistics for the CRM's tables.

Every ORM query carries the automatic `tenant_id = :tenant` filter. Without statistics SQLite
takes the one-column tenant index for it, walking all of a tenant's rows, instead of the
primary key or the search index the query really narrows by (20 customers by id: 100 ms at
20,000 customers, seconds at a million). With statistics it chooses right, so the CRM's
background job refreshes them on SQLite (sampled: a few milliseconds even for large tables),
and an import does after it has written. PostgreSQL's autovacuum keeps its own; the bench runs
ANALYZE after its bulk load there too, since autovacuum may not have caught up yet.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

TABLES = (
    "crm_customers",
    "crm_identities",
    "crm_search_docs",
    "crm_search_terms",
    "crm_field_values",
    "crm_cases",
    "crm_interactions",
    "crm_notes",
    "crm_timeline",
)
# Rows SQLite samples per index (PRAGMA analysis_limit): enough to tell a tenant index from a
# unique one, cheap at any size.
SAMPLE = 10_000


async def analyze(conn: AsyncConnection) -> None:
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql(f"PRAGMA analysis_limit={SAMPLE}")
    for table in TABLES:
        await conn.execute(text(f"ANALYZE {table}"))
