"""The CRM's long-lived parts, created and started by the app's lifespan: the interaction
follower (follower.py) and the hourly maintenance job, which purges contact content past each
tenant's retention period (privacy.py) and refreshes planner statistics (maintenance.py).

`run_once(now)` is one pass of the job with an injected clock: what tests call.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select

from omnidesk.crm import maintenance, privacy
from omnidesk.crm.follower import InteractionFollower
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import SYSTEM, Database, utcnow
from omnidesk.platform.logging import get_logger
from omnidesk.platform.redaction import PersonalDataHolder
from omnidesk.platform.tenancy import Tenant
from omnidesk.platform.uow import UnitOfWork

log = get_logger(__name__)
JOB_SECONDS = 3600.0


class CrmRuntime:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        holders: Sequence[PersonalDataHolder] = (),
        *,
        clock: Callable[[], datetime] = utcnow,
        job_seconds: float = JOB_SECONDS,
    ) -> None:
        self.db = db
        self.bus = bus
        # The other parts that keep a customer's data, erased with them (privacy.erase).
        self.holders = tuple(holders)
        self.clock = clock
        self.job_seconds = job_seconds
        self.follower = InteractionFollower(db, bus)
        self._job: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.follower.start()
        self._job = asyncio.create_task(self._schedule(), name="crm-maintenance")

    async def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._job
        await self.follower.stop()

    async def settled(self) -> None:
        """Wait until the interaction records have caught up with what was announced."""
        await self.follower.settled()

    async def _schedule(self) -> None:
        while True:
            await asyncio.sleep(self.job_seconds)
            try:
                await self.run_once(self.clock())
            except Exception:
                log.exception("crm.maintenance_failed")

    async def run_once(self, now: datetime) -> dict[uuid.UUID, int]:
        """Purge what each tenant's retention lets go (all of it, in batches); returns the
        number of interactions purged per tenant that had any."""
        purged: dict[uuid.UUID, int] = {}
        for tenant_id in await self._tenants():
            while count := await self._purge(tenant_id, now):
                purged[tenant_id] = purged.get(tenant_id, 0) + count
        async with self.db.engine.begin() as conn:
            await maintenance.analyze(conn)
        return purged

    async def _purge(self, tenant_id: uuid.UUID, now: datetime) -> int:
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id) as uow:
                return await privacy.purge_expired(uow, now, holders=self.holders)
        finally:
            await session.close()

    async def _tenants(self) -> list[uuid.UUID]:
        session = self.db.session(SYSTEM)
        try:
            return list(await session.scalars(select(Tenant.id).where(Tenant.active)))
        finally:
            await session.close()
