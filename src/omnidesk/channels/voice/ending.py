"""Ending a call, whoever ends it (the caller, the agent, routing, the IVR, an error, shutdown):
both legs, routing's contact, the recording, a voicemail in progress, the detail record. It
touches every feature a call may be in, so it sits above them all; they reach it through
`VoiceContext.hang_up`, which the server implements with this.
"""

from __future__ import annotations

import asyncio
import contextlib

from omnidesk.channels.voice import queueing, survey, transfers, voicemail
from omnidesk.channels.voice.calls import VoiceCall, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.recording import finish_recording
from omnidesk.channels.voice.records import write_record
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall
from omnidesk.routing.api import EndContact, RoutingError


async def hang_up(ctx: VoiceContext, call: VoiceCall, reason: str) -> None:
    if call.ended:
        return
    consultant = call.consult.agent_id if call.consult is not None else None
    if call.consult is not None:
        await transfers.drop_consult(ctx, call)  # agent B first: the contact ends as connected
    call.end_reason = reason
    for handle in call.timers.values():
        handle.cancel()
    queueing.stop_queue_audio(ctx, call)
    if call.state in ("queued", "ringing"):
        await queueing.leave_queue(ctx, call, "hangup")
    contact_id = call.contact_id
    was_connected = call.state in ("connected", "held")
    call.state = "ended"
    call.ended_at = utcnow()
    for sip_call in (call.sip, call.agent_sip, *(m[0] for m in call.monitors.values())):
        if sip_call is not None and sip_call.state != "ended":
            with contextlib.suppress(CallFailed, OSError):
                if isinstance(sip_call, IncomingCall) and sip_call.state == "early":
                    await sip_call.reject(480, "Temporarily Unavailable")
                else:
                    await sip_call.bye()
    with contextlib.suppress(Exception):
        await finish_recording(ctx, call)
    with contextlib.suppress(Exception):
        await voicemail.finish_voicemail(ctx, call, "hangup")
    with contextlib.suppress(Exception):
        await survey.call_ended(ctx, call)  # the answers so far, however the call ended
    for leg in (call.leg, call.agent_leg, *(m[1] for m in call.monitors.values())):
        if leg is not None:
            await ctx.media.close_leg(leg)
    if was_connected and contact_id is not None:
        with contextlib.suppress(RoutingError):
            await ctx.routing.execute(call.tenant_id, EndContact(contact_id))
    if contact_id is not None:
        ctx.by_contact.pop(contact_id, None)
    try:
        # (The consultant's desk, too: it followed the call until now.)
        await write_record(ctx, call, also=(consultant,))
    finally:
        # Leaves the live calls only once its record is written: whoever sees a call gone
        # from the live list (a desk, the API) finds it in the call history.
        ctx.calls.pop(call.id, None)
    if call.worker is not None and call.worker is not asyncio.current_task():
        call.worker.cancel()
