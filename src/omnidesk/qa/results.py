"""Evaluation scores as the agent report reads them (analytics/agents.py): by the contact's
end, as CSAT is."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.qa.models import Evaluation


async def quality_scores(
    session: AsyncSession, start: datetime, end: datetime, agents: Collection[str] | None = None
) -> list[tuple[str, datetime, float]]:
    """(agent, contact's end, score in percent) of every evaluation of a contact that ended
    in [start, end); `agents`: only theirs. In a fixed order, so sums come out the same."""
    query = (
        select(Evaluation.agent_id, Evaluation.contact_ended_at, Evaluation.score)
        .where(Evaluation.contact_ended_at >= start, Evaluation.contact_ended_at < end)
        .order_by(Evaluation.contact_ended_at, Evaluation.id)
    )
    if agents is not None:
        query = query.where(Evaluation.agent_id.in_(sorted(agents)))
    return [(a, at, float(score)) for a, at, score in await session.execute(query)]
