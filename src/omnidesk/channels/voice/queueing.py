"""A call waiting in a routing queue, and the agent's softphone ringing for its offers.

The queue node makes the call a routing contact (channel "voice") that hears hold music and
periodic position announcements. When routing offers it to an agent, the agent's registered
softphone rings for as long as the offer lasts: answering accepts the offer and bridges the
two legs; busy, decline, no registration or the offer ending cancels the ring and routing
carries on (ADR 0007).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from omnidesk.channels.voice.call_control import on_reinvite
from omnidesk.channels.voice.calls import Ring, VoiceCall, drop_leg, ring_refusal, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.ivr.speech import queue_announcement
from omnidesk.channels.voice.media.players import BufferSource
from omnidesk.channels.voice.media.sdp import (
    SdpError,
    SessionDescription,
    accept_answer,
)
from omnidesk.channels.voice.missed_ring import (
    OFFER_TIMEOUT,
    MediaFailed,
    RingFailure,
    RingWait,
    report_missed,
    ring_wait,
    wait_for_media,
)
from omnidesk.channels.voice.playback import hold_audio, stop_playing
from omnidesk.channels.voice.recording import start_recording
from omnidesk.channels.voice.records import note
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import (
    AcceptOffer,
    CancelContact,
    ContactArrived,
    CustomerRef,
    RejectOffer,
    RoutingError,
)

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Overflow:
    """Routing's overflow of a queued call (its `contact_overflowed`): why (closed, full,
    max_wait, workflow, loop) and what the queue says to do (voicemail, callback, disconnect;
    a move to another queue keeps the call waiting). overflow.py carries it out."""

    reason: str
    kind: str
    queue_id: str | None = None
    message: str | None = None

    @classmethod
    def of_payload(cls, payload: Mapping[str, Any]) -> Overflow:
        action = payload.get("action") or {}
        return cls(
            str(payload.get("reason") or ""),
            str(action.get("kind") or "disconnect"),
            action.get("queue_id"),
            action.get("message"),
        )

    @classmethod
    def of_event(cls, event: Any) -> Overflow:
        action = event.action
        kind = getattr(action.kind, "value", action.kind)
        return cls(str(event.reason), str(kind), action.queue_id, action.message)


def caller_ref(number: str | None) -> CustomerRef | None:
    """The customer a voice contact is from: its number (None when withheld)."""
    return CustomerRef("phone", number) if number else None


# --- waiting in the queue --------------------------------------------------------------------


async def enqueue(ctx: VoiceContext, call: VoiceCall, action: ivr.Enqueue) -> None:
    policy = await ctx.lookups.queue_policy(call.tenant_id, action.queue)
    call.queue_id = action.queue
    call.contact_id = call.id
    call.language = action.language or call.language
    call.attributes.update(action.attributes)
    call.announce_every_s = action.announce_every_s or policy.announce_every_s
    ctx.by_contact[call.contact_id] = call
    try:
        # The caller's number finds the customer (the CRM puts their attributes on the
        # contact); a withheld or garbled number must not lose the call: not strict.
        events = await ctx.routing.arrive(
            call.tenant_id,
            ContactArrived(
                contact_id=call.contact_id,
                queue_id=action.queue,
                channel="voice",
                priority=action.priority,
                attributes=call.routable_attributes(),
            ),
            caller_ref(call.caller),
            strict=False,
        )
    except RoutingError as exc:
        ctx.by_contact.pop(call.contact_id, None)
        call.contact_id = None
        log.error("voice.enqueue_refused", call=call.id, queue=action.queue, error=str(exc))
        await ctx.hang_up(call, "queue refused")
        return
    contact_id = call.contact_id
    # Routing may have overflowed it at once (queue closed or full), maybe on to another
    # queue (where it waits, or which overflowed it in turn): the last overflow tells.
    overflows = [Overflow.of_event(e) for e in events if e.type == "routing.contact_overflowed"]
    if not await ctx.routing.read(call.tenant_id, lambda r: r.has_contact(contact_id)):
        ctx.by_contact.pop(call.id, None)
        call.put("overflowed", overflows[-1] if overflows else None)
        return
    if overflows and overflows[-1].kind == "queue":
        call.queue_id = overflows[-1].queue_id or call.queue_id
    call.state = "queued"
    await note(ctx, call, "queued", detail={"queue": action.queue})
    stop_playing(ctx, call)
    call.hold_audio = await hold_audio(ctx, call, action.moh or policy.moh)
    ctx.media.connect(call.leg, call.hold_audio)
    if call.announce_every_s:
        call.announcer = ctx.spawn(_announce(ctx, call), f"voice-announce-{call.id}")


async def _announce(ctx: VoiceContext, call: VoiceCall) -> None:
    """Position and estimated wait, now and every `announce_every_s`, over the music."""
    assert call.announce_every_s
    while call.state == "queued" and call.contact_id is not None:
        contact_id = call.contact_id
        # The function runs within this turn of the loop: it sees this turn's id.
        estimate = await ctx.routing.read(
            call.tenant_id,
            lambda r: r.wait_estimate(contact_id),  # noqa: B023
        )
        if estimate is None:
            return  # no longer in routing
        if estimate.position:
            text = queue_announcement(
                estimate.position, estimate.estimated_wait_seconds, call.language
            )
            audio = await ctx.prompts.say(text, call.language)
            if call.state != "queued":
                return
            call.put("call", lambda a=audio: _play_over_music(ctx, call, a))
        await asyncio.sleep(call.announce_every_s)


async def _play_over_music(ctx: VoiceContext, call: VoiceCall, audio: np.ndarray) -> None:
    if call.state != "queued" or call.hold_audio is None:
        return
    music = call.hold_audio
    ctx.media.disconnect(call.leg, music)

    def back() -> None:
        if call.state == "queued" and call.hold_audio is music:
            ctx.media.connect(call.leg, music)

    # Not through playback.play: the announcement must not count as the IVR's prompt.
    announcement = BufferSource(audio, on_done=back)
    ctx.media.connect(call.leg, announcement)


async def leave_queue(ctx: VoiceContext, call: VoiceCall, reason: str) -> None:
    contact_id = call.contact_id
    if contact_id is None or call.state not in ("queued", "ringing"):
        return
    await stop_ring(ctx, call, reject=False)
    stop_queue_audio(ctx, call)
    call.state = "ivr"
    ctx.by_contact.pop(contact_id, None)
    with contextlib.suppress(RoutingError):
        await ctx.routing.execute(
            call.tenant_id,
            CancelContact(contact_id, "abandoned" if reason == "hangup" else "max_wait"),
        )
    call.contact_id = None


def stop_queue_audio(ctx: VoiceContext, call: VoiceCall) -> None:
    if call.announcer is not None:
        call.announcer.cancel()
        call.announcer = None
    if call.hold_audio is not None:
        ctx.media.disconnect(call.leg, call.hold_audio)
        call.hold_audio = None


# --- routing's offers ------------------------------------------------------------------------


def on_routing_event(ctx: VoiceContext, call: VoiceCall, published: PublishedEvent) -> None:
    """Routing's events about a queued or connected call, turned into steps of its inbox."""
    payload = published.payload
    kind = published.type
    if kind == "routing.offer_created":
        offer_id, agent_id = str(payload["offer_id"]), str(payload["agent_id"])
        expires = _instant(payload.get("expires_at"))
        call.put("call", lambda: _ring(ctx, call, offer_id, agent_id, expires))
    elif kind == "routing.offer_timed_out":
        offer_id = str(payload["offer_id"])
        call.put("call", lambda: _offer_timed_out(ctx, call, offer_id))
    elif kind == "routing.offer_revoked":
        offer_id = str(payload["offer_id"])
        if call.ring is not None and call.ring.offer_id == offer_id:
            call.put("call", lambda: stop_ring(ctx, call, reject=False, requeued=True))
    elif kind == "routing.contact_ended" and call.state in ("connected", "held"):
        call.put("call", lambda: ctx.hang_up(call, "ended by agent"))
    elif kind == "routing.contact_overflowed" and call.state in ("queued", "ringing"):
        overflow = Overflow.of_payload(payload)
        if overflow.kind == "queue":
            # Routing moved the contact on (same contact, end of that queue's line): the
            # caller keeps waiting, and the call is that queue's from now on.
            call.queue_id = overflow.queue_id or call.queue_id
            return
        ctx.by_contact.pop(str(payload.get("contact_id")), None)
        call.put("overflowed", overflow)


# --- ringing the agent -----------------------------------------------------------------------


async def _ring(
    ctx: VoiceContext, call: VoiceCall, offer_id: str, agent_id: str, expires: datetime | None
) -> None:
    if call.state != "queued" or call.ring is not None:
        return
    ring = Ring(offer_id, agent_id, offer_expires_at=expires)
    call.ring = ring
    call.state = "ringing"
    ring.task = ctx.spawn(_ring_agent(ctx, call, ring), f"voice-ring-{offer_id}")


async def _ring_agent(ctx: VoiceContext, call: VoiceCall, ring: Ring) -> None:
    """Ring the softphone; answering (with audio) accepts the offer and bridges."""
    failure: RingFailure | None = None
    wait = RingWait(0.0, "")
    try:
        # The agent's browser phone when registered (the desk shows routing's offer and
        # answering there posts the browser's offer), else their SIP softphone.
        ring.leg = leg = await ctx.media.open_leg()
        caller = call.caller or "anonymous"
        ring.sip, offer = await ctx.ring_agent(
            call.tenant_id,
            ring.agent_id,
            ring.offer_id,
            leg,
            from_user=_uri_user(caller),
            display=caller,
            headers=[("X-Omnidesk-Contact", call.contact_id or "")],
        )
        ring.rung_at = asyncio.get_running_loop().time()
        await note(ctx, call, "ringing", agent_id=ring.agent_id, detail={"offer": ring.offer_id})
        wait = ring_wait(await ctx.ring_limit(call.tenant_id), ring.offer_expires_at)
        answer = await asyncio.wait_for(ring.sip.wait_answer(), wait.seconds)
        leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
        ring.answered = True
        await wait_for_media(leg, ctx.answer_media_timeout_s, ring.sip)
    except CallFailed as exc:
        failure = RingFailure(ring_refusal(exc), exc.status, exc.reason)
    except TimeoutError:
        failure = RingFailure("no_answer", 408, "no answer", timed_out_by=wait.by)
    except MediaFailed as exc:
        failure = RingFailure("media_failed", None, str(exc))
    except (SdpError, OSError) as exc:
        failure = RingFailure("sip_488", 488, str(exc))
    if failure is not None:
        missed = failure
        call.put("call", lambda: _ring_failed(ctx, call, ring, missed))
    else:
        call.put("call", lambda: _agent_answered(ctx, call, ring))


async def _ring_failed(
    ctx: VoiceContext, call: VoiceCall, ring: Ring, failure: RingFailure
) -> None:
    if call.ring is not ring:
        return
    rejected = await stop_ring(ctx, call, reject=True, reason=failure.reason, requeued=True)
    await report_missed(ctx, call, ring, failure, "rejected" if rejected else "offer_ended")


async def _offer_timed_out(ctx: VoiceContext, call: VoiceCall, offer_id: str) -> None:
    """Routing timed the offer out while the phone rang (the offer ended before the ring
    limit, missed_ring.py), or while its answer's audio was awaited."""
    ring = call.ring
    if ring is None or ring.offer_id != offer_id:
        return
    reason = "media_failed" if ring.answered else "no_answer"
    await stop_ring(ctx, call, reject=False, reason=reason, requeued=True)
    failure = RingFailure(reason, None, "the offer timed out", timed_out_by=OFFER_TIMEOUT)
    await report_missed(ctx, call, ring, failure, "timed_out")


async def stop_ring(
    ctx: VoiceContext,
    call: VoiceCall,
    *,
    reject: bool,
    reason: str = "",
    requeued: bool = False,
) -> bool:
    """Stop the agent's phone ringing; `reject` also tells routing the offer was refused
    (returns whether routing took the refusal: not if it had ended the offer already).

    `requeued`: the caller stays in line (the ring failed, the offer timed out or was revoked),
    which is a step of its own for whoever follows the call: it is no longer ringing."""
    ring = call.ring
    if ring is None:
        return False
    call.ring = None
    back_in_line = call.state == "ringing"
    if back_in_line:
        call.state = "queued"
    if ring.task is not None and not ring.task.done():
        ring.task.cancel()
    await drop_leg(ctx.media, ring.sip, ring.leg)
    rejected = False
    if reject:
        with contextlib.suppress(RoutingError):
            await ctx.routing.execute(
                call.tenant_id, RejectOffer(ring.offer_id, ring.agent_id, reason or None)
            )
            rejected = True
    if requeued and back_in_line and not call.ended:
        await note(
            ctx,
            call,
            "queued",
            agent_id=ring.agent_id,
            detail={"queue": call.queue_id, "ring_ended": reason or "offer_ended"},
        )
    return rejected


async def _agent_answered(ctx: VoiceContext, call: VoiceCall, ring: Ring) -> None:
    if call.ring is not ring or call.state != "ringing":
        # The caller left or the offer ended while the phone was being answered.
        if ring.sip is not None:
            with contextlib.suppress(CallFailed, OSError):
                await ring.sip.bye()
        if ring.leg is not None:
            await ctx.media.close_leg(ring.leg)
        return
    try:
        await ctx.routing.execute(call.tenant_id, AcceptOffer(ring.offer_id, ring.agent_id))
    except RoutingError as exc:
        # Already accepted from the desktop is fine; anything else means the offer is gone.
        contact_id = call.contact_id
        contact = (
            await ctx.routing.read(call.tenant_id, lambda r: r.contact(contact_id))
            if contact_id is not None
            else None
        )
        if contact is None or contact.agent_id != ring.agent_id:
            log.info("voice.accept_refused", call=call.id, error=str(exc))
            await stop_ring(ctx, call, reject=False, requeued=True)
            return
    assert ring.sip is not None and ring.leg is not None
    call.ring = None
    stop_queue_audio(ctx, call)
    stop_playing(ctx, call)
    call.agent_id, call.agent_sip, call.agent_leg = ring.agent_id, ring.sip, ring.leg
    call.state = "connected"
    call.connected_at = utcnow()
    ctx.media.bridge(call.leg, ring.leg)

    async def agent_gone(reason: str) -> None:
        if not call.ended:
            call.put("call", lambda: ctx.agent_gone(call, reason))

    agent_sip, agent_leg = ring.sip, ring.leg
    agent_sip.on_ended = agent_gone
    agent_sip.on_reinvite = lambda offer: on_reinvite(
        ctx, call, agent_sip, agent_leg, offer, agent=True
    )
    ring.leg.on_dtmf = None
    call.put("answered")
    await note(ctx, call, "connected", agent_id=ring.agent_id)
    policy = await ctx.lookups.queue_policy(call.tenant_id, call.queue_id or "")
    if policy.record == "always":
        await start_recording(ctx, call)


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _uri_user(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum() or ch in "+-_.") or "anonymous"
