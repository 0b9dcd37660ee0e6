"""Directory use cases: users and teams. Services never commit; every change records its event."""

from __future__ import annotations

import uuid

from sqlalchemy import delete

from omnidesk.directory import repository as repo
from omnidesk.directory.events import (
    TeamCreated,
    TeamDeleted,
    TeamMemberRemoved,
    TeamMemberSet,
    TeamRenamed,
    UserCreated,
    UserUpdated,
)
from omnidesk.directory.models import Role, Team, TeamMember, TeamRole, User
from omnidesk.directory.schemas import (
    MemberSet,
    TeamCreate,
    TeamUpdate,
    UserCard,
    UserCreate,
    UserUpdate,
)
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.models import AuthSession
from omnidesk.platform.auth.passwords import hash_password, verify_password
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.errors import Conflict, Forbidden, Invalid, NotFound
from omnidesk.platform.events import Audience
from omnidesk.platform.uow import UnitOfWork


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this action needs the admin role")


def _team_ids(user: User) -> list[uuid.UUID]:
    return [m.team_id for m in user.memberships]


async def create_user(uow: UnitOfWork, by: Principal | None, data: UserCreate) -> User:
    """`by` is None only for the CLI and the demo loader, which act as the system."""
    if by is not None:
        require_admin(by)
    if await repo.user_by_username(uow.session, data.username) is not None:
        raise Conflict(f"username {data.username!r} is taken", field="username")
    user = User(
        id=uuid.uuid4(),
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        role=data.role,
        timezone=data.timezone,
        password_hash=hash_password(data.password) if data.password else None,
        memberships=[],
    )
    uow.session.add(user)
    await uow.session.flush()
    uow.record(UserCreated(user=UserCard.of(user)), Audience.of(users=[user.id]))
    audit(uow, by, "user.create", "user", user.id, username=user.username, role=user.role.value)
    return user


async def update_user(uow: UnitOfWork, by: Principal, user_id: uuid.UUID, data: UserUpdate) -> User:
    require_admin(by)
    user = await repo.get_user(uow.session, by, user_id)
    changes = data.model_dump(exclude_unset=True)
    # Only email may be cleared with null; the other columns are NOT NULL (and a null password
    # would not hash), so null there is a client error, not a database error.
    nulled = [name for name, value in changes.items() if value is None and name != "email"]
    if nulled:
        raise Invalid(f"{', '.join(nulled)} cannot be null", field=nulled[0])
    if user.id == by.user_id and (
        changes.get("active") is False or changes.get("role", Role.ADMIN) != Role.ADMIN
    ):
        raise Conflict("admins cannot deactivate or demote themselves")
    changed: list[str] = []
    for name, value in changes.items():
        if name == "password":
            user.password_hash = hash_password(value)
            changed.append("password")
        elif getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if not changed:
        return user
    if "role" in changed and user.role is Role.AGENT:
        # An agent cannot supervise a team: drop supervisor memberships with the demotion.
        for membership in user.memberships:
            if membership.role is TeamRole.SUPERVISOR:
                membership.role = TeamRole.MEMBER
    if ("active" in changed and not user.active) or "password" in changed:
        await uow.session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    await uow.session.flush()
    scope_changed = bool({"role", "active"} & set(changed))
    uow.record(
        UserUpdated(user=UserCard.of(user), changed=[c for c in changed if c != "password"]),
        Audience.of(
            users=[user.id],
            teams=_team_ids(user),
            scope_change_for=[user.id] if scope_changed else [],
        ),
    )
    audit(uow, by, "user.update", "user", user.id, changed=changed)
    return user


async def change_own_password(uow: UnitOfWork, by: Principal, current: str, new: str) -> None:
    user = await repo.get_user(uow.session, by, by.user_id)
    if not verify_password(user.password_hash, current):
        raise Forbidden("the current password is wrong")
    user.password_hash = hash_password(new)
    # Every other session of this user ends; the current one stays.
    await uow.session.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.id != by.session_id)
    )
    audit(uow, by, "user.password_change", "user", user.id)


async def reset_password(uow: UnitOfWork, username: str, new: str) -> User:
    """An operator's reset (`omnidesk reset-password`; the system acts): the new password, and
    every session of the user ends, as after an admin's change through the API."""
    user = await repo.user_by_username(uow.session, username)
    if user is None:
        raise NotFound(f"no user {username!r} in this tenant", field="username")
    user.password_hash = hash_password(new)
    await uow.session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    audit(uow, None, "user.password_reset", "user", user.id, username=user.username)
    return user


async def create_team(uow: UnitOfWork, by: Principal | None, data: TeamCreate) -> Team:
    if by is not None:
        require_admin(by)
    if await repo.team_by_name(uow.session, data.name) is not None:
        raise Conflict(f"team {data.name!r} already exists", field="name")
    team = Team(id=uuid.uuid4(), name=data.name, members=[])
    uow.session.add(team)
    await uow.session.flush()
    uow.record(TeamCreated(team_id=team.id, name=team.name), Audience.of(teams=[team.id]))
    audit(uow, by, "team.create", "team", team.id, name=team.name)
    return team


def _members(team: Team) -> list[uuid.UUID]:
    return [m.user_id for m in team.members]


async def rename_team(uow: UnitOfWork, by: Principal, team_id: uuid.UUID, data: TeamUpdate) -> Team:
    require_admin(by)
    team = await repo.get_team(uow.session, by, team_id)
    if team.name == data.name:
        return team
    other = await repo.team_by_name(uow.session, data.name)
    if other is not None:
        raise Conflict(f"team {data.name!r} already exists", field="name")
    old = team.name
    team.name = data.name
    await uow.session.flush()
    uow.record(
        TeamRenamed(team_id=team.id, name=team.name),
        Audience.of(users=_members(team), teams=[team.id]),
    )
    audit(uow, by, "team.rename", "team", team.id, old=old, new=team.name)
    return team


async def delete_team(uow: UnitOfWork, by: Principal, team_id: uuid.UUID) -> None:
    require_admin(by)
    team = await repo.get_team(uow.session, by, team_id)
    supervisors = [m.user_id for m in team.members if m.role is TeamRole.SUPERVISOR]
    audience = Audience.of(users=_members(team), teams=[team.id], scope_change_for=supervisors)
    await uow.session.delete(team)
    await uow.session.flush()
    uow.record(TeamDeleted(team_id=team_id), audience)
    audit(uow, by, "team.delete", "team", team_id, name=team.name)


async def set_member(
    uow: UnitOfWork, by: Principal | None, team_id: uuid.UUID, user_id: uuid.UUID, data: MemberSet
) -> Team:
    """Add a user to a team, or change their role in it."""
    session = uow.session
    if by is not None:
        require_admin(by)
        team = await repo.get_team(session, by, team_id)
        user = await repo.get_user(session, by, user_id)
    else:
        team = await session.get_one(Team, team_id)
        user = await session.get_one(User, user_id)
    if data.role is TeamRole.SUPERVISOR and user.role is Role.AGENT:
        raise Conflict("an agent cannot supervise a team: give the user the supervisor role first")
    current = next((m for m in team.members if m.user_id == user.id), None)
    if current is not None and current.role is data.role:
        return team
    was_supervisor = current is not None and current.role is TeamRole.SUPERVISOR
    if current is None:
        team.members.append(TeamMember(team_id=team.id, user_id=user.id, role=data.role))
    else:
        current.role = data.role
    await session.flush()
    await session.refresh(user, ["memberships"])
    scope_changed = was_supervisor or data.role is TeamRole.SUPERVISOR
    uow.record(
        TeamMemberSet(team_id=team.id, team_name=team.name, user=UserCard.of(user), role=data.role),
        Audience.of(
            users=[user.id], teams=[team.id], scope_change_for=[user.id] if scope_changed else []
        ),
    )
    audit(uow, by, "team.member_set", "team", team.id, user_id=str(user.id), role=data.role.value)
    return team


async def remove_member(
    uow: UnitOfWork, by: Principal, team_id: uuid.UUID, user_id: uuid.UUID
) -> Team:
    require_admin(by)
    team = await repo.get_team(uow.session, by, team_id)
    current = next((m for m in team.members if m.user_id == user_id), None)
    if current is None:
        raise NotFound(f"user {user_id} is not a member of team {team_id}")
    was_supervisor = current.role is TeamRole.SUPERVISOR
    team.members.remove(current)
    await uow.session.flush()
    uow.record(
        TeamMemberRemoved(team_id=team.id, user_id=user_id),
        Audience.of(
            users=[user_id], teams=[team.id], scope_change_for=[user_id] if was_supervisor else []
        ),
    )
    audit(uow, by, "team.member_remove", "team", team.id, user_id=str(user_id))
    return team
