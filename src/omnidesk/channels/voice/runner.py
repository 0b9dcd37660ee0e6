"""A call's runner: the one owner of a live call. It takes the call's inputs from its inbox one
at a time — keypad digits, prompts ending, IVR timers, steps of call control and of routing's
offers — and turns the IVR's actions into the features' steps (queueing, voicemail, callbacks,
transfer out, hang-up). The caller's side of the call (keypad, re-INVITE, hang-up) is wired
into the same inbox here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from omnidesk.channels.voice import outbound, overflow, queueing, survey, voicemail
from omnidesk.channels.voice.call_control import on_reinvite
from omnidesk.channels.voice.callbacks import CallbackDesk
from omnidesk.channels.voice.calls import VoiceCall, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.playback import play, stop_playing
from omnidesk.channels.voice.records import note
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)


class CallRunner:
    """Runs one call's inputs against its IVR session and the routing service."""

    def __init__(self, ctx: VoiceContext, call: VoiceCall, callbacks: CallbackDesk) -> None:
        self.ctx = ctx
        self.call = call
        self.callbacks = callbacks

    def start(self) -> None:
        """Run the inbox, in a task the server stops with it."""
        self.call.worker = self.ctx.spawn(self.run(), f"voice-call-{self.call.id}")

    # --- the caller's side ---------------------------------------------------------------------

    def wire(self) -> None:
        """Caller-side signals (keypad, re-INVITE, hang-up) into the call's inbox."""
        call = self.call
        call.leg.on_dtmf = lambda digit, _ms: call.put("digit", digit)

        async def on_info(content_type: str, body: bytes) -> None:
            digit = _info_digit(content_type, body)
            if digit is not None:
                call.put("digit", digit)

        async def on_ended(reason: str) -> None:
            if not call.ended:
                call.put("call", lambda: self.caller_gone(reason))

        call.sip.on_info = on_info
        call.sip.on_reinvite = lambda offer: on_reinvite(
            self.ctx, call, call.sip, call.leg, offer, agent=False
        )
        call.sip.on_ended = on_ended

    async def caller_gone(self, reason: str) -> None:
        call = self.call
        session = call.session
        if session is not None and not session.ended:
            await self.execute(session.hangup(now=utcnow()))
        # Taken before the hang-up, which takes the call off its agent and contact.
        unsurveyed = survey.contact_end(call)
        await self.ctx.hang_up(call, f"caller {reason}")
        if unsurveyed is not None:
            await survey.caller_hung_up(self.ctx, unsurveyed)

    # --- the inbox ---------------------------------------------------------------------------

    async def run(self) -> None:
        call = self.call
        while not call.ended:
            kind, value = await call.inbox.get()
            try:
                await self.handle(kind, value)
            except Exception:
                log.exception("voice.call_input_failed", call=call.id, input=kind)
                await self.ctx.hang_up(call, "error")

    async def handle(self, kind: str, value: Any) -> None:
        call = self.call
        session = call.session
        now = utcnow()
        if call.survey is not None and kind in ("digit", "prompt_done", "timer"):
            await survey.on_input(self.ctx, call, kind, value)
            return
        if kind == "digit":
            if call.state in ("connected", "held"):
                return  # digits to an agent are not IVR input
            if await overflow.on_digit(self.ctx, call, value):
                return
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
            # Routing took the contact out of the queue (closed, full, max wait, a last
            # step): the queue's overflow action (or the flow's own timeout branch) follows.
            await overflow.carry_out(self.ctx, call, value, self.callbacks, self.execute)
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
        ctx = self.ctx
        if isinstance(action, ivr.Play):
            play(ctx, call, await ctx.render_prompts(call, action.prompts))
        elif isinstance(action, ivr.StopPlayback):
            stop_playing(ctx, call)
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
            await note(ctx, call, "ivr", detail={"attributes": dict(action.attributes)})
        elif isinstance(action, ivr.Enqueue):
            await queueing.enqueue(ctx, call, action)
        elif isinstance(action, ivr.LeaveQueue):
            await queueing.leave_queue(ctx, call, action.reason)
        elif isinstance(action, ivr.StartVoicemail):
            await voicemail.start_voicemail(ctx, call, action)
        elif isinstance(action, ivr.StopVoicemail):
            await voicemail.stop_voicemail(ctx, call, action)
        elif isinstance(action, ivr.OfferCallback):
            await self.callbacks.register(call, action)
        elif isinstance(action, ivr.TransferOut):
            await outbound.transfer_out(ctx, call, action.number)
        elif isinstance(action, ivr.Hangup):
            # The session plays a hang-up node's prompt and waits for it before this action.
            await ctx.hang_up(call, action.reason)
        elif isinstance(action, ivr.Warn):
            log.warning("voice.ivr_warning", call=call.id, node=action.node, message=action.message)


def _info_digit(content_type: str, body: bytes) -> str | None:
    """SIP INFO DTMF: application/dtmf-relay ("Signal=5\\r\\nDuration=160") or application/dtmf."""
    text = body.decode("ascii", "replace").strip()
    if content_type == "application/dtmf-relay":
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                text = value.strip()
                break
        else:
            return None
    elif content_type != "application/dtmf":
        return None
    mapping = {"10": "*", "11": "#"}
    text = mapping.get(text, text)
    return text if len(text) == 1 and text in "0123456789*#ABCD" else None
