"""A call from a trunk to one of the tenant's numbers: checked, answered, and handed to the
number's IVR flow on the call's own inbox (calls.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice import outbound
from omnidesk.channels.voice.calls import CallRunner, VoiceCall, utcnow
from omnidesk.channels.voice.ivr.flow import Flow, normalize_e164, validate_flow
from omnidesk.channels.voice.ivr.interpreter import IvrSession
from omnidesk.channels.voice.media.sdp import NoCommonCodec, SdpError, SessionDescription, negotiate
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall
from omnidesk.channels.voice.views import call_json
from omnidesk.platform.logging import get_logger

if TYPE_CHECKING:
    from omnidesk.channels.voice.server import VoiceServer

log = get_logger(__name__)


async def on_invite(server: VoiceServer, sip_call: IncomingCall) -> None:
    if await outbound.agent_invite(server, sip_call):
        return  # an agent's softphone calling a number
    request = sip_call.request
    dialled = request.uri.user or request.to.uri.user or ""
    number = _e164(dialled)
    source_ip = sip_call.source.host
    found = await server.lookups.trunk_for_source(source_ip, number)
    if found is None:
        log.info("voice.invite_refused", source=source_ip, number=number)
        if await server.lookups.trunks_for_source(source_ip):
            # A known carrier dialling a number none of its tenants owns.
            await sip_call.reject(404, "Number Not Found")
        else:
            await sip_call.reject(403, "Not From A Known Trunk")
        return
    tenant_id, trunk = found
    route = await server.lookups.number_route(number) if number else None
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
    leg = await server.media.open_leg()
    try:
        answer, params = negotiate(offer, local_ip=server.host, local_port=leg.local_port)
    except NoCommonCodec:
        await server.media.close_leg(leg)
        await sip_call.reject(488, "Not Acceptable Here")
        return
    except SdpError as exc:
        await server.media.close_leg(leg)
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
    server.calls[call.id] = call
    server.wire(call)
    try:
        await sip_call.answer(answer.build().encode())
    except CallFailed:
        await server.hang_up(call, "no ack")
        return
    await server.record(
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
    runner = CallRunner(server, call)
    call.worker = server.spawn(runner.run(), f"voice-call-{call.id}")
    session = IvrSession(flow, now=utcnow(), attributes=call.attributes, caller=call.caller)
    call.session = session
    call.put("call", lambda: runner.execute(session.start(now=utcnow())))


def wire(server: VoiceServer, call: VoiceCall) -> None:
    """Caller-side signals into the call's inbox."""
    call.leg.on_dtmf = lambda digit, _ms: call.put("digit", digit)

    async def on_info(content_type: str, body: bytes) -> None:
        digit = _info_digit(content_type, body)
        if digit is not None:
            call.put("digit", digit)

    async def on_ended(reason: str) -> None:
        if not call.ended:
            call.put("call", lambda: server.caller_gone(call, reason))

    call.sip.on_info = on_info
    call.sip.on_reinvite = lambda offer: server.on_reinvite(
        call, call.sip, call.leg, offer, agent=False
    )
    call.sip.on_ended = on_ended


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
