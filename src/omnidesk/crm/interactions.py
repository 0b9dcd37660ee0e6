"""Interaction records: every contact on record, projected from the event log.

routing.* events give a contact's life (received, queued, offered, accepted, transferred,
consulted, ended, wrap-up); voice.* events give its call: who called (inbound: the caller's
number, outbound: the called number, resolved to a customer, created when unknown), the
recordings, callbacks and voicemail messages. They come in log order but a call's steps are
written by the voice channel's batching writer, so a routing event may precede the voice event
that tells which call it belongs to: records are keyed by contact id, a call that is not (yet)
known as a routing contact is kept under its call id, and folded into its contact's record when
a voice event names both (a callback's outbound call, answered for the callback contact).

follower.py feeds batches of events in order from a stored cursor; a record remembers the last
event applied (`last_seq`), so applying a batch twice changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, select

from omnidesk.crm import audiences, dispositions, identities, normalize
from omnidesk.crm.events import InteractionCreated, InteractionUpdated, OfferCustomerCard
from omnidesk.crm.identities import Resolution
from omnidesk.crm.models import Disposition, Interaction, TimelineEntry
from omnidesk.crm.projection_handlers import HANDLERS, at, customer_number, union
from omnidesk.platform.eventlog import EventRecord
from omnidesk.platform.uow import UnitOfWork


class Projection:
    """Applies one batch of events (oldest first) to the interaction records of a tenant."""

    def __init__(self, uow: UnitOfWork, region: str | None) -> None:
        self.uow = uow
        self.region = region
        self.by_contact: dict[str, Interaction] = {}
        self.by_call: dict[str, Interaction] = {}
        self.created: set[uuid.UUID] = set()
        self.touched: dict[uuid.UUID, Interaction] = {}
        self.removed: set[uuid.UUID] = set()
        self.resolved: dict[str, Resolution] = {}
        self._codes: dict[str, Disposition | None] = {}
        # Offers whose agent is told the customer: (record, offer id, agent id).
        self._cards: list[tuple[Interaction, str, str]] = []

    async def apply(self, records: Sequence[EventRecord]) -> None:
        await self._load(records)
        await self._resolve_numbers(records)
        for record in records:
            handler = HANDLERS.get(record.type)
            if handler is not None:
                await handler(self, record, record.payload)
        await self.uow.session.flush()
        await self._timeline()
        await self._announce()

    # --- loading and resolving, once per batch ------------------------------------------

    async def _load(self, records: Sequence[EventRecord]) -> None:
        contacts = {str(r.payload["contact_id"]) for r in records if r.payload.get("contact_id")}
        # A channel switch names its new contact so (crm.channel_switched).
        contacts |= {
            str(r.payload["to_contact_id"]) for r in records if r.payload.get("to_contact_id")
        }
        calls = {str(r.payload["call_id"]) for r in records if r.payload.get("call_id")}
        for r in records:
            detail = r.payload.get("detail")
            if (
                r.type.startswith("voice.")
                and isinstance(detail, dict)
                and detail.get("callback_id")
            ):
                contacts.add(str(detail["callback_id"]))
        if not contacts and not calls:
            return
        rows = await self.uow.session.scalars(
            select(Interaction).where(
                or_(Interaction.contact_id.in_(contacts | calls), Interaction.call_id.in_(calls))
            )
        )
        for row in rows:
            self._index(row)

    async def _resolve_numbers(self, records: Sequence[EventRecord]) -> None:
        numbers: dict[str, normalize.IdentityKey] = {}
        for record in records:
            raw = customer_number(record)
            phone = normalize.maybe_phone(raw, self.region)
            if raw and phone:
                numbers[raw] = normalize.IdentityKey(normalize.IdentityKind.PHONE, phone)
        if numbers:
            keys = list(numbers.values())
            found = await identities.resolve_many(self.uow, keys, source="contact")
            self.resolved = dict(zip(numbers, found, strict=True))

    # --- records --------------------------------------------------------------------------

    def _index(self, row: Interaction) -> None:
        self.by_contact[row.contact_id] = row
        if row.call_id:
            self.by_call[row.call_id] = row

    def get_or_create(
        self, key: str, record: EventRecord, *, channel: str, direction: str, kind: str
    ) -> Interaction:
        row = self.by_contact.get(key)
        if row is None:
            row = Interaction(
                id=uuid.uuid4(),
                contact_id=key,
                kind=kind,
                channel=channel,
                direction=direction,
                queue_ids=[],
                agent_ids=[],
                steps=[],
                recording_ids=[],
                started_at=at(record),
                last_seq=0,
            )
            self.uow.session.add(row)
            self.created.add(row.id)
            self._index(row)
        return row

    def fresh(self, row: Interaction | None, record: EventRecord) -> Interaction | None:
        """The row, if this event is news to it (not applied before)."""
        if row is None or row.last_seq >= record.seq:
            return None
        row.last_seq = record.seq
        row.updated_at = record.occurred_at
        self.touched[row.id] = row
        return row

    def for_call(self, payload: dict[str, Any]) -> Interaction | None:
        contact = payload.get("contact_id")
        if contact and str(contact) in self.by_contact:
            return self.by_contact[str(contact)]
        call = str(payload.get("call_id") or "")
        return self.by_call.get(call) or self.by_contact.get(call)

    def set_customer(self, row: Interaction, resolution: Resolution | None) -> None:
        if resolution is not None and row.customer_id is None:
            row.customer_id, row.identity_id = resolution.customer_id, resolution.identity_id

    async def disposition(self, code: str) -> Disposition | None:
        if code not in self._codes:
            self._codes[code] = await dispositions.by_code(self.uow.session, code)
        return self._codes[code]

    def offer_card(self, row: Interaction, offer_id: str, agent_id: str) -> None:
        """Tell the offered agent the customer, once per offer: the offer's step remembers it
        (the customer may become known by the call's number before the offer and be
        identified again after it)."""
        steps = list(row.steps)
        for n in range(len(steps) - 1, -1, -1):
            if steps[n].get("step") == "offered" and steps[n].get("offer_id") == offer_id:
                if steps[n].get("card"):
                    return
                steps[n] = {**steps[n], "card": True}
                row.steps = steps
                break
        self._cards.append((row, offer_id, agent_id))

    def fold(self, call_row: Interaction, into: Interaction) -> None:
        """A call kept under its call id turns out to be `into`'s call: one record."""
        into.call_id = call_row.call_id
        if into.customer_id is None:
            into.customer_id, into.identity_id = call_row.customer_id, call_row.identity_id
        into.steps = sorted([*into.steps, *call_row.steps], key=lambda s: (s["at"], s["seq"]))
        into.recording_ids = union(into.recording_ids, call_row.recording_ids)
        into.agent_ids = union(into.agent_ids, call_row.agent_ids)
        into.started_at = min(into.started_at, call_row.started_at)
        into.last_seq = max(into.last_seq, call_row.last_seq)
        self.by_contact.pop(call_row.contact_id, None)
        if call_row.call_id:
            self.by_call[call_row.call_id] = into
        self.touched.pop(call_row.id, None)
        self.created.discard(call_row.id)
        self.removed.add(call_row.id)

    # --- after the batch ------------------------------------------------------------------

    async def _timeline(self) -> None:
        session = self.uow.session
        if self.removed:
            await session.execute(
                delete(TimelineEntry).where(
                    TimelineEntry.ref_type == "interaction",
                    TimelineEntry.ref_id.in_([str(i) for i in self.removed]),
                )
            )
            await session.execute(delete(Interaction).where(Interaction.id.in_(self.removed)))
        attached = {str(r.id): r for r in self.touched.values() if r.customer_id is not None}
        if not attached:
            return
        have = set(
            await session.scalars(
                select(TimelineEntry.ref_id).where(
                    TimelineEntry.kind == "interaction",
                    TimelineEntry.ref_type == "interaction",
                    TimelineEntry.ref_id.in_(attached),
                )
            )
        )
        for ref_id, row in attached.items():
            if ref_id not in have:
                assert row.customer_id is not None
                session.add(
                    TimelineEntry(
                        customer_id=row.customer_id,
                        at=row.started_at,
                        kind="interaction",
                        ref_type="interaction",
                        ref_id=ref_id,
                        data={"channel": row.channel, "direction": row.direction},
                    )
                )

    async def _announce(self) -> None:
        who = await audiences.Audiences.load(
            self.uow.session,
            [
                *(agent for row in self.touched.values() for agent in row.agent_ids),
                *(agent_id for _, _, agent_id in self._cards),
            ],
        )
        for row in self.touched.values():
            event_cls = InteractionCreated if row.id in self.created else InteractionUpdated
            self.uow.record(
                event_cls(**event_fields(row)),
                who.of_users(row.agent_ids),
            )
        for row, offer_id, agent_id in self._cards:
            if row.customer_id is None or row.id in self.removed:
                continue
            self.uow.record(
                OfferCustomerCard(
                    offer_id=offer_id,
                    contact_id=row.contact_id,
                    agent_id=agent_id,
                    customer_id=row.customer_id,
                    interaction_id=row.id,
                    case_id=row.case_id,
                    repeat=row.repeat_of is not None,
                ),
                who.of_users([agent_id]),
            )


def event_fields(row: Interaction) -> dict[str, Any]:
    return {
        "interaction_id": row.id,
        "contact_id": row.contact_id,
        "channel": row.channel,
        "direction": row.direction,
        "kind": row.kind,
        "state": row.state,
        "customer_id": row.customer_id,
        "case_id": row.case_id,
        "agent_ids": list(row.agent_ids),
        "queue_ids": list(row.queue_ids),
    }
