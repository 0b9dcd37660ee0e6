"""The directory's side of the platform's identity port (platform/auth/identity.py): users, as
authentication needs to know them. The composition root (omnidesk.app) plugs it in."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.models import User
from omnidesk.directory.repository import user_by_username
from omnidesk.platform.auth.identity import Identity


def identity_of(user: User) -> Identity:
    return Identity(
        tenant_id=user.tenant_id,
        user_id=user.id,
        username=user.username,
        role=user.role,
        active=user.active,
        teams={m.team_id: m.role for m in user.memberships},
        password_hash=user.password_hash,
    )


class DirectoryIdentities:
    async def by_username(self, session: AsyncSession, username: str) -> Identity | None:
        user = await user_by_username(session, username)
        return identity_of(user) if user is not None else None

    async def by_id(self, session: AsyncSession, user_id: uuid.UUID) -> Identity | None:
        user = await session.get(User, user_id)
        return identity_of(user) if user is not None else None

    async def set_password_hash(
        self, session: AsyncSession, user_id: uuid.UUID, password_hash: str
    ) -> None:
        user = await session.get(User, user_id)
        if user is not None:
            user.password_hash = password_hash
