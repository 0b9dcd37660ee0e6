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
from typing import TYPE_CHECKING, Any

import numpy as np

from omnidesk.channels.voice.calls import (
    RING_REASONS,
    CallRunner,
    Ring,
    VoiceCall,
    drop_leg,
    hold_music,
    utcnow,
)
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.ivr.speech import queue_announcement
from omnidesk.channels.voice.media.players import BufferSource, Player, load_wav
from omnidesk.channels.voice.media.sdp import (
    SdpError,
    SessionDescription,
    accept_answer,
    make_offer,
)
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.channels.voice.sip.message import NameAddr, SipUri
from omnidesk.core.routing.commands import AcceptOffer, CancelContact, ContactArrived, RejectOffer
from omnidesk.core.routing.errors import RoutingError
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger

if TYPE_CHECKING:
    from omnidesk.channels.voice.server import VoiceServer

log = get_logger(__name__)


# --- waiting in the queue --------------------------------------------------------------------


async def enqueue(server: VoiceServer, call: VoiceCall, action: ivr.Enqueue) -> None:
    policy = await server.lookups.queue_policy(call.tenant_id, action.queue)
    call.queue_id = action.queue
    call.contact_id = call.id
    call.language = action.language or call.language
    call.attributes.update(action.attributes)
    call.announce_every_s = action.announce_every_s or policy.announce_every_s
    host = await server.routing.host(call.tenant_id)
    server.by_contact[call.contact_id] = call
    try:
        await host.execute(
            ContactArrived(
                contact_id=call.contact_id,
                queue_id=action.queue,
                channel="voice",
                priority=action.priority,
                attributes=call.routable_attributes(),
            )
        )
    except RoutingError as exc:
        server.by_contact.pop(call.contact_id, None)
        call.contact_id = None
        log.error("voice.enqueue_refused", call=call.id, queue=action.queue, error=str(exc))
        await server.hang_up(call, "queue refused")
        return
    async with host.consistent():
        queued = call.contact_id in host.engine.contact_ids()
    if not queued:
        server.by_contact.pop(call.id, None)
        call.put("overflowed", "overflow")
        return
    call.state = "queued"
    await server.note(call, "queued", detail={"queue": action.queue})
    runner = CallRunner(server, call)
    runner.stop_playing()
    call.hold_audio = await hold_audio(server, call, action.moh or policy.moh)
    server.media.connect(call.leg, call.hold_audio)
    if call.announce_every_s:
        call.announcer = server.spawn(_announce(server, call), f"voice-announce-{call.id}")


async def hold_audio(server: VoiceServer, call: VoiceCall, name: str | None) -> Player:
    """The named music file looping, or the built-in chime when it is unset or missing."""
    if name:
        path = await server.lookups.audio_path(call.tenant_id, name)
        if path is not None:
            return BufferSource(load_wav(path), loop=True)
    return hold_music()


async def _announce(server: VoiceServer, call: VoiceCall) -> None:
    """Position and estimated wait, now and every `announce_every_s`, over the music."""
    assert call.announce_every_s
    while call.state == "queued" and call.contact_id is not None:
        host = await server.routing.host(call.tenant_id)
        async with host.consistent():
            if call.contact_id not in host.engine.contact_ids():
                return
            estimate = host.engine.wait_estimate(call.contact_id)
        if estimate.position:
            text = queue_announcement(
                estimate.position, estimate.estimated_wait_seconds, call.language
            )
            audio = await server.prompts.say(text, call.language)
            if call.state != "queued":
                return
            call.put("call", lambda a=audio: _play_over_music(server, call, a))
        await asyncio.sleep(call.announce_every_s)


async def _play_over_music(server: VoiceServer, call: VoiceCall, audio: np.ndarray) -> None:
    if call.state != "queued" or call.hold_audio is None:
        return
    music = call.hold_audio
    server.media.disconnect(call.leg, music)

    def back() -> None:
        if call.state == "queued" and call.hold_audio is music:
            server.media.connect(call.leg, music)

    # Not through CallRunner.play: the announcement must not count as the IVR's prompt.
    announcement = BufferSource(audio, on_done=back)
    server.media.connect(call.leg, announcement)


async def leave_queue(server: VoiceServer, call: VoiceCall, reason: str) -> None:
    contact_id = call.contact_id
    if contact_id is None or call.state not in ("queued", "ringing"):
        return
    await stop_ring(server, call, reject=False)
    stop_queue_audio(server, call)
    call.state = "ivr"
    server.by_contact.pop(contact_id, None)
    host = await server.routing.host(call.tenant_id)
    with contextlib.suppress(RoutingError):
        await host.execute(
            CancelContact(contact_id, "abandoned" if reason == "hangup" else "max_wait")
        )
    call.contact_id = None


def stop_queue_audio(server: VoiceServer, call: VoiceCall) -> None:
    if call.announcer is not None:
        call.announcer.cancel()
        call.announcer = None
    if call.hold_audio is not None:
        server.media.disconnect(call.leg, call.hold_audio)
        call.hold_audio = None


# --- routing's offers ------------------------------------------------------------------------


def on_routing_event(server: VoiceServer, call: VoiceCall, published: PublishedEvent) -> None:
    """Routing's events about a queued or connected call, turned into steps of its inbox."""
    payload = published.payload
    kind = published.type
    if kind == "routing.offer_created":
        offer_id, agent_id = str(payload["offer_id"]), str(payload["agent_id"])
        call.put("call", lambda: _ring(server, call, offer_id, agent_id))
    elif kind in ("routing.offer_timed_out", "routing.offer_revoked"):
        offer_id = str(payload["offer_id"])
        if call.ring is not None and call.ring.offer_id == offer_id:
            call.put("call", lambda: stop_ring(server, call, reject=False, requeued=True))
    elif kind == "routing.contact_ended" and call.state in ("connected", "held"):
        call.put("call", lambda: server.hang_up(call, "ended by agent"))
    elif kind == "routing.contact_overflowed" and call.state in ("queued", "ringing"):
        server.by_contact.pop(str(payload.get("contact_id")), None)
        call.put("overflowed", "overflow")


# --- ringing the agent -----------------------------------------------------------------------


async def _ring(server: VoiceServer, call: VoiceCall, offer_id: str, agent_id: str) -> None:
    if call.state != "queued" or call.ring is not None:
        return
    ring = Ring(offer_id, agent_id)
    call.ring = ring
    call.state = "ringing"
    ring.task = server.spawn(_ring_agent(server, call, ring), f"voice-ring-{offer_id}")


async def _ring_agent(server: VoiceServer, call: VoiceCall, ring: Ring) -> None:
    """Ring the softphone; answering accepts the offer and bridges."""
    status, why = 0, ""
    try:
        target, via = await server.agent_binding(call.tenant_id, ring.agent_id)
        leg = await server.media.open_leg()
        ring.leg = leg
        offer = make_offer(local_ip=server.host, local_port=leg.local_port)
        domain = await server.lookups.sip_domain(call.tenant_id) or server.host
        caller = call.caller or "anonymous"
        ring.sip = await server.sip.invite(
            target,
            via,
            offer.build().encode(),
            from_uri=NameAddr(SipUri(user=_uri_user(caller), host=domain), caller),
            to_uri=target,
            headers=[("X-Omnidesk-Contact", call.contact_id or "")],
        )
        await server.note(call, "ringing", agent_id=ring.agent_id, detail={"offer": ring.offer_id})
        answer = await asyncio.wait_for(ring.sip.wait_answer(), server.ring_timeout_s)
        leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
    except CallFailed as exc:
        status, why = exc.status, exc.reason
    except TimeoutError:
        status, why = 408, "no answer"
    except (SdpError, OSError) as exc:
        status, why = 488, str(exc)
    if status:
        call.put("call", lambda: _ring_failed(server, call, ring, status, why))
    else:
        call.put("call", lambda: _agent_answered(server, call, ring))


async def _ring_failed(
    server: VoiceServer, call: VoiceCall, ring: Ring, status: int, why: str
) -> None:
    if call.ring is not ring:
        return
    reason = RING_REASONS.get(status, f"sip_{status}")
    await stop_ring(server, call, reject=True, reason=reason, requeued=True)
    log.info("voice.ring_failed", call=call.id, agent=ring.agent_id, status=status, why=why)


async def stop_ring(
    server: VoiceServer,
    call: VoiceCall,
    *,
    reject: bool,
    reason: str = "",
    requeued: bool = False,
) -> None:
    """Stop the agent's phone ringing; `reject` also tells routing the offer was refused.

    `requeued`: the caller stays in line (the ring failed, the offer timed out or was revoked),
    which is a step of its own for whoever follows the call: it is no longer ringing."""
    ring = call.ring
    if ring is None:
        return
    call.ring = None
    back_in_line = call.state == "ringing"
    if back_in_line:
        call.state = "queued"
    if ring.task is not None and not ring.task.done():
        ring.task.cancel()
    await drop_leg(server, ring.sip, ring.leg)
    if reject:
        host = await server.routing.host(call.tenant_id)
        with contextlib.suppress(RoutingError):
            await host.execute(RejectOffer(ring.offer_id, ring.agent_id, reason or None))
    if requeued and back_in_line and not call.ended:
        await server.note(
            call,
            "queued",
            agent_id=ring.agent_id,
            detail={"queue": call.queue_id, "ring_ended": reason or "offer_ended"},
        )


async def _agent_answered(server: VoiceServer, call: VoiceCall, ring: Ring) -> None:
    if call.ring is not ring or call.state != "ringing":
        # The caller left or the offer ended while the phone was being answered.
        if ring.sip is not None:
            with contextlib.suppress(CallFailed, OSError):
                await ring.sip.bye()
        if ring.leg is not None:
            await server.media.close_leg(ring.leg)
        return
    host = await server.routing.host(call.tenant_id)
    try:
        await host.execute(AcceptOffer(ring.offer_id, ring.agent_id))
    except RoutingError as exc:
        # Already accepted from the desktop is fine; anything else means the offer is gone.
        async with host.consistent():
            contact = _contact_or_none(host, call.contact_id)
        if contact is None or getattr(contact, "agent_id", None) != ring.agent_id:
            log.info("voice.accept_refused", call=call.id, error=str(exc))
            await stop_ring(server, call, reject=False, requeued=True)
            return
    assert ring.sip is not None and ring.leg is not None
    call.ring = None
    stop_queue_audio(server, call)
    CallRunner(server, call).stop_playing()
    call.agent_id, call.agent_sip, call.agent_leg = ring.agent_id, ring.sip, ring.leg
    call.state = "connected"
    call.connected_at = utcnow()
    server.media.bridge(call.leg, ring.leg)

    async def agent_gone(reason: str) -> None:
        if not call.ended:
            call.put("call", lambda: server.agent_gone(call, reason))

    agent_sip, agent_leg = ring.sip, ring.leg
    agent_sip.on_ended = agent_gone
    agent_sip.on_reinvite = lambda offer: server.on_reinvite(
        call, agent_sip, agent_leg, offer, agent=True
    )
    ring.leg.on_dtmf = None
    call.put("answered")
    await server.note(call, "connected", agent_id=ring.agent_id)
    policy = await server.lookups.queue_policy(call.tenant_id, call.queue_id or "")
    if policy.record == "always":
        await server.start_recording(call)


def _contact_or_none(host: Any, contact_id: str | None) -> Any:
    if contact_id is None:
        return None
    try:
        return host.engine.contact(contact_id)
    except (RoutingError, KeyError):
        return None


def _uri_user(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum() or ch in "+-_.") or "anonymous"
