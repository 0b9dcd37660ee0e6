"""Ended calls and their recordings: the read side of the call history API.

Where it reads from. Each ended call leaves its detail record twice, in one transaction: the
`voice_calls` row and the `voice.call_ended` event, with the call's steps before it
(`voice.call_state_changed`) in the event log. The history is read from the event log because
only it has all of what the history shows: the id the live-call API and the events use (the row
has the SIP Call-ID instead), the IVR path, the queue (a step's `call.queue_id`, or the queue a
voicemail was left for), and who followed the call (the event's audience). No second copy is
kept, so nothing can disagree with the log (DESIGN.md, principle 2).

Who sees what: exactly who saw the call's events — `Principal.sees` over the audience recorded
with `voice.call_ended`, the rule `views.follows` applies to live calls: admins every call of
their tenant, a supervisor the calls of their teams' queues and agents, an agent the calls they
were on. Another tenant's call, or one the user may not see, is "not found".

Paging: newest first by the event's position in the log; the cursor is that position. Filters
the database can apply (time, agent, number, queue) narrow the query; the rest (a supervisor's
teams, the outcome) are applied to each batch, and a request reads at most `MAX_SCAN` calls:
a page may hold fewer than `limit` calls, even none, and still have a next cursor.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from omnidesk.channels.voice import repository as repo
from omnidesk.channels.voice.call_events import CallEnded
from omnidesk.channels.voice.models import Recording
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import NotFound
from omnidesk.platform.eventlog import EventRecord
from omnidesk.platform.events import Audience

ENDED = "voice.call_ended"
STEP = "voice.call_state_changed"
MAX_SCAN = 2000
# What an ended call came to (see `outcome`; docs/voice.md, Call history).
Outcome = Literal[
    "answered", "voicemail", "callback", "abandoned", "failed", "ivr", "not_connected"
]


@dataclass(frozen=True)
class HistoryFilter:
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before
    queue_id: str | None = None
    agent_id: uuid.UUID | None = None
    number: str | None = None  # the caller's or the called number
    outcome: Outcome | None = None
    ended_since: datetime | None = None  # ended at or after (the recordings list's `since`)
    with_recordings: bool = False


@dataclass
class EndedCall:
    seq: int
    record: CallEnded
    audience: Audience
    queue_id: str | None = None
    outcome: Outcome = "ivr"
    voicemail_recordings: list[str] = field(default_factory=list)


# --- reading --------------------------------------------------------------------------------


def _text(*path: str) -> ColumnElement[str]:
    # payload[...] is untyped (a JSON column): the text at `path` inside the payload.
    return cast(
        ColumnElement[str], EventRecord.payload[path if len(path) > 1 else path[0]].as_string()
    )


def _second(moment: datetime) -> str:
    # Stored instants are UTC ISO 8601 ("2026-12-06T06:17:28.5Z"); their first 19 characters
    # compare as text in time order on both databases. Used only to narrow the query: the
    # exact comparison is made on each call read.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _numbers(number: str) -> list[str]:
    bare = number.lstrip("+")
    return [bare, f"+{bare}"]


def _candidates(principal: Principal, flt: HistoryFilter) -> Select[EventRecord]:
    stmt = select(EventRecord).where(EventRecord.type == ENDED)
    started = func.substr(_text("started_at"), 1, 19)
    if flt.since is not None:
        # A call ends after it starts: its end event is no older than `since` either.
        stmt = stmt.where(EventRecord.occurred_at >= flt.since, started >= _second(flt.since))
    if flt.until is not None:
        stmt = stmt.where(started <= _second(flt.until))
    if flt.ended_since is not None:
        stmt = stmt.where(EventRecord.occurred_at >= flt.ended_since)
    if principal.role is Role.AGENT:
        # An agent follows exactly the calls they were on (the audience names only them).
        stmt = stmt.where(_text("agent_id") == str(principal.user_id))
    if flt.agent_id is not None:
        stmt = stmt.where(_text("agent_id") == str(flt.agent_id))
    if flt.number:
        numbers = _numbers(flt.number)
        stmt = stmt.where(or_(_text("caller").in_(numbers), _text("callee").in_(numbers)))
    if flt.queue_id:
        step = aliased(EventRecord)
        in_queue = or_(
            step.payload[("call", "queue_id")].as_string() == flt.queue_id,
            step.payload[("detail", "queue")].as_string() == flt.queue_id,
        )
        stmt = stmt.where(
            exists().where(
                step.type == STEP,
                step.subject_type == "call",
                step.subject_id == EventRecord.subject_id,
                in_queue,
            )
        )
    return stmt


async def _steps(session: AsyncSession, call_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The steps of these calls (their `voice.call_state_changed` payloads), oldest first."""
    found: dict[str, list[dict[str, Any]]] = {c: [] for c in call_ids}
    if not call_ids:
        return found
    stmt = (
        select(EventRecord.subject_id, EventRecord.payload)
        .where(
            EventRecord.type == STEP,
            EventRecord.subject_type == "call",
            EventRecord.subject_id.in_(call_ids),
        )
        .order_by(EventRecord.seq)
    )
    for call_id, payload in (await session.execute(stmt)).all():
        found[call_id].append(payload)
    return found


def _ended(row: EventRecord, steps: list[dict[str, Any]]) -> EndedCall:
    call = EndedCall(
        row.seq, CallEnded.model_validate(row.payload), Audience.from_json(row.audience)
    )
    states: set[str] = set()
    voicemail_queue = None
    for step in steps:
        state, detail = step.get("state"), step.get("detail") or {}
        states.add(str(state))
        queue = (step.get("call") or {}).get("queue_id")
        if queue:
            call.queue_id = queue
        if state == "voicemail" and detail.get("voicemail") == "started":
            voicemail_queue = detail.get("queue")
        if state == "voicemail" and detail.get("voicemail") == "saved":
            states.add("voicemail_saved")
            call.voicemail_recordings.append(str(detail.get("recording_id")))
    call.queue_id = call.queue_id or voicemail_queue
    call.outcome = outcome(call.record, states)
    return call


def outcome(record: CallEnded, states: set[str]) -> Outcome:
    """What the call came to: answered (by an agent; outbound: by the far end), voicemail (a
    message was left), callback (the caller asked to be called back), abandoned (the caller
    hung up while queued or ringing), failed (it was queued but ended otherwise: overflow,
    refused, an error), ivr (inbound, ended before any queue), not_connected (outbound)."""
    if record.connected_at is not None:
        return "answered"
    if "voicemail_saved" in states:
        return "voicemail"
    if "callback" in states:
        return "callback"
    if record.direction != "inbound":
        return "not_connected"
    if "queued" in states or "ringing" in states:
        return "abandoned" if record.reason.startswith("caller") else "failed"
    return "ivr"


def _matches(call: EndedCall, principal: Principal, flt: HistoryFilter) -> bool:
    started = call.record.started_at
    return (
        principal.sees(call.audience)
        and (flt.since is None or started >= flt.since)
        and (flt.until is None or started < flt.until)
        and (flt.outcome is None or call.outcome == flt.outcome)
        and (flt.ended_since is None or call.record.ended_at >= flt.ended_since)
        and (not flt.with_recordings or bool(call.record.recording_ids))
    )


async def page(
    session: AsyncSession,
    principal: Principal,
    flt: HistoryFilter,
    *,
    before: int | None,
    limit: int,
) -> tuple[list[EndedCall], int | None]:
    """Up to `limit` ended calls the principal may see, newest first, older than the cursor
    `before`; and the cursor of the next page (None: there is no more)."""
    stmt = _candidates(principal, flt).order_by(EventRecord.seq.desc())
    batch = max(2 * limit, 50)
    found: list[EndedCall] = []
    scanned = 0
    cursor = before
    while scanned < MAX_SCAN:
        query = stmt if cursor is None else stmt.where(EventRecord.seq < cursor)
        rows = (await session.scalars(query.limit(batch))).all()
        steps = await _steps(session, [r.subject_id for r in rows])
        for row in rows:
            scanned += 1
            cursor = row.seq
            call = _ended(row, steps[row.subject_id])
            if _matches(call, principal, flt):
                found.append(call)
                if len(found) == limit:
                    return found, cursor
        if len(rows) < batch:
            return found, None
    return found, cursor


async def one(session: AsyncSession, principal: Principal, call_id: str) -> EndedCall:
    row = await session.scalar(
        select(EventRecord).where(
            EventRecord.type == ENDED,
            EventRecord.subject_type == "call",
            EventRecord.subject_id == call_id,
        )
    )
    if row is not None:
        call = _ended(row, (await _steps(session, [call_id]))[call_id])
        if principal.sees(call.audience):
            return call
    raise NotFound(f"no ended call {call_id!r} (a call still in progress is at /voice/calls)")


# --- recordings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecording:
    row: Recording
    call: EndedCall

    @property
    def kind(self) -> Literal["call", "voicemail"]:
        return "voicemail" if str(self.row.id) in self.call.voicemail_recordings else "call"


async def _recordings_of(
    session: AsyncSession, calls: Sequence[EndedCall], flt: HistoryFilter
) -> list[list[CallRecording]]:
    ids = [uuid.UUID(r) for call in calls for r in call.record.recording_ids]
    rows = {str(r.id): r for r in await repo.recordings_by_ids(session, ids)}
    out = []
    for call in calls:
        mine = [rows[r] for r in call.record.recording_ids if r in rows]
        out.append(
            [
                CallRecording(row, call)
                for row in mine
                if (flt.ended_since is None or row.started_at >= flt.ended_since)
                and (flt.until is None or row.started_at < flt.until)
            ]
        )
    return out


async def recordings(
    session: AsyncSession,
    principal: Principal,
    flt: HistoryFilter,
    *,
    call_id: str | None,
    before: int | None,
    limit: int,
) -> tuple[list[CallRecording], int | None]:
    """The recordings of the ended calls the principal may see (as the call history shows
    them), newest call first, whole calls per page; `flt.ended_since`/`flt.until` bound the
    recordings' start, `queue_id`/`agent_id` are the call's."""
    if call_id is not None:
        (found,) = await _recordings_of(session, [await one(session, principal, call_id)], flt)
        return found, None
    # A recording starts after its call did and before it ended: calls that started before
    # `until` and ended after `since` hold every recording in range.
    calls_filter = HistoryFilter(
        until=flt.until,
        ended_since=flt.ended_since,
        queue_id=flt.queue_id,
        agent_id=flt.agent_id,
        with_recordings=True,
    )
    calls, cursor = await page(session, principal, calls_filter, before=before, limit=limit)
    items: list[CallRecording] = []
    for call, recorded in zip(calls, await _recordings_of(session, calls, flt), strict=True):
        if items and len(items) + len(recorded) > limit:
            return items, call.seq + 1  # this call starts the next page
        items.extend(recorded)
    return items, cursor
