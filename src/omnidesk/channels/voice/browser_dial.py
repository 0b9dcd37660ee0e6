"""An agent's outbound call from the desk's browser phone (ADR 0030, "Outbound and DTMF").

The desk posts the number and the browser's WebRTC offer in one request. The browser leg is
connected first (aiortc answers at once, as when a ringing call is answered), so the agent
hears a ringback tone while Omnidesk dials the number through the tenant's trunk; once the far
party answers, the two legs are bridged and it is the same live call as an agent's call from a
SIP softphone (outbound.py): a routing contact of the agent's from before the dial, the
call-control API, the record. While the number rings the agent can give up
(`hang_up_dialling`, or the browser closing its connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime
from typing import Any

from omnidesk.channels.voice.calls import VoiceCall, drop_leg, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.sdp import (
    SdpError,
    SessionDescription,
    accept_answer,
    make_offer,
)
from omnidesk.channels.voice.outbound import (
    DialFailed,
    dial_out,
    e164_or_invalid,
    end_unconnected,
    outbound_trunk,
    refusal_text,
    ringback,
    start_connected,
    start_contact,
    write_failed_record,
)
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.channels.voice.webrtc import (
    BrowserCall,
    BrowserPhone,
    Dialling,
    OfferRefused,
    check_offer,
)
from omnidesk.platform.errors import Conflict, NotFound
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import RoutingError

log = get_logger(__name__)


async def dial_from_browser(
    ctx: VoiceContext, tenant_id: uuid.UUID, user_id: uuid.UUID, number: str, sdp: str
) -> tuple[str, str]:
    """Connect the browser and start dialling `number`; (the call's id, aiortc's SDP answer).

    Refuses before anything starts: Invalid (not a phone number), OfferRefused (the offer),
    Conflict (no browser phone registered, no outbound trunk, routing has no room)."""
    number = e164_or_invalid(number)
    check_offer(sdp)
    phone = ctx.browser_phones.get(tenant_id, user_id)
    if phone is None:
        raise Conflict("your browser phone is not registered")
    try:
        await outbound_trunk(ctx, tenant_id)
    except DialFailed as exc:
        raise Conflict(exc.reason) from None
    call_id, agent_id = uuid.uuid4().hex, str(user_id)
    try:
        contact_id = await start_contact(ctx, tenant_id, agent_id, call_id, number)
    except RoutingError as exc:
        raise Conflict(refusal_text(exc)) from None
    browser, leg, answer = await connect_caller(
        ctx, tenant_id, agent_id, phone, call_id, sdp, contact_id
    )
    dialling = Dialling(tenant_id, agent_id, number, browser, leg, contact_id)
    ctx.browser_phones.dialling[call_id] = dialling
    dialling.task = ctx.spawn(_dial(ctx, call_id, dialling), f"voice-browser-dial-{call_id}")
    log.info("voice.browser_dialling", call=call_id, agent=agent_id, number=number)
    return call_id, answer


async def connect_caller(
    ctx: VoiceContext,
    tenant_id: uuid.UUID,
    agent_id: str,
    phone: BrowserPhone,
    ring_id: str,
    sdp: str,
    contact_id: str | None,
) -> tuple[BrowserCall, Leg, str]:
    """The calling agent's browser answered onto a new engine leg: (its call, the leg, aiortc's
    SDP answer). On failure nothing is left open and the agent's routing contact is ended
    (OfferRefused)."""
    leg = await ctx.media.open_leg()
    # No telephone-event toward the browser: the relay passes audio only (webrtc.py).
    offer = make_offer(local_ip=ctx.host, local_port=leg.local_port, dtmf_pt=None)
    browser = ctx.browser_phones.invite(phone, ring_id, offer.build().encode())
    try:
        answer = await browser.answer_browser(sdp)
        leg.configure(accept_answer(offer, SessionDescription.parse(await browser.wait_answer())))
    except (OfferRefused, CallFailed, SdpError) as exc:
        await drop_leg(ctx.media, browser, leg)
        if contact_id is not None:
            await end_unconnected(ctx, tenant_id, agent_id, contact_id)
        raise OfferRefused(str(exc)) from None
    return browser, leg, answer


async def hang_up_dialling(
    ctx: VoiceContext | None, tenant_id: uuid.UUID, user_id: uuid.UUID, call_id: str
) -> None:
    """The agent gives up before the far party answered (NotFound: not theirs, or not ringing
    any more — a connected call is hung up with the call-control API; no voice server, `ctx`
    None: nothing dials)."""
    dialling = ctx.browser_phones.dialling.get(call_id) if ctx is not None else None
    if dialling is None or (dialling.tenant_id, dialling.agent_id) != (tenant_id, str(user_id)):
        raise NotFound(f"none of your browser phone's calls is dialling as {call_id!r}")
    if dialling.task is not None:
        dialling.task.cancel()


async def _dial(ctx: VoiceContext, call_id: str, d: Dialling) -> None:
    """Ringback to the agent while the number rings; bridge on answer, or say why not."""
    started = utcnow()
    tone = ringback()
    ctx.media.connect(d.leg, tone)
    dial = asyncio.ensure_future(dial_out(ctx, d.tenant_id, d.number))
    why = "agent hung up while dialling"

    async def agent_gone(reason: str) -> None:
        nonlocal why
        why = f"agent {reason} while dialling"
        if d.task is not None:
            d.task.cancel()

    d.browser.on_ended = agent_gone
    gave_up = False
    try:
        await asyncio.wait({dial})
    except asyncio.CancelledError:
        # The agent gave up (hang_up_dialling, or the browser went away): let them go now. The
        # dial's own clean-up may wait on the trunk (a CANCEL waits for the INVITE's first
        # answer, RFC 3261 §9.1), so it finishes on its own.
        gave_up = True
        dial.cancel()
    finally:
        ctx.browser_phones.dialling.pop(call_id, None)
        ctx.media.disconnect(d.leg, tone)
        d.browser.on_ended = None
    failure = _dial_failure(dial, why if gave_up or d.browser.state == "ended" else None)
    if failure is not None:
        if dial.done() and not dial.cancelled() and dial.exception() is None:
            far_sip, far_leg = dial.result()  # answered just as the agent gave up
            await drop_leg(ctx.media, far_sip, far_leg)
        await _dial_failed(ctx, d, started, failure)
        return
    far_sip, far_leg = dial.result()
    trunk = await outbound_trunk(ctx, d.tenant_id)
    call = VoiceCall(
        tenant_id=d.tenant_id,
        sip=far_sip,
        leg=far_leg,
        caller=trunk.caller_id,
        number=d.number,
        trunk_id=trunk.id,
        direction="outbound",
        started_at=started,
        id=call_id,
    )
    call.agent_id, call.agent_sip, call.agent_leg = d.agent_id, d.browser, d.leg
    call.attributes.update({"number": d.number, "agent_outbound": True, "browser_phone": True})
    if d.contact_id is not None:
        # From here the call's hang-up ends the contact, and routing ending it hangs up.
        call.contact_id = d.contact_id
        ctx.by_contact[d.contact_id] = call
    await start_connected(ctx, call, "agent outbound (browser phone)")


def _dial_failure(dial: asyncio.Future[Any], gave_up: str | None) -> str | None:
    """Why the dial did not connect (None: it did)."""
    if gave_up is not None or dial.cancelled():
        return gave_up or "cancelled"
    exc = dial.exception()
    if exc is None:
        return None
    return exc.reason if isinstance(exc, DialFailed) else f"error: {exc}"


async def _dial_failed(ctx: VoiceContext, d: Dialling, started: datetime, reason: str) -> None:
    """The number did not connect: free the browser leg, end the contact, keep a record."""
    await drop_leg(ctx.media, d.browser, d.leg)
    trunk = None
    with contextlib.suppress(DialFailed):
        trunk = await outbound_trunk(ctx, d.tenant_id)
    if d.contact_id is not None:
        await end_unconnected(ctx, d.tenant_id, d.agent_id, d.contact_id)
    await write_failed_record(
        ctx,
        d.tenant_id,
        from_uri=f"browser:{d.agent_id}",
        to_uri=f"sip:{d.number}@{trunk.outbound_host if trunk else ''}",
        number=d.number,
        trunk_id=trunk.id if trunk else None,
        agent_id=d.agent_id,
        started_at=started,
        reason=reason,
        contact_id=d.contact_id,
    )
    log.info("voice.browser_dial_failed", agent=d.agent_id, number=d.number, why=reason)
