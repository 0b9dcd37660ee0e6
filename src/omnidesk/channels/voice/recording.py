"""Recording a connected call: stereo, the caller on the left and the agent on the right, under
data_dir/voice/recordings/<tenant>/<call id>.wav; after the consent prompt when the queue asks
for one (consent.py). The finished file is a `voice_recordings` row and a
`voice.recording_saved` event, written through the event writer in the call's order.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice import consent
from omnidesk.channels.voice.calls import VoiceCall, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.media.recorder import Recorder
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.channels.voice.records import note
from omnidesk.platform.database import new_id


def recordings_dir(ctx: VoiceContext, tenant_id: uuid.UUID) -> Path:
    path = ctx.data_dir / "voice" / "recordings" / str(tenant_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def start_recording(ctx: VoiceContext, call: VoiceCall) -> None:
    if call.recorder is not None or call.agent_leg is None:
        return
    if await consent.wait_for_consent(ctx, call, then=start_recording):
        return  # recording starts once the caller has heard the consent prompt
    call.recording_path = recordings_dir(ctx, call.tenant_id) / f"{call.id}.wav"
    # Stereo: the caller on the left, the agent on the right (quality review hears who said
    # what; a mono mix is one sum away).
    call.recorder = Recorder(call.recording_path, sources=[call.leg, call.agent_leg], stereo=True)
    call.recording_started = utcnow()
    ctx.media.attach_recorder(call.recorder)
    await note(ctx, call, "recording", detail={"recording": "started"})


async def finish_recording(ctx: VoiceContext, call: VoiceCall) -> None:
    recorder, path = call.recorder, call.recording_path
    if recorder is None or path is None:
        return
    call.recorder = None
    await ctx.media.detach_recorder(recorder)
    data = await asyncio.to_thread(path.read_bytes)
    seconds = recorder.frames_written / 8000.0
    # The id is chosen here rather than at insert: the event naming it is written with the row.
    row = RecordingRow(
        id=new_id(),
        tenant_id=call.tenant_id,
        contact_id=call.contact_id,
        path=str(path.relative_to(ctx.data_dir)),
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
    await ctx.events.write(call.tenant_id, saved, ctx.audience(call), rows=[row])
    call.recording_ids.append(str(row.id))
