"""What a call leaves in the event log: its steps, and its detail record once it ends.

Every write goes through the server's event writer (event_writer.py), so a call's steps, its
recordings (recording.py) and its detail record reach the log in the order they happened, in
transactions shared with the other calls' steps.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.calls import VoiceCall, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.quality import LegQuality, rtp_leg
from omnidesk.channels.voice.views import call_json
from omnidesk.channels.voice.webrtc import BrowserCall
from omnidesk.platform.events import DomainEvent
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)


async def record(
    ctx: VoiceContext, call: VoiceCall, event: DomainEvent, also: Iterable[str | None] = ()
) -> None:
    """Append a call's event; returns once it is committed and published (to the call's
    audience, and to the agents in `also`: see VoiceContext.audience)."""
    if isinstance(event, ev.CallStarted):
        log.info("voice.call_started", **_log_fields(call))
    await ctx.events.write(call.tenant_id, event, ctx.audience(call, also))


def _log_fields(call: VoiceCall) -> dict[str, Any]:
    """What the server log says about a call (never a credential)."""
    return {
        "call": call.id,
        "tenant": str(call.tenant_id),
        "direction": call.direction,
        "from": call.caller,
        "to": call.number,
        "queue": call.queue_id,
        "agent": call.agent_id,
    }


async def note(
    ctx: VoiceContext,
    call: VoiceCall,
    state: str,
    *,
    agent_id: str | None = None,
    detail: dict[str, Any] | None = None,
    also: Iterable[str | None] = (),
) -> None:
    """Record a step of the call (CallStateChanged); a failure is logged, never raised."""
    agent = agent_id or call.agent_id
    try:
        await record(
            ctx,
            call,
            ev.CallStateChanged(
                call_id=call.id,
                state=state,
                contact_id=call.contact_id,
                agent_id=uuid.UUID(agent) if agent else None,
                detail=detail or {},
                call=call_json(call),
            ),
            also,
        )
    except Exception:
        # A call must not drop because its log line could not be written.
        log.exception("voice.event_failed", call=call.id, state=state)


# --- the call detail record ------------------------------------------------------------------


def audio_quality(call: VoiceCall) -> list[LegQuality]:
    """The figures of the call's legs that carried audio: the customer's (the engine's
    receive statistics), the agent's (a browser phone's WebRTC figures; a SIP softphone's
    engine statistics). A browser's engine leg is the loopback relay: its own figures would
    say nothing about the agent's network, so they are not used."""
    found = [rtp_leg("customer", call.leg.stats)]
    if isinstance(call.agent_sip, BrowserCall):
        found.append(call.agent_sip.quality.result())
    elif call.agent_leg is not None:
        found.append(rtp_leg("agent", call.agent_leg.stats))
    return [q for q in found if q is not None]


def _uris(call: VoiceCall) -> tuple[str, str]:
    """The record's from and to: the SIP request's, or for another agent's browser phone
    called from a browser (agent_calls.py) the two agents."""
    if isinstance(call.sip, BrowserCall):
        return f"browser:{call.agent_id}", f"agent:{call.attributes.get('callee_id')}"
    return str(call.sip.request.from_.uri), str(call.sip.request.uri)


async def write_record(ctx: VoiceContext, call: VoiceCall, also: Iterable[str | None] = ()) -> None:
    ended = call.ended_at or utcnow()
    agent = uuid.UUID(call.agent_id) if call.agent_id else None
    trail = call.session.trail.visited if call.session is not None else []
    contact_id = call.contact_id or (call.id if call.queue_id else None)
    row = CallRow(
        tenant_id=call.tenant_id,
        call_id=call.id if isinstance(call.sip, BrowserCall) else (call.sip.call_id or call.id),
        contact_id=contact_id,
        direction=call.direction,
        from_uri=_uris(call)[0],
        to_uri=_uris(call)[1],
        number=call.number,
        trunk_id=call.trunk_id,
        agent_id=agent,
        started_at=call.started_at,
        answered_at=call.connected_at,
        ended_at=ended,
        end_reason=(call.end_reason or "")[:64],
        recording_ids=list(call.recording_ids),
    )
    ended_event = ev.CallEnded(
        call_id=call.id,
        direction=call.direction,
        caller=call.caller,
        callee=call.number,
        contact_id=contact_id,
        agent_id=agent,
        started_at=call.started_at,
        connected_at=call.connected_at,
        ended_at=ended,
        reason=call.end_reason or "",
        recording_ids=list(call.recording_ids),
        ivr_path=list(trail),
        audio=audio_quality(call),
    )
    log.info(
        "voice.call_ended",
        **_log_fields(call),
        outcome=call.end_reason,
        connected=call.connected_at is not None,
        seconds=round((ended - call.started_at).total_seconds(), 1),
        recordings=len(call.recording_ids),
    )
    # Through the writer, not a transaction of its own: queued behind every step of the call
    # (even one whose task was cancelled by the hang-up), so the record is the call's last.
    await ctx.events.write(call.tenant_id, ended_event, ctx.audience(call, also), rows=[row])
