"""The CRM over HTTP: customers, identities, search, consent, notes, timeline, card, resolve.

Thin: rules and role checks live in the use-case modules. Cases, interactions, merges and data
in/out are in record_endpoints.py; settings and definitions in admin_endpoints.py.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from omnidesk.crm import identities, links, search, service, timeline, views
from omnidesk.crm import repository as repo
from omnidesk.crm.record_schemas import (
    ChannelSwitchIn,
    ChannelSwitchOut,
    ContactCard,
    CustomerCard,
    NoteIn,
    NoteOut,
    TimelineOut,
)
from omnidesk.crm.schemas import (
    ConsentIn,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    IdentityIn,
    IdentityOut,
    ResolveOut,
    SearchOut,
)
from omnidesk.crm.switches import ChannelSwitches, with_transcript
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors

router = APIRouter(prefix="/crm", tags=["crm"])
Text = Annotated[str, Query(min_length=1, max_length=200)]


@router.post(
    "/customers",
    response_model=CustomerOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
async def create_customer(body: CustomerCreate, ctx: Ctx) -> CustomerOut:
    """Create a customer (any role). An identity another customer has is 409 naming it."""
    async with ctx.uow:
        row = await service.create(ctx.uow, ctx.principal, body)
        out = await service.view(ctx.uow, row.id)
    return out


@router.get("/customers", response_model=SearchOut)
async def search_customers(
    ctx: Ctx,
    q: Text | None = None,
    name: Text | None = None,
    phone: Text | None = None,
    email: Text | None = None,
    case: Annotated[str | None, Query(alias="case", min_length=1, max_length=30)] = None,
    field: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    value: Text | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchOut:
    """Find customers. `q` is one search box (an email, a phone number in any format, a case
    number like C-1042, a custom field value or a name, typos and accents forgiven); or search
    by one of name, phone, email, case, or a custom field `value` (of `field`, or any field).
    With no criterion: the newest customers."""
    query = search.Query(
        q=q, name=name, phone=phone, email=email, case=case, field=field, value=value
    )
    async with ctx.uow:
        assert ctx.uow.tenant_id is not None
        region = (await repo.settings(ctx.uow.session, ctx.uow.tenant_id)).default_region
        hits = await search.find(ctx.uow.session, query, region=region, limit=limit)
    return SearchOut(results=hits)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, ctx: Ctx) -> CustomerOut:
    """A merged customer answers too (status "merged", `merged_into` its survivor)."""
    async with ctx.uow:
        return await service.view(ctx.uow, customer_id)


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
async def update_customer(customer_id: uuid.UUID, body: CustomerUpdate, ctx: Ctx) -> CustomerOut:
    async with ctx.uow:
        await service.update(ctx.uow, ctx.principal, customer_id, body)
        out = await service.view(ctx.uow, customer_id)
    return out


@router.put("/customers/{customer_id}/consent", response_model=CustomerOut)
async def set_consent(customer_id: uuid.UUID, body: ConsentIn, ctx: Ctx) -> CustomerOut:
    """Record consent answers (recording, marketing, per-channel opt-out) with their source."""
    async with ctx.uow:
        await service.set_consent(ctx.uow, ctx.principal, customer_id, body)
        out = await service.view(ctx.uow, customer_id)
    return out


@router.post(
    "/customers/{customer_id}/identities",
    response_model=IdentityOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
async def add_identity(customer_id: uuid.UUID, body: IdentityIn, ctx: Ctx) -> IdentityOut:
    async with ctx.uow:
        row = await identities.add(ctx.uow, ctx.principal, customer_id, body)
    return views.identity_out(row)


@router.delete(
    "/customers/{customer_id}/identities/{identity_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def remove_identity(customer_id: uuid.UUID, identity_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await identities.remove(ctx.uow, ctx.principal, customer_id, identity_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/resolve", response_model=ResolveOut)
async def resolve_identity(body: IdentityIn, ctx: Ctx) -> ResolveOut:
    """The customer an identity belongs to, created when the identity is new: what every
    channel does for an arriving contact."""
    async with ctx.uow:
        key = await identities.normalise(ctx.uow, body)
        found = await identities.resolve(ctx.uow, key, source="api")
    return ResolveOut(
        customer_id=found.customer_id, identity_id=found.identity_id, created=found.created
    )


@router.post(
    "/customers/{customer_id}/notes",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
async def add_note(customer_id: uuid.UUID, body: NoteIn, ctx: Ctx) -> NoteOut:
    async with ctx.uow:
        note = await service.add_note(
            ctx.uow,
            ctx.principal,
            customer_id,
            body.body,
            interaction_id=body.interaction_id,
            case_id=body.case_id,
        )
    return views.note_out(note)


@router.get("/customers/{customer_id}/timeline", response_model=TimelineOut)
async def get_timeline(
    customer_id: uuid.UUID,
    ctx: Ctx,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TimelineOut:
    """Newest first; pass `next_cursor` back as `cursor` for the next page."""
    async with ctx.uow:
        await repo.customer(ctx.uow.session, customer_id, active=False)
        return await timeline.page(ctx.uow.session, customer_id, cursor, limit)


@router.get("/customers/{customer_id}/card", response_model=CustomerCard)
async def get_card(customer_id: uuid.UUID, ctx: Ctx) -> CustomerCard:
    """What an agent sees with an offer: identities, open cases, last three contacts."""
    async with ctx.uow:
        assert ctx.uow.tenant_id is not None
        return await links.customer_card(ctx.uow.session, ctx.uow.tenant_id, customer_id)


@router.get("/contacts/{contact_id}/card", response_model=ContactCard)
async def get_contact_card(
    contact_id: Annotated[str, Path(min_length=1, max_length=128)], request: Request, ctx: Ctx
) -> ContactCard:
    """The customer card of a routed contact, what the desk shows with an offer (the
    `offer.customer_card` event says when there is one); 404 while no customer is known.
    A contact that continues another on a new channel has it in `switched_from`, with the
    earlier conversation's messages or the call's summary."""
    switches: ChannelSwitches | None = getattr(request.app.state, "crm_switches", None)
    async with ctx.uow:
        assert ctx.uow.tenant_id is not None
        card = await links.contact_card(ctx.uow.session, ctx.uow.tenant_id, contact_id)
    return await with_transcript(
        card, ctx.principal.tenant_id, switches.transcripts if switches is not None else None
    )


@router.post(
    "/contacts/{contact_id}/switch",
    response_model=ChannelSwitchOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(404, 409),
)
async def switch_channel(
    contact_id: Annotated[str, Path(min_length=1, max_length=128)],
    body: ChannelSwitchIn,
    request: Request,
    ctx: Ctx,
) -> ChannelSwitchOut:
    """Move the contact's matter to another channel (a callback, an email, a messaging
    conversation): a new contact for the same customer and case, offered first to the agent
    who had it, whose card carries everything before the switch (`switched_from`). 404: no
    such contact on record; 409: it has no customer, or the address is another customer's;
    422: a channel this server cannot switch to, a bad address, no account or queue."""
    switches: ChannelSwitches = request.app.state.crm_switches
    return await switches.switch(ctx.principal, contact_id, body)
