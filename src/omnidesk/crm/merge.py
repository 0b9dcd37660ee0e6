"""Merging two customers, undoing a merge, and splitting a wrongly attached identity off.

A merge moves the merged customer's identities, interactions, cases, notes and timeline to the
survivor, fills the survivor's empty profile fields from it, and leaves the merged customer as
a shell (status "merged", `merged_into`) that keeps its profile for an undo. The merge row
records every id that moved and the survivor's profile before, so it can be explained.

It can be undone while nothing depends on it. Something depends on it when, after the merge:
- the survivor is no longer active (merged into another customer, or erased), or the merged
  shell changed (erased);
- a moved identity, interaction or case was changed or moved again (split, relinked, a
  contact's record still running and updated, a case edited): its `updated_at` is later than
  the merge;
- a new interaction came in through a moved identity, or a note was written on a moved
  interaction or case: undoing would have to guess whose it is.
Undo refuses (409) naming each of these; otherwise it moves exactly the recorded ids back and
restores the profile fields the merge filled (those still holding the filled value).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select, update

from omnidesk.crm import audiences, search, timeline
from omnidesk.crm import repository as repo
from omnidesk.crm.events import CustomerMerged, CustomerSplit, MergeUndone
from omnidesk.crm.models import (
    Case,
    Customer,
    Identity,
    Interaction,
    Merge,
    Note,
    TimelineEntry,
)
from omnidesk.crm.record_schemas import MergeOut, SplitIn, SplitOut
from omnidesk.crm.service import require_staff
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork

# The tables whose rows a merge moves (each has id and customer_id).
MOVED: dict[str, Any] = {
    "identities": Identity,
    "interactions": Interaction,
    "cases": Case,
    "notes": Note,
    "timeline": TimelineEntry,
}
FILLABLE = ("display_name", "language", "timezone", "tier")


async def _locked_pair(
    uow: UnitOfWork, first: uuid.UUID, second: uuid.UUID, *, active: bool = True
) -> tuple[Customer, Customer]:
    # Locked in id order: two merges of the same pair in opposite directions cannot deadlock.
    rows = {}
    for customer_id in sorted((first, second)):
        rows[customer_id] = await repo.customer(uow.session, customer_id, lock=True, active=active)
    return rows[first], rows[second]


async def merge(
    uow: UnitOfWork, by: Principal, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> Merge:
    require_staff(by)
    if survivor_id == merged_id:
        raise Invalid("a customer cannot be merged into itself", field="merged_id")
    survivor, merged = await _locked_pair(uow, survivor_id, merged_id)
    now = utcnow()
    moved: dict[str, list[str]] = {}
    for name, model in MOVED.items():
        ids = list(
            await uow.session.scalars(select(model.id).where(model.customer_id == merged.id))
        )
        moved[name] = [str(i) for i in ids]
        if ids:
            values: dict[str, Any] = {"customer_id": survivor.id}
            if hasattr(model, "updated_at"):
                values["updated_at"] = now
            await uow.session.execute(update(model).where(model.id.in_(ids)).values(**values))
    before = _profile(survivor)
    filled = _fill(survivor, merged)
    merged.status, merged.merged_into, merged.updated_at = "merged", survivor.id, now
    survivor.updated_at = now
    row = Merge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        at=now,
        by=by.user_id,
        moved={**moved, "filled": filled},
        survivor_before=before,
    )
    uow.session.add(row)
    await uow.session.flush()
    await _reindex(uow, survivor)
    await search.forget(uow.session, merged.id)
    await timeline.add(uow, survivor.id, "merged", "merge", row.id, merged_id=str(merged.id))
    uow.record(
        CustomerMerged(
            customer_id=survivor.id,
            merge_id=row.id,
            merged_id=merged.id,
            moved={name: len(ids) for name, ids in moved.items()},
        ),
        await audiences.of_customer(uow.session, survivor.id, by.user_id),
    )
    audit(uow, by, "crm.customer.merge", "customer", survivor.id, merged_id=str(merged.id))
    return row


def _ids(name: str, values: list[str]) -> list[Any]:
    """Recorded ids as their column takes them (timeline entries have integer ids)."""
    return [int(v) if name == "timeline" else uuid.UUID(v) for v in values]


def _profile(row: Customer) -> dict[str, Any]:
    return {
        **{name: getattr(row, name) for name in FILLABLE},
        "vip": row.vip,
        "tags": list(row.tags),
        "fields": dict(row.fields),
        "consent": dict(row.consent),
    }


def _fill(survivor: Customer, merged: Customer) -> list[str]:
    """The survivor keeps what it has and gains what only the merged customer had."""
    filled = []
    for name in FILLABLE:
        if getattr(survivor, name) is None and getattr(merged, name) is not None:
            setattr(survivor, name, getattr(merged, name))
            filled.append(name)
    if merged.vip and not survivor.vip:
        survivor.vip = True
        filled.append("vip")
    if set(merged.tags) - set(survivor.tags):
        survivor.tags = sorted({*survivor.tags, *merged.tags})
        filled.append("tags")
    extra = {k: v for k, v in merged.fields.items() if k not in survivor.fields}
    if extra:
        survivor.fields = {**survivor.fields, **extra}
        filled.append("fields")
    consent = {k: v for k, v in merged.consent.items() if k not in survivor.consent}
    if consent:
        survivor.consent = {**survivor.consent, **consent}
        filled.append("consent")
    return filled


async def _reindex(uow: UnitOfWork, row: Customer) -> None:
    assert uow.tenant_id is not None
    await search.index_name(uow.session, uow.tenant_id, row.id, row.display_name)
    await search.index_fields(uow.session, uow.tenant_id, row.id, row.fields)


# --- explaining and undoing ----------------------------------------------------------------


async def get(uow: UnitOfWork, merge_id: uuid.UUID) -> Merge:
    row = await uow.session.scalar(select(Merge).where(Merge.id == merge_id))
    if row is None:
        raise NotFound(f"merge {merge_id} not found")
    return row


async def of_customer(uow: UnitOfWork, customer_id: uuid.UUID) -> list[Merge]:
    rows = await uow.session.scalars(
        select(Merge)
        .where(or_(Merge.survivor_id == customer_id, Merge.merged_id == customer_id))
        .order_by(Merge.at.desc())
    )
    return list(rows)


async def blocked_by(uow: UnitOfWork, row: Merge) -> list[str]:
    """Why the merge can no longer be undone (module docstring); empty while it can."""
    if row.state != "merged":
        return ["the merge was undone"]
    session, reasons = uow.session, []
    survivor = await repo.customer(session, row.survivor_id, active=False)
    merged = await repo.customer(session, row.merged_id, active=False)
    if survivor.status != "active":
        reasons.append(f"the surviving customer is {survivor.status} now")
    if merged.status != "merged" or merged.merged_into != survivor.id:
        reasons.append(f"the merged customer is {merged.status} now")
    for name in ("identities", "interactions", "cases"):
        model = MOVED[name]
        ids = _ids(name, row.moved.get(name, []))
        if ids and await session.scalar(
            select(model.id)
            .where(
                model.id.in_(ids),
                or_(model.customer_id != survivor.id, model.updated_at > row.at),
            )
            .limit(1)
        ):
            reasons.append(f"moved {name} changed since the merge")
    identity_ids = [uuid.UUID(i) for i in row.moved.get("identities", [])]
    moved_interactions = set(row.moved.get("interactions", []))
    if identity_ids and await session.scalar(
        select(Interaction.id)
        .where(Interaction.identity_id.in_(identity_ids), Interaction.created_at > row.at)
        .limit(1)
    ):
        reasons.append("a new interaction came in through a moved identity")
    moved_items = [uuid.UUID(i) for i in moved_interactions | set(row.moved.get("cases", []))]
    if moved_items and await session.scalar(
        select(Note.id)
        .where(
            or_(Note.interaction_id.in_(moved_items), Note.case_id.in_(moved_items)),
            Note.created_at > row.at,
        )
        .limit(1)
    ):
        reasons.append("a note was written on a moved interaction or case")
    return reasons


async def explain(uow: UnitOfWork, row: Merge) -> MergeOut:
    moved = {k: list(v) for k, v in row.moved.items() if k != "filled"}
    return MergeOut(
        id=row.id,
        survivor_id=row.survivor_id,
        merged_id=row.merged_id,
        at=row.at,
        by=row.by,
        moved=moved,
        filled=list(row.moved.get("filled", [])),
        state=row.state,
        undone_at=row.undone_at,
        blocked_by=await blocked_by(uow, row) if row.state == "merged" else [],
    )


async def undo(uow: UnitOfWork, by: Principal, merge_id: uuid.UUID) -> Merge:
    require_staff(by)
    row = await get(uow, merge_id)
    survivor, merged = await _locked_pair(uow, row.survivor_id, row.merged_id, active=False)
    reasons = await blocked_by(uow, row)
    if reasons:
        raise Conflict("this merge cannot be undone: " + "; ".join(reasons), blocked_by=reasons)
    now = utcnow()
    for name, model in MOVED.items():
        ids = _ids(name, row.moved.get(name, []))
        if ids:
            values: dict[str, Any] = {"customer_id": merged.id}
            if hasattr(model, "updated_at"):
                values["updated_at"] = now
            await uow.session.execute(update(model).where(model.id.in_(ids)).values(**values))
    _restore(survivor, merged, row)
    merged.status, merged.merged_into, merged.updated_at = "active", None, now
    survivor.updated_at = now
    row.state, row.undone_at, row.undone_by = "undone", now, by.user_id
    await uow.session.flush()
    await _reindex(uow, survivor)
    await _reindex(uow, merged)
    for customer_id in (survivor.id, merged.id):
        await timeline.add(uow, customer_id, "merge_undone", "merge", row.id)
    uow.record(
        MergeUndone(customer_id=survivor.id, merge_id=row.id, restored_id=merged.id),
        await audiences.of_customer(uow.session, survivor.id, by.user_id),
    )
    audit(uow, by, "crm.customer.merge_undo", "customer", survivor.id, merge_id=str(row.id))
    return row


def _restore(survivor: Customer, merged: Customer, row: Merge) -> None:
    before = row.survivor_before
    for name in row.moved.get("filled", []):
        if name in FILLABLE and getattr(survivor, name) == getattr(merged, name):
            setattr(survivor, name, before.get(name))
        elif name == "vip":
            survivor.vip = bool(before.get("vip"))
        elif name == "tags":
            survivor.tags = sorted(set(survivor.tags) - (set(merged.tags) - set(before["tags"])))
        elif name in ("fields", "consent"):
            current: dict[str, Any] = getattr(survivor, name)
            gained = set(getattr(merged, name)) - set(before[name])
            setattr(survivor, name, {k: v for k, v in current.items() if k not in gained})


# --- split ---------------------------------------------------------------------------------


async def split(uow: UnitOfWork, by: Principal, customer_id: uuid.UUID, data: SplitIn) -> SplitOut:
    require_staff(by)
    source = await repo.customer(uow.session, customer_id, lock=True)
    identity = await repo.identity(uow.session, data.identity_id)
    if identity.customer_id != source.id:
        raise NotFound(f"customer {customer_id} has no identity {data.identity_id}")
    created = data.to_customer_id is None
    if data.to_customer_id == source.id:
        raise Invalid("split an identity off to another customer", field="to_customer_id")
    if data.to_customer_id is None:
        target = Customer(tags=[], fields={}, consent={})
        uow.session.add(target)
        await uow.session.flush()
    else:
        target = await repo.customer(uow.session, data.to_customer_id, lock=True)
    now = utcnow()
    identity.customer_id, identity.updated_at = target.id, now
    moved = 0
    if data.move_interactions:
        ids = list(
            await uow.session.scalars(
                select(Interaction.id).where(
                    Interaction.identity_id == identity.id, Interaction.customer_id == source.id
                )
            )
        )
        moved = len(ids)
        if ids:
            await uow.session.execute(
                update(Interaction)
                .where(Interaction.id.in_(ids))
                .values(customer_id=target.id, updated_at=now)
            )
            await uow.session.execute(
                update(TimelineEntry)
                .where(
                    TimelineEntry.ref_type == "interaction",
                    TimelineEntry.ref_id.in_([str(i) for i in ids]),
                )
                .values(customer_id=target.id)
            )
    source.updated_at = target.updated_at = now
    await uow.session.flush()
    for side, other in ((source.id, target.id), (target.id, source.id)):
        await timeline.add(
            uow,
            side,
            "split",
            "identity",
            identity.id,
            other=str(other),
            identity_kind=identity.kind,
        )
    uow.record(
        CustomerSplit(
            customer_id=source.id,
            identity_id=identity.id,
            to_customer_id=target.id,
            created=created,
            interactions_moved=moved,
        ),
        await audiences.of_customer(uow.session, source.id, by.user_id),
    )
    audit(uow, by, "crm.customer.split", "customer", source.id, to=str(target.id))
    return SplitOut(
        from_customer_id=source.id, to_customer_id=target.id, created=created,
        interactions_moved=moved,
    )  # fmt: skip
