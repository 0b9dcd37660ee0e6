"""Who is asking, and what they may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from omnidesk.directory.models import Role
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

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def sees(self, audience: Audience) -> bool:
        """The one rule for event visibility: admins see all of their tenant; a user sees events
        addressed to them; a supervisor sees events of the teams they supervise."""
        if self.is_admin or self.user_id in audience.users:
            return True
        return self.role is Role.SUPERVISOR and not self.supervised_teams.isdisjoint(audience.teams)
