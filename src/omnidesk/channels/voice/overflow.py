"""A queued call that routing overflows: the queue's overflow action, carried out on the phone.

Routing owns when a contact cannot wait any longer (the queue's `max_wait_seconds`, `max_size`,
hours, a last workflow step) and what then happens (`on_max_wait`, `on_full`, `on_closed`, the
step's `overflow`): ADR 0026. A move to another queue is routing's alone (queueing.py keeps the
caller waiting). For the others routing ends the contact and this module does the rest:

- `voicemail`: the action's message (if any) is spoken, then the beep, and the caller's
  message is recorded as a flow's voicemail node records it (voicemail.py); it goes to the
  queue's voice policy's `voicemail_queue`, or else to the queue the call waited in. `#` or
  `OVERFLOW_VOICEMAIL_SECONDS` ends it, then the call is hung up;
- `callback`: a callback to the number the call came from is put in the queue the call waited
  in (callbacks.py), the message is spoken and the call hung up; a call without a usable
  number only hears the message;
- `disconnect`: the message is spoken, then the call is hung up.

A flow's queue node with its own `max_wait_s` + `on_timeout` keeps precedence for its calls at
a max wait: the flow goes on at `on_timeout` (IvrSession.overflowed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from omnidesk.channels.voice import voicemail
from omnidesk.channels.voice.callbacks import CallbackDesk
from omnidesk.channels.voice.calls import VoiceCall, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.media.players import BufferSource
from omnidesk.channels.voice.playback import stop_playing
from omnidesk.channels.voice.queueing import Overflow, stop_queue_audio, stop_ring
from omnidesk.channels.voice.records import note
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)

# A queue's overflow action has no length for the message: the flow's voicemail node default.
OVERFLOW_VOICEMAIL_SECONDS = 120.0
FINISH_KEY = "#"

Execute = Callable[[list[ivr.Action]], Awaitable[None]]


async def carry_out(
    ctx: VoiceContext,
    call: VoiceCall,
    overflow: Overflow | None,
    callbacks: CallbackDesk,
    execute: Execute,
) -> None:
    """Routing overflowed the call's contact (it is out of routing already)."""
    await _out_of_queue(ctx, call)
    if overflow is None:  # not known how (should not happen): end politely rather than wait
        await ctx.hang_up(call, "overflow")
        return
    session = call.session
    if session is not None and not session.ended:
        actions = session.overflowed(overflow.reason, now=utcnow())
        if not session.ended:
            # The flow's own max wait branch (its queue node's on_timeout) takes the call.
            await note(ctx, call, "overflow", detail=_detail(call, overflow, by="flow"))
            await execute(actions)
            return
        await execute(actions)  # the ended flow's timer cancelled, nothing else
    await note(ctx, call, "overflow", detail=_detail(call, overflow, by="queue"))
    if overflow.kind == "voicemail":
        policy = await ctx.lookups.queue_policy(call.tenant_id, call.queue_id or "")
        target = policy.voicemail_queue or call.queue_id
        if target is None:
            await ctx.hang_up(call, "overflow")
            return
        await _say_then(ctx, call, overflow.message, lambda: _record(ctx, call, target))
    elif overflow.kind == "callback":
        if call.caller and call.queue_id:
            await callbacks.register(call, ivr.OfferCallback(call.caller, call.queue_id))
        else:
            log.info("voice.overflow_callback_without_number", call=call.id)
        await _say_then(ctx, call, overflow.message, lambda: ctx.hang_up(call, "overflow"))
    else:
        await _say_then(ctx, call, overflow.message, lambda: ctx.hang_up(call, "overflow"))


async def on_digit(ctx: VoiceContext, call: VoiceCall, digit: str) -> bool:
    """A key during an overflow's voicemail: the finish key ends it. True: the digit was
    this module's (the flow has ended, nobody else takes it)."""
    vm = call.voicemail
    if vm is None or not vm.standalone:
        return False
    if digit == vm.finish_key and vm.recorder is not None:
        await _finish(ctx, call, "finish_key")
    return True


def _detail(call: VoiceCall, overflow: Overflow, *, by: str) -> dict[str, object]:
    return {
        "reason": overflow.reason,
        "action": overflow.kind,
        "queue": call.queue_id,
        "by": by,
    }


async def _out_of_queue(ctx: VoiceContext, call: VoiceCall) -> None:
    """The caller no longer waits: no ring, no music or announcements, no contact."""
    await stop_ring(ctx, call, reject=False)
    stop_queue_audio(ctx, call)
    if call.contact_id is not None:
        ctx.by_contact.pop(call.contact_id, None)
    call.contact_id = None
    if call.state in ("queued", "ringing"):
        call.state = "ivr"


async def _say_then(
    ctx: VoiceContext,
    call: VoiceCall,
    message: str | None,
    then: Callable[[], Awaitable[None]],
) -> None:
    """Speak the action's message in the call's language, then go on (at once without one)."""
    stop_playing(ctx, call)
    audio = await ctx.prompts.say(message, call.language) if message else None
    if audio is None or not len(audio) or call.ended:
        await then()
        return

    async def after() -> None:
        if not call.ended:
            await then()

    # Not through playback.play: its prompt_done belongs to the (ended) flow.
    ctx.media.connect(call.leg, BufferSource(audio, on_done=lambda: call.put("call", after)))


async def _record(ctx: VoiceContext, call: VoiceCall, queue: str) -> None:
    action = ivr.StartVoicemail(queue, OVERFLOW_VOICEMAIL_SECONDS, FINISH_KEY)
    await voicemail.start_voicemail(ctx, call, action, standalone=True)
    vm = call.voicemail
    if vm is None:
        return

    def limit() -> None:
        if call.voicemail is vm:
            call.put("call", lambda: _finish(ctx, call, "max_seconds"))

    # The beep comes first; the cap counts from here, as a flow's node's timer does.
    loop = asyncio.get_running_loop()
    call.timers["overflow.voicemail"] = loop.call_later(OVERFLOW_VOICEMAIL_SECONDS, limit)


async def _finish(ctx: VoiceContext, call: VoiceCall, reason: str) -> None:
    timer = call.timers.pop("overflow.voicemail", None)
    if timer is not None:
        timer.cancel()
    await voicemail.finish_voicemail(ctx, call, reason)
    await ctx.hang_up(call, "overflow voicemail")
