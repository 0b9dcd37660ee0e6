"""API shapes of the call history and the recordings list (docs/voice.md, Call history)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from omnidesk.channels.voice.history import Outcome


class EndedCallOut(BaseModel):
    """An ended call's detail record."""

    call_id: str = Field(description="The call's id, as in /voice/calls and the voice events")
    direction: str = Field(description="inbound or outbound")
    caller: str | None = Field(description="Who called (the From number)")
    callee: str | None = Field(description="The number called")
    contact_id: str | None = Field(description="Its routing contact, once it was queued")
    queue_id: str | None = Field(
        description="The queue it waited in or was answered from (or left a voicemail for)"
    )
    agent_id: uuid.UUID | None = Field(description="The agent who answered it")
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    talk_seconds: float | None = Field(description="From answer to end; null if not answered")
    end_reason: str = Field(description="Who or what ended it, e.g. 'caller bye', 'agent bye'")
    outcome: Outcome
    ivr_path: list[str] = Field(description="The IVR nodes it passed, in order")
    recording_ids: list[str] = Field(description="Its recordings (calls and voicemail)")


class CallHistoryPage(BaseModel):
    items: list[EndedCallOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for older calls; null when there are no more. A page may "
        "hold fewer calls than `limit` (even none) and still have a next cursor."
    )


class RecordingOut(BaseModel):
    id: uuid.UUID
    kind: Literal["call", "voicemail"]
    call_id: str
    contact_id: str | None
    queue_id: str | None = Field(description="The call's queue")
    agent_id: uuid.UUID | None = Field(description="The call's agent")
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    state: str = Field(description="complete, or partial (the writer stopped early)")
    sha256: str | None
    audio_url: str = Field(description="The WAV file (GET; stereo: caller left, agent right)")


class RecordingPage(BaseModel):
    items: list[RecordingOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for older recordings; null when there are no more."
    )
