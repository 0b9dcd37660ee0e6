"""Routing's part of a customer's erasure (platform/redaction.py): the free text its commands
and events carried about the customer's contacts (wrap-up and transfer notes) and any of the
customer's values in them (a number in a contact attribute), in the log, the snapshots and the
event log. Ids, queues, states and instants stay: replay gives the same routing, with the
notes erased."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.redaction import CHUNK, Erasure, Expiry, Redaction, redact_events
from omnidesk.routing.models import RoutingLogEntry, RoutingSnapshot

# Free text an agent writes about a contact (EndWrapUp.note, Transfer.note and the events
# and attributes that carry them).
NOTE_KEYS = frozenset({"note", "transfer_note"})


class RoutingPersonalData:
    async def erase(self, session: AsyncSession, erasure: Erasure) -> dict[str, int]:
        redaction = Redaction(NOTE_KEYS, erasure.redaction.values)
        contacts = sorted(set(erasure.contact_ids))
        entries, positions = await _redact_log(session, contacts, redaction)
        snapshots = await _redact_snapshots(session, set(contacts), redaction, positions)
        events = await redact_events(session, {"contact": contacts}, redaction)
        return {"events": events, "routing_entries": entries, "routing_snapshots": snapshots}

    async def expire(self, session: AsyncSession, expiry: Expiry) -> dict[str, int]:
        """The notes of contacts past retention; ended, they are in no snapshot after their
        end, and the log's own retention is far shorter: the events are what is left."""
        redaction = Redaction(NOTE_KEYS)
        contacts = sorted(set(expiry.contact_ids))
        entries, _ = await _redact_log(session, contacts, redaction)
        events = await redact_events(session, {"contact": contacts}, redaction)
        return {"events": events, "routing_entries": entries}


async def _redact_log(
    session: AsyncSession, contacts: list[str], redaction: Redaction
) -> tuple[int, list[int]]:
    """The commands about these contacts, scrubbed; how many changed, and every position at
    which one of the contacts had a command (where they lived in the log)."""
    changed = 0
    positions: list[int] = []
    contact_of = RoutingLogEntry.command["contact_id"].as_string()
    for start in range(0, len(contacts), CHUNK):
        rows = await session.execute(
            select(RoutingLogEntry.id, RoutingLogEntry.position, RoutingLogEntry.command).where(
                contact_of.in_(contacts[start : start + CHUNK])
            )
        )
        for entry_id, position, command in rows.all():
            positions.append(position)
            scrubbed, hit = redaction.scrub(command)
            if hit:
                await session.execute(
                    update(RoutingLogEntry)
                    .where(RoutingLogEntry.id == entry_id)
                    .values(command=scrubbed)
                )
                changed += 1
    return changed, positions


async def _redact_snapshots(
    session: AsyncSession, contacts: set[str], redaction: Redaction, positions: list[int]
) -> int:
    """Snapshots hold the contacts live when they were taken: the erased customer's are
    scrubbed whole (notes and values), everything else only of the customer's values. Only
    the snapshots of the stretch of log where the contacts lived: from their first command to
    the first snapshot after their last (a wrap-up may end by a timer, not a command)."""
    if not positions:
        return 0
    values_only = Redaction(frozenset(), redaction.values)
    changed = 0
    after = await session.scalar(
        select(RoutingSnapshot.position)
        .where(RoutingSnapshot.position > max(positions))
        .order_by(RoutingSnapshot.position)
        .limit(1)
    )
    within = RoutingSnapshot.position >= min(positions)
    if after is not None:
        within = within & (RoutingSnapshot.position <= after)
    ids = list(await session.scalars(select(RoutingSnapshot.id).where(within)))
    for snapshot_id in ids:
        state = await session.scalar(
            select(RoutingSnapshot.state).where(RoutingSnapshot.id == snapshot_id)
        )
        scrubbed, hit = _scrub_state(state, contacts, redaction, values_only)
        if hit:
            await session.execute(
                update(RoutingSnapshot)
                .where(RoutingSnapshot.id == snapshot_id)
                .values(state=scrubbed)
            )
            changed += 1
    return changed


def _scrub_state(
    node: Any, contacts: set[str], whole: Redaction, values_only: Redaction
) -> tuple[Any, bool]:
    if isinstance(node, dict):
        if node.get("contact_id") in contacts or node.get("id") in contacts:
            return whole.scrub(node)
        changed = False
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in contacts:  # a map keyed by contact id
                out[key], hit = whole.scrub(value)
            else:
                out[key], hit = _scrub_state(value, contacts, whole, values_only)
            changed = changed or hit
        return out, changed
    if isinstance(node, list):
        items = [_scrub_state(item, contacts, whole, values_only) for item in node]
        return [item for item, _ in items], any(hit for _, hit in items)
    return values_only.scrub(node)
