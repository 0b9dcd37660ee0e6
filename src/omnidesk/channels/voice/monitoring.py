"""Supervisor listen, whisper and barge on a live call.

The supervisor's own registered softphone is rung (any user with a SIP login has a binding,
like an agent), or, when they registered a browser phone, that is used instead (the choice
queueing makes for an agent): the request then carries the browser's WebRTC offer and gets
aiortc's answer back (ADR 0030, "Supervisor monitoring"). Once the phone answered, its leg
joins the call's mix graph through `media.monitor`:

- listen: the supervisor hears the caller and the agent; nobody hears the supervisor;
- whisper: the agent hears the supervisor too, the caller still does not;
- barge: everyone hears everyone (a three-way conference).

Changing the mode re-wires the graph without ringing again. Ending it (the API, or the
supervisor hanging up) takes the supervisor's leg out; the call goes on untouched.
Ringing happens outside the call's inbox (it may take seconds); joining, switching and leaving
run inside it, so they never interleave with hold, transfer or hang-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from functools import partial
from typing import Any

from omnidesk.channels.voice.call_control import control
from omnidesk.channels.voice.calls import AgentPhone, VoiceCall, drop_leg
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.sdp import (
    SdpError,
    SessionDescription,
    accept_answer,
    make_offer,
)
from omnidesk.channels.voice.records import note
from omnidesk.channels.voice.sip.dialog import CallFailed, OutgoingCall
from omnidesk.channels.voice.sip.message import NameAddr, SipUri
from omnidesk.channels.voice.webrtc import BrowserCall, BrowserPhone, OfferRefused
from omnidesk.directory import repository as directory
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import Conflict, Forbidden, Invalid, NotFound
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)

MODES = ("listen", "whisper", "barge")

# (call id, user id) of supervisors' phones ringing right now: a second request waits for no
# second ring.
_ringing: set[tuple[str, str]] = set()


async def authorize(ctx: Any, call: VoiceCall) -> None:
    """Admins monitor any call of their tenant; supervisors the calls of agents in the teams
    they supervise (the directory's visibility, as routing uses it); agents none."""
    principal = ctx.principal
    if principal.role is Role.AGENT:
        raise Forbidden("monitoring a call needs the supervisor or admin role")
    if principal.role is Role.SUPERVISOR and call.agent_id is not None:
        try:
            async with ctx.uow:
                await directory.get_user(ctx.uow.session, principal, uuid.UUID(call.agent_id))
        except NotFound:
            raise NotFound(f"call {call.id!r} not found") from None


def _require_live(call: VoiceCall) -> None:
    if call.state not in ("connected", "held") or call.agent_leg is None:
        raise Conflict(f"the call is {call.state}, not connected to an agent")


def _wire(ctx: VoiceContext, call: VoiceCall, leg: Leg, mode: str) -> None:
    assert call.agent_leg is not None
    if call.state == "held":
        # The caller is isolated on hold; hearing them comes back with resume (hold recorded
        # the supervisor's edges when it took them away). Only the agent side is wired now.
        ctx.media.disconnect(leg, call.leg)
        ctx.media.disconnect(call.leg, leg)
        ctx.media.connect(leg, call.agent_leg)
        if mode in ("whisper", "barge"):
            ctx.media.connect(call.agent_leg, leg)
        else:
            ctx.media.disconnect(call.agent_leg, leg)
        return
    ctx.media.monitor(leg, call.leg, call.agent_leg, mode)


async def monitor(
    ctx: VoiceContext, call: VoiceCall, user_id: str, mode: str, sdp: str | None = None
) -> str | None:
    """Start monitoring (ringing the user's phone and waiting for the answer), or switch
    the mode of a monitor already in place. Conflict when the call or the phone cannot.
    `sdp`: the browser's offer when the user's browser phone joins; its answer is returned."""
    if mode not in MODES:
        raise ValueError(f"unknown monitor mode {mode!r}")
    if user_id in call.monitors:
        if sdp is not None:
            # (A second connection would be left without a leg: the browser keeps its first.)
            raise Conflict("you are already monitoring this call: switch mode without an offer")
        await control(call, partial(set_mode, ctx), user_id, mode)
        return None
    _require_live(call)
    if call.agent_id == user_id:
        raise Conflict("you are the agent on this call")
    key = (call.id, user_id)
    if key in _ringing:
        raise Conflict("your softphone is already ringing for this call")
    _ringing.add(key)
    try:
        phone: AgentPhone
        answer: str | None = None
        browser = ctx.browser_phones.get(call.tenant_id, uuid.UUID(user_id))
        if browser is not None:
            phone, leg, answer = await _join_browser(ctx, call, browser, sdp)
        elif sdp is not None:
            raise Conflict(
                "no browser phone is registered for you (PUT /api/v1/voice/browser-phone)"
            )
        else:
            phone, leg = await _ring(ctx, call, user_id)
    finally:
        _ringing.discard(key)
    try:
        await control(call, partial(_join, ctx), user_id, phone, leg, mode)
    except BaseException:
        with contextlib.suppress(CallFailed, OSError):
            await phone.bye()
        await ctx.media.close_leg(leg)
        raise
    return answer


async def _join_browser(
    ctx: VoiceContext, call: VoiceCall, browser: BrowserPhone, sdp: str | None
) -> tuple[BrowserCall, Leg, str]:
    """The user's browser phone, in place of their softphone. The supervisor asked to join
    from the console, so nothing rings: the request's offer answers at once."""
    if sdp is None:
        raise Invalid(
            "your browser phone is registered: send its offer (sdp), or unregister it to "
            "monitor with your softphone",
            field="sdp",
        )
    leg = await ctx.media.open_leg()
    phone: BrowserCall | None = None
    try:
        offer = make_offer(local_ip=ctx.host, local_port=leg.local_port, dtmf_pt=None)
        # Not in browser_phones.ringing (not invite()): POST …/browser-phone/answer has
        # nothing to answer here, the offer came with this request.
        ring_id = f"monitor:{call.id}:{browser.user_id}"
        phone = BrowserCall(ctx.browser_phones, browser, ring_id, offer.build().encode())
        answer = await phone.answer_browser(sdp)
        leg.configure(accept_answer(offer, SessionDescription.parse(await phone.wait_answer())))
        return phone, leg, answer
    except BaseException as exc:
        await drop_leg(ctx.media, phone, leg)
        if isinstance(exc, OfferRefused):
            log.info(
                "voice.browser_offer_refused",
                call=call.id,
                user=str(browser.user_id),
                reason=str(exc),
            )
            raise Invalid(str(exc), field="sdp") from None
        raise


async def _ring(ctx: VoiceContext, call: VoiceCall, user_id: str) -> tuple[OutgoingCall, Leg]:
    try:
        target, via = await ctx.agent_binding(call.tenant_id, user_id)
    except CallFailed as exc:
        raise Conflict(f"cannot ring your softphone: {exc.reason}") from None
    leg = await ctx.media.open_leg()
    sip: OutgoingCall | None = None
    try:
        offer = make_offer(local_ip=ctx.host, local_port=leg.local_port)
        domain = await ctx.lookups.sip_domain(call.tenant_id) or ctx.host
        sip = await ctx.sip.invite(
            target,
            via,
            offer.build().encode(),
            from_uri=NameAddr(SipUri(user="monitor", host=domain), f"Monitor {call.caller or ''}"),
            to_uri=target,
            headers=[("X-Omnidesk-Monitor", call.id)],
        )
        limit = await ctx.ring_limit(call.tenant_id)
        answer = await asyncio.wait_for(sip.wait_answer(), limit.seconds)
        leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
        return sip, leg
    except BaseException as exc:
        await drop_leg(ctx.media, sip, leg)
        if isinstance(exc, CallFailed):
            raise Conflict(f"your softphone did not answer ({exc.status} {exc.reason})") from None
        if isinstance(exc, TimeoutError):
            raise Conflict("your softphone did not answer") from None
        if isinstance(exc, SdpError | OSError):
            raise Conflict(f"your softphone's answer was not usable ({exc})") from None
        raise


async def _join(
    ctx: VoiceContext, call: VoiceCall, user_id: str, sip: AgentPhone, leg: Leg, mode: str
) -> None:
    """In the call's inbox: the supervisor answered."""
    _require_live(call)  # the call may have ended or changed while the phone rang
    if sip.state == "ended":
        raise Conflict("your softphone hung up")
    call.monitors[user_id] = (sip, leg, mode)
    _wire(ctx, call, leg, mode)

    async def gone(reason: str) -> None:
        if not call.ended:
            call.put("call", lambda: end_monitor(ctx, call, user_id, f"supervisor {reason}"))

    sip.on_ended = gone
    leg.on_dtmf = None
    await note(ctx, call, "monitor_started", detail={"user_id": user_id, "mode": mode})


async def set_mode(ctx: VoiceContext, call: VoiceCall, user_id: str, mode: str) -> None:
    found = call.monitors.get(user_id)
    if found is None:
        raise Conflict("you are not monitoring this call")
    _require_live(call)
    sip, leg, old = found
    if old == mode:
        return
    call.monitors[user_id] = (sip, leg, mode)
    _wire(ctx, call, leg, mode)
    await note(ctx, call, "monitor_mode", detail={"user_id": user_id, "mode": mode, "was": old})


async def end_monitor(ctx: VoiceContext, call: VoiceCall, user_id: str, reason: str) -> None:
    found = call.monitors.pop(user_id, None)
    if found is None:
        if reason.startswith("supervisor"):
            return  # already ended from the API
        raise Conflict("you are not monitoring this call")
    sip, leg, mode = found
    ctx.media.isolate(leg)
    if call.held:
        # Hold remembered the supervisor's edges; resume must not bring them back.
        call.held[:] = [e for e in call.held if leg not in (e[0], e[1])]
    sip.on_ended = None
    if sip.state != "ended":
        with contextlib.suppress(CallFailed, OSError):
            await sip.bye()
    await ctx.media.close_leg(leg)
    await note(
        ctx, call, "monitor_ended", detail={"user_id": user_id, "mode": mode, "reason": reason}
    )
