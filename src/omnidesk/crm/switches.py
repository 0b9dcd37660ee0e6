"""Channel switches: a matter moves channel (a chat becomes a callback, messaging becomes an
email, a call continues on messaging) and keeps its customer, case, transcript and agent.

The CRM owns the use case; the channels own their contacts. As routing does for the CRM
(routing/hooks.py), the CRM defines small ports here and the composition root plugs the
channels in: a `SwitchTarget` per channel creates the new contact through its own public
service (voice's callbacks, the conversation store), and `Transcripts` reads an earlier
conversation's messages for the card. The CRM imports no channel.

Order of work (docs/crm.md, "Channel switches"):
1. one transaction checks everything (the contact and its customer, the channel, the
   address, the case) and gives the customer the address when it is new, so that the new
   contact resolves to them and not to a new customer;
2. the target creates and routes the new contact, preferring the agent who had the matter
   (routing's preferred-agent step, for the tenant's `prefer_last_agent_seconds`);
3. one transaction records `crm.channel_switched` (the projection links the new interaction
   to the earlier one and to the case) and the timeline's `channel_switch` entry.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm import audiences, identities, timeline, views
from omnidesk.crm import repository as repo
from omnidesk.crm.events import ChannelSwitched, IdentityAdded
from omnidesk.crm.models import Case, Identity, Interaction
from omnidesk.crm.record_schemas import (
    ChannelSwitchIn,
    ChannelSwitchOut,
    ContactCard,
    SwitchedFromContact,
    TranscriptLine,
)
from omnidesk.crm.schemas import IdentityIn
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import Database
from omnidesk.platform.errors import Conflict, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork

OPEN = ("open", "pending")
TRANSCRIPT_LINES = 200


@dataclass(frozen=True, slots=True)
class SwitchPlan:
    """What a target needs to know before anything is written: the identity kind of its peers
    (`phone`, `email`, `messaging` with `provider`, `webchat`)."""

    identity_kind: str
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class SwitchOrder:
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    identity_id: uuid.UUID
    address: str  # normalised: E.164, a lower-case email, a messaging id
    case_id: uuid.UUID | None
    from_contact_id: str
    from_channel: str
    preferred_agent_id: str | None
    preferred_for_seconds: float
    queue_id: str | None
    account_id: uuid.UUID | None
    actor_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class SwitchOpened:
    contact_id: str
    kind: str  # callback | conversation
    routed: bool
    conversation_id: uuid.UUID | None = None


class SwitchTarget(Protocol):
    channel: str

    async def plan(
        self, tenant_id: uuid.UUID, account_id: uuid.UUID | None, queue_id: str | None
    ) -> SwitchPlan:
        """Check that the channel can take the contact (an account, a queue, the channel
        running); raise a 4xx domain error naming the field otherwise. Writes nothing."""
        ...

    async def open(self, order: SwitchOrder) -> SwitchOpened:
        """Create the contact on the channel and hand it to routing."""
        ...


class Transcripts(Protocol):
    async def messages(
        self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, limit: int
    ) -> list[dict[str, Any]]:
        """The conversation's lines, oldest first (`TranscriptLine`'s fields)."""
        ...


class ChannelSwitches:
    def __init__(self, db: Database, bus: EventBus) -> None:
        self.db = db
        self.bus = bus
        self.targets: dict[str, SwitchTarget] = {}
        self.transcripts: Transcripts | None = None

    def register(self, target: SwitchTarget) -> None:
        self.targets[target.channel] = target

    @contextlib.asynccontextmanager
    async def _unit(self, by: Principal) -> AsyncIterator[UnitOfWork]:
        session = self.db.session(by.tenant_id)
        try:
            async with UnitOfWork(
                session, self.bus, tenant_id=by.tenant_id, actor_id=by.user_id
            ) as uow:
                yield uow
        finally:
            await session.close()

    async def switch(
        self, by: Principal, contact_id: str, body: ChannelSwitchIn
    ) -> ChannelSwitchOut:
        target = self.targets.get(body.channel)
        if target is None:
            raise Invalid(
                f"a contact cannot switch to channel {body.channel!r}",
                field="channel",
                supported=sorted(self.targets),
            )
        # The contact first, then the target's checks outside any transaction of ours (they
        # read routing, whose lock is never taken inside a database transaction, and the
        # channel's tables in sessions of their own), then ours again to write.
        async with self._unit(by) as uow:
            source = await _source(uow.session, contact_id)
        queue_id = body.queue_id or (source.queue_ids[-1] if source.queue_ids else None)
        plan = await target.plan(by.tenant_id, body.account_id, queue_id)
        async with self._unit(by) as uow:
            order, source = await self._order(uow, by, contact_id, body, plan, queue_id)
        opened = await target.open(order)
        async with self._unit(by) as uow:
            await self._record(uow, by, order, source, body.channel, opened)
        return ChannelSwitchOut(
            from_contact_id=contact_id,
            from_interaction_id=source.id,
            from_channel=source.channel,
            contact_id=opened.contact_id,
            channel=body.channel,
            kind=opened.kind,
            customer_id=order.customer_id,
            case_id=order.case_id,
            preferred_agent_id=order.preferred_agent_id,
            conversation_id=opened.conversation_id,
            routed=opened.routed,
        )

    async def _order(
        self,
        uow: UnitOfWork,
        by: Principal,
        contact_id: str,
        body: ChannelSwitchIn,
        plan: SwitchPlan,
        queue_id: str | None,
    ) -> tuple[SwitchOrder, Interaction]:
        session = uow.session
        source = await _source(session, contact_id)
        assert source.customer_id is not None
        customer = await repo.customer(session, source.customer_id)
        case_id = await _case(session, customer.id, source, body.case_id)
        identity = await _identity(uow, by, customer.id, plan, body.address)
        settings = await repo.settings(session, by.tenant_id)
        preferred = source.agent_ids[-1] if source.agent_ids else None
        if preferred is None and by.role is Role.AGENT:
            preferred = str(by.user_id)  # the agent moving an unhandled contact on takes it
        order = SwitchOrder(
            tenant_id=by.tenant_id,
            customer_id=customer.id,
            identity_id=identity.id,
            address=identity.value,
            case_id=case_id,
            from_contact_id=contact_id,
            from_channel=source.channel,
            preferred_agent_id=preferred if settings.prefer_last_agent_seconds > 0 else None,
            preferred_for_seconds=float(settings.prefer_last_agent_seconds),
            queue_id=queue_id,
            account_id=body.account_id,
            actor_id=by.user_id,
        )
        return order, source

    async def _record(
        self,
        uow: UnitOfWork,
        by: Principal,
        order: SwitchOrder,
        source: Interaction,
        channel: str,
        opened: SwitchOpened,
    ) -> None:
        uow.record(
            ChannelSwitched(
                from_contact_id=order.from_contact_id,
                from_interaction_id=source.id,
                from_channel=source.channel,
                to_contact_id=opened.contact_id,
                to_channel=channel,
                kind=opened.kind,
                customer_id=order.customer_id,
                case_id=order.case_id,
                preferred_agent_id=order.preferred_agent_id,
                conversation_id=opened.conversation_id,
            ),
            await audiences.of_customer(
                uow.session, order.customer_id, by.user_id, *_uuids(source.agent_ids)
            ),
        )
        await timeline.add(
            uow, order.customer_id, "channel_switch", "interaction", source.id,
            from_channel=source.channel, to_channel=channel, to_contact_id=opened.contact_id,
            switch_kind=opened.kind, case_id=str(order.case_id) if order.case_id else None,
            preferred_agent_id=order.preferred_agent_id, by=str(by.user_id),
        )  # fmt: skip


async def _source(session: AsyncSession, contact_id: str) -> Interaction:
    """The contact to switch from: on record, and someone's."""
    source = await session.scalar(select(Interaction).where(Interaction.contact_id == contact_id))
    if source is None:
        raise NotFound(f"no contact {contact_id!r} on record", contact_id=contact_id)
    if source.customer_id is None:
        raise Conflict(
            "the contact has no customer: say whose it is first "
            f"(PUT /crm/interactions/{source.id}/customer)",
            field="contact_id",
        )
    return source


def _uuids(values: list[str]) -> list[uuid.UUID | None]:
    out: list[uuid.UUID | None] = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


async def _case(
    session: AsyncSession, customer_id: uuid.UUID, source: Interaction, given: uuid.UUID | None
) -> uuid.UUID | None:
    """The matter's case: the one given (the customer's), the contact's, or the customer's
    most recently updated open case; none when there is none (the switch opens no case)."""
    if given is not None:
        case = await repo.case(session, given)
        if case.customer_id != customer_id:
            raise Conflict(f"case {given} is another customer's", field="case_id")
        return case.id
    if source.case_id is not None:
        return source.case_id
    found: uuid.UUID | None = await session.scalar(
        select(Case.id)
        .where(Case.customer_id == customer_id, Case.status.in_(OPEN))
        .order_by(Case.updated_at.desc(), Case.number.desc())
        .limit(1)
    )
    return found


async def _identity(
    uow: UnitOfWork, by: Principal, customer_id: uuid.UUID, plan: SwitchPlan, address: str | None
) -> Identity:
    """The customer's identity to reach them on the new channel: the address given (a new one
    becomes theirs; another customer's is 409), or their own of that kind."""
    if address is None:
        stmt = select(Identity).where(
            Identity.customer_id == customer_id, Identity.kind == plan.identity_kind
        )
        if plan.provider is not None:
            stmt = stmt.where(Identity.provider == plan.provider)
        found = await uow.session.scalar(stmt.order_by(Identity.created_at.desc()).limit(1))
        if found is None:
            raise Invalid(
                f"the customer has no {plan.identity_kind} identity: give the address",
                field="address",
            )
        return found
    given = IdentityIn.model_validate(
        {"kind": plan.identity_kind, "value": address, "provider": plan.provider}
    )
    key = await identities.normalise(uow, given, field="address")
    known = await identities.lookup(uow.session, key)
    row = await identities.attach(uow, customer_id, key, field="address")
    if known is None:
        uow.record(
            IdentityAdded(customer_id=customer_id, identity_id=row.id, kind=row.kind),
            await audiences.of_customer(uow.session, customer_id, by.user_id),
        )
    return row


# --- the card: what came before the switch ----------------------------------------------------


def conversation_of(row: Interaction) -> uuid.UUID | None:
    """The conversation a digital contact was a round of (its `conversation_opened` step)."""
    for entry in row.steps:
        detail = entry.get("detail")
        if entry.get("step") == "conversation_opened" and isinstance(detail, dict):
            try:
                return uuid.UUID(str(detail.get("conversation_id")))
            except ValueError:
                return None
    return None


async def with_transcript(
    card: ContactCard, tenant_id: uuid.UUID, transcripts: Transcripts | None
) -> ContactCard:
    """The card with the earlier conversation's messages. Read after the card's own
    transaction: the channel reads in a session of its own, which must not wait behind the
    card's (SQLite has one writer, and a request's unit of work takes the lock)."""
    before = card.switched_from
    if before is None or before.conversation_id is None or transcripts is None or before.purged:
        return card
    lines = await transcripts.messages(tenant_id, before.conversation_id, TRANSCRIPT_LINES)
    before.messages = [TranscriptLine.model_validate(line) for line in lines]
    return card


async def switched_from(session: AsyncSession, row: Interaction) -> SwitchedFromContact | None:
    """The contact `row` continues, without its messages yet (`with_transcript`)."""
    if row.switched_from is None:
        return None
    earlier = await session.get(Interaction, row.switched_from)
    if earlier is None:
        return None
    duration = None
    if earlier.ended_at is not None:
        duration = (earlier.ended_at - earlier.started_at).total_seconds()
    return SwitchedFromContact(
        interaction_id=earlier.id,
        contact_id=earlier.contact_id,
        channel=earlier.channel,
        kind=earlier.kind,
        direction=earlier.direction,
        started_at=earlier.started_at,
        ended_at=earlier.ended_at,
        duration_seconds=duration,
        end_reason=earlier.end_reason,
        agent_ids=list(earlier.agent_ids),
        queue_ids=list(earlier.queue_ids),
        case_id=earlier.case_id,
        disposition=earlier.disposition,
        disposition_note=earlier.disposition_note,
        resolved=earlier.resolved,
        recordings=[views.recording_link(r) for r in earlier.recording_ids],
        transcript=earlier.transcript,
        conversation_id=conversation_of(earlier),
        purged=earlier.content_purged_at is not None,
        messages=[],
    )
