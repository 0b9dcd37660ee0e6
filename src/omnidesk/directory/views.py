"""The directory part of a realtime snapshot: exactly what the viewer may see.

It must agree with the audiences the service gives its events (see directory/service.py), so that
a client's snapshot plus the events it receives always equals a fresh snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.models import Team
from omnidesk.directory.repository import member_view, visible_teams, visible_users
from omnidesk.directory.schemas import UserCard
from omnidesk.platform.auth.principal import Principal


class DirectoryView:
    name = "directory"

    async def build(self, session: AsyncSession, principal: Principal) -> dict[str, Any]:
        users = (await session.scalars(visible_users(principal))).all()
        teams = (await session.scalars(visible_teams(principal))).all()
        return {
            "users": {str(u.id): UserCard.of(u).model_dump(mode="json") for u in users},
            "teams": {str(t.id): self._team(t, principal) for t in teams},
        }

    @staticmethod
    def _team(team: Team, principal: Principal) -> dict[str, Any]:
        return {
            "id": str(team.id),
            "name": team.name,
            "members": {str(m.user_id): m.role.value for m in member_view(principal, team)},
        }
