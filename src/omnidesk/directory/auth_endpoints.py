"""Logging in, who am I, and the own password: the directory's use cases on /auth, because they
answer with (or change) the user. The platform does the authenticating (platform/auth/service.py);
the session's end and API tokens stay with it (platform/auth/endpoints.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from omnidesk.directory import repository, service
from omnidesk.directory.schemas import Password, UserOut
from omnidesk.platform.auth import service as auth
from omnidesk.platform.auth.cookies import set_session_cookies
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.http import Ctx, client_ip, services_of
from omnidesk.platform.schemas import Input

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
    session = services.db.session(SYSTEM)
    try:
        result = await auth.login(
            session,
            services.settings,
            services.limiter,
            services.identities,
            tenant_slug=body.tenant,
            username=body.username,
            password=body.password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
        # The session is narrowed to the user's tenant by now.
        user = await repository.get_user(session, result.principal, result.principal.user_id)
        out = LoginOut(
            user=UserOut.of(user), csrf_token=result.csrf_token, expires_at=result.expires_at
        )
        await session.commit()
    finally:
        await session.close()
    set_session_cookies(response, services.settings, result)
    return out


@router.get("/auth/me", response_model=UserOut)
async def me(ctx: Ctx) -> UserOut:
    async with ctx.uow:
        return UserOut.of(
            await repository.get_user(ctx.uow.session, ctx.principal, ctx.principal.user_id)
        )


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: PasswordChange, ctx: Ctx) -> Response:
    async with ctx.uow:
        await service.change_own_password(
            ctx.uow, ctx.principal, body.current_password, body.new_password
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
