"""Privacy: export everything about a customer, erase a customer, purge old contact content.

Erasure anonymises rather than deletes, so aggregates (how many contacts, how long, which
queue) and the audit trail stay: the profile, identities, custom fields, consent, note bodies,
transcripts and disposition notes go, case titles and fields are blanked, name words no other
customer has leave the search vocabulary, and customers merged into this one are erased with it.
The rest of the product keeps data about the customer's contacts too: each such part is a
`PersonalDataHolder` (platform/redaction.py) handed in by the app root — routing (notes in its
log and events), voice (call records' numbers, call events, recordings), the conversation store
(messages, addresses, attachment files) — and erases its part in the same transaction. The
CRM's own events never held personal values (events.py). The erasure is audited with counts
only (docs/adr/0018-erasure-reaches-every-store.md).

Retention: per tenant, ended interactions older than `retention_days` lose their content
(transcript, disposition note, the notes written on them); the scheduled job is jobs.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm import audiences, cases, merge, search, timeline, views
from omnidesk.crm import repository as repo
from omnidesk.crm.events import CustomerErased
from omnidesk.crm.models import (
    Case,
    Customer,
    Identity,
    Interaction,
    Merge,
    Note,
    TimelineEntry,
)
from omnidesk.crm.record_schemas import CustomerExport, EraseOut
from omnidesk.crm.service import require_admin, require_staff
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict
from omnidesk.platform.redaction import Erasure, Expiry, PersonalDataHolder, Redaction
from omnidesk.platform.uow import UnitOfWork

ERASED = "[erased]"


async def export(uow: UnitOfWork, by: Principal, customer_id: uuid.UUID) -> CustomerExport:
    session = uow.session
    customer = await repo.customer(session, customer_id, active=False)
    require_staff(by)  # after the lookup: another tenant's customer is 404 for everyone
    ids = (await repo.identities_of(session, [customer.id])).get(customer.id, [])
    case_rows = list(await session.scalars(select(Case).where(Case.customer_id == customer.id)))
    interactions = list(
        await session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer.id)
            .order_by(Interaction.started_at)
        )
    )
    notes = await session.scalars(
        select(Note).where(Note.customer_id == customer.id).order_by(Note.created_at)
    )
    entries = await session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.customer_id == customer.id)
        .order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc())
    )
    merges = await merge.of_customer(uow, customer.id)
    recordings = [r for i in interactions for r in i.recording_ids]
    return CustomerExport(
        exported_at=utcnow(),
        customer=views.customer_out(customer, ids),
        cases=await cases.out(uow, case_rows),
        interactions=[views.interaction_out(i) for i in interactions],
        notes=[views.note_out(n) for n in notes],
        timeline=await timeline.items(session, list(entries)),
        merges=[await merge.explain(uow, m) for m in merges],
        recordings=[views.recording_link(r) for r in recordings],
    )


async def erase(
    uow: UnitOfWork,
    by: Principal,
    customer_id: uuid.UUID,
    holders: Sequence[PersonalDataHolder] = (),
) -> EraseOut:
    require_admin(by)
    session = uow.session
    customer = await repo.customer(session, customer_id, active=False, lock=True)
    if customer.status == "merged":
        raise Conflict(
            f"customer {customer_id} was merged into {customer.merged_into}: erase that one",
            merged_into=str(customer.merged_into),
        )
    if customer.status == "erased":
        raise Conflict(f"customer {customer_id} is erased already")
    everyone = [customer.id, *await _merged_into(session, customer.id)]
    now = utcnow()
    # Read before the anonymising below takes them away: what the other holders look for.
    erasure = await _erasure(session, everyone)
    counts = await _anonymise(session, everyone, now)
    await session.execute(
        update(Interaction)
        .where(Interaction.customer_id.in_(everyone))
        .values(transcript=None, disposition_note=None, recording_ids=[], updated_at=now)
    )
    await session.flush()
    # Last, once every row change is in: files cannot be rolled back, and an erasure whose
    # commit fails is simply asked for again (the rows then point at missing files: 404).
    held: dict[str, int] = {}
    for holder in holders:
        for key, count in (await holder.erase(session, erasure)).items():
            held[key] = held.get(key, 0) + count
    await timeline.add(uow, customer.id, "erased", "customer", customer.id)
    result = EraseOut(
        customer_id=customer.id,
        erased_at=now,
        recordings=held.get("recordings", 0),
        calls=held.get("calls", 0),
        conversations=held.get("conversations", 0),
        events=held.get("events", 0),
        surveys=held.get("surveys", 0),
        survey_texts=held.get("survey_texts", 0),
        evaluation_comments=held.get("evaluation_comments", 0),
        **counts,
    )
    details = result.model_dump(mode="json", exclude={"customer_id", "erased_at"})
    audit(uow, by, "crm.customer.erase", "customer", customer.id, **details)
    uow.record(
        CustomerErased(customer_id=customer.id, recordings_deleted=result.recordings),
        await audiences.of_customer(session, customer.id, by.user_id),
    )
    return result


async def _erasure(session: AsyncSession, everyone: list[uuid.UUID]) -> Erasure:
    """Their contacts, calls and recordings, and every value of theirs another store may hold:
    identity values (numbers, addresses, channel ids) and full names."""
    identities = await session.scalars(
        select(Identity.value).where(Identity.customer_id.in_(everyone))
    )
    names = await session.scalars(select(Customer.display_name).where(Customer.id.in_(everyone)))
    rows = (
        await session.execute(
            select(Interaction.contact_id, Interaction.call_id, Interaction.recording_ids).where(
                Interaction.customer_id.in_(everyone)
            )
        )
    ).all()
    return Erasure(
        customer_ids=everyone,
        contact_ids=sorted({contact for contact, _, _ in rows if contact}),
        call_ids=sorted({call for _, call, _ in rows if call}),
        recording_ids=sorted({r for _, _, ids in rows for r in ids or ()}),
        redaction=Redaction.of(values=[*identities, *names]),
    )


async def _merged_into(session: AsyncSession, customer_id: uuid.UUID) -> list[uuid.UUID]:
    """Every customer merged (directly or through others) into this one."""
    found: list[uuid.UUID] = []
    frontier = [customer_id]
    while frontier:
        rows = list(
            await session.scalars(select(Customer.id).where(Customer.merged_into.in_(frontier)))
        )
        found += rows
        frontier = rows
    return found


async def _anonymise(
    session: AsyncSession, everyone: list[uuid.UUID], now: datetime
) -> dict[str, int]:
    identities = await session.execute(delete(Identity).where(Identity.customer_id.in_(everyone)))
    names = list(
        await session.scalars(select(Customer.display_name).where(Customer.id.in_(everyone)))
    )
    for customer_id in everyone:
        await search.forget(session, customer_id)
    await search.forget_words(session, [n for n in names if n])
    await session.execute(
        update(Customer)
        .where(Customer.id.in_(everyone))
        .values(
            display_name=None, language=None, timezone=None, tier=None, vip=False, tags=[],
            fields={}, consent={}, status="erased", erased_at=now, updated_at=now,
        )
    )  # fmt: skip
    notes = await session.execute(
        update(Note).where(Note.customer_id.in_(everyone)).values(body=None, purged_at=now)
    )
    case_rows = await session.execute(
        update(Case)
        .where(Case.customer_id.in_(everyone))
        .values(title=ERASED, fields={}, updated_at=now)
    )
    # The survivor's profile before a merge is personal data too (and the merge is final now).
    await session.execute(
        update(Merge)
        .where(Merge.survivor_id.in_(everyone) | Merge.merged_id.in_(everyone))
        .values(survivor_before={})
    )
    interactions = await session.scalar(
        select(func.count()).select_from(Interaction).where(Interaction.customer_id.in_(everyone))
    )
    return {
        "customers": len(everyone),
        "identities": identities.rowcount,  # type: ignore[attr-defined]
        "notes": notes.rowcount,  # type: ignore[attr-defined]
        "cases": case_rows.rowcount,  # type: ignore[attr-defined]
        "interactions": int(interactions or 0),
    }


# --- retention -----------------------------------------------------------------------------


async def purge_expired(
    uow: UnitOfWork,
    now: datetime,
    *,
    limit: int = 1000,
    holders: Sequence[PersonalDataHolder] = (),
) -> int:
    """Purge the content of up to `limit` ended interactions past the tenant's retention,
    here and in every holder (routing's notes, recordings, conversation messages); returns
    how many interactions. Nothing happens for a tenant without a retention period."""
    assert uow.tenant_id is not None
    settings = await repo.settings(uow.session, uow.tenant_id)
    if settings.retention_days is None:
        return 0
    cutoff = now - timedelta(days=settings.retention_days)
    rows = (
        await uow.session.execute(
            select(
                Interaction.id,
                Interaction.contact_id,
                Interaction.call_id,
                Interaction.recording_ids,
            )
            .where(
                Interaction.state == "ended",
                Interaction.ended_at < cutoff,
                Interaction.content_purged_at.is_(None),
            )
            .limit(limit)
        )
    ).all()
    ids = [row.id for row in rows]
    if holders:
        expiry = Expiry(
            contact_ids=[row.contact_id for row in rows],
            call_ids=[row.call_id for row in rows if row.call_id],
            recording_ids=[r for row in rows for r in row.recording_ids or ()],
            before=cutoff,
        )
        for holder in holders:
            await holder.expire(uow.session, expiry)
    if not ids:
        return 0
    await uow.session.execute(
        update(Interaction)
        .where(Interaction.id.in_(ids))
        .values(transcript=None, disposition_note=None, recording_ids=[], content_purged_at=now)
    )
    await uow.session.execute(
        update(Note)
        .where(Note.interaction_id.in_(ids), Note.purged_at.is_(None))
        .values(body=None, purged_at=now)
    )
    audit(uow, None, "crm.retention.purge", "crm_settings", uow.tenant_id, interactions=len(ids))
    return len(ids)
