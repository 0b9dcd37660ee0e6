"""Use cases on interaction records: link one to a case, attach it to a customer, and the
customer card an agent sees with an offer (`contact_card`: the card of a routed contact).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm import audiences, identities, switches, timeline, views
from omnidesk.crm import repository as repo
from omnidesk.crm.events import InteractionUpdated
from omnidesk.crm.interactions import event_fields
from omnidesk.crm.models import Case, Customer, Identity, Interaction, TimelineEntry
from omnidesk.crm.record_schemas import CardCase, CardContact, ContactCard, CustomerCard
from omnidesk.crm.schemas import ConsentOut, IdentityIn
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork

OPEN = ("open", "pending")


async def _announce(uow: UnitOfWork, by: Principal | None, row: Interaction) -> None:
    row.updated_at = utcnow()
    await uow.session.flush()
    uow.record(
        InteractionUpdated(**event_fields(row)),
        await audiences.of_users(uow.session, [*row.agent_ids, by.user_id if by else None]),
    )


async def link_interaction_to_case(
    uow: UnitOfWork, by: Principal | None, interaction_id: uuid.UUID, case_id: uuid.UUID | None
) -> Interaction:
    """Link (or with None unlink) a contact and a case. An interaction without a customer
    takes the case's; one of another customer is refused (409)."""
    row = await repo.interaction(uow.session, interaction_id)
    if case_id is None:
        if row.case_id is not None:
            row.case_id = None
            await _announce(uow, by, row)
        return row
    case = await repo.case(uow.session, case_id)
    if row.customer_id not in (None, case.customer_id):
        raise Conflict(
            f"the interaction is customer {row.customer_id}'s, the case {case.customer_id}'s",
            field="case_id",
        )
    if row.customer_id is None:
        await _attach(uow, row, case.customer_id, None)
    if row.case_id != case.id:
        row.case_id = case.id
        assert uow.tenant_id is not None
        prefix = (await repo.settings(uow.session, uow.tenant_id)).case_prefix
        await timeline.add(
            uow, case.customer_id, "interaction_linked", "case", case.id,
            number=views.case_number(prefix, case.number), interaction_id=str(row.id),
        )  # fmt: skip
        await _announce(uow, by, row)
    return row


async def attach_customer(
    uow: UnitOfWork,
    by: Principal | None,
    interaction_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    identity: IdentityIn | None = None,
) -> Interaction:
    """Say whose contact this is: a customer, or an identity (resolved; new ones create)."""
    if (customer_id is None) == (identity is None):
        raise Invalid("give either customer_id or identity", field="customer_id")
    row = await repo.interaction(uow.session, interaction_id)
    identity_id = None
    if identity is not None:
        key = await identities.normalise(uow, identity, field="identity.value")
        found = await identities.resolve(uow, key, source="contact")
        customer_id, identity_id = found.customer_id, found.identity_id
    assert customer_id is not None
    await repo.customer(uow.session, customer_id)
    if row.customer_id == customer_id:
        return row
    if row.customer_id is not None:
        raise Conflict(
            f"the interaction is customer {row.customer_id}'s: split or merge instead",
            field="customer_id",
        )
    await _attach(uow, row, customer_id, identity_id)
    await _announce(uow, by, row)
    return row


async def _attach(
    uow: UnitOfWork, row: Interaction, customer_id: uuid.UUID, identity_id: uuid.UUID | None
) -> None:
    row.customer_id, row.identity_id = customer_id, identity_id
    uow.session.add(
        TimelineEntry(
            customer_id=customer_id,
            at=row.started_at,
            kind="interaction",
            ref_type="interaction",
            ref_id=str(row.id),
            data={"channel": row.channel, "direction": row.direction},
        )
    )


async def contact_card(session: AsyncSession, tenant_id: uuid.UUID, contact_id: str) -> ContactCard:
    """The card of a routed contact's customer (404 while the contact has none), with the
    contact it continues when it is a channel switch's (its messages: `switches.with_transcript`
    after the transaction)."""
    row = await session.scalar(select(Interaction).where(Interaction.contact_id == contact_id))
    if row is None or row.customer_id is None:
        raise NotFound(f"no customer is known for contact {contact_id!r}", contact_id=contact_id)
    card = await customer_card(session, tenant_id, row.customer_id, before=row)
    return ContactCard(
        contact_id=contact_id,
        interaction_id=row.id,
        case_id=row.case_id,
        repeat=row.repeat_of is not None,
        customer=card,
        switched_from=await switches.switched_from(session, row),
    )


async def customer_card(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_id: uuid.UUID,
    *,
    before: Interaction | None = None,
) -> CustomerCard:
    """Who it is, for an agent about to accept: identities, open cases, last three contacts
    (`before` one: the contact being offered), language, consent. A merged customer's card
    is its survivor's."""
    row = await repo.customer(session, customer_id, active=False)
    for _ in range(10):  # follow merges (chains are short; a cycle cannot be made)
        if row.merged_into is None:
            break
        row = await repo.customer(session, row.merged_into, active=False)
    ids = (await repo.identities_of(session, [row.id])).get(row.id, [])
    prefix = (await repo.settings(session, tenant_id)).case_prefix
    cases = await session.scalars(
        select(Case)
        .where(Case.customer_id == row.id, Case.status.in_(OPEN))
        .order_by(Case.updated_at.desc())
        .limit(5)
    )
    recent = select(Interaction).where(Interaction.customer_id == row.id)
    if before is not None:
        recent = recent.where(Interaction.id != before.id)
    contacts = await session.scalars(recent.order_by(Interaction.started_at.desc()).limit(3))
    return _card(row, ids, list(cases), list(contacts), prefix)


def _card(
    row: Customer,
    ids: list[Identity],
    cases: list[Case],
    contacts: list[Interaction],
    prefix: str,
) -> CustomerCard:
    return CustomerCard(
        id=row.id,
        display_name=row.display_name,
        language=row.language,
        tier=row.tier,
        vip=row.vip,
        tags=list(row.tags),
        identities=[views.identity_out(i) for i in ids],
        open_cases=[
            CardCase(
                id=c.id,
                number=views.case_number(prefix, c.number),
                type=c.type,
                title=c.title,
                status=c.status,
            )
            for c in cases
        ],
        last_contacts=[
            CardContact(
                id=i.id,
                channel=i.channel,
                direction=i.direction,
                started_at=i.started_at,
                agent_ids=list(i.agent_ids),
                disposition=i.disposition,
                resolved=i.resolved,
            )
            for i in contacts
        ],
        consent=ConsentOut.model_validate(row.consent or {}),
    )
