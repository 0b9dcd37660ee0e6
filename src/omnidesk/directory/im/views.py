"""The `im` part of a realtime snapshot: the viewer's threads and the raised hands they see.

It agrees with the audiences of the events (service.py): a snapshot plus the events a client
receives equals a fresh snapshot. The messages themselves are read page by page over HTTP.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.im import service
from omnidesk.platform.auth.principal import Principal


class ImView:
    name = "im"
    # The viewer's own threads and read markers: admins do not share one snapshot.
    personal = True

    async def build(self, session: AsyncSession, principal: Principal) -> dict[str, Any]:
        threads = await service.list_threads(session, principal)
        hands = await service.list_hands(session, principal)
        return {
            "threads": {str(t.id): t.model_dump(mode="json") for t in threads},
            "hands": {str(h.user.id): h.model_dump(mode="json") for h in hands},
        }
