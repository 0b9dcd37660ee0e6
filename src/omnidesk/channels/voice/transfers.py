"""Blind and attended (consult) transfer and the three-way conference of a connected call.

Blind: routing's `Transfer` puts the contact back in line (reserved for the target agent, or
at the end of the target queue) and the first agent into wrap-up; the caller hears hold music
and the call is "queued" again, so the ordinary ring path (queueing.py) rings whoever is offered it.

Attended: routing's `Consult` offers a consult leg to agent B at once; we ring B's phone
ourselves (the leg is not a queued call; their browser phone or softphone, as every ring:
`VoiceContext.ring_agent`), the caller hears music while A and B talk. Then
complete (`EndConsult(transfer=True)`: B takes the contact, A goes into wrap-up), cancel (B is
released, the caller is back with A) or conference (all three hear each other; whichever agent
hangs up, the other two stay: A leaving hands the contact to B, B leaving releases the leg).

Every step runs inside the call's own inbox (`call_control.control`), like every other call
input.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from omnidesk.channels.voice.calls import AgentPhone, VoiceCall, drop_leg, ring_refusal
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.recorder import Heard
from omnidesk.channels.voice.media.sdp import (
    SdpError,
    SessionDescription,
    accept_answer,
)
from omnidesk.channels.voice.playback import hold_audio
from omnidesk.channels.voice.records import note
from omnidesk.channels.voice.sip.dialog import Call as SipCall
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.channels.voice.webrtc import BrowserCall
from omnidesk.platform.bus import Subscription
from omnidesk.platform.errors import Conflict
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import (
    AcceptOffer,
    Consult,
    EndConsult,
    OfferCreated,
    RejectOffer,
    RoutingError,
    Transfer,
)

log = get_logger(__name__)

TargetKind = Literal["agent", "queue"]


@dataclass
class ConsultLeg:
    """Agent B on an open consult: ringing until `answered`, then talking to A (or conferenced)."""

    consult_id: str
    offer_id: str
    agent_id: str
    target_kind: str
    target: str
    sip: AgentPhone | None = None
    leg: Leg | None = None
    task: asyncio.Task[None] | None = None
    answered: bool = False
    subscription: Subscription | None = field(default=None, repr=False)


def _require_connected(call: VoiceCall) -> Leg:
    if call.state not in ("connected", "held") or call.agent_leg is None:
        raise Conflict(f"the call is {call.state}, not connected to an agent")
    if call.consult is not None:
        raise Conflict("the call has an open consult: complete or cancel it first")
    if call.contact_id is None:
        raise Conflict("the call is not a routed contact: nothing to transfer")
    return call.agent_leg


def _actor(actor_id: str | None) -> uuid.UUID | None:
    return uuid.UUID(actor_id) if actor_id else None


def _record_caller_side(ctx: VoiceContext, call: VoiceCall) -> None:
    """Once agents change, the recording's right channel is what the caller hears (whoever
    talks to them, or the music) instead of one agent leg that is about to go away."""
    recorder = call.recorder
    if recorder is None or isinstance(recorder.sources[1], Heard):
        return
    recorder.sources[1] = Heard(call.leg)
    ctx.media.attach_recorder(recorder)  # re-attaching rebuilds the engine's recording map


async def _music(ctx: VoiceContext, call: VoiceCall) -> Any:
    policy = await ctx.lookups.queue_policy(call.tenant_id, call.queue_id or "")
    return await hold_audio(ctx, call, policy.moh)


async def _release_agent_leg(ctx: VoiceContext, call: VoiceCall) -> None:
    """Hang up the current agent's softphone (no agent_gone: we are the ones ending it)."""
    sip, leg = call.agent_sip, call.agent_leg
    call.agent_sip, call.agent_leg = None, None
    if sip is not None:
        sip.on_ended = None
        with contextlib.suppress(CallFailed, OSError):
            await sip.bye()
    if leg is not None:
        await ctx.media.close_leg(leg)


# --- blind transfer ----------------------------------------------------------------------------


async def blind_transfer(
    ctx: VoiceContext,
    call: VoiceCall,
    kind: TargetKind,
    target: str,
    actor: str | None = None,
    *,
    transfer_note: str | None = None,
) -> None:
    _require_connected(call)
    assert call.contact_id is not None  # checked above
    before = call.state
    # Routing publishes the new offer while Transfer runs; its ring waits in the inbox behind
    # this step and must find the call no longer "connected" (nor hang it up meanwhile).
    call.state = "transferring"
    try:
        command = Transfer(call.contact_id, kind, target, note=transfer_note)
        await ctx.routing.execute(call.tenant_id, command, _actor(actor))
    except BaseException:
        call.state = before
        raise
    first_agent = call.agent_id
    _record_caller_side(ctx, call)
    if call.held is not None:
        ctx.media.resume(call.leg, call.held)  # drop the hold music; monitors stay
        call.held = None
    await _release_agent_leg(ctx, call)
    call.agent_id = None
    call.state = "queued"
    call.hold_audio = await _music(ctx, call)
    ctx.media.connect(call.leg, call.hold_audio)
    await note(
        ctx,
        call,
        "transferred",
        agent_id=first_agent,
        detail={"kind": "blind", "target_kind": kind, "target": target},
        also=(first_agent,),  # their desk hears that the call is no longer theirs
    )


# --- attended transfer -------------------------------------------------------------------------


async def start_consult(
    ctx: VoiceContext, call: VoiceCall, kind: TargetKind, target: str, actor: str | None = None
) -> None:
    _require_connected(call)
    assert call.contact_id is not None  # checked above
    consult_id = uuid.uuid4().hex
    events = await ctx.routing.execute(
        call.tenant_id, Consult(call.contact_id, consult_id, kind, target), _actor(actor)
    )
    offer = next(
        (e for e in events if isinstance(e, OfferCreated) and e.contact_id == consult_id), None
    )
    if offer is None:  # routing always offers a consult at once or refuses it
        with contextlib.suppress(RoutingError):
            await ctx.routing.execute(call.tenant_id, EndConsult(consult_id))
        raise Conflict("routing did not offer the consult")
    consult = ConsultLeg(consult_id, offer.offer_id, offer.agent_id, kind, target)
    call.consult = consult
    # From here the recording holds what the caller hears: music while A and B confer (their
    # consult is not part of the customer's recording), then whoever talks to the caller.
    _record_caller_side(ctx, call)
    if call.held is None:
        call.held = ctx.media.hold(call.leg, await _music(ctx, call))
    call.state = "consulting"
    _watch_main_agent(ctx, call)

    def on_event(published: PublishedEvent) -> None:
        # Routing ended the leg on its own (offer timed out, contact ended elsewhere).
        payload = published.payload
        if published.type == "routing.consult_ended" and payload.get("consult_id") == consult_id:
            call.put("call", lambda: _consult_gone(ctx, call, consult, "routing"))

    consult.subscription = ctx.bus.subscribe(on_event)
    consult.task = ctx.spawn(_ring_consultant(ctx, call, consult), f"voice-consult-{consult_id}")
    await note(
        ctx,
        call,
        "consulting",
        detail={"consult_id": consult_id, "consultant": consult.agent_id, "target": target},
    )


async def _ring_consultant(ctx: VoiceContext, call: VoiceCall, consult: ConsultLeg) -> None:
    why = ""
    refusal = "unavailable"  # what routing is told when B's phone does not take the call
    try:
        consult.leg = leg = await ctx.media.open_leg()
        # B's browser phone when registered (the consult leg is routing's offer to B: their
        # desk rings and answers it as any offer), else B's softphone.
        caller = call.caller or "anonymous"
        consult.sip, offer = await ctx.ring_agent(
            call.tenant_id,
            consult.agent_id,
            consult.offer_id,
            leg,
            from_user="consult",
            display=f"Consult: {caller}",
            headers=[("X-Omnidesk-Consult", consult.consult_id)],
        )
        limit = await ctx.ring_limit(call.tenant_id)
        answer = await asyncio.wait_for(consult.sip.wait_answer(), limit.seconds)
        leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
    except CallFailed as exc:
        why = f"{exc.status} {exc.reason}"
        refusal = ring_refusal(exc)
    except TimeoutError:
        why, refusal = "no answer", "no_answer"
    except (SdpError, OSError) as exc:
        why = str(exc)
    if why:
        call.put("call", lambda: _consult_gone(ctx, call, consult, why, refused=refusal))
    else:
        call.put("call", lambda: _consultant_answered(ctx, call, consult))


async def _consultant_answered(ctx: VoiceContext, call: VoiceCall, consult: ConsultLeg) -> None:
    if call.consult is not consult or call.agent_leg is None:
        await _hang_up_consultant(ctx, consult)
        return
    try:
        await ctx.routing.execute(call.tenant_id, AcceptOffer(consult.offer_id, consult.agent_id))
    except RoutingError as exc:
        log.info("voice.consult_accept_refused", call=call.id, error=str(exc))
        await _consult_gone(ctx, call, consult, "offer gone")
        return
    assert consult.sip is not None and consult.leg is not None
    consult.answered = True
    ctx.media.bridge(call.agent_leg, consult.leg)
    sip = consult.sip

    async def consultant_gone(reason: str) -> None:
        if not call.ended:
            call.put("call", lambda: _consultant_left(ctx, call, sip, reason))

    sip.on_ended = consultant_gone
    await note(
        ctx,
        call,
        "consult_connected",
        detail={"consult_id": consult.consult_id, "consultant": consult.agent_id},
    )


async def _hang_up_consultant(ctx: VoiceContext, consult: ConsultLeg) -> None:
    if consult.subscription is not None:
        consult.subscription.close()
        consult.subscription = None
    if (
        consult.task is not None
        and not consult.task.done()
        and consult.task is not asyncio.current_task()
    ):
        consult.task.cancel()
    sip, leg = consult.sip, consult.leg
    consult.sip, consult.leg = None, None
    await drop_leg(ctx.media, sip, leg)


def _back_to_agent(ctx: VoiceContext, call: VoiceCall) -> None:
    """The caller talks to the call's agent again (after a consult ends either way)."""
    if call.held is not None:
        ctx.media.resume(call.leg, call.held)
        call.held = None
    if call.agent_leg is not None:
        ctx.media.bridge(call.leg, call.agent_leg)
    call.state = "connected"


async def _consult_gone(
    ctx: VoiceContext,
    call: VoiceCall,
    consult: ConsultLeg,
    why: str,
    *,
    refused: str | None = None,
) -> None:
    """B did not answer, declined, or routing ended the leg: B is released, A has the caller.

    `refused`: B's phone did not take the call. Routing hears it as B rejecting the consult
    offer (as the ordinary ring path reports it), so reports tell it apart from A cancelling."""
    if call.consult is not consult:
        return
    call.consult = None
    await _hang_up_consultant(ctx, consult)
    if refused is not None and not consult.answered:
        with contextlib.suppress(RoutingError):  # the offer may have ended meanwhile
            await ctx.routing.execute(
                call.tenant_id, RejectOffer(consult.offer_id, consult.agent_id, refused)
            )
    with contextlib.suppress(RoutingError):  # already ended when routing said so
        await ctx.routing.execute(call.tenant_id, EndConsult(consult.consult_id))
    if not call.ended:
        _back_to_agent(ctx, call)
        await note(
            ctx,
            call,
            "consult_ended",
            detail={"consult_id": consult.consult_id, "why": why},
            also=(consult.agent_id,),  # the consultant's desk: their part is over
        )


def _require_consult(call: VoiceCall, *, answered: bool) -> ConsultLeg:
    consult: ConsultLeg | None = call.consult
    if consult is None or call.state not in ("consulting", "conference"):
        raise Conflict(f"the call is {call.state}, with no open consult")
    if answered and not consult.answered:
        raise Conflict("the consulted agent has not answered yet")
    return consult


async def cancel_consult(ctx: VoiceContext, call: VoiceCall, actor: str | None = None) -> None:
    consult = _require_consult(call, answered=False)
    await _consult_gone(ctx, call, consult, "cancelled")


async def leave_consult(ctx: VoiceContext, call: VoiceCall, user_id: str) -> None:
    """The consulted agent hangs up from their desk (their browser phone has no button of its
    own): as their phone hanging up, the consult ends and the caller is A's again."""
    consult: ConsultLeg | None = call.consult
    if consult is None or consult.agent_id != user_id:
        raise Conflict("you are not consulted on this call")
    refused = None if consult.answered else "declined"
    await _consult_gone(ctx, call, consult, "consultant hung up", refused=refused)


async def complete_consult(ctx: VoiceContext, call: VoiceCall, actor: str | None = None) -> None:
    consult = _require_consult(call, answered=True)
    await ctx.routing.execute(
        call.tenant_id, EndConsult(consult.consult_id, transfer=True), _actor(actor)
    )
    await _hand_over(ctx, call, consult)


async def _hand_over(ctx: VoiceContext, call: VoiceCall, consult: ConsultLeg) -> None:
    """Routing gave B the contact: A's phone is hung up and B becomes the call's agent."""
    first_agent = call.agent_id
    call.consult = None
    if consult.subscription is not None:
        consult.subscription.close()
    _record_caller_side(ctx, call)
    await _release_agent_leg(ctx, call)
    call.agent_id, call.agent_sip, call.agent_leg = consult.agent_id, consult.sip, consult.leg
    _back_to_agent(ctx, call)
    _watch_main_agent(ctx, call)
    await note(
        ctx,
        call,
        "transferred",
        agent_id=consult.agent_id,
        detail={"kind": "attended", "from": first_agent, "consult_id": consult.consult_id},
        also=(first_agent,),
    )


async def conference(ctx: VoiceContext, call: VoiceCall, actor: str | None = None) -> None:
    consult = _require_consult(call, answered=True)
    if call.state == "conference":
        return
    assert call.agent_leg is not None and consult.leg is not None
    if call.held is not None:
        ctx.media.resume(call.leg, call.held)
        call.held = None
    _record_caller_side(ctx, call)
    ctx.media.conference([call.leg, call.agent_leg, consult.leg])
    call.state = "conference"
    await note(
        ctx,
        call,
        "conference",
        detail={"consult_id": consult.consult_id, "consultant": consult.agent_id},
    )


# --- agents hanging up during a consult --------------------------------------------------------


def _watch_main_agent(ctx: VoiceContext, call: VoiceCall) -> None:
    sip = call.agent_sip
    if sip is None:
        return

    async def gone(reason: str) -> None:
        if not call.ended:
            call.put("call", lambda: _main_agent_left(ctx, call, sip, reason))

    sip.on_ended = gone


async def _main_agent_left(
    ctx: VoiceContext, call: VoiceCall, sip: SipCall | BrowserCall, reason: str
) -> None:
    if call.agent_sip is not sip:
        return
    consult: ConsultLeg | None = call.consult
    if consult is not None and consult.answered:
        # A hangs up once B is on: that is the attended transfer (as on a desk phone).
        try:
            await ctx.routing.execute(call.tenant_id, EndConsult(consult.consult_id, transfer=True))
        except RoutingError as exc:
            log.info("voice.consult_handover_refused", call=call.id, error=str(exc))
        else:
            call.agent_sip = None  # already ended: nothing to hang up
            await _hand_over(ctx, call, consult)
            return
    await ctx.agent_gone(call, reason)


async def _consultant_left(
    ctx: VoiceContext, call: VoiceCall, sip: AgentPhone, reason: str
) -> None:
    consult: ConsultLeg | None = call.consult
    if consult is not None and consult.sip is sip:
        consult.sip = None  # already ended
        await _consult_gone(ctx, call, consult, f"consultant {reason}")
    elif call.agent_sip is sip:
        await ctx.agent_gone(call, reason)


async def drop_consult(ctx: VoiceContext, call: VoiceCall) -> None:
    """The whole call ends: release B first so the contact is ended as a connected one."""
    consult: ConsultLeg | None = call.consult
    if consult is None:
        return
    call.consult = None
    await _hang_up_consultant(ctx, consult)
    with contextlib.suppress(RoutingError):
        await ctx.routing.execute(call.tenant_id, EndConsult(consult.consult_id))
    if call.held is not None:
        ctx.media.resume(call.leg, call.held)
        call.held = None
    call.state = "connected"
