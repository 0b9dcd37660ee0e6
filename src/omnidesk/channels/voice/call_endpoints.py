"""Call control for the agent desktop: live calls, hold/resume, mute, DTMF, recording, hang-up."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from omnidesk.channels.voice import monitoring, outbound, transfers
from omnidesk.channels.voice.calls import VoiceCall
from omnidesk.channels.voice.server import VoiceServer
from omnidesk.channels.voice.views import call_view as view
from omnidesk.channels.voice.views import follows
from omnidesk.directory.models import Role
from omnidesk.platform.errors import Conflict, NotFound
from omnidesk.platform.http import Ctx

router = APIRouter(prefix="/voice/calls", tags=["voice calls"])


class DtmfIn(BaseModel):
    digits: str = Field(pattern=r"^[0-9*#A-D]{1,32}$")


class RecordingIn(BaseModel):
    action: Literal["start", "pause", "resume"]


class TransferOutIn(BaseModel):
    number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")


def _server(request: Request) -> VoiceServer | None:
    # Without a voice server (OMNIDESK_VOICE_ENABLED off) there are simply no live calls.
    server: VoiceServer | None = getattr(request.app.state, "voice", None)
    return server


def _call(
    request: Request, ctx: Any, call_id: str, *, control: bool = True
) -> tuple[VoiceServer, VoiceCall]:
    """The call if the user follows it (the realtime snapshot's rule); `control`: they are
    about to act on it, which an agent may not once the call was transferred out."""
    server = _server(request)
    call = server.calls.get(call_id) if server is not None else None
    if server is None or call is None or not follows(ctx.principal, server, call):
        raise NotFound(f"call {call_id!r} not found")
    if control and call.state == "transferred" and ctx.principal.role is Role.AGENT:
        # The agent left when they sent the caller on: a hang-up from their desktop would cut
        # the customer off from the party they were sent to.
        raise Conflict("the call was transferred out: it is no longer yours to control")
    return server, call


@router.get("")
async def list_calls(request: Request, ctx: Ctx) -> list[dict[str, Any]]:
    server = _server(request)
    if server is None:
        return []
    return [view(c) for c in list(server.calls.values()) if follows(ctx.principal, server, c)]


@router.get("/{call_id}")
async def get_call(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    return view(_call(request, ctx, call_id, control=False)[1])


@router.post("/{call_id}/hold")
async def hold(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await server.control(call, server.hold)
    return view(call)


@router.post("/{call_id}/resume")
async def resume(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await server.control(call, server.resume)
    return view(call)


@router.post("/{call_id}/mute")
async def mute(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await server.control(call, server.mute, True)
    return view(call)


@router.post("/{call_id}/unmute")
async def unmute(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await server.control(call, server.mute, False)
    return view(call)


@router.post("/{call_id}/dtmf")
async def dtmf(call_id: str, body: DtmfIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await server.control(call, server.send_dtmf, body.digits)
    return view(call)


@router.post("/{call_id}/recording")
async def recording(call_id: str, body: RecordingIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await server.control(call, server.recording_control, body.action)
    return view(call)


@router.post("/{call_id}/hangup")
async def hangup(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await server.control(call, server.hang_up, f"hung up by {ctx.principal.role.value}")
    return view(call)


# --- transfers (logic in transfers.py) ---------------------------------------------------------


class TransferTargetIn(BaseModel):
    target: Literal["agent", "queue"]
    id: str = Field(min_length=1, max_length=128)


def _with_consult(call: VoiceCall) -> dict[str, Any]:
    return {**view(call), "consult": transfers.consult_view(call)}


@router.post("/{call_id}/transfer")
async def transfer(
    call_id: str, body: TransferTargetIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.blind_transfer, server)
    await server.control(call, step, body.target, body.id, str(ctx.principal.user_id))
    return _with_consult(call)


@router.post("/{call_id}/consult")
async def consult(
    call_id: str, body: TransferTargetIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.start_consult, server)
    await server.control(call, step, body.target, body.id, str(ctx.principal.user_id))
    return _with_consult(call)


@router.post("/{call_id}/consult/complete")
async def consult_complete(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.complete_consult, server)
    await server.control(call, step, str(ctx.principal.user_id))
    return _with_consult(call)


@router.post("/{call_id}/consult/cancel")
async def consult_cancel(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.cancel_consult, server)
    await server.control(call, step, str(ctx.principal.user_id))
    return _with_consult(call)


@router.post("/{call_id}/conference")
async def conference(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.conference, server)
    await server.control(call, step, str(ctx.principal.user_id))
    return _with_consult(call)


# --- supervisor monitoring (monitoring.py) ---------------------------------------------------


class MonitorIn(BaseModel):
    mode: Literal["listen", "whisper", "barge"]


@router.post("/{call_id}/monitor")
async def monitor(call_id: str, body: MonitorIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    """Ring the caller's own softphone and join the call (or switch mode when already in)."""
    server, call = _call(request, ctx, call_id)
    await monitoring.authorize(ctx, call)
    await monitoring.monitor(server, call, str(ctx.principal.user_id), body.mode)
    return view(call)


@router.patch("/{call_id}/monitor")
async def monitor_mode(call_id: str, body: MonitorIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await monitoring.authorize(ctx, call)
    await server.control(
        call, partial(monitoring.set_mode, server), str(ctx.principal.user_id), body.mode
    )
    return view(call)


@router.delete("/{call_id}/monitor")
async def monitor_end(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await monitoring.authorize(ctx, call)
    step = partial(monitoring.end_monitor, server)
    await server.control(call, step, str(ctx.principal.user_id), "ended from the API")
    return view(call)


@router.post("/{call_id}/transfer-out")
async def transfer_out(
    call_id: str, body: TransferOutIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """Dial an external number through the outbound trunk and hand the caller to it; the
    agent is released into wrap-up. Answers once the number picked up (409 if it did not)."""
    server, call = _call(request, ctx, call_id)
    await server.control(call, partial(outbound.transfer_connected, server), body.number)
    return view(call)
