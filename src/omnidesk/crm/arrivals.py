"""The CRM in routing: routing's contact hooks (routing/hooks.py), which the composition root
plugs into the routing service.

When a contact arrives from an identity (a caller's number, an email address, a messaging id)
the customer is resolved (an unknown identity creates one) and their attributes go on the
contact under `customer` (tier, vip, language, open case, last agent, repeat), so rules can
target them (`contact.customer.tier == "gold"`); the customer's language becomes the contact's
`language` when the channel gave none. A returning customer with an open case is offered first
to the agent who last worked that case, for the tenant's `prefer_last_agent_seconds`.

The new contact links to the customer's open case, and is a repeat when an earlier contact of
the customer on the same case, or with the same `reason` attribute, started within the tenant's
`repeat_window_days`. All of that is recorded (`crm.contact_identified`) only once routing has
accepted the contact, and applied to its interaction record by the projection, from the log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm import dispositions
from omnidesk.crm import repository as repo
from omnidesk.crm.events import ContactIdentified
from omnidesk.crm.models import Case, CrmSettings, Customer, Interaction
from omnidesk.crm.resolver import Resolver
from omnidesk.crm.schemas import IdentityIn
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import Database, utcnow
from omnidesk.platform.errors import Invalid
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.api import Arrival, ContactArrived, CustomerRef

OPEN = ("open", "pending")
REASON_MAX = 64


@dataclass(frozen=True, slots=True)
class Link:
    """What `arrived` records: whose contact it is, its case, what it repeats."""

    customer_id: uuid.UUID
    identity_id: uuid.UUID | None
    case_id: uuid.UUID | None
    repeat_of: uuid.UUID | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Facts:
    open_case: Case | None
    last_agent_id: str | None
    case_agent_id: str | None
    repeat_of: uuid.UUID | None


class CrmContactHooks:
    def __init__(self, db: Database, bus: EventBus) -> None:
        self.db = db
        self.bus = bus
        # Contacts arriving together resolve their callers in shared units of work.
        self.resolver = Resolver(db, bus)

    async def arriving(
        self, tenant_id: uuid.UUID, command: ContactArrived, customer: CustomerRef
    ) -> Arrival:
        reason = _reason(command.attributes)
        # Resolved (a new customer committed) before the rest is read, in a unit of work shared
        # with the contacts arriving meanwhile (ADR 0037); it was committed before routing
        # decided already, so only a failure reading the facts below now keeps it too.
        customer_id, identity_id = await self._resolve(tenant_id, customer)
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id) as uow:
                row = await repo.customer(uow.session, customer_id)
                settings = await repo.settings(session, tenant_id)
                facts = await _facts(session, row.id, command.contact_id, reason, settings)
                # Read while the session is open (nothing of the rows is used after it).
                seen = customer_attributes(row, facts)
                customer_id, seconds = row.id, settings.prefer_last_agent_seconds
                case_id = facts.open_case.id if facts.open_case is not None else None
        finally:
            await session.close()
        attributes = dict(command.attributes)
        attributes["customer"] = seen
        if seen["language"] and "language" not in attributes:
            attributes["language"] = seen["language"]
        enriched = replace(command, attributes=attributes)
        if facts.case_agent_id and seconds > 0 and command.preferred_agent_id is None:
            enriched = replace(
                enriched, preferred_agent_id=facts.case_agent_id, preferred_for_seconds=seconds
            )
        link = Link(customer_id, identity_id, case_id, facts.repeat_of, reason)
        return Arrival(enriched, link)

    async def _resolve(
        self, tenant_id: uuid.UUID, ref: CustomerRef
    ) -> tuple[uuid.UUID, uuid.UUID | None]:
        if ref.customer_id is not None:
            return ref.customer_id, None
        try:
            given = IdentityIn(kind=ref.kind, value=ref.value, provider=ref.provider)
        except ValidationError:
            raise Invalid(
                f"not a customer identity: {ref.kind!r} {ref.value!r}", field="customer.kind"
            ) from None
        found = await self.resolver.resolve(
            tenant_id, given, source="contact", field="customer.value"
        )
        return found.customer_id, found.identity_id

    async def arrived(self, tenant_id: uuid.UUID, arrival: Arrival) -> None:
        link = arrival.token
        assert isinstance(link, Link)
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id) as uow:
                uow.record(
                    ContactIdentified(
                        contact_id=arrival.command.contact_id,
                        channel=arrival.command.channel,
                        customer_id=link.customer_id,
                        identity_id=link.identity_id,
                        case_id=link.case_id,
                        repeat_of=link.repeat_of,
                        reason=link.reason,
                    )
                )
        finally:
            await session.close()

    async def check_disposition(self, tenant_id: uuid.UUID, code: str) -> None:
        session = self.db.session(tenant_id)
        try:
            await dispositions.check(session, code)
        finally:
            await session.close()


def customer_attributes(row: Customer, facts: Facts) -> dict[str, Any]:
    """What routing rules see as `contact.customer`: no names or identities, only what a rule
    routes on."""
    return {
        "id": str(row.id),
        "tier": row.tier,
        "vip": row.vip,
        "language": row.language,
        "tags": list(row.tags),
        "open_case_id": str(facts.open_case.id) if facts.open_case is not None else None,
        "last_agent_id": facts.last_agent_id,
        "repeat": facts.repeat_of is not None,
    }


def _reason(attributes: Any) -> str | None:
    raw = attributes.get("reason") if hasattr(attributes, "get") else None
    return raw[:REASON_MAX] if isinstance(raw, str) and raw.strip() else None


async def _facts(
    session: AsyncSession,
    customer_id: uuid.UUID,
    contact_id: str,
    reason: str | None,
    settings: CrmSettings,
) -> Facts:
    open_case = await session.scalar(
        select(Case)
        .where(Case.customer_id == customer_id, Case.status.in_(OPEN))
        .order_by(Case.updated_at.desc(), Case.number.desc())
        .limit(1)
    )
    recent = list(
        await session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer_id, Interaction.contact_id != contact_id)
            .order_by(Interaction.started_at.desc())
            .limit(50)
        )
    )
    last_agent = next((i.agent_ids[-1] for i in recent if i.agent_ids), None)
    case_agent = None
    if open_case is not None:
        case_agent = next(
            (i.agent_ids[-1] for i in recent if i.case_id == open_case.id and i.agent_ids), None
        )
    return Facts(
        open_case,
        last_agent,
        case_agent,
        await _repeat_of(session, customer_id, contact_id, open_case, reason, settings),
    )


async def _repeat_of(
    session: AsyncSession,
    customer_id: uuid.UUID,
    contact_id: str,
    open_case: Case | None,
    reason: str | None,
    settings: CrmSettings,
) -> uuid.UUID | None:
    """The latest earlier contact of the customer on the same case or with the same reason
    within the window (the first-contact resolution's repeat)."""
    same = []
    if open_case is not None:
        same.append(Interaction.case_id == open_case.id)
    if reason is not None:
        same.append(Interaction.reason == reason)
    if not same:
        return None
    since = utcnow() - timedelta(days=settings.repeat_window_days)
    found: uuid.UUID | None = await session.scalar(
        select(Interaction.id)
        .where(
            Interaction.customer_id == customer_id,
            Interaction.contact_id != contact_id,
            Interaction.started_at >= since,
            or_(*same),
        )
        .order_by(Interaction.started_at.desc())
        .limit(1)
    )
    return found
