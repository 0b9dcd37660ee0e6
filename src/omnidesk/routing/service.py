"""Routing use cases over the per-tenant hosts; endpoints and channels go through here."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from sqlalchemy import exists, or_, select

from omnidesk.core.routing import Command
from omnidesk.core.routing.events import Event
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.logging import get_logger
from omnidesk.platform.tenancy import Tenant
from omnidesk.routing.host import RoutingHost
from omnidesk.routing.models import RoutingLogEntry, RoutingSnapshot

log = get_logger(__name__)
RESTORE_RETRY_SECONDS = 2.0


class RoutingService:
    def __init__(self, db: Database, bus: EventBus, *, snapshot_every: int = 1000) -> None:
        self.db = db
        self.bus = bus
        self.snapshot_every = snapshot_every
        self._hosts: dict[uuid.UUID, RoutingHost] = {}
        self._loading = asyncio.Lock()
        self._restorer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Restore, in the background, every tenant that has routing state, so timers run
        without waiting for a request. In the background because a database that is down at
        start must not stop the process: it stays live and reports not ready until it can."""
        self._restorer = asyncio.create_task(self._restore_all(), name="routing-restore")

    async def _restore_all(self) -> None:
        while True:
            try:
                await self._restore_once()
                return
            except Exception:
                log.warning("routing restore failed; retrying", exc_info=True)
                await asyncio.sleep(RESTORE_RETRY_SECONDS)

    async def _restore_once(self) -> None:
        session = self.db.session(SYSTEM)
        try:
            # One indexed probe per tenant rather than a DISTINCT over the whole log.
            has_state = or_(
                exists().where(RoutingLogEntry.tenant_id == Tenant.id),
                exists().where(RoutingSnapshot.tenant_id == Tenant.id),
            )
            tenants = (await session.scalars(select(Tenant.id).where(has_state))).all()
        finally:
            await session.close()
        for tenant_id in tenants:
            await self.host(tenant_id)

    async def host(self, tenant_id: uuid.UUID) -> RoutingHost:
        host = self._hosts.get(tenant_id)
        if host is not None:
            return host
        async with self._loading:
            host = self._hosts.get(tenant_id)
            if host is None:
                host = RoutingHost(tenant_id, self.db, self.bus, snapshot_every=self.snapshot_every)
                await host.load()
                if host.position:
                    await host.resume_after_restore()
                host.start_timers()
                self._hosts[tenant_id] = host
        return host

    async def execute(
        self, tenant_id: uuid.UUID, command: Command, actor_id: uuid.UUID | None = None
    ) -> list[Event]:
        return await (await self.host(tenant_id)).execute(command, actor_id)

    async def stop(self, *, snapshot: bool = True) -> None:
        if self._restorer is not None:
            self._restorer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restorer
        for host in list(self._hosts.values()):
            await host.close(snapshot=snapshot)
        self._hosts.clear()
