"""API shapes of the directory (users and teams)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, field_validator

from omnidesk.directory.models import Team, User
from omnidesk.platform.auth.passwords import MIN_LENGTH
from omnidesk.platform.auth.roles import Role, TeamRole
from omnidesk.platform.fields import Name
from omnidesk.platform.schemas import Input

Username = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
DisplayName = Name  # team and user names: not blank, no surrounding spaces (as every name)
Password = Annotated[str, Field(min_length=MIN_LENGTH, max_length=1024)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]


def _check_zone(value: str | None) -> str | None:
    if value is not None and value not in _zones():
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)")
    return value


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


class UserCreate(Input):
    username: Username
    display_name: DisplayName
    role: Role
    email: Email | None = None
    timezone: str = "UTC"
    password: Password | None = None

    _zone = field_validator("timezone")(_check_zone)


class UserUpdate(Input):
    display_name: DisplayName | None = None
    role: Role | None = None
    email: Email | None = None
    timezone: str | None = None
    active: bool | None = None
    password: Password | None = None

    _zone = field_validator("timezone")(_check_zone)


class Membership(BaseModel):
    team_id: uuid.UUID
    role: TeamRole


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    email: str | None
    role: Role
    timezone: str
    active: bool
    teams: list[Membership]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            timezone=user.timezone,
            active=user.active,
            teams=sorted(
                (Membership(team_id=m.team_id, role=m.role) for m in user.memberships),
                key=lambda m: str(m.team_id),
            ),
            created_at=user.created_at,
        )


class UserCard(BaseModel):
    """The user as the realtime view and events carry it (memberships live on teams)."""

    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    timezone: str
    active: bool

    @classmethod
    def of(cls, user: User) -> UserCard:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            timezone=user.timezone,
            active=user.active,
        )


class TeamCreate(Input):
    name: DisplayName


class TeamUpdate(Input):
    name: DisplayName


class MemberSet(Input):
    role: TeamRole = TeamRole.MEMBER


class TeamMemberOut(BaseModel):
    user_id: uuid.UUID
    role: TeamRole


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    members: list[TeamMemberOut]
    created_at: datetime

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(
            id=team.id,
            name=team.name,
            members=sorted(
                (TeamMemberOut(user_id=m.user_id, role=m.role) for m in team.members),
                key=lambda m: str(m.user_id),
            ),
            created_at=team.created_at,
        )
