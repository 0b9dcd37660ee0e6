"""A missed ring: how long an agent's softphone rings for an offer, what counts as answering
(a 200 OK and then the phone's audio), and telling the agent and the supervisors why a ring
was missed (docs/voice.md, "A missed ring").

Which timeout ends an unanswered ring: whichever comes first of the ring limit (the tenant's
`ring_timeout_s`, capped by the server's `voice_ring_timeout_seconds`; counted from when the
phone starts ringing) and the offer's own end (the queue's `offer_timeout_seconds`, counted
from when routing made the offer). When the ring limit comes first, Omnidesk refuses the offer
(routing: `offer_rejected`, reason `no_answer`); when the offer ends first (or together, as the
ring always starts after the offer), routing times it out (`offer_timed_out`) and the ring
stops on that event. Either way the agent is handled as routing handles a missed offer (by
default: away, reason "missed"), and `voice.ring_missed` says why to the agent and to the
supervisors following the agent or the call.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from omnidesk.channels.voice.call_events import RingMissed
from omnidesk.channels.voice.calls import AgentPhone, Ring, VoiceCall, utcnow
from omnidesk.channels.voice.context import RingLimit, VoiceContext
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)

# When the offer ends before the ring limit, routing's time-out stops the ring; this much later
# Omnidesk stops it itself (only if that event never came: a stalled routing timer).
OFFER_GUARD_S = 5.0
OFFER_TIMEOUT = "offer_timeout"  # `timed_out_by` when the queue's offer timeout ended a ring


class MediaFailed(Exception):
    """The softphone answered but sent no audio within the answer media timeout."""


@dataclass(frozen=True)
class RingFailure:
    """Why a ring was missed: `reason` as routing and the desktops are told it."""

    reason: str  # no_answer | busy | declined | media_failed | not_registered | unavailable | sip_…
    sip_status: int | None = None
    detail: str = ""
    timed_out_by: str | None = None


@dataclass(frozen=True)
class RingWait:
    seconds: float
    by: str  # the setting that ends it: ring_timeout_s | voice_ring_timeout_seconds | offer…


def ring_wait(limit: RingLimit, offer_expires_at: datetime | None) -> RingWait:
    """How long to wait for the phone to answer, starting now (the phone has just been rung)."""
    if offer_expires_at is None:
        return RingWait(limit.seconds, limit.setting)
    offer_left = (offer_expires_at - utcnow()).total_seconds()
    if limit.seconds < offer_left:
        return RingWait(limit.seconds, limit.setting)
    # The offer ends first: routing times it out, and its event stops this ring (queueing.py).
    return RingWait(max(0.0, offer_left) + OFFER_GUARD_S, OFFER_TIMEOUT)


async def wait_for_media(leg: Leg, timeout_s: float, phone: AgentPhone | None = None) -> None:
    """Return once the answered phone's first RTP packet arrived; MediaFailed after
    `timeout_s` without one. Our side sends from the moment the leg is configured (silence
    until bridged), so a phone that only echoes what it gets is heard too. 0: no check.
    A `phone` that ends meanwhile fails it at once, with the phone's reason: a browser phone
    whose connection never came up ends with "ICE did not complete" (webrtc.py), and the
    caller need not wait out the rest of `timeout_s` for that."""
    if timeout_s <= 0 or leg.source_addr is not None:
        return
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()
    gone: asyncio.Future[str] = loop.create_future()

    async def on_ended(reason: str) -> None:
        if not gone.done():
            gone.set_result(reason)

    leg.on_media = arrived.set
    if phone is not None:
        # (Replaced by the answered call's own handler once bridged: queueing.py.)
        phone.on_ended = on_ended
    media = asyncio.ensure_future(arrived.wait())
    try:
        await asyncio.wait((media, gone), timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        media.cancel()
        leg.on_media = None
        if phone is not None and phone.on_ended is on_ended:
            phone.on_ended = None
    if arrived.is_set():
        return
    if gone.done():
        raise MediaFailed(f"the phone's leg ended before its audio arrived: {gone.result()}")
    raise MediaFailed(f"no audio from the softphone within {timeout_s:g} s of answering")


async def report_missed(
    ctx: VoiceContext, call: VoiceCall, ring: Ring, failure: RingFailure, outcome: str
) -> None:
    """Tell the agent and whoever follows them or the call why the ring was missed, with the
    state routing left the agent in; log it. A failure to write is logged, never raised."""
    status = await ctx.routing.read(call.tenant_id, lambda r: r.agent(ring.agent_id))
    rang = None
    if ring.rung_at is not None:
        rang = round(asyncio.get_running_loop().time() - ring.rung_at, 1)
    event = RingMissed(
        call_id=call.id,
        contact_id=call.contact_id,
        queue_id=call.queue_id,
        offer_id=ring.offer_id,
        agent_id=uuid.UUID(ring.agent_id),
        reason=failure.reason,
        outcome=outcome,
        sip_status=failure.sip_status,
        detail=failure.detail,
        timed_out_by=failure.timed_out_by,
        rang_seconds=rang,
        agent_state=status.state if status is not None else None,
        agent_state_reason=status.reason if status is not None else None,
    )
    log.info(
        "voice.ring_missed",
        call=call.id,
        queue=call.queue_id,
        agent=ring.agent_id,
        reason=failure.reason,
        outcome=outcome,
        sip_status=failure.sip_status,
        detail=failure.detail,
        timed_out_by=failure.timed_out_by,
        agent_state=event.agent_state,
    )
    agent = ctx.routing.agent_audience(call.tenant_id, ring.agent_id)
    followers = ctx.audience(call)
    audience = Audience.of(
        users=agent.users | followers.users | {uuid.UUID(ring.agent_id)},
        teams=agent.teams | followers.teams,
    )
    try:
        await ctx.events.write(call.tenant_id, event, audience)
    except Exception:
        log.exception("voice.event_failed", call=call.id, state="ring_missed")
