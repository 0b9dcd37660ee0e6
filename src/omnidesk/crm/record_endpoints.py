"""The CRM over HTTP: cases, interactions, merges and splits, export, erasure, CSV in/out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from omnidesk.crm import cases, imports, links, merge, privacy, service, views
from omnidesk.crm import repository as repo
from omnidesk.crm.models import Interaction
from omnidesk.crm.record_schemas import (
    CaseCreate,
    CaseOut,
    CaseUpdate,
    CustomerExport,
    EraseOut,
    ImportReport,
    InteractionOut,
    LinkCaseIn,
    LinkCustomerIn,
    MergeIn,
    MergeOut,
    SplitIn,
    SplitOut,
)
from omnidesk.crm.runtime import CrmRuntime
from omnidesk.platform.errors import Invalid
from omnidesk.platform.http import Ctx, services_of
from omnidesk.platform.openapi import errors

router = APIRouter(prefix="/crm", tags=["crm"])
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _runtime(request: Request) -> CrmRuntime:
    runtime: CrmRuntime = request.app.state.crm
    return runtime


# --- cases ---------------------------------------------------------------------------------


@router.post(
    "/cases",
    response_model=CaseOut,
    status_code=status.HTTP_201_CREATED,
    # The customer (and owner) named in the body must exist.
    responses=errors(404),
)
async def create_case(body: CaseCreate, ctx: Ctx) -> CaseOut:
    async with ctx.uow:
        row = await cases.create(ctx.uow, ctx.principal, body)
        (out,) = await cases.out(ctx.uow, [row])
    return out


@router.get("/cases", response_model=list[CaseOut])
async def list_cases(
    ctx: Ctx,
    customer_id: uuid.UUID | None = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern=r"^(open|pending|resolved|closed)$")
    ] = None,
    number: Annotated[str | None, Query(min_length=1, max_length=30)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseOut]:
    async with ctx.uow:
        rows = await cases.listing(
            ctx.uow, customer_id=customer_id, status=status_, number=number, limit=limit
        )
        return await cases.out(ctx.uow, rows)


@router.get("/cases/{case_id}", response_model=CaseOut)
async def get_case(case_id: uuid.UUID, ctx: Ctx) -> CaseOut:
    async with ctx.uow:
        (out,) = await cases.out(ctx.uow, [await repo.case(ctx.uow.session, case_id)])
    return out


@router.patch("/cases/{case_id}", response_model=CaseOut, responses=errors(409))
async def update_case(case_id: uuid.UUID, body: CaseUpdate, ctx: Ctx) -> CaseOut:
    async with ctx.uow:
        row = await cases.update(ctx.uow, ctx.principal, case_id, body)
        (out,) = await cases.out(ctx.uow, [row])
    return out


@router.post("/cases/{case_id}/reopen", response_model=CaseOut, responses=errors(409))
async def reopen_case(case_id: uuid.UUID, ctx: Ctx) -> CaseOut:
    async with ctx.uow:
        row = await cases.reopen(ctx.uow, ctx.principal, case_id)
        (out,) = await cases.out(ctx.uow, [row])
    return out


# --- interactions --------------------------------------------------------------------------


@router.get("/interactions", response_model=list[InteractionOut])
async def list_interactions(
    ctx: Ctx,
    customer_id: uuid.UUID | None = None,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    agent_id: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Contacts this agent handled"),
    ] = None,
    ended: Annotated[bool | None, Query(description="Ended contacts only (false: open)")] = None,
    ended_from: Annotated[
        datetime | None, Query(description="Contacts that ended from (inclusive)")
    ] = None,
    ended_until: Annotated[datetime | None, Query(description="... until (exclusive)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[InteractionOut]:
    """Newest first. A time range implies ended contacts (an open one has no end yet)."""
    if ended_from is not None and ended_until is not None and ended_until <= ended_from:
        raise Invalid("ended_until must be after ended_from", field="ended_until")
    ranged = ended_from is not None or ended_until is not None
    if ended is False and ranged:
        raise Invalid("an open contact has not ended: no range with ended=false", field="ended")
    stmt = select(Interaction)
    if customer_id is not None:
        stmt = stmt.where(Interaction.customer_id == customer_id)
    if contact_id is not None:
        stmt = stmt.where(Interaction.contact_id == contact_id)
    if ended is not None or ranged:
        # (tenant, state, ended_at) is indexed: the state and the range narrow the rows read.
        stmt = stmt.where(Interaction.state == ("open" if ended is False else "ended"))
    if ended_from is not None:
        stmt = stmt.where(Interaction.ended_at >= ended_from)
    if ended_until is not None:
        stmt = stmt.where(Interaction.ended_at < ended_until)
    async with ctx.uow:
        if agent_id is not None:
            stmt = stmt.where(repo.handled_by(ctx.uow.session, agent_id))
        rows = await ctx.uow.session.scalars(
            stmt.order_by(Interaction.started_at.desc()).limit(limit)
        )
        return [views.interaction_out(r) for r in rows]


@router.get("/interactions/{interaction_id}", response_model=InteractionOut)
async def get_interaction(interaction_id: uuid.UUID, ctx: Ctx) -> InteractionOut:
    async with ctx.uow:
        return views.interaction_out(await repo.interaction(ctx.uow.session, interaction_id))


@router.put(
    "/interactions/{interaction_id}/case", response_model=InteractionOut, responses=errors(409)
)
async def link_case(interaction_id: uuid.UUID, body: LinkCaseIn, ctx: Ctx) -> InteractionOut:
    """Link the contact to a case (null: unlink)."""
    async with ctx.uow:
        row = await links.link_interaction_to_case(
            ctx.uow, ctx.principal, interaction_id, body.case_id
        )
    return views.interaction_out(row)


@router.put(
    "/interactions/{interaction_id}/customer", response_model=InteractionOut, responses=errors(409)
)
async def link_customer(
    interaction_id: uuid.UUID, body: LinkCustomerIn, ctx: Ctx
) -> InteractionOut:
    """Say whose contact it is (by customer id, or by an identity, resolved)."""
    async with ctx.uow:
        row = await links.attach_customer(
            ctx.uow,
            ctx.principal,
            interaction_id,
            customer_id=body.customer_id,
            identity=body.identity,
        )
    return views.interaction_out(row)


# --- merge and split -----------------------------------------------------------------------


@router.post(
    "/customers/{customer_id}/merge",
    response_model=MergeOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
async def merge_customer(customer_id: uuid.UUID, body: MergeIn, ctx: Ctx) -> MergeOut:
    """Merge `merged_id` into this customer (supervisors, admins)."""
    async with ctx.uow:
        row = await merge.merge(ctx.uow, ctx.principal, customer_id, body.merged_id)
        return await merge.explain(ctx.uow, row)


@router.get("/customers/{customer_id}/merges", response_model=list[MergeOut])
async def customer_merges(customer_id: uuid.UUID, ctx: Ctx) -> list[MergeOut]:
    async with ctx.uow:
        await repo.customer(ctx.uow.session, customer_id, active=False)
        return [
            await merge.explain(ctx.uow, m) for m in await merge.of_customer(ctx.uow, customer_id)
        ]


@router.get("/merges/{merge_id}", response_model=MergeOut)
async def get_merge(merge_id: uuid.UUID, ctx: Ctx) -> MergeOut:
    """What moved, what was filled in, and why it can no longer be undone (if so)."""
    async with ctx.uow:
        return await merge.explain(ctx.uow, await merge.get(ctx.uow, merge_id))


@router.post("/merges/{merge_id}/undo", response_model=MergeOut, responses=errors(409))
async def undo_merge(merge_id: uuid.UUID, ctx: Ctx) -> MergeOut:
    async with ctx.uow:
        row = await merge.undo(ctx.uow, ctx.principal, merge_id)
        return await merge.explain(ctx.uow, row)


@router.post("/customers/{customer_id}/split", response_model=SplitOut)
async def split_customer(customer_id: uuid.UUID, body: SplitIn, ctx: Ctx) -> SplitOut:
    """Move a wrongly attached identity (and its interactions) to another or a new customer."""
    async with ctx.uow:
        return await merge.split(ctx.uow, ctx.principal, customer_id, body)


# --- privacy and data in/out ---------------------------------------------------------------


@router.get("/customers/{customer_id}/export", response_model=CustomerExport)
async def export_customer(customer_id: uuid.UUID, ctx: Ctx) -> CustomerExport:
    """Everything about a customer as JSON (supervisors, admins)."""
    async with ctx.uow:
        return await privacy.export(ctx.uow, ctx.principal, customer_id)


@router.post("/customers/{customer_id}/erase", response_model=EraseOut, responses=errors(409))
async def erase_customer(customer_id: uuid.UUID, request: Request, ctx: Ctx) -> EraseOut:
    """Anonymise the customer everywhere their data is kept (admins): the CRM's records, the
    routing log and events, call records and recordings, conversations; audited."""
    holders = _runtime(request).holders
    async with ctx.uow:
        return await privacy.erase(ctx.uow, ctx.principal, customer_id, holders)


@router.post("/imports/customers", response_model=ImportReport, openapi_extra=CSV_BODY)
async def import_customers(
    request: Request, ctx: Ctx, dry_run: bool = False, skip_rejected: bool = False
) -> ImportReport:
    """Import customers from CSV (docs/crm.md). A real run with rejected rows writes nothing
    (422 listing them) unless `skip_rejected`; `dry_run` only reports."""
    content = await request.body()
    async with ctx.uow:
        return await imports.run(
            ctx.uow, ctx.principal, content, dry_run=dry_run, skip_rejected=skip_rejected
        )


@router.get(
    "/exports/customers.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_customers(request: Request, ctx: Ctx) -> StreamingResponse:
    """Every active customer as CSV, in the import's columns (supervisors, admins)."""
    service.require_staff(ctx.principal)
    tenant_id = ctx.principal.tenant_id
    rows = imports.export_csv(services_of(request).db, tenant_id)
    return StreamingResponse(
        rows,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )
