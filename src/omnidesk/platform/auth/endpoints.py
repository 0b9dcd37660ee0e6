"""Logout and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from omnidesk.platform.auth import service
from omnidesk.platform.auth.cookies import clear_session_cookies
from omnidesk.platform.auth.models import ApiToken
from omnidesk.platform.database import utcnow
from omnidesk.platform.fields import Name
from omnidesk.platform.http import Ctx, services_of
from omnidesk.platform.schemas import Input

# Logging in, who am I and the own password are the directory's (they answer with the user):
# omnidesk/directory/auth_endpoints.py. The session's end and API tokens are the platform's.
router = APIRouter(tags=["auth"])


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(ctx: Ctx, request: Request) -> Response:
    async with ctx.uow:
        await service.logout(ctx.uow.session, ctx.principal)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookies(response, services_of(request).settings)
    return response


class TokenCreate(Input):
    name: Name
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
async def create_token(body: TokenCreate, ctx: Ctx, request: Request) -> TokenCreated:
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    identities = services_of(request).identities
    async with ctx.uow:
        issued = await service.create_token(
            ctx.uow,
            ctx.principal,
            identities,
            user_id=body.user_id,
            name=body.name,
            expires_at=expires,
        )
    return TokenCreated(**TokenOut.of(issued.token).model_dump(), token=issued.secret)


@router.delete("/api-tokens/{token_id}", response_model=TokenOut)
async def revoke_token(token_id: uuid.UUID, ctx: Ctx) -> TokenOut:
    async with ctx.uow:
        token = await service.revoke_token(ctx.uow, ctx.principal, token_id)
    return TokenOut.of(token)
