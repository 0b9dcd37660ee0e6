"""Queries of the analytics tables: the ingester's state in and out, rollup upserts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from sqlalchemy import JSON, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from omnidesk.analytics.agent_states import OpenState
from omnidesk.analytics.facts import SUM_FIELDS, LogEvent, from_us
from omnidesk.analytics.models import (
    AgentOpenState,
    AgentStateInterval,
    DispositionInterval,
    IngestCursor,
    KpiSettings,
    PendingContactRow,
    QueueInterval,
    QueueThreshold,
    TeamInterval,
    TeamMembership,
)
from omnidesk.analytics.processing import BatchResult, PendingContact, State
from omnidesk.platform.database import utcnow

# The payload fields the fold reads: a pending contact keeps only these.
KEPT_FIELDS: Final = (
    "at",
    "queue_id",
    "channel",
    "agent_id",
    "waited_seconds",
    "within_service_level",
    "reason",
    "state",
    "disposition",
    "contact_id",
)
TABLES: Final = (
    QueueInterval,
    AgentStateInterval,
    PendingContactRow,
    AgentOpenState,
    QueueThreshold,
    TeamInterval,
    DispositionInterval,
    TeamMembership,
)
# The figures of a disposition row (the fold's `answered` is its `handled`).
DISPOSITION_FIELDS: Final = ("handled", "talk_us", "hold_us", "wrap_us")


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def _upsert(
    session: AsyncSession,
    model: Any,
    rows: list[dict[str, Any]],
    keys: list[str],
    update: Callable[[Any, Any], dict[str, Any]],
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE of `rows` (each with the same columns, no two
    with the same keys).

    SQLite: one executemany of the table's statement (compiled once and cached, not one bound
    parameter per value in a statement of its own); in-process, each row costs little.
    PostgreSQL (tables without a JSON column in `rows`, see below): one statement whose rows
    come from `unnest` of one array per column. An
    executemany there is a statement execution per row (pipelined, but each parsed, bound,
    run and answered): in a profile of `bench kpis` the rollup upserts were a third of the
    ingester's Python time and most of the database's. The array form is one execution
    whatever the row count, and its text never changes, so it stays compiled and prepared."""
    if not rows:
        return
    table = model.__table__
    columns = list(rows[0])
    dialect = session.get_bind().dialect.name
    # A JSON column stays on executemany: psycopg would send nested lists as a
    # multi-dimensional array, not as one JSON value per row.
    if dialect == "postgresql" and not any(_is_json(table.c[name]) for name in columns):
        await session.execute(
            _unnest_upsert(table, tuple(columns), tuple(keys), update),
            {f"a_{name}": [row[name] for row in rows] for name in columns},
        )
        return
    stmt = _insert(session, table)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=update(table.c, stmt.excluded))
    await session.execute(stmt, rows)


def _is_json(column: Any) -> bool:
    return isinstance(column.type, JSON)


def _type(column: Any) -> Any:
    """A column's type; a foreign key declared without one (`tenant_id`) has its target's."""
    if isinstance(column.type, NullType) and column.foreign_keys:
        return next(iter(column.foreign_keys)).column.type
    return column.type


# Built once per (table, columns, keys, update): SQLAlchemy's compiled cache then serves it.
# `update` is keyed by its code: store()'s update functions close over nothing.
_UNNEST_UPSERTS: dict[tuple[Any, ...], Any] = {}


def _unnest_upsert(
    table: Any,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    update: Callable[[Any, Any], dict[str, Any]],
) -> Any:
    """INSERT INTO table (columns) SELECT * FROM unnest(:a_col1, :a_col2, …) ON CONFLICT (keys)
    DO UPDATE SET update(…): PostgreSQL zips the arrays into rows."""
    cache_key = (table, columns, keys, update.__code__)
    stmt = _UNNEST_UPSERTS.get(cache_key)
    if stmt is None:
        arrays = [
            bindparam(f"a_{name}", type_=postgresql.ARRAY(_type(table.c[name]))) for name in columns
        ]
        source = select(func.unnest(*arrays).table_valued(*columns).render_derived())
        insert_ = postgresql.insert(table).from_select(list(columns), source)
        stmt = insert_.on_conflict_do_update(
            index_elements=list(keys), set_=update(table.c, insert_.excluded)
        )
        _UNNEST_UPSERTS[cache_key] = stmt
    return stmt


async def settings(session: AsyncSession, tenant_id: uuid.UUID) -> KpiSettings:
    """The tenant's KPI settings row, created on first use (a concurrent first use is fine)."""
    row: KpiSettings | None = await session.scalar(select(KpiSettings))
    if row is not None:
        return row
    await session.execute(
        _insert(session, KpiSettings)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            short_abandon_seconds=5.0,
            abandons_in_sl="missed",
            timezone="UTC",
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    created: KpiSettings = (await session.scalars(select(KpiSettings))).one()
    return created


async def cursor(session: AsyncSession, tenant_id: uuid.UUID) -> IngestCursor:
    """The tenant's cursor row, locked (PostgreSQL) so two nodes never apply one batch twice."""
    stmt = select(IngestCursor).with_for_update()
    row: IngestCursor | None = await session.scalar(stmt)
    if row is None:
        await session.execute(
            _insert(session, IngestCursor)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, last_seq=0)
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = (await session.scalars(stmt)).one()
    return row


def _event_out(event: LogEvent) -> list[Any]:
    kept = {k: event.payload[k] for k in KEPT_FIELDS if k in event.payload}
    return [event.seq, event.type, kept]


def _event_in(raw: Sequence[Any]) -> LogEvent:
    return LogEvent(int(raw[0]), str(raw[1]), dict(raw[2]))


async def load_state(
    session: AsyncSession, contact_ids: Iterable[str], agent_ids: Iterable[str]
) -> State:
    state = State()
    ids = sorted(set(contact_ids))
    for offset in range(0, len(ids), 500):
        rows = await session.execute(
            select(
                PendingContactRow.contact_id, PendingContactRow.events, PendingContactRow.quiet_us
            ).where(PendingContactRow.contact_id.in_(ids[offset : offset + 500]))
        )
        for contact_id, events, quiet_us in rows:
            state.pending[contact_id] = PendingContact([_event_in(e) for e in events], quiet_us)
    agents = sorted(set(agent_ids))
    for offset in range(0, len(agents), 500):
        open_rows = await session.scalars(
            select(AgentOpenState).where(AgentOpenState.agent_id.in_(agents[offset : offset + 500]))
        )
        for open_row in open_rows:
            state.agents[open_row.agent_id] = OpenState(
                open_row.state, open_row.reason, open_row.since_us
            )
    thresholds = await session.execute(
        select(QueueThreshold.queue_id, QueueThreshold.seq, QueueThreshold.us).order_by(
            QueueThreshold.queue_id, QueueThreshold.seq
        )
    )
    for queue_id, seq, us in thresholds:
        state.thresholds.setdefault(queue_id, []).append((seq, us))
    # Every agent's whole team history (a row per membership change: small), as the
    # thresholds: a visit answered in this batch looks its agent's teams up by seq.
    memberships = await session.execute(
        select(TeamMembership.agent_id, TeamMembership.seq, TeamMembership.teams).order_by(
            TeamMembership.agent_id, TeamMembership.seq
        )
    )
    for agent_id, seq, teams in memberships:
        state.teams.setdefault(agent_id, []).append((seq, tuple(teams)))
    return state


async def store(
    session: AsyncSession, tenant_id: uuid.UUID, state: State, result: BatchResult
) -> None:
    """Add the batch's increments to the rollups and write back the state it changed."""
    await _upsert(
        session,
        QueueInterval,
        [
            {
                "tenant_id": tenant_id,
                "interval_start": from_us(key.interval_us),
                "queue_id": key.queue_id,
                "channel": key.channel,
                "agent_id": key.agent_id,
                **sums.as_dict(),
            }
            for key, sums in result.queue_rows.items()
        ],
        ["tenant_id", "interval_start", "queue_id", "channel", "agent_id"],
        lambda c, new: {name: c[name] + new[name] for name in SUM_FIELDS},
    )
    await _upsert(
        session,
        AgentStateInterval,
        [
            {
                "tenant_id": tenant_id,
                "interval_start": from_us(key.interval_us),
                "agent_id": key.agent_id,
                "state": key.state,
                "reason": key.reason,
                "us": us,
            }
            for key, us in result.agent_rows.items()
        ],
        ["tenant_id", "interval_start", "agent_id", "state", "reason"],
        lambda c, new: {"us": c.us + new.us},
    )
    await _upsert(
        session,
        TeamInterval,
        [
            {
                "tenant_id": tenant_id,
                "interval_start": from_us(key.interval_us),
                "team_id": key.team_id,
                **sums.as_dict(),
            }
            for key, sums in result.team_rows.items()
        ],
        ["tenant_id", "interval_start", "team_id"],
        lambda c, new: {name: c[name] + new[name] for name in SUM_FIELDS},
    )
    await _upsert(
        session,
        DispositionInterval,
        [
            {
                "tenant_id": tenant_id,
                "interval_start": from_us(key.interval_us),
                "queue_id": key.queue_id,
                "channel": key.channel,
                "disposition": key.disposition,
                "handled": sums.answered,
                "talk_us": sums.talk_us,
                "hold_us": sums.hold_us,
                "wrap_us": sums.wrap_us,
            }
            for key, sums in result.disposition_rows.items()
        ],
        ["tenant_id", "interval_start", "queue_id", "channel", "disposition"],
        lambda c, new: {name: c[name] + new[name] for name in DISPOSITION_FIELDS},
    )
    if result.teams:
        await session.execute(
            _insert(session, TeamMembership)
            .values(
                [
                    {"tenant_id": tenant_id, "agent_id": a, "seq": seq, "teams": list(teams)}
                    for a, seq, teams in result.teams
                ]
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "agent_id", "seq"])
        )
    await _store_pending(session, tenant_id, state, result.contacts)
    await _store_agents(session, tenant_id, state, result.agents)
    if result.thresholds:
        await session.execute(
            _insert(session, QueueThreshold)
            .values(
                [
                    {"tenant_id": tenant_id, "queue_id": q, "seq": seq, "us": us}
                    for q, seq, us in result.thresholds
                ]
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "queue_id", "seq"])
        )
    if result.cutoff_us is not None:
        await session.execute(
            delete(PendingContactRow).where(
                PendingContactRow.tenant_id == tenant_id,
                PendingContactRow.quiet_us < result.cutoff_us,
            )
        )


async def _store_pending(
    session: AsyncSession, tenant_id: uuid.UUID, state: State, contact_ids: set[str]
) -> None:
    gone = sorted(c for c in contact_ids if c not in state.pending)
    if gone:
        await session.execute(
            delete(PendingContactRow).where(
                PendingContactRow.tenant_id == tenant_id, PendingContactRow.contact_id.in_(gone)
            )
        )
    kept = [
        {
            "tenant_id": tenant_id,
            "contact_id": c,
            "events": [_event_out(e) for e in state.pending[c].events],
            "quiet_us": state.pending[c].quiet_us,
        }
        for c in sorted(contact_ids)
        if c in state.pending
    ]
    await _upsert(
        session,
        PendingContactRow,
        kept,
        ["tenant_id", "contact_id"],
        lambda c, new: {"events": new.events, "quiet_us": new.quiet_us},
    )


async def _store_agents(
    session: AsyncSession, tenant_id: uuid.UUID, state: State, agent_ids: set[str]
) -> None:
    rows = [
        {
            "tenant_id": tenant_id,
            "agent_id": a,
            "state": state.agents[a].state,
            "reason": state.agents[a].reason,
            "since_us": state.agents[a].since_us,
        }
        for a in sorted(agent_ids)
    ]
    await _upsert(
        session,
        AgentOpenState,
        rows,
        ["tenant_id", "agent_id"],
        lambda c, new: {"state": new.state, "reason": new.reason, "since_us": new.since_us},
    )


async def reset(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Forget the tenant's rollups and ingester state: the ingester starts again at seq 0."""
    # The cursor lock first: a batch in flight commits before the deletes see the tables
    # (deleted before the lock, its rows would survive the reset and be counted twice).
    row = await cursor(session, tenant_id)
    for table in TABLES:
        await session.execute(delete(table).where(table.tenant_id == tenant_id))
    row.last_seq = 0
    await session.flush()
