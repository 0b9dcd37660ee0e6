"""The append-only event log table, and the only code that writes or reads it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped
from omnidesk.platform.events import Audience, PublishedEvent

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class EventRecord(TenantScoped, Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq", name="uq_events_tenant_seq"),
        Index("ix_events_subject", "tenant_id", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    # Per-tenant, gapless and in commit order (see EventSequence): the realtime protocol's id.
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    occurred_at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None]
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    audience: Mapped[dict[str, Any]]

    def to_published(self) -> PublishedEvent:
        return PublishedEvent(
            tenant_id=self.tenant_id,
            seq=self.seq,
            type=self.type,
            version=self.version,
            occurred_at=self.occurred_at,
            actor_id=self.actor_id,
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            payload=self.payload,
            audience=Audience.from_json(self.audience),
        )


class EventSequence(Base):
    """One row per tenant holding its last event sequence number.

    Why a counter row and not the table's identity column: identities are handed out at insert
    time, so two concurrent transactions can commit ids out of order and a reader that has seen
    id 6 would later miss id 5. Incrementing this row takes a row lock held until commit, so each
    tenant's events get consecutive numbers in exactly the order they become visible.
    """

    __tablename__ = "event_sequences"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


async def allocate(session: AsyncSession, tenant_id: uuid.UUID, count: int) -> int:
    """Reserve `count` sequence numbers; returns the first."""
    result = await session.execute(
        update(EventSequence)
        .where(EventSequence.tenant_id == tenant_id)
        .values(last_seq=EventSequence.last_seq + count)
        .returning(EventSequence.last_seq)
    )
    last = result.scalar_one_or_none()
    if last is None:
        raise LookupError(f"tenant {tenant_id} has no event sequence")
    return int(last) - count + 1


_EVENTS: Table = EventRecord.__table__  # type: ignore[assignment]


async def append(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events (each a dict of `EventRecord`'s columns but `id`, with sequence numbers
    from `allocate`) in one statement. A plain insert and not ORM objects: every command's
    events pass here, and the unit-of-work flush of new objects cost several times the insert
    itself (measured with `omnidesk bench server`)."""
    if rows:
        await session.execute(insert(_EVENTS), list(rows))


async def last_seq(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(EventSequence.last_seq).where(EventSequence.tenant_id == tenant_id)
    )
    return int(value or 0)


async def read_after(
    session: AsyncSession, after: int, *, until: int | None = None, limit: int = 500
) -> Sequence[EventRecord]:
    """Events of the session's tenant with seq > after (and <= until), oldest first."""
    stmt = select(EventRecord).where(EventRecord.seq > after)
    if until is not None:
        stmt = stmt.where(EventRecord.seq <= until)
    rows = await session.scalars(stmt.order_by(EventRecord.seq).limit(limit))
    return rows.all()


async def read_payloads_after(
    session: AsyncSession, after: int, *, limit: int = 500
) -> list[tuple[int, str, dict[str, Any]]]:
    """(seq, type, payload) of the session's tenant's events with seq > after, oldest first:
    `read_after` without building a row object per event, for readers of many events."""
    rows = await session.execute(
        select(EventRecord.seq, EventRecord.type, EventRecord.payload)
        .where(EventRecord.seq > after)
        .order_by(EventRecord.seq)
        .limit(limit)
    )
    return [(int(seq), str(kind), payload) for seq, kind, payload in rows]


async def read_subject_after(
    session: AsyncSession, subject_type: str, subject_id: str, after: int, *, limit: int = 500
) -> Sequence[EventRecord]:
    """Events of one subject of the session's tenant with seq > after, oldest first (on the
    subject index): what a follower of one thing (a chat visitor's conversation) catches up
    with. Seqs are handed out in commit order, so once an event is published every event
    before it is readable: reading after the last one seen leaves no hole."""
    rows = await session.scalars(
        select(EventRecord)
        .where(
            EventRecord.subject_type == subject_type,
            EventRecord.subject_id == subject_id,
            EventRecord.seq > after,
        )
        .order_by(EventRecord.seq)
        .limit(limit)
    )
    return rows.all()


async def seq_before(session: AsyncSession, tenant_id: uuid.UUID, since: datetime) -> int:
    """The last seq of the session's tenant whose event happened before `since` (0 if none):
    reading after it gives the events from `since` on. A binary search over the gapless seq on
    the (tenant, seq) index, so "today's events" costs a few point reads, not a scan. Events
    are appended in commit order, so their instants rise with seq (to within a commit's
    moment, which a reader asking "since midnight" does not notice)."""
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    low, high = 0, await last_seq(session, tenant_id)
    while low < high:  # the answer is in [low, high]
        middle = (low + high + 1) // 2
        at = await session.scalar(
            select(EventRecord.occurred_at).where(
                EventRecord.tenant_id == tenant_id, EventRecord.seq == middle
            )
        )
        if at is not None and (at if at.tzinfo else at.replace(tzinfo=UTC)) >= since:
            high = middle - 1
        else:
            low = middle
    return low
