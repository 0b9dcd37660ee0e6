"""The call history and the recordings list over HTTP (thin: the rules are in history.py).

`GET /voice/call-history` lists ended calls, `GET /voice/call-history/{call_id}` is one (the
same id as while it was live at /voice/calls/{call_id}), `GET /voice/recordings` lists
recordings. Everyone may ask; each sees the calls whose events they saw (history.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from omnidesk.channels.voice import history
from omnidesk.channels.voice.history import CallRecording, EndedCall, HistoryFilter, Outcome
from omnidesk.channels.voice.history_schemas import (
    AudioQualityOut,
    CallHistoryPage,
    EndedCallOut,
    RecordingOut,
    RecordingPage,
)
from omnidesk.platform.errors import Invalid
from omnidesk.platform.fields import as_utc
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors

router = APIRouter(prefix="/voice", tags=["voice history"])
# 401 and 422 are declared for every route that needs a login or takes parameters (openapi.py).
NOT_FOUND = errors(404)

Since = Annotated[
    datetime | None, Query(description="Started at or after (ISO 8601; no zone means UTC)")
]
Until = Annotated[datetime | None, Query(description="Started before (ISO 8601)")]
QueueId = Annotated[str | None, Query(max_length=128, description="The call's queue")]
AgentId = Annotated[uuid.UUID | None, Query(description="The agent who answered")]
Cursor = Annotated[
    str | None, Query(pattern=r"^[1-9][0-9]{0,18}$", description="next_cursor of the last page")
]
Limit = Annotated[int, Query(ge=1, le=200)]


def _utc(moment: datetime | None, field: str) -> datetime | None:
    try:
        return as_utc(moment)
    except ValueError as exc:
        raise Invalid(str(exc), field=field) from None


def _range(since: datetime | None, until: datetime | None) -> tuple[datetime | None, ...]:
    since, until = _utc(since, "since"), _utc(until, "until")
    if since is not None and until is not None and since >= until:
        raise Invalid("since must be before until", field="since")
    return since, until


def _cursor(value: int | None) -> str | None:
    return None if value is None else str(value)


def call_out(call: EndedCall) -> EndedCallOut:
    r = call.record
    talk = (r.ended_at - r.connected_at).total_seconds() if r.connected_at else None
    return EndedCallOut(
        call_id=r.call_id,
        direction=r.direction,
        caller=r.caller,
        callee=r.callee,
        contact_id=r.contact_id,
        queue_id=call.queue_id,
        agent_id=r.agent_id,
        started_at=r.started_at,
        answered_at=r.connected_at,
        ended_at=r.ended_at,
        talk_seconds=None if talk is None else round(talk, 3),
        end_reason=r.reason,
        outcome=call.outcome,
        ivr_path=list(r.ivr_path),
        recording_ids=list(r.recording_ids),
        audio=[AudioQualityOut.of(q) for q in r.audio],
    )


def recording_out(item: CallRecording) -> RecordingOut:
    row, call = item.row, item.call
    return RecordingOut(
        id=row.id,
        kind=item.kind,
        call_id=call.record.call_id,
        contact_id=row.contact_id,
        queue_id=call.queue_id,
        agent_id=call.record.agent_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_s=row.duration_s,
        state=row.state,
        sha256=row.sha256,
        audio_url=f"/api/v1/voice/recordings/{row.id}/audio",
    )


@router.get(
    "/call-history",
    response_model=CallHistoryPage,
)
async def list_ended_calls(
    ctx: Ctx,
    since: Since = None,
    until: Until = None,
    queue_id: QueueId = None,
    agent_id: AgentId = None,
    number: Annotated[
        str | None, Query(max_length=32, description="The caller's or the called number")
    ] = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CallHistoryPage:
    """Ended calls you may see, newest first (admins: all; supervisors: their teams' queues
    and agents; agents: the calls they were on)."""
    start, end = _range(since, until)
    flt = HistoryFilter(start, end, queue_id, agent_id, number, outcome)
    async with ctx.uow:
        calls, after = await history.page(
            ctx.uow.session,
            ctx.principal,
            flt,
            before=int(cursor) if cursor else None,
            limit=limit,
        )
    return CallHistoryPage(items=[call_out(c) for c in calls], next_cursor=_cursor(after))


@router.get("/call-history/{call_id}", response_model=EndedCallOut, responses=NOT_FOUND)
async def get_ended_call(call_id: Annotated[str, Path(max_length=64)], ctx: Ctx) -> EndedCallOut:
    async with ctx.uow:
        return call_out(await history.one(ctx.uow.session, ctx.principal, call_id))


@router.get("/recordings", response_model=RecordingPage, responses=NOT_FOUND)
async def list_recordings(
    ctx: Ctx,
    call_id: Annotated[
        str | None, Query(max_length=64, description="One call's recordings (404 if unknown)")
    ] = None,
    agent_id: AgentId = None,
    queue_id: QueueId = None,
    since: Annotated[datetime | None, Query(description="Recording started at or after")] = None,
    until: Annotated[datetime | None, Query(description="Recording started before")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> RecordingPage:
    """Recordings (calls and voicemail) of the ended calls you may see, newest call first."""
    start, end = _range(since, until)
    flt = HistoryFilter(until=end, queue_id=queue_id, agent_id=agent_id, ended_since=start)
    async with ctx.uow:
        items, after = await history.recordings(
            ctx.uow.session,
            ctx.principal,
            flt,
            call_id=call_id,
            before=int(cursor) if cursor else None,
            limit=limit,
        )
    return RecordingPage(items=[recording_out(i) for i in items], next_cursor=_cursor(after))
