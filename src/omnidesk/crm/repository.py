"""CRM queries shared by the use cases. Tenant filtering is automatic (platform.database) for
ORM statements; Core inserts here set `tenant_id` themselves (the session stamps ORM rows only).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, cast, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm.models import (
    Case,
    CrmSettings,
    Customer,
    FieldDefinition,
    Identity,
    Interaction,
)
from omnidesk.directory.models import TeamMember
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import NotFound


def dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def handled_by(session: AsyncSession, agent_id: str) -> ColumnElement[bool]:
    """Interactions whose `agent_ids` (a JSON list) hold this agent. PostgreSQL tests jsonb
    containment, which the GIN index of migration 0025 serves; SQLite reads the list with
    json_each (no index can serve membership in a JSON list there: the tenant's other filters
    bound the rows read)."""
    if dialect(session) == "postgresql":
        return cast(Interaction.agent_ids, JSONB).contains([agent_id])
    member = func.json_each(Interaction.agent_ids).table_valued("value")
    return exists(select(1).select_from(member).where(member.c.value == agent_id))


def insert_ignoring(session: AsyncSession, table: Table | Any, keys: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, in the session's dialect."""
    build = postgresql.insert if dialect(session) == "postgresql" else sqlite.insert
    return build(table).on_conflict_do_nothing(index_elements=list(keys))


async def settings(session: AsyncSession, tenant_id: uuid.UUID) -> CrmSettings:
    """The tenant's CRM settings row, created on first use (a concurrent first use is fine)."""
    row: CrmSettings | None = await session.scalar(select(CrmSettings))
    if row is not None:
        return row
    await session.execute(
        insert_ignoring(session, CrmSettings, ["tenant_id"]).values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            default_region=None,
            retention_days=None,
            case_prefix="C-",
            last_case_number=1000,
            updated_at=utcnow(),
        )
    )
    created: CrmSettings = (await session.scalars(select(CrmSettings))).one()
    return created


async def repeat_window_days(session: AsyncSession) -> int:
    """The tenant's repeat-contact window, read without creating the settings row (readers
    such as reports and the realtime snapshot run in read-only sessions): the column's
    default while the tenant has no row yet."""
    days: int | None = await session.scalar(select(CrmSettings.repeat_window_days))
    if days is None:
        default = CrmSettings.__table__.c.repeat_window_days.default
        days = int(default.arg)
    return days


async def next_case_number(session: AsyncSession) -> int:
    result = await session.execute(
        update(CrmSettings)
        .values(last_case_number=CrmSettings.last_case_number + 1)
        .returning(CrmSettings.last_case_number)
    )
    return int(result.scalar_one())


async def customer(
    session: AsyncSession, customer_id: uuid.UUID, *, active: bool = True, lock: bool = False
) -> Customer:
    """The customer; 404 when unknown (or, with `active`, merged or erased)."""
    stmt = select(Customer).where(Customer.id == customer_id)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt.execution_options(populate_existing=True))
    if row is None or (active and row.status != "active"):
        state = "" if row is None else f" ({row.status})"
        raise NotFound(f"customer {customer_id} not found{state}", customer_id=str(customer_id))
    return row


async def identities_of(
    session: AsyncSession, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[Identity]]:
    ids = list(customer_ids)
    found: dict[uuid.UUID, list[Identity]] = defaultdict(list)
    if not ids:
        return found
    # Sorted here: an ORDER BY kind would make SQLite walk the tenant's whole unique index
    # (tenant, kind, ...) for its order instead of looking the customers up.
    rows = await session.scalars(select(Identity).where(Identity.customer_id.in_(ids)))
    for row in sorted(rows, key=lambda r: (r.kind, r.created_at, r.value)):
        found[row.customer_id].append(row)
    return found


async def identity(session: AsyncSession, identity_id: uuid.UUID) -> Identity:
    row = await session.scalar(select(Identity).where(Identity.id == identity_id))
    if row is None:
        raise NotFound(f"identity {identity_id} not found")
    return row


async def field_definitions(session: AsyncSession, entity: str) -> dict[str, FieldDefinition]:
    rows = await session.scalars(
        select(FieldDefinition)
        .where(FieldDefinition.entity == entity)
        .order_by(FieldDefinition.key)
    )
    return {row.key: row for row in rows}


async def case(session: AsyncSession, case_id: uuid.UUID, *, lock: bool = False) -> Case:
    stmt = select(Case).where(Case.id == case_id)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise NotFound(f"case {case_id} not found")
    return row


async def interaction(session: AsyncSession, interaction_id: uuid.UUID) -> Interaction:
    row = await session.scalar(select(Interaction).where(Interaction.id == interaction_id))
    if row is None:
        raise NotFound(f"interaction {interaction_id} not found")
    return row


async def handling_agents(session: AsyncSession, customer_id: uuid.UUID) -> set[str]:
    """Agents on the customer's interactions that are still open."""
    rows = await session.scalars(
        select(Interaction.agent_ids).where(
            Interaction.customer_id == customer_id, Interaction.state == "open"
        )
    )
    return {agent for agents in rows for agent in agents}


async def teams_by_user(
    session: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    ids = list(user_ids)
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    if not ids:
        return found
    rows = await session.execute(
        select(TeamMember.user_id, TeamMember.team_id).where(TeamMember.user_id.in_(ids))
    )
    for user_id, team_id in rows:
        found.setdefault(user_id, set()).add(team_id)
    return found


async def teams_of(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    return set().union(*(await teams_by_user(session, user_ids)).values())
