"""Resolver: concurrent single resolutions share units of work, each caller gets its own
answer (a customer, or its own error), and a new identity still makes one customer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from omnidesk.crm import identities
from omnidesk.crm import repository as repo
from omnidesk.crm.models import Customer, Identity
from omnidesk.crm.resolver import Resolver
from omnidesk.crm.schemas import IdentityIn
from omnidesk.platform import eventlog
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.errors import Invalid
from omnidesk.platform.tenancy import create_tenant


@pytest.fixture
async def tenant(db: Database) -> AsyncIterator[uuid.UUID]:
    session = db.session(SYSTEM)
    tenant = await create_tenant(session, f"res-{uuid.uuid4().hex[:6]}", "Resolver")
    await session.commit()
    await session.close()
    session = db.session(tenant.id)
    (await repo.settings(session, tenant.id)).default_region = "DE"
    await session.commit()
    await session.close()
    yield tenant.id


def phone(value: str) -> IdentityIn:
    return IdentityIn(kind="phone", value=value)


async def count(db: Database, tenant_id: uuid.UUID, model: Any) -> int:
    session = db.session(tenant_id)
    try:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await session.close()


async def events(db: Database, tenant_id: uuid.UUID) -> list[tuple[int, str]]:
    session = db.session(tenant_id)
    try:
        return [(e.seq, e.type) for e in await eventlog.read_after(session, 0)]
    finally:
        await session.close()


async def test_concurrent_resolutions_of_one_new_identity_make_one_customer(
    db: Database, tenant: uuid.UUID
) -> None:
    resolver = Resolver(db, InProcessBus())
    spellings = ["+49 151 1234 1234", "015112341234", "0049 1511 2341234", "01511/2341234"]
    results = await asyncio.gather(
        *(resolver.resolve(tenant, phone(spellings[k % 4])) for k in range(20))
    )
    assert resolver.batches == 1  # twenty callers, one unit of work
    assert len({r.customer_id for r in results}) == 1
    assert len({r.identity_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert await count(db, tenant, Customer) == 1
    assert [kind for _, kind in await events(db, tenant)] == ["customer.created"]
    # Later callers find it.
    again = await resolver.resolve(tenant, phone("+4915112341234"))
    assert (again.customer_id, again.created) == (results[0].customer_id, False)


async def test_two_resolvers_racing_one_new_identity_make_one_customer(
    db: Database, tenant: uuid.UUID
) -> None:
    bus = InProcessBus()
    first, second = Resolver(db, bus), Resolver(db, bus)  # two processes
    results = await asyncio.gather(
        *(r.resolve(tenant, phone("+4915199990000")) for r in (first, second) * 5)
    )
    assert len({r.customer_id for r in results}) == 1
    assert await count(db, tenant, Customer) == 1


async def test_each_caller_gets_its_own_answer_and_only_its_own_error(
    db: Database, tenant: uuid.UUID
) -> None:
    session = db.session(tenant)
    known = Customer(display_name="Known")
    session.add(known)
    await session.flush()
    session.add(Identity(customer_id=known.id, kind="email", provider="", value="ann@example.com"))
    await session.commit()
    await session.close()
    resolver = Resolver(db, InProcessBus())
    asked = [
        phone("+4915100000001"),
        phone("+49 123"),  # too short: not a valid number
        IdentityIn(kind="email", value="ANN@example.com"),
        IdentityIn(kind="email", value="not an address"),
        phone("+4915100000002"),
        IdentityIn(kind="messaging", value="id-1"),  # no provider
    ]
    results = await asyncio.gather(
        *(resolver.resolve(tenant, given, field="from") for given in asked),
        return_exceptions=True,
    )
    assert resolver.batches == 1
    for k in (1, 3, 5):
        assert isinstance(results[k], Invalid), results[k]
    assert "'+49 123' is not a valid phone number" in results[1].detail
    assert [results[k].extra["field"] for k in (1, 3, 5)] == ["from", "from", "provider"]
    new1, ann, new2 = results[0], results[2], results[4]
    assert isinstance(new1, identities.Resolution) and isinstance(new2, identities.Resolution)
    assert new1.created and new2.created and new1.customer_id != new2.customer_id
    assert ann == identities.Resolution(ann.customer_id, ann.identity_id, False)
    assert ann.customer_id == known.id
    assert await count(db, tenant, Customer) == 3
    seqs = [seq for seq, kind in await events(db, tenant) if kind == "customer.created"]
    assert len(seqs) == 2 and seqs == sorted(seqs)


async def test_a_failing_batch_is_retried_one_by_one(
    db: Database, tenant: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever fails a unit of work (here a resolution that raises for one number) fails its
    own caller; the others in the batch are resolved and committed alone."""
    real = identities.resolve_many

    async def flaky(uow: Any, keys: Any, **kw: Any) -> Any:
        if any(key.value == "+4915100000666" for key in keys):
            raise RuntimeError("lost connection")
        return await real(uow, keys, **kw)

    monkeypatch.setattr(identities, "resolve_many", flaky)
    resolver = Resolver(db, InProcessBus())
    numbers = ["+4915100000001", "+4915100000666", "+4915100000003"]
    results = await asyncio.gather(
        *(resolver.resolve(tenant, phone(n)) for n in numbers), return_exceptions=True
    )
    assert isinstance(results[1], RuntimeError)
    assert all(isinstance(results[k], identities.Resolution) for k in (0, 2))
    assert resolver.batches == 2  # the failed batch is not counted; two singles are
    assert await count(db, tenant, Customer) == 2
    assert [kind for _, kind in await events(db, tenant)] == ["customer.created"] * 2


async def test_requests_arriving_during_a_batch_go_in_the_next(
    db: Database, tenant: uuid.UUID
) -> None:
    resolver = Resolver(db, InProcessBus(), max_batch=3)
    results = await asyncio.gather(
        *(resolver.resolve(tenant, phone(f"+49151000001{k:02d}")) for k in range(7))
    )
    assert resolver.batches == 3  # 3 + 3 + 1
    assert len({r.customer_id for r in results}) == 7
    assert [r.created for r in results] == [True] * 7
