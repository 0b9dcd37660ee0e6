"""A customer's journey: every interaction, note, case change, merge/split and consent change,
newest first, in pages with an opaque cursor.

Entries are written with the change they describe (same transaction); an interaction's entry
points at its record, which is read when the page is, because a running contact keeps changing.
The cursor is the last entry's (instant, id), so pages stay stable while new entries arrive.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm import views
from omnidesk.crm.models import Interaction, Note, TimelineEntry
from omnidesk.crm.record_schemas import TimelineItem, TimelineOut
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Invalid
from omnidesk.platform.uow import UnitOfWork


async def add(
    uow: UnitOfWork,
    customer_id: uuid.UUID,
    kind: str,
    ref_type: str,
    ref_id: object,
    *,
    at: datetime | None = None,
    **data: Any,
) -> TimelineEntry:
    entry = TimelineEntry(
        customer_id=customer_id,
        at=at or utcnow(),
        kind=kind,
        ref_type=ref_type,
        ref_id=str(ref_id),
        data=data,
    )
    uow.session.add(entry)
    return entry


def encode_cursor(entry: TimelineEntry) -> str:
    raw = json.dumps({"at": entry.at.isoformat(), "id": entry.id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(data["at"]), int(data["id"])
    except (ValueError, KeyError, TypeError):
        raise Invalid("the cursor is not one this API gave out", field="cursor") from None


async def entries(
    session: AsyncSession, customer_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[TimelineEntry], str | None]:
    stmt = select(TimelineEntry).where(TimelineEntry.customer_id == customer_id)
    if cursor:
        at, entry_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                TimelineEntry.at < at,
                and_(TimelineEntry.at == at, TimelineEntry.id < entry_id),
            )
        )
    rows = list(
        await session.scalars(
            stmt.order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


async def page(
    session: AsyncSession, customer_id: uuid.UUID, cursor: str | None, limit: int
) -> TimelineOut:
    rows, next_cursor = await entries(session, customer_id, cursor, limit)
    return TimelineOut(items=await items(session, rows), next_cursor=next_cursor)


async def items(session: AsyncSession, rows: list[TimelineEntry]) -> list[TimelineItem]:
    interaction_ids = [uuid.UUID(r.ref_id) for r in rows if r.ref_type == "interaction"]
    note_ids = [uuid.UUID(r.ref_id) for r in rows if r.ref_type == "note"]
    interactions = (
        {
            i.id: i
            for i in await session.scalars(
                select(Interaction).where(Interaction.id.in_(interaction_ids))
            )
        }
        if interaction_ids
        else {}
    )
    notes = (
        {n.id: n for n in await session.scalars(select(Note).where(Note.id.in_(note_ids)))}
        if note_ids
        else {}
    )
    result = []
    for row in rows:
        item = TimelineItem(
            id=str(row.id),
            at=row.at,
            kind=row.kind,
            ref_type=row.ref_type,
            ref_id=row.ref_id,
            data=dict(row.data),
        )
        if row.ref_type == "interaction" and (found := interactions.get(uuid.UUID(row.ref_id))):
            item.interaction = views.interaction_out(found)
        if row.ref_type == "note" and (note := notes.get(uuid.UUID(row.ref_id))):
            item.note = views.note_out(note)
        result.append(item)
    return result
