"""A call from a trunk to one of the tenant's numbers: checked, answered, and handed to the
number's IVR flow on the call's own inbox (runner.py)."""

from __future__ import annotations

from omnidesk.channels.voice import agent_calls, outbound
from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.callbacks import CallbackDesk
from omnidesk.channels.voice.calls import VoiceCall, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr.flow import Flow, normalize_e164, validate_flow
from omnidesk.channels.voice.ivr.interpreter import IvrSession
from omnidesk.channels.voice.media.sdp import NoCommonCodec, SdpError, SessionDescription, negotiate
from omnidesk.channels.voice.records import record
from omnidesk.channels.voice.runner import CallRunner
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall
from omnidesk.channels.voice.views import call_json
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)


async def on_invite(ctx: VoiceContext, callbacks: CallbackDesk, sip_call: IncomingCall) -> None:
    if await outbound.agent_invite(ctx, sip_call, agent_calls.softphone_calls_agent):
        return  # an agent's softphone calling a number or a colleague's extension
    request = sip_call.request
    dialled = request.uri.user or request.to.uri.user or ""
    number = _e164(dialled)
    source_ip = sip_call.source.host
    found = await ctx.lookups.trunk_for_source(source_ip, number)
    if found is None:
        log.info("voice.invite_refused", source=source_ip, number=number)
        if await ctx.lookups.trunks_for_source(source_ip):
            # A known carrier dialling a number none of its tenants owns.
            await sip_call.reject(404, "Number Not Found")
        else:
            await sip_call.reject(403, "Not From A Known Trunk")
        return
    tenant_id, trunk = found
    route = await ctx.lookups.number_route(number) if number else None
    if route is None or route.tenant_id != tenant_id:
        await sip_call.reject(404, "Number Not Found")
        return
    flow = validate_flow(route.definition)
    if not isinstance(flow, Flow):
        log.error("voice.flow_invalid", number=number, issues=[str(i) for i in flow])
        await sip_call.reject(503, "Flow Not Usable")
        return
    try:
        offer = SessionDescription.parse(sip_call.remote_sdp or b"")
    except SdpError as exc:
        await sip_call.reject(400, f"Bad SDP ({exc})"[:60])
        return
    leg = await ctx.media.open_leg()
    try:
        answer, params = negotiate(offer, local_ip=ctx.host, local_port=leg.local_port)
    except NoCommonCodec:
        await ctx.media.close_leg(leg)
        await sip_call.reject(488, "Not Acceptable Here")
        return
    except SdpError as exc:
        await ctx.media.close_leg(leg)
        await sip_call.reject(400, f"Bad SDP ({exc})"[:60])
        return
    leg.configure(params)
    caller = request.from_.uri.user
    call = VoiceCall(
        tenant_id=tenant_id,
        sip=sip_call,
        leg=leg,
        caller=_e164(caller or "") or caller,
        number=number,
        trunk_id=trunk.id,
        language=flow.language,
    )
    call.attributes.update({"caller": call.caller, "number": number})
    runner = CallRunner(ctx, call, callbacks)
    ctx.calls[call.id] = call
    runner.wire()
    try:
        await sip_call.answer(answer.build().encode())
    except CallFailed:
        await ctx.hang_up(call, "no ack")
        return
    await record(
        ctx,
        call,
        ev.CallStarted(
            call_id=call.id,
            direction="inbound",
            caller=call.caller,
            callee=number,
            number=number,
            trunk_id=str(trunk.id),
            call=call_json(call),
        ),
    )
    runner.start()
    session = IvrSession(flow, now=utcnow(), attributes=call.attributes, caller=call.caller)
    call.session = session
    call.put("call", lambda: runner.execute(session.start(now=utcnow())))


def _e164(value: str) -> str | None:
    digits = value.strip()
    if not digits:
        return None
    if not digits.startswith("+") and digits.isdigit():
        digits = "+" + digits
    try:
        return normalize_e164(digits)
    except ValueError:
        return None
