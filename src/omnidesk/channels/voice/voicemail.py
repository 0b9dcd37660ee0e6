"""Voicemail: the caller hears a beep and speaks; the message becomes a routed contact.

The IVR's voicemail node asks for it (`StartVoicemail`) and ends it (`StopVoicemail`: the
finish key, its max seconds, or the caller hanging up). The caller's own voice is recorded, mono,
under data_dir/voice/recordings/<tenant>/. On stop the file is stored as a `voice_recordings`
row (+ `voice.recording_saved`) and a new routing contact enters the node's queue on channel
"voice" with the attributes `voicemail: true` and `recording_id`, so agents are offered the
message like any other contact and fetch the audio from /api/v1/voice/recordings/{id}/audio.
No phone rings for it: the contact is not the live call's (it is not in `ctx.by_contact`).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.calls import VoiceCall, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.media.analysis import tone
from omnidesk.channels.voice.media.players import BufferSource
from omnidesk.channels.voice.media.recorder import Recorder
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.channels.voice.playback import stop_playing
from omnidesk.channels.voice.recording import recordings_dir
from omnidesk.channels.voice.records import note
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import ContactArrived, CustomerRef, RoutingError

log = get_logger(__name__)

BEEP_HZ = 1400.0
BEEP_MS = 400


@dataclass
class Voicemail:
    queue: str
    path: Path
    beep: BufferSource | None = None
    recorder: Recorder | None = None
    started_at: datetime | None = None
    contact_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Set when the call layer runs the message itself (a queue's overflow to voicemail, not
    # a flow's node): the key that ends it, and the call hangs up after it (overflow.py).
    finish_key: str | None = None
    standalone: bool = False


def beep() -> np.ndarray:
    samples: np.ndarray = tone(BEEP_HZ, BEEP_MS * 8, level_dbfs=-10.0)
    return samples


async def start_voicemail(
    ctx: VoiceContext, call: VoiceCall, action: ivr.StartVoicemail, *, standalone: bool = False
) -> None:
    if call.voicemail is not None:
        return
    stop_playing(ctx, call)
    path = recordings_dir(ctx, call.tenant_id) / f"{call.id}-voicemail.wav"
    vm = Voicemail(
        queue=action.queue, path=path, finish_key=action.finish_key, standalone=standalone
    )
    call.voicemail = vm
    call.state = "voicemail"

    def after_beep() -> None:
        call.put("call", lambda: _begin(ctx, call, vm))

    # The recording starts when the beep ends: what is said before it is not the message.
    vm.beep = BufferSource(beep(), on_done=after_beep)
    ctx.media.connect(call.leg, vm.beep)
    await note(ctx, call, "voicemail", detail={"voicemail": "started", "queue": action.queue})


async def _begin(ctx: VoiceContext, call: VoiceCall, vm: Voicemail) -> None:
    if call.voicemail is not vm or vm.recorder is not None or call.ended:
        return
    if vm.beep is not None:
        ctx.media.disconnect(call.leg, vm.beep)
        vm.beep = None
    vm.recorder = await asyncio.to_thread(Recorder, vm.path, [call.leg])
    vm.started_at = utcnow()
    ctx.media.attach_recorder(vm.recorder)


async def stop_voicemail(ctx: VoiceContext, call: VoiceCall, action: ivr.StopVoicemail) -> None:
    await finish_voicemail(ctx, call, action.reason)


async def finish_voicemail(ctx: VoiceContext, call: VoiceCall, reason: str) -> None:
    """Stop recording and hand the message to routing. Also the hang-up hook: a message cut
    short by a shutdown or an error is still a message."""
    vm: Voicemail | None = call.voicemail
    if vm is None:
        return
    call.voicemail = None
    if call.state == "voicemail":
        call.state = "ivr"  # the flow may go on after the message (the node's `next`)
    if vm.beep is not None:
        vm.beep.stop()
        ctx.media.disconnect(call.leg, vm.beep)
    recorder = vm.recorder
    if recorder is not None:
        await ctx.media.detach_recorder(recorder)  # its size is final only after this
    if recorder is None or recorder.frames_written == 0:
        if recorder is not None:
            await asyncio.to_thread(vm.path.unlink, True)
        await note(ctx, call, "voicemail", detail={"voicemail": "empty", "reason": reason})
        return
    data = await asyncio.to_thread(vm.path.read_bytes)
    seconds = recorder.frames_written / 8000.0
    row = RecordingRow(
        tenant_id=call.tenant_id,
        contact_id=vm.contact_id,
        path=str(vm.path.relative_to(ctx.data_dir)),
        duration_s=seconds,
        state="complete",
        sha256=hashlib.sha256(data).hexdigest(),
        started_at=vm.started_at or utcnow(),
        ended_at=utcnow(),
    )
    async with ctx.uow(call.tenant_id) as uow:
        uow.session.add(row)
        await uow.session.flush()
        recording_id = str(row.id)
        call.recording_ids.append(recording_id)
        uow.record(
            ev.RecordingSaved(
                call_id=call.id,
                recording_id=recording_id,
                contact_id=vm.contact_id,
                seconds=seconds,
                sha256=row.sha256 or "",
                complete=True,
            ),
            ctx.audience(call),
        )
    attributes: dict[str, Any] = {
        k: v for k, v in call.routable_attributes().items() if k != "voicemail"
    }
    attributes.update(
        {
            "voicemail": True,
            "recording_id": recording_id,
            "voicemail_seconds": round(seconds, 1),
            "call_id": call.id,
        }
    )
    routed = True
    try:
        await ctx.routing.arrive(
            call.tenant_id,
            ContactArrived(
                contact_id=vm.contact_id,
                queue_id=vm.queue,
                channel="voice",
                priority=0,
                attributes=attributes,
            ),
            CustomerRef("phone", call.caller) if call.caller else None,
            strict=False,
        )
    except RoutingError as exc:
        # The message is kept (and listed with the call); only its routing failed.
        routed = False
        log.error("voice.voicemail_not_routed", call=call.id, queue=vm.queue, error=str(exc))
    await note(
        ctx,
        call,
        "voicemail",
        detail={
            "voicemail": "saved",
            "reason": reason,
            "recording_id": recording_id,
            "contact_id": vm.contact_id if routed else None,
            "seconds": round(seconds, 2),
        },
    )
