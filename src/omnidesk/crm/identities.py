"""Identities: resolve() — the one function every channel calls — and adding/removing them.

resolve(identity) -> customer, creating a customer for an identity never seen. Safe under
concurrency without locks: the identity's unique key (tenant, kind, provider, value) decides.
A new customer is inserted, then its identity with ON CONFLICT DO NOTHING; when a concurrent
transaction got there first (PostgreSQL makes this insert wait for it) nothing is inserted, the
new customer is deleted again and the winner's is returned. So a race creates one customer, not
two, and no savepoint is needed inside the caller's transaction. The hit path is one indexed
lookup with Core statements on the connection (no ORM objects), because every contact pays it;
resolve_many() does a batch's lookups in one statement per kind (docs/crm.md, "Speed").
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import String, Table, any_, bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from omnidesk.crm import audiences, normalize
from omnidesk.crm import repository as repo
from omnidesk.crm.events import CustomerCreated, IdentityAdded, IdentityRemoved
from omnidesk.crm.models import Customer, Identity
from omnidesk.crm.normalize import IdentityKey, IdentityKind
from omnidesk.crm.schemas import IdentityIn
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import ordered_id, utcnow
from omnidesk.platform.errors import Conflict, NotFound
from omnidesk.platform.events import Audience
from omnidesk.platform.uow import UnitOfWork

_CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
_IDS: Table = Identity.__table__  # type: ignore[assignment]
_VALUES = ARRAY(String())


@dataclass(frozen=True)
class Resolution:
    customer_id: uuid.UUID
    identity_id: uuid.UUID
    created: bool


async def lookup(session: AsyncSession, key: IdentityKey) -> Resolution | None:
    row = (
        await session.execute(
            select(Identity.id, Identity.customer_id).where(
                Identity.kind == key.kind.value,
                Identity.provider == key.provider,
                Identity.value == key.value,
            )
        )
    ).first()
    return None if row is None else Resolution(row.customer_id, row.id, False)


async def resolve(uow: UnitOfWork, key: IdentityKey, *, source: str = "resolve") -> Resolution:
    """The customer of a normalised identity (normalize.identity), created when unknown."""
    return (await resolve_many(uow, [key], source=source))[0]


async def resolve_many(
    uow: UnitOfWork, keys: Sequence[IdentityKey], *, source: str = "resolve"
) -> list[Resolution]:
    """resolve() for many identities at once (one lookup per kind, one insert for the new
    ones): what a batch of contacts (the interaction projection, an import) uses."""
    assert uow.tenant_id is not None
    conn = await uow.session.connection()
    found = await lookup_many(conn, uow.tenant_id, keys)
    missing = list(dict.fromkeys(k for k in keys if k not in found))
    if missing:
        found.update(await _create(uow, conn, missing, source))
    return [found[key] for key in keys]


async def lookup_many(
    conn: AsyncConnection, tenant_id: uuid.UUID, keys: Iterable[IdentityKey]
) -> dict[IdentityKey, Resolution]:
    # Core statements on the connection, with the tenant filter written out: the ORM session's
    # automatic scoping costs more than the lookup itself on this hot path.
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key in keys:
        groups[(key.kind.value, key.provider)].add(key.value)
    found: dict[IdentityKey, Resolution] = {}
    postgresql = conn.dialect.name == "postgresql"
    for (kind, provider), values in groups.items():
        wanted = sorted(values)
        rows = await conn.execute(
            select(_IDS.c.id, _IDS.c.customer_id, _IDS.c.value).where(
                _IDS.c.tenant_id == tenant_id,
                _IDS.c.kind == kind,
                _IDS.c.provider == provider,
                # PostgreSQL: one array parameter, so the statement text is the same for any
                # batch and stays prepared; an IN list renders (and casts) a parameter per
                # value, ~3 ms of Python for 100 (a profile of bench crm).
                _IDS.c.value == any_(bindparam("values", wanted, type_=_VALUES))
                if postgresql
                else _IDS.c.value.in_(wanted),
            )
        )
        for row in rows.all():
            key = IdentityKey(IdentityKind(kind), row.value, provider)
            found[key] = Resolution(row.customer_id, row.id, False)
    return found


async def _create(
    uow: UnitOfWork, conn: AsyncConnection, keys: list[IdentityKey], source: str
) -> dict[IdentityKey, Resolution]:
    assert uow.tenant_id is not None
    now = utcnow()
    # Time-ordered ids: a batch's rows go in at one edge of the primary keys and of the
    # identities' customer index (a random uuid4 each dirtied a page per row and index).
    planned = {key: Resolution(ordered_id(), ordered_id(), True) for key in keys}
    await conn.execute(
        insert(_CUSTOMERS),
        [
            {
                "id": r.customer_id,
                "tenant_id": uow.tenant_id,
                "vip": False,
                "tags": [],
                "fields": {},
                "consent": {},
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for r in planned.values()
        ],
    )
    # RETURNING names the identities this statement inserted (ON CONFLICT DO NOTHING returns
    # no row for a key a concurrent transaction inserted first); SQLAlchemy sends the rows as
    # multi-row VALUES statements ("insertmanyvalues"), not a statement per row.
    inserted = set(
        (
            await conn.execute(
                repo.insert_ignoring(
                    uow.session, _IDS, ["tenant_id", "kind", "provider", "value"]
                ).returning(_IDS.c.id),
                [
                    {
                        "id": r.identity_id,
                        "tenant_id": uow.tenant_id,
                        "customer_id": r.customer_id,
                        "kind": key.kind.value,
                        "provider": key.provider,
                        "value": key.value,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for key, r in planned.items()
                ],
            )
        ).scalars()
    )
    lost = [key for key, r in planned.items() if r.identity_id not in inserted]
    if lost:
        # Concurrent first contacts won these: drop our customers and take theirs.
        await conn.execute(
            delete(_CUSTOMERS).where(
                _CUSTOMERS.c.id.in_([planned[key].customer_id for key in lost])
            )
        )
        planned.update(await lookup_many(conn, uow.tenant_id, lost))
    audience = Audience.of(users=[uow.actor_id] if uow.actor_id else [])
    for key, r in planned.items():
        if r.created:
            uow.record(
                CustomerCreated(
                    customer_id=r.customer_id, source=source, identity_kinds=[key.kind.value]
                ),
                audience,
            )
    return planned


async def normalise(uow: UnitOfWork, data: IdentityIn, *, field: str = "value") -> IdentityKey:
    assert uow.tenant_id is not None
    settings = await repo.settings(uow.session, uow.tenant_id)
    return normalize.identity(
        data.kind, data.value, provider=data.provider, region=settings.default_region, field=field
    )


async def attach(
    uow: UnitOfWork, customer_id: uuid.UUID, key: IdentityKey, *, field: str = "value"
) -> Identity:
    """Give the customer this identity; 409 naming its owner when another customer has it."""
    existing = await lookup(uow.session, key)
    if existing is not None:
        if existing.customer_id == customer_id:
            return await repo.identity(uow.session, existing.identity_id)
        raise Conflict(
            f"this {key.kind.value} belongs to customer {existing.customer_id} (merge them?)",
            field=field,
            customer_id=str(existing.customer_id),
        )
    row = Identity(
        customer_id=customer_id, kind=key.kind.value, provider=key.provider, value=key.value
    )
    uow.session.add(row)
    await uow.session.flush()
    return row


async def add(uow: UnitOfWork, by: Principal, customer_id: uuid.UUID, data: IdentityIn) -> Identity:
    await repo.customer(uow.session, customer_id)
    key = await normalise(uow, data)
    row = await attach(uow, customer_id, key)
    uow.record(
        IdentityAdded(customer_id=customer_id, identity_id=row.id, kind=row.kind),
        await audiences.of_customer(uow.session, customer_id, by.user_id),
    )
    return row


async def remove(
    uow: UnitOfWork, by: Principal, customer_id: uuid.UUID, identity_id: uuid.UUID
) -> None:
    await repo.customer(uow.session, customer_id)
    row = await repo.identity(uow.session, identity_id)
    if row.customer_id != customer_id:
        raise NotFound(f"customer {customer_id} has no identity {identity_id}")
    await uow.session.delete(row)
    await uow.session.flush()
    uow.record(
        IdentityRemoved(customer_id=customer_id, identity_id=identity_id, kind=row.kind),
        await audiences.of_customer(uow.session, customer_id, by.user_id),
    )
