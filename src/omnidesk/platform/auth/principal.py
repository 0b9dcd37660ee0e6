"""Who is asking, and what they may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from omnidesk.platform.auth.identity import Identity
from omnidesk.platform.auth.roles import Role, TeamRole
from omnidesk.platform.events import Audience


@dataclass(frozen=True)
class Principal:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    username: str
    role: Role
    supervised_teams: frozenset[uuid.UUID]
    member_teams: frozenset[uuid.UUID]
    session_id: str | None = None
    csrf_token: str | None = None
    token_id: uuid.UUID | None = None
    ip: str | None = None
    # When the credential stops being valid (session lifetime or token expiry), if it does.
    expires_at: datetime | None = None

    @classmethod
    def of(
        cls,
        identity: Identity,
        *,
        session_id: str | None = None,
        csrf_token: str | None = None,
        token_id: uuid.UUID | None = None,
        expires_at: datetime | None = None,
    ) -> Principal:
        # Only supervisors and admins supervise: an agent marked supervisor of a team does not.
        supervises = identity.role is not Role.AGENT
        return cls(
            tenant_id=identity.tenant_id,
            user_id=identity.user_id,
            username=identity.username,
            role=identity.role,
            supervised_teams=frozenset(
                team
                for team, role in identity.teams.items()
                if supervises and role is TeamRole.SUPERVISOR
            ),
            member_teams=frozenset(identity.teams),
            session_id=session_id,
            csrf_token=csrf_token,
            token_id=token_id,
            expires_at=expires_at,
        )

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def sees(self, audience: Audience) -> bool:
        """The one rule for event visibility: admins see all of their tenant; a user sees events
        addressed to them or to everyone; a supervisor sees events of the teams they supervise."""
        if self.is_admin or audience.everyone or self.user_id in audience.users:
            return True
        return self.role is Role.SUPERVISOR and not self.supervised_teams.isdisjoint(audience.teams)
