"""Controlling a connected call: the agent desktop's hold, resume, mute, keypad and recording
buttons, and the same from either phone (a re-INVITE that holds or resumes)."""

from __future__ import annotations

import asyncio
from typing import Any

from omnidesk.channels.voice.calls import VoiceCall
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.sdp import SdpError, SessionDescription, negotiate
from omnidesk.channels.voice.playback import hold_audio
from omnidesk.channels.voice.recording import start_recording
from omnidesk.channels.voice.records import note
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.platform.errors import Conflict


async def control(call: VoiceCall, fn: Any, *args: Any) -> None:
    """Run a control step in the call's own order, and wait for it: its refusal (a 409)
    reaches the HTTP caller."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def step() -> None:
        try:
            await fn(call, *args)
        except Exception as exc:
            if not done.done():
                done.set_exception(exc)
            return
        if not done.done():
            done.set_result(None)

    if call.ended:
        raise Conflict("the call has ended")
    call.put("call", step)
    await done


def _connected(call: VoiceCall) -> Leg:
    if call.state not in ("connected", "held") or call.agent_leg is None:
        raise Conflict(f"the call is {call.state}, not connected to an agent")
    return call.agent_leg


async def hold(ctx: VoiceContext, call: VoiceCall) -> None:
    """The customer hears hold music and nobody hears them; the agent hears silence."""
    _connected(call)
    if call.state == "held":
        return
    call.held = ctx.media.hold(call.leg, await hold_audio(ctx, call, None))
    call.state = "held"
    await note(ctx, call, "held")


async def resume(ctx: VoiceContext, call: VoiceCall) -> None:
    _connected(call)
    if call.state != "held" or call.held is None:
        raise Conflict("the call is not on hold")
    ctx.media.resume(call.leg, call.held)
    call.held = None
    call.state = "connected"
    await note(ctx, call, "resumed")


async def mute(ctx: VoiceContext, call: VoiceCall, on: bool) -> None:
    leg = _connected(call)
    leg.muted = on
    await note(ctx, call, "muted" if on else "unmuted")


async def send_dtmf(call: VoiceCall, digits: str) -> None:
    _connected(call)
    for digit in digits:
        call.leg.send_dtmf(digit)
        await asyncio.sleep(0.25)  # one key press after the other, as a phone sends them


async def recording_control(ctx: VoiceContext, call: VoiceCall, action: str) -> None:
    _connected(call)
    if action == "start":
        if call.recorder is not None:
            raise Conflict("the call is already being recorded")
        await start_recording(ctx, call)
        return
    if call.recorder is None:
        raise Conflict("the call is not being recorded")
    if action == "pause":
        call.recorder.pause()
    else:
        call.recorder.resume()
    await note(ctx, call, "recording", detail={"recording": action})


async def on_reinvite(
    ctx: VoiceContext, call: VoiceCall, sip_call: Any, leg: Leg, offer: bytes | None, agent: bool
) -> bytes:
    """A re-INVITE from either side: renegotiate its leg (new address, codec, direction).
    The agent's phone putting the call on hold (sendonly/inactive/0.0.0.0) holds the call
    as the desktop's hold does — the customer hears music — and taking it off resumes."""
    if not offer:
        return bytes(sip_call.local_sdp or b"")  # an offerless re-INVITE: the same answer
    try:
        answer, params = negotiate(
            SessionDescription.parse(offer), local_ip=ctx.host, local_port=leg.local_port
        )
    except SdpError as exc:
        raise CallFailed(488, str(exc)) from exc
    leg.configure(params)
    if agent:
        on_hold = not params.sends  # they send only / nothing, or to 0.0.0.0
        if on_hold and call.state == "connected":
            call.put("call", lambda: hold(ctx, call))
        elif not on_hold and call.state == "held":
            call.put("call", lambda: resume(ctx, call))
    return answer.build().encode()
