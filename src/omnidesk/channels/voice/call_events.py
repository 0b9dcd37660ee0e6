"""Events of live calls: every state change and the call detail record go to the event log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from omnidesk.platform.events import DomainEvent, event_type


class _CallEvent(DomainEvent):
    call_id: str

    def subject_id(self) -> str:
        return self.call_id


@event_type("voice.call_started", subject="call")
class CallStarted(_CallEvent):
    direction: str  # inbound | outbound
    caller: str | None
    callee: str | None
    number: str | None = None
    trunk_id: str | None = None
    agent_id: uuid.UUID | None = None
    call: dict[str, Any] | None = None  # the live call's view, as on CallStateChanged


@event_type("voice.call_state_changed", subject="call")
class CallStateChanged(_CallEvent):
    """One step of the call: ivr, queued, ringing, connected, held, resumed, muted, transferred …

    `detail` carries what the step needs to be understood later (the IVR node and digits, the
    agent rung, the SIP status a ring ended with). `call`: the call as it stands after the step
    (the view of `GET /voice/calls/{id}`), so a desktop that only now gains sight of the call
    can show it whole, and every follower can simply replace its copy."""

    state: str
    contact_id: str | None = None
    agent_id: uuid.UUID | None = None
    detail: dict[str, Any] = {}
    call: dict[str, Any] | None = None


@event_type("voice.call_ended", subject="call")
class CallEnded(_CallEvent):
    """The call detail record."""

    direction: str
    caller: str | None
    callee: str | None
    contact_id: str | None
    agent_id: uuid.UUID | None
    started_at: datetime
    connected_at: datetime | None
    ended_at: datetime
    reason: str
    recording_ids: list[str] = []
    ivr_path: list[str] = []


@event_type("voice.recording_saved", subject="call")
class RecordingSaved(_CallEvent):
    recording_id: str
    contact_id: str | None
    seconds: float
    sha256: str
    complete: bool
