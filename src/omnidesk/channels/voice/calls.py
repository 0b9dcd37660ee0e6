"""One live call through Omnidesk: the caller's leg, its IVR session, its place in a routing
queue with hold audio, the agent's softphone leg, the bridge, recording and the end record.

`VoiceCall` holds the whole state of a call; its runner (runner.py) owns it: everything that
happens to a call is serialised through its inbox (one task per call), so an IVR input, a digit,
a timer and a hang-up never interleave half-way. This module is the bottom of the voice call
tree (docs/voice.md, "Module map"): it imports no other call module.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omnidesk.channels.voice.ivr.interpreter import IvrSession
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import Player
from omnidesk.channels.voice.media.recorder import Recorder
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall, OutgoingCall
from omnidesk.channels.voice.webrtc import BrowserCall

# The agent's phone as Omnidesk rings it: a SIP softphone, or the browser phone (webrtc.py),
# which offers the same surface (wait_answer, hang_up, bye, on_ended, state).
AgentPhone = OutgoingCall | BrowserCall

# The SIP statuses an unanswered ring ends with, as the reason routing is given for the refusal.
RING_REASONS = {486: "busy", 600: "busy", 603: "declined", 480: "unavailable", 408: "no_answer"}


class NotRegistered(CallFailed):
    """The agent has no softphone to ring: no SIP login, or no live registration."""


def ring_refusal(exc: CallFailed) -> str:
    """Why a softphone did not take a ring, as routing is told it (RejectOffer's reason)."""
    if isinstance(exc, NotRegistered):
        return "not_registered"
    return RING_REASONS.get(exc.status, f"sip_{exc.status}")


async def drop_leg(media: MediaEngine, sip: AgentPhone | None, leg: Leg | None) -> None:
    """Hang up a leg Omnidesk placed (an agent's ring, a consult, a callback's agent, a dial)
    and free its media; the peer being gone already is not an error."""
    if sip is not None:
        sip.on_ended = None
        with contextlib.suppress(CallFailed, OSError):
            await sip.hang_up()
    if leg is not None:
        await media.close_leg(leg)


Input = tuple[str, Any]  # ("digit", "5") | ("prompt_done", token) | ("timer", name) | ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ring:
    """The agent's softphone ringing for an offer."""

    offer_id: str
    agent_id: str
    sip: AgentPhone | None = None
    leg: Leg | None = None
    task: asyncio.Task[None] | None = None
    offer_expires_at: datetime | None = None  # when routing's offer times out
    rung_at: float | None = None  # event-loop time the INVITE went out
    answered: bool = False  # the phone answered; its media is awaited (missed_ring.py)


@dataclass
class VoiceCall:
    tenant_id: uuid.UUID
    # The customer's side (outgoing: callback, agent outbound; a browser phone: the agent
    # called by another agent, agent_calls.py).
    sip: IncomingCall | OutgoingCall | BrowserCall
    leg: Leg
    caller: str | None
    number: str | None
    trunk_id: uuid.UUID | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    direction: str = "inbound"  # inbound | outbound (the CDR's direction)
    state: str = "ivr"
    started_at: datetime = field(default_factory=utcnow)
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    language: str = "en"
    attributes: dict[str, Any] = field(default_factory=dict)
    session: IvrSession | None = None
    queue_id: str | None = None
    contact_id: str | None = None
    moh_name: str | None = None
    announce_every_s: float | None = None
    agent_id: str | None = None
    agent_sip: AgentPhone | IncomingCall | None = None  # incoming: agent's own call
    agent_leg: Leg | None = None
    ring: Ring | None = None
    held: list[Any] | None = None
    consult: Any = None  # transfers.ConsultLeg while an attended transfer is open
    recorder: Recorder | None = None
    recording_path: Path | None = None
    recording_started: datetime | None = None
    recording_ids: list[str] = field(default_factory=list)
    monitors: dict[str, tuple[AgentPhone, Leg, str]] = field(default_factory=dict)
    consent: str | None = None  # None | "playing" | "played" (consent.py)
    voicemail: Any = None  # the message being recorded (voicemail.py)
    survey: Any = None  # the post-call survey being asked (survey.py)
    inbox: asyncio.Queue[Input] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    playing: Player | None = None
    play_token: int = 0
    hold_audio: Player | None = None
    announcer: asyncio.Task[None] | None = None

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    def routable_attributes(self) -> dict[str, Any]:
        """The call's attributes that routing rules and contact records can hold: plain
        values only (the IVR may keep richer ones for its own use)."""
        return {
            k: v
            for k, v in self.attributes.items()
            if isinstance(v, str | int | float | bool) or v is None
        }

    def put(self, kind: str, value: Any = None) -> None:
        if not self.ended:
            self.inbox.put_nowait((kind, value))
