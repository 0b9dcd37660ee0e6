"""Taking a person's data out of stored JSON (event payloads, routing commands) in place.

The event log is append-only for everything but this: erasing a customer (the right to be
forgotten) must reach the events and commands that carried their words and addresses, or the
erasure is not one. What is kept is every id, state, time and reason, so counts, durations and
replays stay exactly as they were (docs/adr/0018-erasure-reaches-every-store.md).

Two rules, applied together by `scrub`:
- by key: the value of any key in `keys` (free text such as a wrap-up note or a message body)
  is replaced, whatever it is;
- by value: any string that contains one of `values` (the customer's phone numbers, email
  addresses, channel addresses, full name; matched without regard to case) is replaced. Values
  shorter than MIN_VALUE are ignored: a short one would match ids and states by chance.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.eventlog import EventRecord

ERASED = "[erased]"
MIN_VALUE = 5
CHUNK = 500
Row = TypeVar("Row")


@dataclass(frozen=True)
class Redaction:
    """What to take out: the keys whose values are personal whatever they hold, and the
    person's own values wherever they appear."""

    keys: frozenset[str] = frozenset()
    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, keys: Iterable[str] = (), values: Iterable[str | None] = ()) -> Redaction:
        kept = {v.strip().casefold() for v in values if v and len(v.strip()) >= MIN_VALUE}
        return cls(frozenset(keys), tuple(sorted(kept)))

    def with_values(self, values: Iterable[str | None]) -> Redaction:
        return Redaction.of(self.keys, [*self.values, *values])

    def scrub(self, node: Any) -> tuple[Any, bool]:
        """`node` with the personal parts replaced, and whether anything was."""
        if isinstance(node, dict):
            changed = False
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key in self.keys and value is not None and value != ERASED:
                    out[key], changed = ERASED, True
                    continue
                out[key], hit = self.scrub(value)
                changed = changed or hit
            return out, changed
        if isinstance(node, list):
            items = [self.scrub(item) for item in node]
            return [item for item, _ in items], any(hit for _, hit in items)
        if isinstance(node, str) and node != ERASED:
            folded = node.casefold()
            if any(value in folded for value in self.values):
                return ERASED, True
        return node, False


@dataclass(frozen=True)
class Erasure:
    """One customer's erasure as the other parts of the product see it: whose (the customer
    and those merged into them), which of their contacts, calls and recordings, and their
    values to take out wherever they appear."""

    customer_ids: Sequence[uuid.UUID]
    contact_ids: Sequence[str]
    call_ids: Sequence[str]
    recording_ids: Sequence[str]
    redaction: Redaction


@dataclass(frozen=True)
class Expiry:
    """Contacts whose content the tenant's retention lets go: ended before `before`. Content
    is what was said and written (notes, messages, attachments, recordings); the facts of the
    contact (who, when, which queue, how long) stay."""

    contact_ids: Sequence[str]
    call_ids: Sequence[str]
    recording_ids: Sequence[str]
    before: datetime


class PersonalDataHolder(Protocol):
    """A part of the product that keeps data about customers' contacts (routing's log, voice's
    call records and recordings, the conversation store). The CRM calls each in the erasure's
    (or the retention purge's) transaction; each returns counts for the report."""

    async def erase(self, session: AsyncSession, erasure: Erasure) -> dict[str, int]: ...

    async def expire(self, session: AsyncSession, expiry: Expiry) -> dict[str, int]: ...


async def redact_events(
    session: AsyncSession, subjects: Mapping[str, Collection[str]], redaction: Redaction
) -> int:
    """Scrub the payloads of the events about these subjects (type → ids); how many changed.
    Found through the (tenant, subject type, subject id) index, never by a scan of the log."""
    changed = 0
    for subject_type, ids in subjects.items():
        wanted = sorted({str(i) for i in ids})
        for start in range(0, len(wanted), CHUNK):
            rows = await session.execute(
                select(EventRecord.id, EventRecord.payload).where(
                    EventRecord.subject_type == subject_type,
                    EventRecord.subject_id.in_(wanted[start : start + CHUNK]),
                )
            )
            for event_id, payload in rows.all():
                scrubbed, hit = redaction.scrub(payload)
                if hit:
                    await session.execute(
                        update(EventRecord)
                        .where(EventRecord.id == event_id)
                        .values(payload=scrubbed)
                    )
                    changed += 1
    return changed


async def rows_of_any(
    session: AsyncSession,
    model: type[Row],
    key: Callable[[Row], Any],
    wanted: Sequence[tuple[Any, Sequence[Any]]],
) -> list[Row]:
    """The rows of `model` where any of the columns holds one of its values (e.g. the calls of
    these call ids or of these contact ids), each row once (by `key`). The values are read
    CHUNK of each list at a time, so a long list never makes an unbounded IN."""
    found: dict[Any, Row] = {}
    longest = max((len(values) for _, values in wanted), default=0)
    for start in range(0, longest, CHUNK):
        tests: list[ColumnElement[bool]] = [
            column.in_(values[start : start + CHUNK]) for column, values in wanted
        ]
        for row in await session.scalars(select(model).where(or_(*tests))):
            found.setdefault(key(row), row)
    return list(found.values())
