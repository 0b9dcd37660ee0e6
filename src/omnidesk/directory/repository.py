"""Directory queries.

Tenant filtering is automatic (see platform.database); visibility by role is decided here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.models import Role, Team, TeamMember, User
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.errors import NotFound


def visible_users(principal: Principal) -> Select[User]:
    stmt = select(User)
    if principal.is_admin:
        return stmt
    if principal.role is Role.SUPERVISOR and principal.supervised_teams:
        supervised = select(TeamMember.user_id).where(
            TeamMember.team_id.in_(principal.supervised_teams)
        )
        return stmt.where((User.id == principal.user_id) | User.id.in_(supervised))
    return stmt.where(User.id == principal.user_id)


def visible_teams(principal: Principal) -> Select[Team]:
    stmt = select(Team)
    if principal.is_admin:
        return stmt
    return stmt.where(Team.id.in_(principal.member_teams | principal.supervised_teams))


async def list_users(session: AsyncSession, principal: Principal) -> Sequence[User]:
    return (await session.scalars(visible_users(principal).order_by(User.username))).all()


async def get_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    user = await session.scalar(visible_users(principal).where(User.id == user_id))
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def list_teams(session: AsyncSession, principal: Principal) -> Sequence[Team]:
    return (await session.scalars(visible_teams(principal).order_by(Team.name))).all()


async def get_team(session: AsyncSession, principal: Principal, team_id: uuid.UUID) -> Team:
    team = await session.scalar(visible_teams(principal).where(Team.id == team_id))
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def team_by_name(session: AsyncSession, name: str) -> Team | None:
    return await session.scalar(select(Team).where(Team.name == name))


def member_view(principal: Principal, team: Team) -> list[TeamMember]:
    """Supervisors of a team and admins see all its members; other members see only themselves."""
    if principal.is_admin or team.id in principal.supervised_teams:
        return list(team.members)
    return [m for m in team.members if m.user_id == principal.user_id]
