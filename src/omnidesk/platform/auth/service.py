"""Authentication: password login into cookie sessions, API tokens, and who a request is."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.audit import audit
from omnidesk.platform.auth.identity import Identity, IdentityStore
from omnidesk.platform.auth.models import ApiToken, AuthSession
from omnidesk.platform.auth.passwords import hash_password, needs_rehash, verify_password
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.ratelimit import LoginAttempt, LoginRateLimiter
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, utcnow
from omnidesk.platform.errors import Forbidden, NotFound, Unauthenticated
from omnidesk.platform.settings import Settings
from omnidesk.platform.tenancy import tenant_by_slug
from omnidesk.platform.uow import UnitOfWork

_SESSIONS: Any = AuthSession.__table__
_TOKENS: Any = ApiToken.__table__
TOKEN_PREFIX = "odk_"
BAD_LOGIN = "wrong tenant, username or password"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    principal: Principal
    cookie_value: str
    csrf_token: str
    expires_at: datetime


async def login(
    session: AsyncSession,
    settings: Settings,
    limiter: LoginRateLimiter,
    identities: IdentityStore,
    *,
    tenant_slug: str,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
) -> LoginResult:
    """On a SYSTEM-scoped session; narrows it to the tenant. The caller commits."""
    attempt = LoginAttempt(tenant_slug, username, ip)
    await limiter.admit(attempt)
    tenant = await tenant_by_slug(session, tenant_slug)
    identity: Identity | None = None
    if tenant is not None:
        session.info[SCOPE_KEY] = tenant.id
        identity = await identities.by_username(session, username.lower())
    # verify_password runs even for an unknown user so timing does not reveal which exist.
    ok = verify_password(identity.password_hash if identity else None, password)
    if not ok or identity is None or not identity.active:
        limiter.failed(attempt)
        raise Unauthenticated(BAD_LOGIN)
    limiter.succeeded(attempt)
    if identity.password_hash and needs_rehash(identity.password_hash):
        await identities.set_password_hash(session, identity.user_id, hash_password(password))
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(24)
    now = utcnow()
    expires_at = now + timedelta(seconds=settings.session_ttl_seconds)
    auth_session = AuthSession(
        id=_digest(cookie_value),
        tenant_id=identity.tenant_id,
        user_id=identity.user_id,
        csrf_token=csrf_token,
        created_at=now,
        expires_at=expires_at,
        last_seen_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(auth_session)
    await session.flush()
    principal = Principal.of(identity, session_id=auth_session.id, csrf_token=csrf_token)
    return LoginResult(principal, cookie_value, csrf_token, expires_at)


async def logout(session: AsyncSession, principal: Principal) -> None:
    if principal.session_id:
        found = await session.get(AuthSession, principal.session_id)
        if found is not None:
            await session.delete(found)


async def active_identity(
    session: AsyncSession, identities: IdentityStore, user_id: uuid.UUID
) -> Identity:
    identity = await identities.by_id(session, user_id)
    if identity is None or not identity.active:
        raise Unauthenticated("the account is disabled")
    return identity


class WriteNeeded(Exception):
    """Raised by a read-only resolution (``write=False``) when the session or token row must
    change: the caller resolves again in a writing transaction."""


class TouchDue(WriteNeeded):
    """Raised by a read-only resolution when the credential is good and only its last-seen
    (or last-used) mark is due: `principal` is the answer, and `touch` writes the mark.

    Why not resolve again in a writing transaction, as for an expired session: a cookie
    session is touched once a minute, so with 1,000 agents logged in that path ran about 17
    times a second, each time the two reads again, a write transaction (SQLite's one write
    lock) and an ORM flush, only to move one timestamp."""

    def __init__(self, principal: Principal, table: Any, row_id: Any, column: str) -> None:
        super().__init__()
        self.principal = principal
        self._table, self._row_id, self._column = table, row_id, column

    async def touch(self, session: AsyncSession) -> None:
        """One UPDATE, on the session's connection and not through the ORM: a new timestamp
        changes nothing about who the user is, so it must not make the process's principal
        cache forget them (auth/cache.py listens to ORM writes to these tables)."""
        conn = await session.connection()
        await conn.execute(
            update(self._table)
            .where(self._table.c.id == self._row_id)
            .values({self._column: utcnow()})
        )


async def from_cookie(
    session: AsyncSession,
    settings: Settings,
    identities: IdentityStore,
    cookie_value: str,
    *,
    write: bool = True,
) -> Principal:
    """Resolve a session cookie. Narrows the (SYSTEM) session to the user's tenant.

    With ``write=False`` nothing is changed: when the session must be touched or removed,
    `WriteNeeded` is raised instead."""
    found = await session.get(AuthSession, _digest(cookie_value))
    if found is None:
        raise Unauthenticated("not logged in or the session has ended")
    now = utcnow()
    idle_limit = found.last_seen_at + timedelta(seconds=settings.session_idle_seconds)
    if found.expires_at <= now or idle_limit <= now:
        if not write:
            raise WriteNeeded
        await session.delete(found)
        await session.commit()
        raise Unauthenticated("the session has expired; log in again")
    session.info[SCOPE_KEY] = found.tenant_id
    identity = await active_identity(session, identities, found.user_id)
    principal = Principal.of(
        identity, session_id=found.id, csrf_token=found.csrf_token, expires_at=found.expires_at
    )
    if (now - found.last_seen_at).total_seconds() > 60:
        # Touch at most once a minute: an idle timeout needs it, every request writing does not.
        if not write:
            raise TouchDue(principal, _SESSIONS, found.id, "last_seen_at")
        found.last_seen_at = now
    return principal


def parse_token(raw: str) -> tuple[uuid.UUID, str]:
    if not raw.startswith(TOKEN_PREFIX) or "." not in raw:
        raise Unauthenticated("malformed API token")
    ident, _, secret = raw[len(TOKEN_PREFIX) :].partition(".")
    try:
        return uuid.UUID(hex=ident), secret
    except ValueError as exc:
        raise Unauthenticated("malformed API token") from exc


async def from_token(
    session: AsyncSession, identities: IdentityStore, raw: str, *, write: bool = True
) -> Principal:
    """Resolve an API token (``write`` as in `from_cookie`)."""
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
    identity = await active_identity(session, identities, token.user_id)
    principal = Principal.of(identity, token_id=token.id, expires_at=token.expires_at)
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        if not write:
            raise TouchDue(principal, _TOKENS, token.id, "last_used_at")
        token.last_used_at = now
    return principal


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


async def create_token(
    uow: UnitOfWork,
    by: Principal,
    identities: IdentityStore,
    *,
    user_id: uuid.UUID,
    name: str,
    expires_at: datetime | None,
) -> IssuedToken:
    if not by.is_admin:
        raise Forbidden("this action needs the admin role")
    user = await identities.by_id(uow.session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        id=uuid.uuid4(),
        user_id=user.user_id,
        name=name,
        secret_hash=_digest(secret),
        expires_at=expires_at,
    )
    uow.session.add(token)
    await uow.session.flush()
    audit(uow, by, "api_token.create", "api_token", token.id, user_id=str(user.user_id), name=name)
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
