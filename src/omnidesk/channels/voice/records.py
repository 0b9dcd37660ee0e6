"""What a call leaves behind: its steps in the event log, its recordings, its detail record.

Every write goes through the server's event writer (event_writer.py), so a call's steps, its
recording and its detail record reach the log in the order they happened, in transactions
shared with the other calls' steps.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice import consent
from omnidesk.channels.voice.calls import VoiceCall, utcnow
from omnidesk.channels.voice.media.recorder import Recorder
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.channels.voice.views import call_json
from omnidesk.platform.database import new_id
from omnidesk.platform.events import Audience, DomainEvent
from omnidesk.platform.logging import get_logger

if TYPE_CHECKING:
    from omnidesk.channels.voice.server import VoiceServer

log = get_logger(__name__)


# --- events ----------------------------------------------------------------------------------


def audience(server: VoiceServer, call: VoiceCall) -> Audience:
    """Who follows a call besides admins: the same people as its routing contact — the
    supervisors of the teams serving its queue — plus its agent and the agent's teams."""
    users: set[uuid.UUID] = set()
    teams: set[uuid.UUID] = set()
    host = server.routing.loaded_host(call.tenant_id)
    if host is not None and call.queue_id:
        teams |= host.directory.queue_audience(call.queue_id).teams
    if call.agent_id:
        users.add(uuid.UUID(call.agent_id))
        if host is not None:
            teams |= host.directory.agent_audience(call.agent_id).teams
    return Audience(users=frozenset(users), teams=frozenset(teams))


async def record(server: VoiceServer, call: VoiceCall, event: DomainEvent) -> None:
    """Append a call's event; returns once it is committed and published."""
    await server.events.write(call.tenant_id, event, audience(server, call))


async def note(
    server: VoiceServer,
    call: VoiceCall,
    state: str,
    *,
    agent_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a step of the call (CallStateChanged); a failure is logged, never raised."""
    agent = agent_id or call.agent_id
    try:
        await record(
            server,
            call,
            ev.CallStateChanged(
                call_id=call.id,
                state=state,
                contact_id=call.contact_id,
                agent_id=uuid.UUID(agent) if agent else None,
                detail=detail or {},
                call=call_json(call),
            ),
        )
    except Exception:
        # A call must not drop because its log line could not be written.
        log.exception("voice.event_failed", call=call.id, state=state)


# --- recording -------------------------------------------------------------------------------


def recordings_dir(server: VoiceServer, tenant_id: uuid.UUID) -> Path:
    path = server.data_dir / "voice" / "recordings" / str(tenant_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def start_recording(server: VoiceServer, call: VoiceCall) -> None:
    if call.recorder is not None or call.agent_leg is None:
        return
    if await consent.wait_for_consent(server, call):
        return  # recording starts once the caller has heard the consent prompt
    call.recording_path = recordings_dir(server, call.tenant_id) / f"{call.id}.wav"
    # Stereo: the caller on the left, the agent on the right (quality review hears who said
    # what; a mono mix is one sum away).
    call.recorder = Recorder(call.recording_path, sources=[call.leg, call.agent_leg], stereo=True)
    call.recording_started = utcnow()
    server.media.attach_recorder(call.recorder)
    await note(server, call, "recording", detail={"recording": "started"})


async def finish_recording(server: VoiceServer, call: VoiceCall) -> None:
    recorder, path = call.recorder, call.recording_path
    if recorder is None or path is None:
        return
    call.recorder = None
    await server.media.detach_recorder(recorder)
    data = await asyncio.to_thread(path.read_bytes)
    seconds = recorder.frames_written / 8000.0
    # The id is chosen here rather than at insert: the event naming it is written with the row.
    row = RecordingRow(
        id=new_id(),
        tenant_id=call.tenant_id,
        contact_id=call.contact_id,
        path=str(path.relative_to(server.data_dir)),
        duration_s=seconds,
        state="complete",
        sha256=hashlib.sha256(data).hexdigest(),
        started_at=call.recording_started or utcnow(),
        ended_at=utcnow(),
    )
    saved = ev.RecordingSaved(
        call_id=call.id,
        recording_id=str(row.id),
        contact_id=call.contact_id,
        seconds=seconds,
        sha256=row.sha256 or "",
        complete=True,
    )
    await server.events.write(call.tenant_id, saved, audience(server, call), rows=[row])
    call.recording_ids.append(str(row.id))


# --- the call detail record ------------------------------------------------------------------


async def write_record(server: VoiceServer, call: VoiceCall) -> None:
    ended = call.ended_at or utcnow()
    agent = uuid.UUID(call.agent_id) if call.agent_id else None
    trail = call.session.trail.visited if call.session is not None else []
    contact_id = call.contact_id or (call.id if call.queue_id else None)
    row = CallRow(
        tenant_id=call.tenant_id,
        call_id=call.sip.call_id or call.id,
        contact_id=contact_id,
        direction=call.direction,
        from_uri=str(call.sip.request.from_.uri),
        to_uri=str(call.sip.request.uri),
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
    )
    # Through the writer, not a transaction of its own: queued behind every step of the call
    # (even one whose task was cancelled by the hang-up), so the record is the call's last.
    await server.events.write(call.tenant_id, ended_event, audience(server, call), rows=[row])
