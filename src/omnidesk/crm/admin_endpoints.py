"""CRM settings, custom field definitions, case types and wrap-up dispositions over HTTP
(changes: admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response, status

from omnidesk.crm import cases, dispositions, fields, service
from omnidesk.crm import repository as repo
from omnidesk.crm.schemas import (
    CaseTypeIn,
    CaseTypeOut,
    DispositionIn,
    DispositionOut,
    DispositionUpdate,
    FieldDefinitionIn,
    FieldDefinitionOut,
    SettingsIn,
    SettingsOut,
)
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors

router = APIRouter(prefix="/crm", tags=["crm"])
Entity = Literal["customer", "case"]
FieldKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
DispositionCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


@router.get("/settings", response_model=SettingsOut)
async def get_settings(ctx: Ctx) -> SettingsOut:
    async with ctx.uow:
        return await service.get_settings(ctx.uow)


@router.put("/settings", response_model=SettingsOut)
async def put_settings(body: SettingsIn, ctx: Ctx) -> SettingsOut:
    """Default phone region, retention days of contact content, case number prefix, the
    repeat-contact window and how long a returning customer waits for their last agent."""
    async with ctx.uow:
        return await service.put_settings(ctx.uow, ctx.principal, body)


@router.get("/fields", response_model=list[FieldDefinitionOut])
async def list_fields(ctx: Ctx, entity: Entity = "customer") -> list[FieldDefinitionOut]:
    async with ctx.uow:
        rows = await repo.field_definitions(ctx.uow.session, entity)
    return [fields.out(r) for r in rows.values()]


@router.post(
    "/fields",
    response_model=FieldDefinitionOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
async def define_field(body: FieldDefinitionIn, ctx: Ctx) -> FieldDefinitionOut:
    service.require_admin(ctx.principal)
    async with ctx.uow:
        row = await fields.define(ctx.uow, ctx.principal, body)
    return fields.out(row)


@router.put("/fields/{entity}/{key}", response_model=FieldDefinitionOut, responses=errors(409))
async def redefine_field(
    entity: Entity, key: FieldKey, body: FieldDefinitionIn, ctx: Ctx
) -> FieldDefinitionOut:
    """Relabel a field or change its choices (its key and type stay)."""
    service.require_admin(ctx.principal)
    async with ctx.uow:
        row = await fields.redefine(ctx.uow, ctx.principal, entity, key, body)
    return fields.out(row)


@router.delete("/fields/{entity}/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_field(entity: Entity, key: FieldKey, ctx: Ctx) -> Response:
    service.require_admin(ctx.principal)
    async with ctx.uow:
        await fields.undefine(ctx.uow, ctx.principal, entity, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/case-types", response_model=list[CaseTypeOut])
async def list_case_types(ctx: Ctx) -> list[CaseTypeOut]:
    async with ctx.uow:
        return await cases.types(ctx.uow)


@router.post(
    "/case-types",
    response_model=CaseTypeOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
async def add_case_type(body: CaseTypeIn, ctx: Ctx) -> CaseTypeOut:
    async with ctx.uow:
        return await cases.add_type(ctx.uow, ctx.principal, body)


@router.get("/dispositions", response_model=list[DispositionOut])
async def list_dispositions(ctx: Ctx) -> list[DispositionOut]:
    """The tenant's wrap-up codes, retired ones included (`active: false`)."""
    async with ctx.uow:
        return [dispositions.out(r) for r in await dispositions.all_codes(ctx.uow.session)]


@router.post(
    "/dispositions",
    response_model=DispositionOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
async def create_disposition(body: DispositionIn, ctx: Ctx) -> DispositionOut:
    async with ctx.uow:
        row = await dispositions.create(ctx.uow, ctx.principal, body)
    return dispositions.out(row)


@router.get("/dispositions/{code}", response_model=DispositionOut)
async def get_disposition(code: DispositionCode, ctx: Ctx) -> DispositionOut:
    async with ctx.uow:
        return dispositions.out(await dispositions.get(ctx.uow.session, code))


@router.patch("/dispositions/{code}", response_model=DispositionOut)
async def update_disposition(
    code: DispositionCode, body: DispositionUpdate, ctx: Ctx
) -> DispositionOut:
    """Relabel, change the flags, retire (`active: false`) or bring back a code."""
    async with ctx.uow:
        row = await dispositions.update(ctx.uow, ctx.principal, code, body)
    return dispositions.out(row)
