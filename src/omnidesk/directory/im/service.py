"""Team communication's rules and queries. Services never commit; every change records its event.

Who sees what (the same rule for the API, the realtime snapshot and the events' audiences):
- a `direct` thread: its two users (admins receive its events but do not list it as theirs);
- a `team` thread: the team's members (its supervisors are members too); admins;
- the `all` thread: everyone of the tenant; only supervisors and admins write to it;
- a raised hand: its user, the supervisors of the user's teams, admins.
Who may write to whom directly: a supervisor and the members of a team they supervise (either
way), and an admin with anyone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.im.events import HandLowered, HandRaised, MessagePosted, ThreadRead
from omnidesk.directory.im.models import ImHand, ImMessage, ImRead, ImThread
from omnidesk.directory.im.schemas import (
    Contacts,
    ContactUser,
    HandIn,
    HandOut,
    ImMessageOut,
    MessageIn,
    Posted,
    ReadOut,
    TeamRef,
    ThreadInfo,
    ThreadOut,
    UserRef,
)
from omnidesk.directory.models import Role, Team, TeamMember, TeamRole, User
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import SCOPE_KEY, utcnow
from omnidesk.platform.errors import Forbidden, Invalid, NotFound
from omnidesk.platform.events import Audience
from omnidesk.platform.uow import UnitOfWork

PAGE = 50


def _insert_ignoring(session: AsyncSession, table: Any, keys: Sequence[str]) -> Any:
    build = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return build(table).on_conflict_do_nothing(index_elements=list(keys))


def _supervises(principal: Principal) -> bool:
    return principal.role is not Role.AGENT


# --- visibility ------------------------------------------------------------------------------


def _visible(principal: Principal) -> ColumnElement[bool]:
    """The threads the principal is in (what they list and may read)."""
    mine = and_(
        ImThread.kind == "direct",
        or_(ImThread.user_a == principal.user_id, ImThread.user_b == principal.user_id),
    )
    teams = principal.member_teams | principal.supervised_teams
    team = (
        ImThread.kind == "team"
        if principal.is_admin
        else and_(ImThread.kind == "team", ImThread.team_id.in_(teams))
        if teams
        else false()
    )
    return or_(ImThread.kind == "all", team, mine)


def visible_threads(principal: Principal) -> Select[ImThread]:
    return select(ImThread).where(_visible(principal))


async def _thread(session: AsyncSession, principal: Principal, thread_id: uuid.UUID) -> ImThread:
    thread = await session.scalar(visible_threads(principal).where(ImThread.id == thread_id))
    if thread is None:
        raise NotFound(f"thread {thread_id} not found")
    return thread


async def _memberships(
    session: AsyncSession, users: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID, TeamRole]]:
    """team roles per user"""
    found: dict[uuid.UUID, dict[uuid.UUID, TeamRole]] = {}
    ids = list(users)
    if not ids:
        return found
    rows = await session.execute(
        select(TeamMember.user_id, TeamMember.team_id, TeamMember.role).where(
            TeamMember.user_id.in_(ids)
        )
    )
    for user_id, team_id, role in rows:
        found.setdefault(user_id, {})[team_id] = role
    return found


async def _may_write_directly(session: AsyncSession, principal: Principal, other: User) -> bool:
    if principal.is_admin or other.role is Role.ADMIN:
        return True
    theirs = (await _memberships(session, [other.id])).get(other.id, {})
    if not principal.supervised_teams.isdisjoint(theirs):
        return True
    supervised_by_them = (
        {t for t, r in theirs.items() if r is TeamRole.SUPERVISOR}
        if other.role is Role.SUPERVISOR
        else set()
    )
    return not supervised_by_them.isdisjoint(principal.member_teams)


async def contacts(session: AsyncSession, principal: Principal) -> Contacts:
    if principal.is_admin:
        teams = (await session.scalars(select(Team).order_by(Team.name))).all()
        users = (
            await session.scalars(
                select(User)
                .where(User.active, User.id != principal.user_id)
                .order_by(User.username)
            )
        ).all()
    else:
        team_ids = principal.member_teams | principal.supervised_teams
        teams = (
            await session.scalars(select(Team).where(Team.id.in_(team_ids)).order_by(Team.name))
        ).all()
        # Members of the teams I supervise; the supervisors of the teams I am a member of;
        # admins.
        supervised = select(TeamMember.user_id).where(
            TeamMember.team_id.in_(principal.supervised_teams)
        )
        my_supervisors = (
            select(TeamMember.user_id)
            .join(User, User.id == TeamMember.user_id)
            .where(
                TeamMember.team_id.in_(principal.member_teams),
                TeamMember.role == TeamRole.SUPERVISOR,
                User.role != Role.AGENT,
            )
        )
        users = (
            await session.scalars(
                select(User)
                .where(
                    User.active,
                    User.id != principal.user_id,
                    or_(
                        User.id.in_(supervised),
                        User.id.in_(my_supervisors),
                        User.role == Role.ADMIN,
                    ),
                )
                .order_by(User.username)
            )
        ).all()
    return Contacts(
        teams=[TeamRef(id=t.id, name=t.name) for t in teams],
        users=[ContactUser(id=u.id, display_name=u.display_name, role=u.role) for u in users],
    )


# --- shapes ----------------------------------------------------------------------------------


async def _names(session: AsyncSession, users: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    ids = {u for u in users if u is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {key: value for key, value in rows}


async def _team_names(
    session: AsyncSession, teams: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    ids = {t for t in teams if t is not None}
    if not ids:
        return {}
    rows = await session.execute(select(Team.id, Team.name).where(Team.id.in_(ids)))
    return {key: value for key, value in rows}


def _info(thread: ImThread, names: dict[uuid.UUID, str], teams: dict[uuid.UUID, str]) -> ThreadInfo:
    team = (
        TeamRef(id=thread.team_id, name=teams.get(thread.team_id, ""))
        if thread.team_id is not None
        else None
    )
    users = [
        UserRef(id=u, display_name=names.get(u, ""))
        for u in (thread.user_a, thread.user_b)
        if u is not None
    ]
    return ThreadInfo(id=thread.id, kind=thread.kind, team=team, users=users)


def _message(row: ImMessage, names: dict[uuid.UUID, str]) -> ImMessageOut:
    return ImMessageOut(
        id=row.id,
        thread_id=row.thread_id,
        number=row.number,
        author=UserRef(id=row.author_id, display_name=names.get(row.author_id, "")),
        body=row.body,
        broadcast=row.broadcast,
        posted_at=row.posted_at,
    )


async def list_threads(session: AsyncSession, principal: Principal) -> list[ThreadOut]:
    """The principal's threads that have messages, the latest first."""
    threads = (
        await session.scalars(
            visible_threads(principal).where(ImThread.last_number > 0).order_by(ImThread.id)
        )
    ).all()
    if not threads:
        return []
    ids = [t.id for t in threads]
    rows = await session.execute(
        select(ImRead.thread_id, ImRead.last_read).where(
            ImRead.user_id == principal.user_id, ImRead.thread_id.in_(ids)
        )
    )
    reads = {thread_id: last_read for thread_id, last_read in rows}
    last = (
        await session.scalars(
            select(ImMessage).where(
                ImMessage.thread_id.in_(ids),
                ImMessage.number
                == select(ImThread.last_number)
                .where(ImThread.id == ImMessage.thread_id)
                .scalar_subquery(),
            )
        )
    ).all()
    last_by_thread = {m.thread_id: m for m in last}
    names = await _names(
        session,
        [u for t in threads for u in (t.user_a, t.user_b)] + [m.author_id for m in last],
    )
    teams = await _team_names(session, [t.team_id for t in threads])
    found = []
    for thread in threads:
        read = min(reads.get(thread.id, 0), thread.last_number)
        message = last_by_thread.get(thread.id)
        found.append(
            ThreadOut(
                **_info(thread, names, teams).model_dump(),
                last_number=thread.last_number,
                last_read=read,
                unread=thread.last_number - read,
                last_message=_message(message, names) if message else None,
            )
        )
    found.sort(key=lambda t: t.last_message.posted_at if t.last_message else utcnow(), reverse=True)
    return found


async def messages(
    session: AsyncSession,
    principal: Principal,
    thread_id: uuid.UUID,
    *,
    before: int | None = None,
    limit: int = PAGE,
) -> list[ImMessageOut]:
    """Up to `limit` messages of the thread before number `before` (default: the latest),
    oldest first."""
    await _thread(session, principal, thread_id)
    stmt = select(ImMessage).where(ImMessage.thread_id == thread_id)
    if before is not None:
        stmt = stmt.where(ImMessage.number < before)
    rows = list((await session.scalars(stmt.order_by(ImMessage.number.desc()).limit(limit))).all())
    rows.reverse()
    names = await _names(session, [m.author_id for m in rows])
    return [_message(m, names) for m in rows]


# --- posting ---------------------------------------------------------------------------------


async def _audience(session: AsyncSession, thread: ImThread) -> Audience:
    if thread.kind == "direct":
        return Audience.of(users=[u for u in (thread.user_a, thread.user_b) if u is not None])
    if thread.kind == "team":
        members = await session.scalars(
            select(TeamMember.user_id).where(TeamMember.team_id == thread.team_id)
        )
        return Audience.of(users=members.all(), teams=[thread.team_id] if thread.team_id else [])
    everyone = await session.scalars(select(User.id).where(User.active))
    return Audience.of(users=everyone.all())


async def _open(session: AsyncSession, tenant_id: uuid.UUID, **values: Any) -> ImThread:
    """The thread with this key, created if it does not exist (a concurrent first message is
    fine: one of them creates it)."""
    await session.execute(
        _insert_ignoring(session, ImThread, ["tenant_id", "key"]).values(
            id=uuid.uuid4(), tenant_id=tenant_id, last_number=0, created_at=utcnow(), **values
        )
    )
    thread: ImThread = (
        await session.scalars(select(ImThread).where(ImThread.key == values["key"]))
    ).one()
    return thread


async def _target(uow: UnitOfWork, by: Principal, data: MessageIn) -> ImThread:
    session = uow.session
    assert uow.tenant_id is not None
    if data.thread_id is not None:
        thread = await _thread(session, by, data.thread_id)
        if thread.kind == "direct":
            other = thread.user_b if thread.user_a == by.user_id else thread.user_a
            user = await session.get(User, other) if other else None
            if user is None or not user.active or not await _may_write_directly(session, by, user):
                raise Forbidden("you can no longer write to this user")
        return thread
    if data.user_id is not None:
        if data.user_id == by.user_id:
            raise Invalid("you cannot write to yourself", field="user_id")
        user = await session.scalar(select(User).where(User.id == data.user_id))
        if user is None or not user.active:
            raise NotFound(f"user {data.user_id} not found", field="user_id")
        if not await _may_write_directly(session, by, user):
            raise Forbidden("you may write to the supervisors of your teams (and they to you)")
        a, b = sorted((by.user_id, user.id), key=str)
        return await _open(
            session, uow.tenant_id, kind="direct", key=f"direct:{a}:{b}", user_a=a, user_b=b
        )
    if data.team_id is not None:
        visible = by.is_admin or data.team_id in (by.member_teams | by.supervised_teams)
        team = await session.get(Team, data.team_id) if visible else None
        if team is None:
            raise NotFound(f"team {data.team_id} not found", field="team_id")
        return await _open(
            session, uow.tenant_id, kind="team", key=f"team:{team.id}", team_id=team.id
        )
    return await _open(session, uow.tenant_id, kind="all", key="all")


async def post(uow: UnitOfWork, by: Principal, data: MessageIn) -> Posted:
    session = uow.session
    thread = await _target(uow, by, data)
    broadcast = data.broadcast or thread.kind == "all"
    if broadcast:
        if thread.kind == "direct":
            raise Invalid("a broadcast goes to a team or to everyone", field="broadcast")
        allowed = by.is_admin or (
            _supervises(by) and (thread.kind == "all" or thread.team_id in by.supervised_teams)
        )
        if not allowed:
            raise Forbidden("only supervisors and admins broadcast")
    number: int = (
        await session.execute(
            update(ImThread)
            .where(ImThread.id == thread.id)
            .values(last_number=ImThread.last_number + 1)
            .returning(ImThread.last_number)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one()
    message = ImMessage(
        id=uuid.uuid4(),
        thread_id=thread.id,
        number=number,
        author_id=by.user_id,
        body=data.body,
        broadcast=broadcast,
        posted_at=utcnow(),
    )
    session.add(message)
    await session.flush()
    await _mark(session, thread.id, by.user_id, number)
    names = await _names(session, [by.user_id, thread.user_a, thread.user_b])
    teams = await _team_names(session, [thread.team_id])
    posted = Posted(thread=_info(thread, names, teams), message=_message(message, names))
    uow.record(
        MessagePosted(thread=posted.thread, message=posted.message),
        await _audience(session, thread),
    )
    return posted


async def _mark(
    session: AsyncSession, thread_id: uuid.UUID, user_id: uuid.UUID, up_to: int
) -> bool:
    """Move the user's read marker forward to `up_to`; whether it moved."""
    await session.execute(
        _insert_ignoring(session, ImRead, ["thread_id", "user_id"]).values(
            thread_id=thread_id,
            user_id=user_id,
            last_read=0,
            tenant_id=session.info[SCOPE_KEY],
        )
    )
    moved = await session.execute(
        update(ImRead)
        .where(ImRead.thread_id == thread_id, ImRead.user_id == user_id, ImRead.last_read < up_to)
        .values(last_read=up_to)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


async def mark_read(uow: UnitOfWork, by: Principal, thread_id: uuid.UUID, up_to: int) -> ReadOut:
    thread = await _thread(uow.session, by, thread_id)
    up_to = min(up_to, thread.last_number)
    if await _mark(uow.session, thread.id, by.user_id, up_to):
        uow.record(
            ThreadRead(thread_id=thread.id, user_id=by.user_id, last_read=up_to),
            Audience.of(users=[by.user_id]),
        )
    last_read = await uow.session.scalar(
        select(ImRead.last_read).where(ImRead.thread_id == thread.id, ImRead.user_id == by.user_id)
    )
    return ReadOut(thread_id=thread.id, last_read=last_read or 0)


# --- raised hands ----------------------------------------------------------------------------


def _visible_hands(principal: Principal) -> Select[ImHand]:
    stmt = select(ImHand)
    if principal.is_admin:
        return stmt
    supervised = select(TeamMember.user_id).where(
        TeamMember.team_id.in_(principal.supervised_teams)
    )
    return stmt.where(or_(ImHand.user_id == principal.user_id, ImHand.user_id.in_(supervised)))


async def list_hands(session: AsyncSession, principal: Principal) -> list[HandOut]:
    hands = (await session.scalars(_visible_hands(principal).order_by(ImHand.raised_at))).all()
    names = await _names(session, [h.user_id for h in hands])
    return [_hand(h, names) for h in hands]


def _hand(row: ImHand, names: dict[uuid.UUID, str]) -> HandOut:
    return HandOut(
        user=UserRef(id=row.user_id, display_name=names.get(row.user_id, "")),
        note=row.note,
        raised_at=row.raised_at,
    )


async def _hand_audience(session: AsyncSession, user_id: uuid.UUID) -> Audience:
    teams = (await _memberships(session, [user_id])).get(user_id, {})
    return Audience.of(users=[user_id], teams=teams)


async def raise_hand(uow: UnitOfWork, by: Principal, data: HandIn) -> HandOut:
    """Raise the user's hand; raising it again changes nothing (the first raise's time stays)."""
    session = uow.session
    existing = await session.get(ImHand, by.user_id)
    names = await _names(session, [by.user_id])
    if existing is not None:
        return _hand(existing, names)
    hand = ImHand(user_id=by.user_id, note=(data.note or "").strip() or None, raised_at=utcnow())
    session.add(hand)
    await session.flush()
    out = _hand(hand, names)
    uow.record(HandRaised(hand=out), await _hand_audience(session, by.user_id))
    return out


async def lower_hand(uow: UnitOfWork, by: Principal, user_id: uuid.UUID) -> None:
    """Lowered by its user, a supervisor of one of the user's teams, or an admin."""
    session = uow.session
    hand = await session.scalar(_visible_hands(by).where(ImHand.user_id == user_id))
    if hand is None:
        raise NotFound(f"no raised hand of user {user_id}")
    await session.delete(hand)
    await session.flush()
    names = await _names(session, [by.user_id])
    uow.record(
        HandLowered(
            user_id=user_id, by=UserRef(id=by.user_id, display_name=names.get(by.user_id, ""))
        ),
        await _hand_audience(session, user_id),
    )
