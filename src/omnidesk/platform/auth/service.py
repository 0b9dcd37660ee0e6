"""Authentication: password login into cookie sessions, API tokens, and who a request is."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.directory.models import Role, TeamRole, User
from omnidesk.directory.repository import user_by_username
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.models import ApiToken, AuthSession
from omnidesk.platform.auth.passwords import hash_password, needs_rehash, verify_password
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.ratelimit import LoginRateLimiter
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, utcnow
from omnidesk.platform.errors import Forbidden, NotFound, Unauthenticated
from omnidesk.platform.settings import Settings
from omnidesk.platform.tenancy import tenant_by_slug
from omnidesk.platform.uow import UnitOfWork

TOKEN_PREFIX = "odk_"
BAD_LOGIN = "wrong tenant, username or password"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def principal_of(user: User, **extra: object) -> Principal:
    return Principal(
        tenant_id=user.tenant_id,
        user_id=user.id,
        username=user.username,
        role=user.role,
        supervised_teams=frozenset(
            m.team_id
            for m in user.memberships
            if m.role is TeamRole.SUPERVISOR and user.role is not Role.AGENT
        ),
        member_teams=frozenset(m.team_id for m in user.memberships),
        **extra,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class LoginResult:
    principal: Principal
    user: User
    cookie_value: str
    csrf_token: str
    expires_at: datetime


async def login(
    session: AsyncSession,
    settings: Settings,
    limiter: LoginRateLimiter,
    *,
    tenant_slug: str,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
) -> LoginResult:
    """On a SYSTEM-scoped session; narrows it to the tenant. The caller commits."""
    user_key = f"user:{tenant_slug}:{username.lower()}"
    ip_key = f"ip:{ip}"
    limiter.check([(user_key, 1), (ip_key, 4)])
    tenant = await tenant_by_slug(session, tenant_slug)
    user: User | None = None
    if tenant is not None:
        session.info[SCOPE_KEY] = tenant.id
        user = await user_by_username(session, username.lower())
    # verify_password runs even for an unknown user so timing does not reveal which exist.
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        limiter.failure([user_key, ip_key])
        raise Unauthenticated(BAD_LOGIN)
    limiter.reset(user_key)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(24)
    now = utcnow()
    expires_at = now + timedelta(seconds=settings.session_ttl_seconds)
    auth_session = AuthSession(
        id=_digest(cookie_value),
        tenant_id=user.tenant_id,
        user_id=user.id,
        csrf_token=csrf_token,
        created_at=now,
        expires_at=expires_at,
        last_seen_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(auth_session)
    await session.flush()
    principal = principal_of(user, session_id=auth_session.id, csrf_token=csrf_token)
    return LoginResult(principal, user, cookie_value, csrf_token, expires_at)


async def logout(session: AsyncSession, principal: Principal) -> None:
    if principal.session_id:
        found = await session.get(AuthSession, principal.session_id)
        if found is not None:
            await session.delete(found)


async def _active_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise Unauthenticated("the account is disabled")
    return user


async def from_cookie(session: AsyncSession, settings: Settings, cookie_value: str) -> Principal:
    """Resolve a session cookie. Narrows the (SYSTEM) session to the user's tenant."""
    found = await session.get(AuthSession, _digest(cookie_value))
    if found is None:
        raise Unauthenticated("not logged in or the session has ended")
    now = utcnow()
    idle_limit = found.last_seen_at + timedelta(seconds=settings.session_idle_seconds)
    if found.expires_at <= now or idle_limit <= now:
        await session.delete(found)
        await session.commit()
        raise Unauthenticated("the session has expired; log in again")
    session.info[SCOPE_KEY] = found.tenant_id
    user = await _active_user(session, found.user_id)
    if (now - found.last_seen_at).total_seconds() > 60:
        # Touch at most once a minute: an idle timeout needs it, every request writing does not.
        found.last_seen_at = now
    return principal_of(
        user, session_id=found.id, csrf_token=found.csrf_token, expires_at=found.expires_at
    )


def parse_token(raw: str) -> tuple[uuid.UUID, str]:
    if not raw.startswith(TOKEN_PREFIX) or "." not in raw:
        raise Unauthenticated("malformed API token")
    ident, _, secret = raw[len(TOKEN_PREFIX) :].partition(".")
    try:
        return uuid.UUID(hex=ident), secret
    except ValueError as exc:
        raise Unauthenticated("malformed API token") from exc


async def from_token(session: AsyncSession, raw: str) -> Principal:
    token_id, secret = parse_token(raw)
    scope = session.info.get(SCOPE_KEY)
    session.info[SCOPE_KEY] = SYSTEM
    token = await session.get(ApiToken, token_id)
    session.info[SCOPE_KEY] = scope
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(secret)):
        raise Unauthenticated("unknown API token")
    now = utcnow()
    if token.revoked_at is not None:
        raise Unauthenticated("the API token was revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("the API token has expired")
    session.info[SCOPE_KEY] = token.tenant_id
    user = await _active_user(session, token.user_id)
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
    return principal_of(user, token_id=token.id, expires_at=token.expires_at)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


async def create_token(
    uow: UnitOfWork, by: Principal, *, user_id: uuid.UUID, name: str, expires_at: datetime | None
) -> IssuedToken:
    if not by.is_admin:
        raise Forbidden("this action needs the admin role")
    user = await uow.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        id=uuid.uuid4(),
        user_id=user.id,
        name=name,
        secret_hash=_digest(secret),
        expires_at=expires_at,
    )
    uow.session.add(token)
    await uow.session.flush()
    audit(uow, by, "api_token.create", "api_token", token.id, user_id=str(user.id), name=name)
    return IssuedToken(token, f"{TOKEN_PREFIX}{token.id.hex}.{secret}")


async def list_tokens(session: AsyncSession, by: Principal) -> list[ApiToken]:
    if not by.is_admin:
        raise Forbidden("this action needs the admin role")
    return list((await session.scalars(select(ApiToken).order_by(ApiToken.created_at))).all())


async def revoke_token(uow: UnitOfWork, by: Principal, token_id: uuid.UUID) -> ApiToken:
    if not by.is_admin:
        raise Forbidden("this action needs the admin role")
    token = await uow.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"API token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(uow, by, "api_token.revoke", "api_token", token.id)
    return token
