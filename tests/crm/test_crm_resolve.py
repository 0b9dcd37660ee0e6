"""resolve() under concurrency: racing first contacts of one identity make one customer."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from omnidesk.crm import identities, normalize
from omnidesk.crm.models import Customer
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.tenancy import create_tenant
from omnidesk.platform.uow import UnitOfWork


async def test_racing_resolutions_of_a_new_identity_create_one_customer(database_url) -> None:
    db = Database(database_url)
    bus = InProcessBus()
    try:
        session = db.session(SYSTEM)
        tenant = await create_tenant(session, "race", "Race")
        await session.commit()
        await session.close()
        key = normalize.identity("phone", "+4915112341234")

        async def first_contact() -> identities.Resolution:
            session = db.session(tenant.id)
            try:
                async with UnitOfWork(session, bus, tenant_id=tenant.id) as uow:
                    found = await identities.resolve(uow, key)
                    await asyncio.sleep(0.05)  # hold the transaction open while others race
                return found
            finally:
                await session.close()

        results = await asyncio.gather(*(first_contact() for _ in range(5)))
        assert len({r.customer_id for r in results}) == 1
        assert sum(r.created for r in results) == 1
        session = db.session(tenant.id)
        try:
            assert await session.scalar(select(func.count()).select_from(Customer)) == 1
        finally:
            await session.close()
    finally:
        await db.dispose()
