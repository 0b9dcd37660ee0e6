"""The `analytics` part of a realtime snapshot: today's figures of the queues, channels, agents
and teams the viewer sees (live.py), so that a (re)connecting wallboard has them without
reading a report."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import live
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.events import Audience


class AnalyticsView:
    """Built from the snapshot's own database transaction (the rollups as of its last event
    id, which the figures events commit with). A queue is in it for whoever sees the queue's
    `analytics.queue_figures` events: the same audience, the same `Principal.sees`."""

    name = "analytics"

    def __init__(
        self,
        queue_audience: Callable[[uuid.UUID, str], Audience],
        agent_audience: Callable[[uuid.UUID, str], Audience],
    ) -> None:
        self.queue_audience = queue_audience
        self.agent_audience = agent_audience
        # The tenant's figures, read once per snapshot transaction: a round builds many views
        # (every supervisor has their own) in one session, and each view only filters them.
        self._read: weakref.WeakKeyDictionary[AsyncSession, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    async def build(self, session: AsyncSession, principal: Principal) -> dict[str, Any]:
        if principal.role is Role.AGENT:
            return live.empty_section()  # agents read no reports, receive no figures
        tenant = principal.tenant_id
        found = self._read.get(session)
        if found is None:
            found = self._read[session] = await live.section(session, tenant, utcnow())
        if principal.is_admin:
            return found
        return {
            "queues": {
                q: figures
                for q, figures in found["queues"].items()
                if principal.sees(self.queue_audience(tenant, q))
            },
            "agents": {
                a: figures
                for a, figures in found["agents"].items()
                if principal.sees(live.agent_audience(self.agent_audience(tenant, a)))
            },
            # Admins only (live.ChannelFigures says why).
            "channels": {
                c: figures
                for c, figures in found["channels"].items()
                if principal.sees(live.CHANNEL_AUDIENCE)
            },
            "teams": {
                t: figures
                for t, figures in found["teams"].items()
                if principal.sees(live.team_audience(t))
            },
        }
