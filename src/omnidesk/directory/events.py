"""Events of the directory domain."""

from __future__ import annotations

import uuid

from omnidesk.directory.models import TeamRole
from omnidesk.directory.schemas import UserCard
from omnidesk.platform.events import DomainEvent, event_type


@event_type("user.created", subject="user")
class UserCreated(DomainEvent):
    user: UserCard

    def subject_id(self) -> str:
        return str(self.user.id)


@event_type("user.updated", subject="user")
class UserUpdated(DomainEvent):
    user: UserCard
    changed: list[str]

    def subject_id(self) -> str:
        return str(self.user.id)


@event_type("team.created", subject="team")
class TeamCreated(DomainEvent):
    team_id: uuid.UUID
    name: str

    def subject_id(self) -> str:
        return str(self.team_id)


@event_type("team.renamed", subject="team")
class TeamRenamed(DomainEvent):
    team_id: uuid.UUID
    name: str

    def subject_id(self) -> str:
        return str(self.team_id)


@event_type("team.deleted", subject="team")
class TeamDeleted(DomainEvent):
    team_id: uuid.UUID

    def subject_id(self) -> str:
        return str(self.team_id)


@event_type("team.member_set", subject="team")
class TeamMemberSet(DomainEvent):
    team_id: uuid.UUID
    team_name: str
    user: UserCard
    role: TeamRole

    def subject_id(self) -> str:
        return str(self.team_id)


@event_type("team.member_removed", subject="team")
class TeamMemberRemoved(DomainEvent):
    team_id: uuid.UUID
    user_id: uuid.UUID

    def subject_id(self) -> str:
        return str(self.team_id)
