"""One live call through Omnidesk: the caller's leg, its IVR session, its place in a routing
queue with hold audio, the agent's softphone leg, the bridge, recording and the end record.

Everything that happens to a call is serialised through its inbox (one task per call), so an
IVR input, a digit, a timer and a hang-up never interleave half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.ivr.interpreter import IvrSession
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import BufferSource, Player, Playlist, ToneSource
from omnidesk.channels.voice.media.recorder import Recorder
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall, OutgoingCall
from omnidesk.platform.logging import get_logger

if TYPE_CHECKING:
    from omnidesk.channels.voice.server import VoiceServer

log = get_logger(__name__)

# The SIP statuses an unanswered ring ends with, as the reason routing is given for the refusal.
RING_REASONS = {486: "busy", 600: "busy", 603: "declined", 480: "unavailable", 408: "no_answer"}


async def drop_leg(server: VoiceServer, sip: OutgoingCall | None, leg: Leg | None) -> None:
    """Hang up a leg Omnidesk placed (an agent's ring, a consult, a callback's agent, a dial)
    and free its media; the peer being gone already is not an error."""
    if sip is not None:
        sip.on_ended = None
        with contextlib.suppress(CallFailed, OSError):
            await sip.hang_up()
    if leg is not None:
        await server.media.close_leg(leg)


Input = tuple[str, Any]  # ("digit", "5") | ("prompt_done", token) | ("timer", name) | ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ring:
    """The agent's softphone ringing for an offer."""

    offer_id: str
    agent_id: str
    sip: OutgoingCall | None = None
    leg: Leg | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class VoiceCall:
    tenant_id: uuid.UUID
    sip: IncomingCall | OutgoingCall  # the customer's side (outgoing: callback, agent outbound)
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
    agent_sip: OutgoingCall | IncomingCall | None = None  # incoming: agent's own call
    agent_leg: Leg | None = None
    ring: Ring | None = None
    held: list[Any] | None = None
    consult: Any = None  # transfers.ConsultLeg while an attended transfer is open
    recorder: Recorder | None = None
    recording_path: Path | None = None
    recording_started: datetime | None = None
    recording_ids: list[str] = field(default_factory=list)
    monitors: dict[str, tuple[OutgoingCall, Leg, str]] = field(default_factory=dict)
    consent: str | None = None  # None | "playing" | "played" (consent.py)
    voicemail: Any = None  # the message being recorded (voicemail.py)
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


def hold_music() -> Player:
    """A quiet, looping two-note chime for queues that name no music file. Built from tones
    so a fresh install plays something rather than dead air (which makes callers hang up)."""
    notes = []
    for freq in (523.25, 659.25, 783.99, 659.25):
        notes.append(ToneSource(freq, level_dbfs=-24, duration_ms=400))
        notes.append(ToneSource(1.0, level_dbfs=-90, duration_ms=200))
    samples = np.concatenate([_render(p) for p in notes])
    return BufferSource(samples, loop=True)


def _render(player: Player) -> np.ndarray:
    frames = []
    while not player.done:
        frames.append(player.read())
    return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)


class CallRunner:
    """Runs one call's inputs against its IVR session and the routing service."""

    def __init__(self, server: VoiceServer, call: VoiceCall) -> None:
        self.server = server
        self.call = call

    # --- the inbox ---------------------------------------------------------------------------

    async def run(self) -> None:
        call = self.call
        while not call.ended:
            kind, value = await call.inbox.get()
            try:
                await self.handle(kind, value)
            except Exception:
                log.exception("voice.call_input_failed", call=call.id, input=kind)
                await self.server.hang_up(call, "error")

    async def handle(self, kind: str, value: Any) -> None:
        call = self.call
        session = call.session
        now = utcnow()
        if kind == "digit":
            if call.state in ("connected", "held"):
                return  # digits to an agent are not IVR input
            if session is not None and not session.ended:
                await self.execute(session.digit(value, now=now))
        elif kind == "prompt_done":
            if value != call.play_token:
                return  # a prompt that was replaced or stopped
            call.playing = None
            if session is not None and not session.ended and call.state == "ivr":
                await self.execute(session.prompt_done(now=now))
        elif kind == "timer":
            call.timers.pop(value, None)
            if session is not None and not session.ended:
                await self.execute(session.timer(value, now=now))
        elif kind == "answered":
            if session is not None and not session.ended:
                await self.execute(session.answered(now=now))
        elif kind == "overflowed":
            # Routing took the contact out of the queue (closed, full, max wait): the flow's
            # own failure branch is not reachable from here, so say so and end politely.
            await self.server.hang_up(call, value or "overflow")
        elif kind == "call":
            fn: Callable[[], Awaitable[None]] = value
            await fn()

    # --- IVR actions -------------------------------------------------------------------------

    async def execute(self, actions: list[ivr.Action]) -> None:
        for action in actions:
            if self.call.ended:
                return
            await self.do(action)

    async def do(self, action: ivr.Action) -> None:
        call = self.call
        server = self.server
        if isinstance(action, ivr.Play):
            audio = await server.render_prompts(call, action.prompts)
            self.play(audio)
        elif isinstance(action, ivr.StopPlayback):
            self.stop_playing()
        elif isinstance(action, ivr.StartTimer):
            loop = asyncio.get_running_loop()
            call.timers[action.name] = loop.call_later(
                action.seconds, call.put, "timer", action.name
            )
        elif isinstance(action, ivr.CancelTimer):
            handle = call.timers.pop(action.name, None)
            if handle is not None:
                handle.cancel()
        elif isinstance(action, ivr.SetAttributes):
            call.attributes.update(action.attributes)
            if isinstance(action.attributes.get("language"), str):
                call.language = action.attributes["language"]
            await server.note(call, "ivr", detail={"attributes": dict(action.attributes)})
        elif isinstance(action, ivr.Enqueue):
            await server.enqueue(call, action)
        elif isinstance(action, ivr.LeaveQueue):
            await server.leave_queue(call, action.reason)
        elif isinstance(action, ivr.StartVoicemail):
            await server.start_voicemail(call, action)
        elif isinstance(action, ivr.StopVoicemail):
            await server.stop_voicemail(call, action)
        elif isinstance(action, ivr.OfferCallback):
            await server.offer_callback(call, action)
        elif isinstance(action, ivr.TransferOut):
            await server.transfer_out(call, action.number)
        elif isinstance(action, ivr.Hangup):
            # The session plays a hang-up node's prompt and waits for it before this action.
            await server.hang_up(call, action.reason)
        elif isinstance(action, ivr.Warn):
            log.warning("voice.ivr_warning", call=call.id, node=action.node, message=action.message)

    # --- audio on the caller's leg -----------------------------------------------------------

    def play(self, audio: list[np.ndarray], *, report: bool = True) -> None:
        """Play prompts to the caller (replacing what they hear); `prompt_done` follows."""
        call = self.call
        self.stop_playing()
        call.play_token += 1
        token = call.play_token
        on_done = (lambda: call.put("prompt_done", token)) if report else None
        playlist = Playlist([BufferSource(a) for a in audio if len(a)], on_done=on_done)
        call.playing = playlist
        media = self.server.media
        if call.hold_audio is not None:
            media.disconnect(call.leg, call.hold_audio)
        media.connect(call.leg, playlist)

    def stop_playing(self) -> None:
        call = self.call
        if call.playing is not None:
            call.playing.stop()
            self.server.media.disconnect(call.leg, call.playing)
            call.playing = None
            call.play_token += 1  # its completion must not count as prompt_done


@contextlib.contextmanager
def suppress_all(what: str, call: VoiceCall) -> Any:
    try:
        yield
    except Exception:
        log.exception("voice.cleanup_failed", what=what, call=call.id)
