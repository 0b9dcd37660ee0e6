"""First-contact resolution (docs/kpis.md, FCR): of the contacts resolved in a range, the share
no repeat contact followed.

A contact is *resolved* when its wrap-up disposition is a resolving one; a *repeat* is a later
contact of the same customer on the same case or with the same reason within the CRM's
`repeat_window_days` (crm/arrivals.py decides it when the later contact arrives and records it
on that contact's interaction as `repeat_of`). So FCR is read from the CRM's interaction
records, not from the event rollups: whether a contact was resolved at the first attempt is
only known when its window has passed. Contacts whose window is still open are counted as
first-contact resolved so far and reported as `provisional`.

A contact is counted for the queue it ended in and the agent who handled it last (who gave the
disposition), and in the range by when it ended.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from omnidesk.analytics import repository as repo
from omnidesk.analytics.schemas import KpiFcrReport, KpiFcrRow
from omnidesk.analytics.service import check_range
from omnidesk.crm import repository as crm_repo
from omnidesk.crm.models import Interaction
from omnidesk.platform.database import utcnow

FcrBy = Literal["total", "queue", "agent", "channel"]


@dataclass
class _Count:
    resolved: int = 0
    repeated: int = 0
    provisional: int = 0

    def row(self, key: str | None) -> KpiFcrRow:
        first = self.resolved - self.repeated
        return KpiFcrRow(
            key=key,
            resolved=self.resolved,
            repeated=self.repeated,
            first_contact_resolved=first,
            fcr=round(first / self.resolved, 4) if self.resolved else None,
            provisional=self.provisional,
        )


@dataclass(frozen=True, slots=True)
class ResolvedContact:
    """A resolved contact as FCR counts it: where it ended, who handled it last."""

    queue_id: str | None
    agent_id: str | None
    channel: str
    ended_at: datetime
    repeated: bool
    provisional: bool  # not repeated, and its repeat window is still open


async def resolved_contacts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    start: datetime,
    end: datetime,
    channel: str | None = None,
) -> list[ResolvedContact]:
    """The contacts resolved (ended with a resolving disposition) in [start, end) (UTC)."""
    window = timedelta(days=await crm_repo.repeat_window_days(session))
    later = aliased(Interaction)
    stmt = select(
        Interaction.channel,
        Interaction.queue_ids,
        Interaction.agent_ids,
        Interaction.started_at,
        Interaction.ended_at,
        select(later.id).where(later.repeat_of == Interaction.id).exists().label("repeated"),
    ).where(
        Interaction.resolved.is_(True),
        Interaction.ended_at >= start,
        Interaction.ended_at < end,
    )
    if channel is not None:
        stmt = stmt.where(Interaction.channel == channel)
    now = utcnow()
    return [
        ResolvedContact(
            queue_id=row.queue_ids[-1] if row.queue_ids else None,
            agent_id=row.agent_ids[-1] if row.agent_ids else None,
            channel=row.channel,
            ended_at=row.ended_at,
            repeated=bool(row.repeated),
            provisional=not row.repeated and row.started_at + window > now,
        )
        for row in await session.execute(stmt)
    ]


async def fcr_report(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    by: FcrBy,
    queue_id: str | None = None,
    agent_id: str | None = None,
    channel: str | None = None,
    queues: Collection[str] | None = None,
    agents: Collection[str] | None = None,
) -> KpiFcrReport:
    """`queues` / `agents`: only contacts that ended in these queues / were last handled by
    these agents (a supervisor's); None: no limit."""
    settings = await repo.settings(session, tenant_id)
    start, end = check_range(start, end, "month", ZoneInfo(settings.timezone))
    window_days = await crm_repo.repeat_window_days(session)
    counts: dict[str | None, _Count] = defaultdict(_Count)
    total = _Count()
    for row in await resolved_contacts(session, tenant_id, start, end, channel):
        queue, agent = row.queue_id, row.agent_id
        if (queue_id is not None and queue != queue_id) or (
            queues is not None and queue not in queues
        ):
            continue
        if (agent_id is not None and agent != agent_id) or (
            agents is not None and agent not in agents
        ):
            continue
        key = {"total": None, "queue": queue, "agent": agent, "channel": row.channel}[by]
        for count in (counts[key], total) if by != "total" else (total,):
            count.resolved += 1
            count.repeated += row.repeated
            count.provisional += row.provisional
    return KpiFcrReport(
        start=start,
        end=end,
        timezone=settings.timezone,
        window_days=window_days,
        by=by,
        rows=[counts[key].row(key) for key in sorted(counts, key=lambda k: (k is None, k or ""))],
        total=total.row(None),
    )
