"""A queue's versions, read from the event log (docs/adr/0021-queue-history-from-the-event-log.md).

Routing appends `routing.queue_added` / `queue_updated` / `queue_removed` to the event log in
the same transaction as its own log, with the acting user and the whole definition: that is
already a durable, per-tenant, append-only history of every version, so none is kept a second
time. Version k of a queue is its k-th added-or-updated event, which is how routing counts the
version an edit names (Directory.queue_versions). The one fact the log does not hold, that a
save was a restore of version n, is an audit entry written after routing accepted it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.models import User
from omnidesk.platform.audit import AuditEntry
from omnidesk.platform.eventlog import EventRecord

ADDED = "routing.queue_added"
UPDATED = "routing.queue_updated"
REMOVED = "routing.queue_removed"
# The audit action that marks a version as a restore (details: version, restored_from).
RESTORED = "routing.queue_restored"


@dataclass(frozen=True)
class QueueVersion:
    version: int
    action: str  # created | updated | restored | deleted
    definition: dict[str, Any] | None  # None for a deletion
    at: datetime
    actor_id: uuid.UUID | None
    restored_from: int | None = None


async def queue_history(session: AsyncSession, queue_id: str) -> list[QueueVersion]:
    """Every version of the queue, oldest first, with its deletions; [] for a queue this
    tenant never had (the session's tenant scope filters the rows)."""
    rows = await session.scalars(
        select(EventRecord)
        .where(
            EventRecord.subject_type == "queue",
            EventRecord.subject_id == queue_id,
            EventRecord.type.in_((ADDED, UPDATED, REMOVED)),
        )
        .order_by(EventRecord.seq)
    )
    restores = await _restores(session, queue_id)
    history: list[QueueVersion] = []
    version = 0
    for row in rows:
        if row.type == REMOVED:
            action, definition = "deleted", None
        else:
            version += 1
            action = "created" if row.type == ADDED else "updated"
            definition = dict(row.payload["queue"])
        restored_from = restores.get(version) if definition is not None else None
        history.append(
            QueueVersion(
                version=version,
                action="restored" if restored_from is not None else action,
                definition=definition,
                at=row.occurred_at,
                actor_id=row.actor_id,
                restored_from=restored_from,
            )
        )
    return history


async def removed_queue_ids(session: AsyncSession) -> set[str]:
    """Every queue id this tenant has removed at least once (some may exist again)."""
    rows = await session.scalars(
        select(EventRecord.subject_id)
        .where(EventRecord.subject_type == "queue", EventRecord.type == REMOVED)
        .distinct()
    )
    return {str(r) for r in rows if r is not None}


async def _restores(session: AsyncSession, queue_id: str) -> dict[int, int]:
    rows = await session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == RESTORED,
            AuditEntry.target_type == "queue",
            AuditEntry.target_id == queue_id,
        )
    )
    return {int(r.details["version"]): int(r.details["restored_from"]) for r in rows}


async def actor_names(
    session: AsyncSession, ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """user id -> (username, display name) of those that still exist."""
    if not ids:
        return {}
    users = await session.scalars(select(User).where(User.id.in_(ids)))
    return {u.id: (u.username, u.display_name) for u in users}
