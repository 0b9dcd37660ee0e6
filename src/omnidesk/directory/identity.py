"""The directory's side of the platform's identity port (platform/auth/identity.py): users, as
authentication needs to know them. The composition root (omnidesk.app) plugs it in."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.models import TeamMember, User
from omnidesk.platform.auth.identity import Identity

# Every authenticated request resolves its user, so this is one plain query of the columns
# it needs (the user and their memberships, outer-joined), not an ORM load: `User`'s eager
# relationships chain user → memberships → team → the team's members → their users, so
# loading one agent's entity loaded their whole team (a large share of the server's CPU per
# request, measured with `omnidesk bench server`).
_IDENTITY = select(
    User.tenant_id,
    User.id,
    User.username,
    User.role,
    User.active,
    User.password_hash,
    TeamMember.team_id,
    TeamMember.role.label("team_role"),
).outerjoin(TeamMember, TeamMember.user_id == User.id)


async def _identity(session: AsyncSession, where: Any) -> Identity | None:
    rows = (await session.execute(_IDENTITY.where(where))).all()
    if not rows:
        return None
    first = rows[0]
    return Identity(
        tenant_id=first.tenant_id,
        user_id=first.id,
        username=first.username,
        role=first.role,
        active=first.active,
        teams={r.team_id: r.team_role for r in rows if r.team_id is not None},
        password_hash=first.password_hash,
    )


class DirectoryIdentities:
    async def by_username(self, session: AsyncSession, username: str) -> Identity | None:
        return await _identity(session, User.username == username)

    async def by_id(self, session: AsyncSession, user_id: uuid.UUID) -> Identity | None:
        return await _identity(session, User.id == user_id)

    async def set_password_hash(
        self, session: AsyncSession, user_id: uuid.UUID, password_hash: str
    ) -> None:
        user = await session.get(User, user_id)
        if user is not None:
            user.password_hash = password_hash
