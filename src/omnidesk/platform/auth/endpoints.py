"""Login, logout, who am I, own password, and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from omnidesk.directory import repository as directory
from omnidesk.directory import service as directory_service
from omnidesk.directory.schemas import Input, Password, UserOut
from omnidesk.platform.auth import service
from omnidesk.platform.auth.models import ApiToken
from omnidesk.platform.database import SYSTEM, utcnow
from omnidesk.platform.http import Ctx, client_ip, services_of

router = APIRouter(tags=["auth"])


class LoginIn(Input):
    tenant: Annotated[str, Field(min_length=1, max_length=64)]
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: datetime


class PasswordChange(Input):
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Password


@router.post("/auth/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    services = services_of(request)
    settings = services.settings
    session = services.db.session(SYSTEM)
    try:
        result = await service.login(
            session,
            settings,
            services.limiter,
            tenant_slug=body.tenant,
            username=body.username,
            password=body.password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
        await session.commit()
        out = LoginOut(
            user=UserOut.of(result.user), csrf_token=result.csrf_token, expires_at=result.expires_at
        )
    finally:
        await session.close()
    max_age = settings.session_ttl_seconds
    response.set_cookie(
        settings.session_cookie_name,
        result.cookie_value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    # Readable by our own scripts (not HttpOnly) so they can echo it in the CSRF header.
    response.set_cookie(
        settings.csrf_cookie_name,
        result.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )
    return out


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(ctx: Ctx, request: Request) -> Response:
    async with ctx.uow:
        await service.logout(ctx.uow.session, ctx.principal)
    settings = services_of(request).settings
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(settings.session_cookie_name, path="/")
    response.delete_cookie(settings.csrf_cookie_name, path="/")
    return response


@router.get("/auth/me", response_model=UserOut)
async def me(ctx: Ctx) -> UserOut:
    async with ctx.uow:
        return UserOut.of(
            await directory.get_user(ctx.uow.session, ctx.principal, ctx.principal.user_id)
        )


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: PasswordChange, ctx: Ctx) -> Response:
    async with ctx.uow:
        await directory_service.change_own_password(
            ctx.uow, ctx.principal, body.current_password, body.new_password
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class TokenCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    user_id: uuid.UUID
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None


class TokenOut(BaseModel):
    id: uuid.UUID
    name: str
    user_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            user_id=token.user_id,
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown only in this response.")


@router.get("/api-tokens", response_model=list[TokenOut])
async def list_tokens(ctx: Ctx) -> list[TokenOut]:
    async with ctx.uow:
        return [TokenOut.of(t) for t in await service.list_tokens(ctx.uow.session, ctx.principal)]


@router.post("/api-tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, ctx: Ctx) -> TokenCreated:
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    async with ctx.uow:
        issued = await service.create_token(
            ctx.uow, ctx.principal, user_id=body.user_id, name=body.name, expires_at=expires
        )
    return TokenCreated(**TokenOut.of(issued.token).model_dump(), token=issued.secret)


@router.delete("/api-tokens/{token_id}", response_model=TokenOut)
async def revoke_token(token_id: uuid.UUID, ctx: Ctx) -> TokenOut:
    async with ctx.uow:
        token = await service.revoke_token(ctx.uow, ctx.principal, token_id)
    return TokenOut.of(token)
