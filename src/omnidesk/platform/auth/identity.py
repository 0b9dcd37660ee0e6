"""The identity port: what authentication needs to know of a user, and who answers.

The platform authenticates but does not own users: the directory does. Authentication asks an
`IdentityStore` (a port the platform defines; the directory implements it and the composition
root, omnidesk.app, plugs it in), so the platform never imports a domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.auth.roles import Role, TeamRole


@dataclass(frozen=True)
class Identity:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    username: str
    role: Role
    active: bool
    teams: Mapping[uuid.UUID, TeamRole] = field(default_factory=dict)
    # None for users that only authenticate with API tokens; never shown (repr=False).
    password_hash: str | None = field(default=None, repr=False)


class IdentityStore(Protocol):
    """Every method runs on a session already scoped to the user's tenant."""

    async def by_username(self, session: AsyncSession, username: str) -> Identity | None: ...

    async def by_id(self, session: AsyncSession, user_id: uuid.UUID) -> Identity | None: ...

    async def set_password_hash(
        self, session: AsyncSession, user_id: uuid.UUID, password_hash: str
    ) -> None: ...
