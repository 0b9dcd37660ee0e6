"""Unit of work: one transaction, the events it records, and their publication after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from types import EllipsisType, TracebackType
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform import eventlog
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import utcnow
from omnidesk.platform.events import Audience, DomainEvent, PublishedEvent


@dataclass(frozen=True)
class _Pending:
    event: DomainEvent
    audience: Audience
    occurred_at: datetime
    actor_id: uuid.UUID | None


class UnitOfWork:
    """Services receive this and never commit; whoever opened it commits or rolls back.

    `async with uow:` commits on success (appending recorded events in the same transaction, then
    publishing them) and rolls back on error (recorded events vanish unpublished).
    """

    def __init__(
        self,
        session: AsyncSession,
        bus: EventBus,
        *,
        tenant_id: uuid.UUID | None,
        actor_id: uuid.UUID | None = None,
    ) -> None:
        self.session = session
        self.bus = bus
        self.tenant_id = tenant_id
        self.actor_id = actor_id
        self._pending: list[_Pending] = []
        self.published: list[PublishedEvent] = []

    def record(
        self,
        event: DomainEvent,
        audience: Audience | None = None,
        *,
        occurred_at: datetime | None = None,
        actor_id: uuid.UUID | EllipsisType | None = ...,
    ) -> None:
        """`occurred_at`: when it happened, if earlier than now (a write queued for batching).
        `actor_id`: who did it, when not the unit of work's actor (one transaction for the
        requests of several users: routing's group commit)."""
        if self.tenant_id is None:
            raise RuntimeError("events can only be recorded in a tenant unit of work")
        actor = self.actor_id if isinstance(actor_id, EllipsisType) else actor_id
        self._pending.append(
            _Pending(event, audience or Audience(), occurred_at or utcnow(), actor)
        )

    async def commit(self) -> list[PublishedEvent]:
        try:
            published = await self._append()
            await self.session.commit()
        except BaseException:
            # A refused commit (a constraint firing in its flush, a lost connection) must still
            # end the transaction: left open, it would hold SQLite's write lock and block every
            # other writer until this session happens to be closed.
            await self.rollback()
            raise
        self._pending.clear()
        # Published only now: no subscriber may see an event whose change could still roll back.
        if published:
            await self.bus.publish(published)
        self.published.extend(published)
        return published

    async def rollback(self) -> None:
        self._pending.clear()
        await self.session.rollback()

    async def _append(self) -> list[PublishedEvent]:
        if not self._pending:
            return []
        assert self.tenant_id is not None
        first = await eventlog.allocate(self.session, self.tenant_id, len(self._pending))
        published = [
            PublishedEvent(
                tenant_id=self.tenant_id,
                seq=first + offset,
                type=pending.event.event_name,
                version=pending.event.event_version,
                occurred_at=pending.occurred_at,
                actor_id=pending.actor_id,
                subject_type=pending.event.subject_type,
                subject_id=pending.event.subject_id(),
                payload=pending.event.model_dump(mode="json"),
                audience=pending.audience,
            )
            for offset, pending in enumerate(self._pending)
        ]
        await eventlog.append(
            self.session,
            [
                {
                    "tenant_id": e.tenant_id,
                    "seq": e.seq,
                    "type": e.type,
                    "version": e.version,
                    "occurred_at": e.occurred_at,
                    "actor_id": e.actor_id,
                    "subject_type": e.subject_type,
                    "subject_id": e.subject_id,
                    "payload": e.payload,
                    "audience": e.audience.to_json(),
                }
                for e in published
            ],
        )
        return published

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.commit()
        else:
            await self.rollback()


async def still_at_version(uow: UnitOfWork, row: Any, expected: int) -> bool:
    """Whether a versioned row (with `id` and `version` columns) is still at version
    `expected` in the database, taking its lock until the commit; else the row is refreshed
    (its version is the one that won).

    Why a conditional UPDATE and not only a comparison: on PostgreSQL two saves of the same
    version read it at the same time; the row lock makes the second wait for the first's
    commit, and then its WHERE sees the new version and matches nothing (409). On SQLite the
    transactions are serial (BEGIN IMMEDIATE) and the comparison alone would do."""
    model = type(row)
    claimed = await uow.session.execute(
        update(model)
        .where(model.id == row.id, model.version == expected)
        .values(version=model.version)  # changes nothing: it takes the row's lock
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 1) == 0:
        await uow.session.refresh(row)
        return False
    return True
