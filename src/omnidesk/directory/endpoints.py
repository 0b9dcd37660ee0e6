"""HTTP endpoints of the directory: thin, all rules live in the service and repository."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from omnidesk.directory import repository as repo
from omnidesk.directory import service
from omnidesk.directory.schemas import (
    MemberSet,
    TeamCreate,
    TeamMemberOut,
    TeamOut,
    TeamUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors

router = APIRouter(tags=["directory"])


def _team_out(ctx: Ctx, team: object) -> TeamOut:
    out = TeamOut.of(team)  # type: ignore[arg-type]
    visible = {m.user_id for m in repo.member_view(ctx.principal, team)}  # type: ignore[arg-type]
    out.members = [m for m in out.members if m.user_id in visible]
    return out


@router.get("/users", response_model=list[UserOut])
async def list_users(ctx: Ctx) -> list[UserOut]:
    async with ctx.uow:
        return [UserOut.of(u) for u in await repo.list_users(ctx.uow.session, ctx.principal)]


@router.post(
    "/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=errors(409)
)
async def create_user(body: UserCreate, ctx: Ctx) -> UserOut:
    async with ctx.uow:
        user = await service.create_user(ctx.uow, ctx.principal, body)
    return UserOut.of(user)


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: uuid.UUID, ctx: Ctx) -> UserOut:
    async with ctx.uow:
        return UserOut.of(await repo.get_user(ctx.uow.session, ctx.principal, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, responses=errors(409))
async def update_user(user_id: uuid.UUID, body: UserUpdate, ctx: Ctx) -> UserOut:
    async with ctx.uow:
        user = await service.update_user(ctx.uow, ctx.principal, user_id, body)
    return UserOut.of(user)


@router.get("/teams", response_model=list[TeamOut])
async def list_teams(ctx: Ctx) -> list[TeamOut]:
    async with ctx.uow:
        return [_team_out(ctx, t) for t in await repo.list_teams(ctx.uow.session, ctx.principal)]


@router.post(
    "/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED, responses=errors(409)
)
async def create_team(body: TeamCreate, ctx: Ctx) -> TeamOut:
    async with ctx.uow:
        team = await service.create_team(ctx.uow, ctx.principal, body)
    return _team_out(ctx, team)


@router.get("/teams/{team_id}", response_model=TeamOut)
async def get_team(team_id: uuid.UUID, ctx: Ctx) -> TeamOut:
    async with ctx.uow:
        return _team_out(ctx, await repo.get_team(ctx.uow.session, ctx.principal, team_id))


@router.patch("/teams/{team_id}", response_model=TeamOut, responses=errors(409))
async def rename_team(team_id: uuid.UUID, body: TeamUpdate, ctx: Ctx) -> TeamOut:
    async with ctx.uow:
        team = await service.rename_team(ctx.uow, ctx.principal, team_id, body)
    return _team_out(ctx, team)


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409))
async def delete_team(team_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await service.delete_team(ctx.uow, ctx.principal, team_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/teams/{team_id}/members/{user_id}", response_model=TeamMemberOut, responses=errors(409)
)
async def set_member(
    team_id: uuid.UUID, user_id: uuid.UUID, body: MemberSet, ctx: Ctx
) -> TeamMemberOut:
    async with ctx.uow:
        await service.set_member(ctx.uow, ctx.principal, team_id, user_id, body)
    return TeamMemberOut(user_id=user_id, role=body.role)


@router.delete("/teams/{team_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(team_id: uuid.UUID, user_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await service.remove_member(ctx.uow, ctx.principal, team_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
