"""Call control for the agent desktop: live calls, hold/resume, mute, DTMF, recording, hang-up."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from omnidesk.channels.voice import call_control, monitoring, outbound, transfers
from omnidesk.channels.voice.calls import VoiceCall
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.schemas import CallOut, CallWithConsultOut
from omnidesk.channels.voice.views import call_view as view
from omnidesk.channels.voice.views import follows
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import Conflict, NotFound
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import documented

router = APIRouter(prefix="/voice/calls", tags=["voice calls"])


class DtmfIn(BaseModel):
    digits: str = Field(pattern=r"^[0-9*#A-D]{1,32}$")


class RecordingIn(BaseModel):
    action: Literal["start", "pause", "resume"]


class TransferOutIn(BaseModel):
    number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")


def _server(request: Request) -> VoiceContext | None:
    # Without a voice server (OMNIDESK_VOICE_ENABLED off) there are simply no live calls.
    server: VoiceContext | None = getattr(request.app.state, "voice", None)
    return server


def _call(
    request: Request, ctx: Any, call_id: str, *, control: bool = True
) -> tuple[VoiceContext, VoiceCall]:
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
    if control and ctx.principal.role is Role.AGENT and _other_party(ctx, call):
        # The consulted agent (or one called by another agent) follows the call for their own
        # part: their hang-up is theirs (POST …/hangup), the call's controls are its agent's.
        raise Conflict("this call is another agent's: only hanging up your part is yours")
    return server, call


def _other_party(ctx: Any, call: VoiceCall) -> str | None:
    """ "consultant" or "callee" when the user is on the call but is not its agent."""
    me = str(ctx.principal.user_id)
    if call.agent_id == me:
        return None
    if call.consult is not None and call.consult.agent_id == me:
        return "consultant"
    return "callee" if call.attributes.get("callee_id") == me else None


@router.get("", **documented(list[CallOut]))
async def list_calls(request: Request, ctx: Ctx) -> list[dict[str, Any]]:
    server = _server(request)
    if server is None:
        return []
    return [view(c) for c in list(server.calls.values()) if follows(ctx.principal, server, c)]


@router.get("/{call_id}", **documented(CallOut))
async def get_call(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    return view(_call(request, ctx, call_id, control=False)[1])


@router.post("/{call_id}/hold", **documented(CallOut, 200, 409))
async def hold(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await call_control.control(call, partial(call_control.hold, server))
    return view(call)


@router.post("/{call_id}/resume", **documented(CallOut, 200, 409))
async def resume(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await call_control.control(call, partial(call_control.resume, server))
    return view(call)


@router.post("/{call_id}/mute", **documented(CallOut, 200, 409))
async def mute(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await call_control.control(call, partial(call_control.mute, server), True)
    return view(call)


@router.post("/{call_id}/unmute", **documented(CallOut, 200, 409))
async def unmute(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await call_control.control(call, partial(call_control.mute, server), False)
    return view(call)


@router.post("/{call_id}/dtmf", **documented(CallOut, 200, 409))
async def dtmf(call_id: str, body: DtmfIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    _, call = _call(request, ctx, call_id)
    await call_control.control(call, call_control.send_dtmf, body.digits)
    return view(call)


@router.post("/{call_id}/recording", **documented(CallOut, 200, 409))
async def recording(call_id: str, body: RecordingIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await call_control.control(call, partial(call_control.recording_control, server), body.action)
    return view(call)


@router.post("/{call_id}/hangup", **documented(CallOut, 200, 409))
async def hangup(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    """End the call; for the agent consulted on it, end only their part, as hanging up their
    phone does (the caller stays with the call's agent)."""
    server, call = _call(request, ctx, call_id, control=False)
    party = _other_party(ctx, call)
    if party == "consultant":
        step = partial(transfers.leave_consult, server)
        await call_control.control(call, step, str(ctx.principal.user_id))
        return view(call)
    if party == "callee":  # a call between two agents: either hangs it up
        await call_control.control(call, server.hang_up, "hung up by the agent called")
        return view(call)
    server, call = _call(request, ctx, call_id)
    # The call's own agent hanging up leaves the caller to the post-call survey (if any).
    by_agent = call.agent_id == str(ctx.principal.user_id)
    end = server.agent_ended if by_agent else server.hang_up
    await call_control.control(call, end, f"hung up by {ctx.principal.role.value}")
    return view(call)


# --- transfers (logic in transfers.py) ---------------------------------------------------------


class TransferTargetIn(BaseModel):
    target: Literal["agent", "queue"]
    id: str = Field(min_length=1, max_length=128)
    # For whoever takes the call next (a blind transfer; routing keeps it on the contact).
    note: str | None = Field(default=None, min_length=1, max_length=1000)


def _with_consult(call: VoiceCall) -> dict[str, Any]:
    return view(call)  # (every call view has its consult)


@router.post("/{call_id}/transfer", **documented(CallWithConsultOut, 200, 409))
async def transfer(
    call_id: str, body: TransferTargetIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.blind_transfer, server, transfer_note=body.note)
    await call_control.control(call, step, body.target, body.id, str(ctx.principal.user_id))
    return _with_consult(call)


@router.post("/{call_id}/consult", **documented(CallWithConsultOut, 200, 409))
async def consult(
    call_id: str, body: TransferTargetIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.start_consult, server)
    await call_control.control(call, step, body.target, body.id, str(ctx.principal.user_id))
    return _with_consult(call)


@router.post("/{call_id}/consult/complete", **documented(CallWithConsultOut, 200, 409))
async def consult_complete(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.complete_consult, server)
    await call_control.control(call, step, str(ctx.principal.user_id))
    return _with_consult(call)


@router.post("/{call_id}/consult/cancel", **documented(CallWithConsultOut, 200, 409))
async def consult_cancel(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.cancel_consult, server)
    await call_control.control(call, step, str(ctx.principal.user_id))
    return _with_consult(call)


@router.post("/{call_id}/conference", **documented(CallWithConsultOut, 200, 409))
async def conference(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    step = partial(transfers.conference, server)
    await call_control.control(call, step, str(ctx.principal.user_id))
    return _with_consult(call)


# --- supervisor monitoring (monitoring.py) ---------------------------------------------------


class MonitorIn(BaseModel):
    mode: Literal["listen", "whisper", "barge"]


class MonitorStartIn(MonitorIn):
    sdp: str | None = Field(
        None,
        min_length=1,
        max_length=20000,
        description="The browser's SDP offer (ICE gathered) when your browser phone joins: "
        "required while one is registered, refused otherwise",
    )


class MonitorStartOut(CallOut):
    sdp: str | None = Field(None, description="Omnidesk's SDP answer to the browser's offer")


@router.post("/{call_id}/monitor", **documented(MonitorStartOut, 200, 409, 422))
async def monitor(call_id: str, body: MonitorStartIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    """Join the call through your own phone (or switch mode when already in): your browser
    phone when registered (the request carries its offer, the answer comes back), else your
    SIP softphone, rung until it answers."""
    server, call = _call(request, ctx, call_id)
    await monitoring.authorize(ctx, call)
    user = str(ctx.principal.user_id)
    answer = await monitoring.monitor(server, call, user, body.mode, body.sdp)
    return {**view(call), "sdp": answer}


@router.patch("/{call_id}/monitor", **documented(CallOut, 200, 409))
async def monitor_mode(call_id: str, body: MonitorIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await monitoring.authorize(ctx, call)
    await call_control.control(
        call, partial(monitoring.set_mode, server), str(ctx.principal.user_id), body.mode
    )
    return view(call)


@router.delete("/{call_id}/monitor", **documented(CallOut, 200, 409))
async def monitor_end(call_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    server, call = _call(request, ctx, call_id)
    await monitoring.authorize(ctx, call)
    step = partial(monitoring.end_monitor, server)
    await call_control.control(call, step, str(ctx.principal.user_id), "ended from the API")
    return view(call)


@router.post("/{call_id}/transfer-out", **documented(CallOut, 200, 409))
async def transfer_out(
    call_id: str, body: TransferOutIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """Dial an external number through the outbound trunk and hand the caller to it; the
    agent is released into wrap-up. Answers once the number picked up (409 if it did not)."""
    server, call = _call(request, ctx, call_id)
    await call_control.control(call, partial(outbound.transfer_connected, server), body.number)
    return view(call)
