"""An agent calling another agent from the desk's browser phone (ADR 0030, "Consults and calls
between agents").

An agent is reached by their user id or their extension number (a softphone dialling one
comes in through `softphone_calls_agent`), and their phone is rung by the one rule every ring
follows (`VoiceContext.ring_agent`: their browser phone when registered, else their SIP
softphone). The caller's side is as for a call out of the browser
(browser_dial.py): the browser is answered at once and hears a ringback tone; the call is the
caller's routing contact from before the ring (so no queued call rings them meanwhile). The
callee is told of the ring on their event stream (`voice.call_state_changed`, state
`ringing`, detail `internal`, addressed to them): their desk answers it as any ring of its
browser phone, with the call's id as the ring (`POST …/browser-phone/answer`). Once answered it
is a live call whose agent is the caller and whose far side is the callee's phone; both follow
it (the callee is `callee_id` in its view) and either hangs it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.browser_dial import connect_caller
from omnidesk.channels.voice.calls import (
    AgentPhone,
    VoiceCall,
    drop_leg,
    ring_refusal,
    utcnow,
)
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.sdp import (
    SdpError,
    SessionDescription,
    accept_answer,
)
from omnidesk.channels.voice.outbound import (
    answering_leg,
    end_unconnected,
    refusal_text,
    ringback,
    start_connected,
    start_contact,
    write_failed_record,
)
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall
from omnidesk.channels.voice.webrtc import Dialling, check_offer
from omnidesk.platform.errors import Conflict, Invalid
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import RoutingError

log = get_logger(__name__)


@dataclass(frozen=True)
class _Parties:
    """Who calls whom (a softphone's call to an extension has no Dialling)."""

    tenant_id: uuid.UUID
    agent_id: str  # the caller
    callee_id: str


class RingFailed(Exception):
    """The callee's phone did not take the call; `reason` in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def busy_with_a_call(ctx: VoiceContext, tenant_id: uuid.UUID, user_id: str) -> bool:
    """Whether the user is on a live call, consulted on one, or being rung for one."""
    for call in list(ctx.calls.values()):
        if call.tenant_id != tenant_id or call.ended:
            continue
        consultant = call.consult.agent_id if call.consult is not None else None
        ringing = call.ring.agent_id if call.ring is not None else None
        if user_id in (call.agent_id, consultant, ringing, call.attributes.get("callee_id")):
            return True
    return any(
        (d.tenant_id, d.callee_id) == (tenant_id, user_id)
        for d in ctx.browser_phones.dialling.values()
    )


async def call_agent(
    ctx: VoiceContext, tenant_id: uuid.UUID, user_id: uuid.UUID, callee: uuid.UUID, sdp: str
) -> tuple[str, str]:
    """Connect the caller's browser and ring `callee`; (the call's id, aiortc's SDP answer).

    Refuses before anything rings: OfferRefused (the offer), Invalid (yourself), Conflict (no
    browser phone of yours, the callee has no phone or is on a call, routing has no room)."""
    check_offer(sdp)
    phone = ctx.browser_phones.get(tenant_id, user_id)
    if phone is None:
        raise Conflict("your browser phone is not registered")
    if callee == user_id:
        raise Invalid("you cannot call yourself", field="agent_id")
    target = str(callee)
    if not await _has_phone(ctx, tenant_id, target):
        # (The same answer for a user of another tenant: nothing to probe.)
        raise Conflict(f"agent {target} has no phone registered (browser phone or softphone)")
    if busy_with_a_call(ctx, tenant_id, target):
        raise Conflict(f"agent {target} is on a call")
    call_id, agent_id = uuid.uuid4().hex, str(user_id)
    try:
        contact_id = await start_contact(
            ctx, tenant_id, agent_id, call_id, "", attributes={"callee_id": target}
        )
    except RoutingError as exc:
        raise Conflict(refusal_text(exc)) from None
    browser, leg, answer = await connect_caller(
        ctx, tenant_id, agent_id, phone, f"caller:{call_id}", sdp, contact_id
    )
    dialling = Dialling(tenant_id, agent_id, f"agent:{target}", browser, leg, contact_id)
    dialling.callee_id = target
    ctx.browser_phones.dialling[call_id] = dialling
    dialling.task = ctx.spawn(_ring(ctx, call_id, dialling), f"voice-agent-call-{call_id}")
    log.info("voice.agent_calling", call=call_id, agent=agent_id, callee=target)
    return call_id, answer


async def _has_phone(ctx: VoiceContext, tenant_id: uuid.UUID, user_id: str) -> bool:
    if ctx.browser_phones.get(tenant_id, uuid.UUID(user_id)) is not None:
        return True
    try:
        await ctx.agent_binding(tenant_id, user_id)
    except CallFailed:
        return False
    return True


async def _tell_callee(
    ctx: VoiceContext, d: Dialling | _Parties, call_id: str, state: str, **detail: object
) -> None:
    """The callee's desk hears of the ring (and of its end) on its own event stream."""
    assert d.callee_id is not None
    callee = uuid.UUID(d.callee_id)
    event = ev.CallStateChanged(
        call_id=call_id,
        state=state,
        agent_id=callee,
        detail={"internal": True, "from": d.agent_id, "ring_id": call_id, **detail},
    )
    try:
        await ctx.events.write(d.tenant_id, event, Audience(users=frozenset({callee})))
    except Exception:
        log.exception("voice.event_failed", call=call_id, state=state)


async def _ring_callee(
    ctx: VoiceContext, call_id: str, d: Dialling | _Parties
) -> tuple[AgentPhone, Leg]:
    """Ring the callee until they answer; RingFailed says why not."""
    assert d.callee_id is not None
    leg = await ctx.media.open_leg()
    phone: AgentPhone | None = None
    try:
        phone, offer = await ctx.ring_agent(
            d.tenant_id,
            d.callee_id,
            call_id,
            leg,
            from_user="agent",
            display="Omnidesk agent",
            headers=[("X-Omnidesk-Agent-Call", d.agent_id)],
        )
        await _tell_callee(ctx, d, call_id, "ringing")
        limit = await ctx.ring_limit(d.tenant_id)
        answer = await asyncio.wait_for(phone.wait_answer(), limit.seconds)
        leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
    except BaseException as exc:
        await drop_leg(ctx.media, phone, leg)
        if isinstance(exc, CallFailed):
            raise RingFailed(ring_refusal(exc).replace("_", " ")) from None
        if isinstance(exc, TimeoutError):
            raise RingFailed("no answer") from None
        if isinstance(exc, SdpError | OSError):
            raise RingFailed(f"the callee's phone failed: {exc}") from None
        raise
    return phone, leg


async def _ring(ctx: VoiceContext, call_id: str, d: Dialling) -> None:
    """Ringback to the caller while the callee's phone rings; a live call on answer."""
    started = utcnow()
    tone = ringback()
    ctx.media.connect(d.leg, tone)
    ring = asyncio.ensure_future(_ring_callee(ctx, call_id, d))
    why = "agent hung up while ringing"

    async def caller_gone(reason: str) -> None:
        nonlocal why
        why = f"agent {reason} while ringing"
        if d.task is not None:
            d.task.cancel()

    d.browser.on_ended = caller_gone
    failure: str | None = None
    try:
        await asyncio.wait({ring})
    except asyncio.CancelledError:
        ring.cancel()
        with contextlib.suppress(BaseException):
            await ring  # the callee's ring is let go before the caller hears of it
        failure = why
    finally:
        ctx.browser_phones.dialling.pop(call_id, None)
        ctx.media.disconnect(d.leg, tone)
        d.browser.on_ended = None
    if failure is None and d.browser.state == "ended":
        failure = why
    if failure is None:
        exc = ring.exception()
        if exc is not None:
            failure = exc.reason if isinstance(exc, RingFailed) else f"error: {exc}"
    if failure is not None:
        if ring.done() and not ring.cancelled() and ring.exception() is None:
            await drop_leg(ctx.media, *ring.result())  # answered just as the caller gave up
        await _tell_callee(ctx, d, call_id, "ring_ended", why=failure)
        await _failed(ctx, d, started, failure)
        return
    phone, leg = ring.result()
    await _tell_callee(ctx, d, call_id, "ring_ended", why="answered")
    assert d.callee_id is not None
    callee = (phone, leg)
    caller = (d.browser, d.leg)
    await _connected(ctx, call_id, d, started, callee, caller, d.contact_id, "browser phone")


async def _connected(
    ctx: VoiceContext,
    call_id: str,
    parties: Dialling | _Parties,
    started: datetime,
    callee: tuple[AgentPhone, Leg],
    caller: tuple[AgentPhone | IncomingCall, Leg],
    contact_id: str | None,
    phone_kind: str,
) -> None:
    """The callee answered: the live call between two agents, whichever phone called."""
    call = VoiceCall(
        tenant_id=parties.tenant_id,
        sip=callee[0],  # the far side: the callee's phone
        leg=callee[1],
        caller=None,
        number=None,
        trunk_id=None,
        direction="outbound",
        started_at=started,
        id=call_id,
    )
    call.agent_id, call.agent_sip, call.agent_leg = parties.agent_id, caller[0], caller[1]
    call.attributes.update({"callee_id": parties.callee_id, "agent_outbound": True})
    if contact_id is not None:
        call.contact_id = contact_id
        ctx.by_contact[contact_id] = call
    await start_connected(ctx, call, f"agent call ({phone_kind})")


async def _failed(ctx: VoiceContext, d: Dialling, started: datetime, reason: str) -> None:
    await drop_leg(ctx.media, d.browser, d.leg)
    if d.contact_id is not None:
        await end_unconnected(ctx, d.tenant_id, d.agent_id, d.contact_id)
    await write_failed_record(
        ctx,
        d.tenant_id,
        from_uri=f"browser:{d.agent_id}",
        to_uri=f"agent:{d.callee_id}",
        number="",
        trunk_id=None,
        agent_id=d.agent_id,
        started_at=started,
        reason=reason,
        contact_id=d.contact_id,
    )
    log.info("voice.agent_call_failed", agent=d.agent_id, callee=d.callee_id, why=reason)


async def softphone_calls_agent(
    ctx: VoiceContext, sip_call: IncomingCall, tenant_id: uuid.UUID, agent_id: str, callee: str
) -> None:
    """An agent's SIP softphone dialled a colleague's extension (outbound.agent_invite): the
    colleague's phone is rung by the one rule (browser phone, else softphone) while the caller
    hears their own phone's ringing (180), and the INVITE is answered once the colleague
    answers. Then it is the same live call as one from a browser phone (`callee_id`, the
    caller's routing contact). Refusals are SIP answers: 403 yourself, 480 no phone, 486 on a
    call (or routing has no room), the ring's own failure (603 declined, 480 no answer)."""
    started = utcnow()
    parties = _Parties(tenant_id, agent_id, callee)
    refusal = None
    if callee == agent_id:
        refusal = (403, "Cannot Call Yourself")
    elif not await _has_phone(ctx, tenant_id, callee):
        refusal = (480, "Agent Has No Phone Registered")
    elif busy_with_a_call(ctx, tenant_id, callee):
        refusal = (486, "Agent Busy")
    if refusal is not None:
        await sip_call.reject(*refusal)
        return
    opened = await answering_leg(ctx, sip_call)
    if opened is None:
        return
    caller_leg, answer = opened
    call_id = uuid.uuid4().hex
    try:
        contact_id = await start_contact(
            ctx, tenant_id, agent_id, call_id, "", attributes={"callee_id": callee}
        )
    except RoutingError:
        await ctx.media.close_leg(caller_leg)
        await sip_call.reject(486, "Busy Here (Agent Busy In Routing)")
        return
    await sip_call.ringing()
    ring = asyncio.ensure_future(_ring_callee(ctx, call_id, parties))

    async def caller_gone(_reason: str) -> None:
        ring.cancel()  # the caller's CANCEL (or the INVITE failing) ends the colleague's ring

    sip_call.on_ended = caller_gone
    failure, status = None, 500
    try:
        phone, leg = await ring
    except asyncio.CancelledError:
        failure = "agent hung up while ringing"
    except RingFailed as exc:
        failure = exc.reason
        status = {"declined": 603, "no answer": 480}.get(exc.reason, 486)
    finally:
        sip_call.on_ended = None
    if failure is None:
        try:
            await sip_call.answer(answer.build().encode())
        except CallFailed as exc:
            await drop_leg(ctx.media, phone, leg)
            failure = f"the caller's phone failed: {exc}"
    if failure is not None:
        await _tell_callee(ctx, parties, call_id, "ring_ended", why=failure)
        await ctx.media.close_leg(caller_leg)
        await sip_call.reject(status, failure.title()[:60])
        if contact_id is not None:
            await end_unconnected(ctx, tenant_id, agent_id, contact_id)
        await write_failed_record(
            ctx,
            tenant_id,
            from_uri=str(sip_call.request.from_.uri),
            to_uri=f"agent:{callee}",
            number="",
            trunk_id=None,
            agent_id=agent_id,
            started_at=started,
            reason=failure,
            contact_id=contact_id,
        )
        log.info("voice.agent_call_failed", agent=agent_id, callee=callee, why=failure)
        return
    await _tell_callee(ctx, parties, call_id, "ring_ended", why="answered")
    log.info("voice.agent_calling", call=call_id, agent=agent_id, callee=callee, softphone=True)
    answered = (phone, leg)
    await _connected(
        ctx, call_id, parties, started, answered, (sip_call, caller_leg), contact_id, "softphone"
    )
