"""API shapes of the call history and the recordings list (docs/voice.md, Call history)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from omnidesk.channels.voice.history import Outcome
from omnidesk.channels.voice.quality import Issue, LegQuality


class AudioQualityOut(BaseModel):
    """One leg's audio quality (docs/voice.md, "Audio quality")."""

    leg: Literal["customer", "agent"] = Field(description="The customer's side or the agent's")
    transport: Literal["rtp", "webrtc"] = Field(
        description="rtp: a SIP leg (figures from Omnidesk's receive side only); webrtc: a "
        "browser phone (both directions, from RTCP)"
    )
    loss_pct: float = Field(description="Packets lost, per cent, in the worse direction")
    jitter_peak_ms: float = Field(description="The highest jitter measured, either direction")
    rtt_ms: float | None = Field(description="Round trip from RTCP at the end (WebRTC only)")
    rtt_max_ms: float | None = Field(description="The highest round trip sampled")
    issues: list[Issue] = Field(
        description="Figures beyond the thresholds: loss > 3 %, jitter > 30 ms, RTT > 300 ms"
    )
    packets_received: int = Field(description="Audio packets Omnidesk received from this side")
    packets_lost: int = Field(description="Of those this side sent, lost on the way")
    jitter_ms: float = Field(description="Jitter of what Omnidesk received, at the end")
    packets_sent: int | None = Field(description="Audio packets Omnidesk sent (WebRTC)")
    remote_packets_lost: int | None = Field(
        description="Of those, lost as this side reported in RTCP (WebRTC)"
    )
    samples: int = Field(description="How many times the figures were read during the call")

    @classmethod
    def of(cls, q: LegQuality) -> AudioQualityOut:
        return cls(
            leg=q.leg,
            transport=q.transport,
            loss_pct=q.loss_pct(),
            jitter_peak_ms=q.jitter_peak_ms(),
            rtt_ms=q.rtt_ms,
            rtt_max_ms=q.rtt_max_ms,
            issues=q.issues(),
            packets_received=q.packets_received,
            packets_lost=q.packets_lost,
            jitter_ms=q.jitter_ms,
            packets_sent=q.packets_sent,
            remote_packets_lost=q.remote_packets_lost,
            samples=q.samples,
        )


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
    audio: list[AudioQualityOut] = Field(
        default=[], description="Audio quality per leg that carried audio (none: no figures)"
    )


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
