"""Events of live calls — every state change, a missed ring, the call detail record — and of
agents' softphones registering."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from omnidesk.channels.voice.quality import LegQuality, LiveLeg
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
    # Audio quality per leg that carried audio (quality.py): the customer's, the agent's.
    audio: list[LegQuality] = []


@event_type("voice.call_quality", subject="call")
class CallQuality(_CallEvent):
    """A connected call's audio figures so far, every `voice_live_quality_seconds` while it is
    up (live_quality.py): `audio` the raw figures as the detail record keeps them, `live` per
    leg the loss so far, jitter and round trip now, and the flags."""

    contact_id: str | None = None
    agent_id: uuid.UUID | None = None
    audio: list[LegQuality] = []
    live: list[LiveLeg] = []


@event_type("voice.recording_saved", subject="call")
class RecordingSaved(_CallEvent):
    recording_id: str
    contact_id: str | None
    seconds: float
    sha256: str
    complete: bool


@event_type("voice.ring_missed", subject="user")
class RingMissed(DomainEvent):
    """An agent's softphone did not take a call routing offered them (docs/voice.md, "A missed
    ring"): `reason` is no_answer, busy, declined, media_failed, not_registered (or unavailable,
    sip_<status> for other refusals); `outcome` what routing made of it (rejected: voice refused
    the offer with `reason`; timed_out: the offer's own timeout ended it); `agent_state` and
    `agent_state_reason` the agent's routing state afterwards (by default away, "missed").
    `timed_out_by` names the timeout that ended a ring nobody answered.

    Its subject is the agent (what happened to them), not the call: the call's own steps are
    the `call` events, whose followers replace their copy of the call with each."""

    call_id: str
    contact_id: str | None
    queue_id: str | None
    offer_id: str
    agent_id: uuid.UUID
    reason: str
    outcome: str  # rejected | timed_out | offer_ended (routing had ended the offer already)
    sip_status: int | None = None
    detail: str = ""
    timed_out_by: str | None = None  # ring_timeout_s | voice_ring_timeout_seconds | offer_timeout
    rang_seconds: float | None = None
    agent_state: str | None = None
    agent_state_reason: str | None = None

    def subject_id(self) -> str:
        return str(self.agent_id)


@event_type("voice.registration_changed", subject="user")
class RegistrationChanged(DomainEvent):
    """A user's softphone registered (a new contact), moved (the same contact re-registered
    from another address, port or transport), unregistered (the phone said so) or expired (it
    did not refresh in time). Refreshes from the same place are not events. `registration`:
    the binding concerned (as it was last, for unregistered and expired); `registrations`: all
    of the user's softphones after the change — replace your copy with it."""

    user_id: uuid.UUID
    username: str
    change: str  # registered | moved | unregistered | expired
    registration: dict[str, Any]
    previous: dict[str, Any] | None = None  # moved: where it was registered from before
    registrations: list[dict[str, Any]] = []

    def subject_id(self) -> str:
        return str(self.user_id)
