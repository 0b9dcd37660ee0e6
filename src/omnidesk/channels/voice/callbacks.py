"""Callbacks: the caller keeps their place in line without staying on the phone.

The IVR's OfferCallback (a key pressed while queued, or a callback node) registers a callback:
a routing contact of its own (channel "voice", attribute `callback_number`) that, when the
caller was already waiting, replaces their waiting call with the same `queued_since`; the
waiting call's contact is cancelled with reason "callback", so the caller's hang-up is not an
abandon. When routing offers the callback to an agent, the agent's softphone rings first;
once they answer (which accepts the offer) Omnidesk dials the customer through the outbound
trunk while the agent hears a ringback tone, and bridges the two: from then on it is an
ordinary live call (`direction` "outbound") with call control, recording and its record.

A callback survives a restart of the server. Routing's contact is durable (snapshot + log),
and everything else a `Callback` needs is in the voice event log before routing hears of it:
the contact id is `callback-<id of the call that asked>`, and that call's `callback` step
(a `voice.call_state_changed`, committed before the contact arrives) carries the number, the
queue and the attributes. At start, recovery.py looks through each voice tenant's routing
contacts for callbacks still waiting or offered, finds that step by the call id (the event
log's subject index) and puts the callback back in `pending`: a waiting one rings its agent
when offered, as before; one already offered (the offer outlived the server, its ring did not)
rings at once. A callback that was connected when the server died is not re-created: like any
call a restart drops, it is the agent's to wrap up.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.calls import RING_REASONS, VoiceCall, drop_leg, utcnow
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.ivr.flow import normalize_e164
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import Player
from omnidesk.channels.voice.media.sdp import (
    SdpError,
    SessionDescription,
    accept_answer,
    make_offer,
)
from omnidesk.channels.voice.outbound import (
    DialFailed,
    dial_out,
    outbound_trunk,
    ringback,
    start_connected,
    write_failed_record,
)
from omnidesk.channels.voice.sip.dialog import CallFailed, OutgoingCall
from omnidesk.channels.voice.sip.message import NameAddr, SipUri
from omnidesk.channels.voice.views import call_json
from omnidesk.core.routing import ContactStatus
from omnidesk.core.routing.commands import (
    AcceptOffer,
    CancelContact,
    ContactArrived,
    EndContact,
    RejectOffer,
)
from omnidesk.core.routing.errors import RoutingError
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger

if TYPE_CHECKING:
    from omnidesk.channels.voice.server import VoiceServer

log = get_logger(__name__)

CALLBACK_PREFIX = "callback-"
# The step of the asking call that holds what a callback needs (see recover_callbacks).
CALLBACK_STEP = "callback"


def callback_contact_id(call_id: str) -> str:
    """The routing contact of the callback `call_id` asked for. Derived, not random, so that
    after a restart the contact leads back to its call's events (subject "call", `call_id`)."""
    return f"{CALLBACK_PREFIX}{call_id}"


def asking_call_id(contact_id: str) -> str | None:
    """The call a callback contact was asked for by (None: not a callback's contact)."""
    if not contact_id.startswith(CALLBACK_PREFIX):
        return None
    return contact_id[len(CALLBACK_PREFIX) :] or None


@dataclass
class Callback:
    id: str  # the routing contact's id
    tenant_id: uuid.UUID
    queue_id: str
    number: str
    call_id: str  # the call that asked for it
    attributes: dict[str, Any]
    created_at: datetime = field(default_factory=utcnow)
    state: str = "waiting"  # waiting | ringing | dialling
    offer_id: str | None = None
    agent_id: str | None = None
    agent_sip: OutgoingCall | None = None
    agent_leg: Leg | None = None
    task: asyncio.Task[None] | None = None


class CallbackDesk:
    def __init__(self, server: VoiceServer) -> None:
        self.server = server
        self.pending: dict[str, Callback] = {}

    def handles(self, contact_id: str) -> bool:
        return contact_id in self.pending

    # --- registering -----------------------------------------------------------------------

    async def register(self, call: VoiceCall, action: ivr.OfferCallback) -> Callback | None:
        server = self.server
        try:
            number = normalize_e164(action.number)
        except ValueError:
            log.warning("voice.callback_bad_number", call=call.id, number=action.number)
            return None
        known = self.pending.get(callback_contact_id(call.id))
        if known is not None:
            # The same call asked twice: its callback is already in line (one per call).
            log.info("voice.callback_repeated", call=call.id, callback=known.id)
            return known
        host = await server.routing.host(call.tenant_id)
        queued_since: datetime | None = None
        priority = 0
        if action.keep_place and call.contact_id and call.state in ("queued", "ringing"):
            old = call.contact_id
            async with host.consistent():
                with contextlib.suppress(RoutingError, KeyError):
                    status = host.engine.contact(old)
                    queued_since, priority = status.queued_at, status.priority
            await server.stop_ring(call, reject=False)
            server.stop_queue_audio(call)
            server.by_contact.pop(old, None)
            # Not "abandoned": the caller hangs up next, but their request stays in line.
            with contextlib.suppress(RoutingError):
                await host.execute(CancelContact(old, "callback"))
            call.contact_id = None
            call.state = "ivr"
        attributes = call.routable_attributes()
        attributes.update({"callback_number": number, "callback_for": call.id})
        cb = Callback(
            id=callback_contact_id(call.id),
            tenant_id=call.tenant_id,
            queue_id=action.queue,
            number=number,
            call_id=call.id,
            attributes=attributes,
        )
        # Written (and committed) before routing hears of the contact, and not through `note`,
        # which swallows a failure: this step is what a restart re-creates the callback from,
        # so a contact routing keeps must never lack it. A callback that cannot be put on
        # record is refused rather than accepted and later lost.
        try:
            await server.record(
                call,
                ev.CallStateChanged(
                    call_id=call.id,
                    state=CALLBACK_STEP,
                    contact_id=call.contact_id,
                    agent_id=None,
                    detail={
                        "callback_id": cb.id,
                        "number": number,
                        "queue": action.queue,
                        "kept_place": queued_since is not None,
                        "priority": priority,
                        "attributes": attributes,
                    },
                    call=call_json(call),
                ),
            )
        except Exception as exc:
            log.exception("voice.callback_unrecorded", call=call.id)
            await server.note(call, "callback_failed", detail={"why": f"not recorded: {exc}"})
            return None
        # Registered before routing hears of it: an offer can follow at once.
        self.pending[cb.id] = cb
        try:
            await host.execute(
                ContactArrived(
                    contact_id=cb.id,
                    queue_id=action.queue,
                    channel="voice",
                    priority=priority,
                    attributes=attributes,
                    queued_since=queued_since,
                )
            )
        except RoutingError as exc:
            self.pending.pop(cb.id, None)
            log.error("voice.callback_refused", call=call.id, error=str(exc))
            await server.note(call, "callback_failed", detail={"why": str(exc)})
            return None
        return cb

    # --- after a restart (recovery.py) ---------------------------------------------------

    def restore(self, cb: Callback, status: ContactStatus) -> str:
        """Take back a callback that routing still holds after a restart, given its contact's
        status read under the host's lock (so no routing event of it can be missed between
        that read and this call). Returns what became of it: "waiting", "ringing" (an offer
        that outlived the server rings its agent now), or "known" (already pending)."""
        if cb.id in self.pending:
            return "known"
        self.pending[cb.id] = cb
        if status.state == "offered" and status.offer_id and status.agent_id:
            # Ringing now rather than revoking the offer: RevokeOffers takes back every pending
            # offer of the agent (their chats' too), and the offer is still running — routing's
            # timer ends it (offer_timed_out cancels this ring) exactly as for a fresh one.
            self._start_ring(cb, status.offer_id, status.agent_id)
            return "ringing"
        return "waiting"

    # --- routing's events --------------------------------------------------------------------

    def on_event(self, published: PublishedEvent) -> None:
        payload = published.payload
        cb = self.pending.get(str(payload.get("contact_id")))
        if cb is None:
            return
        kind = published.type
        if kind == "routing.offer_created" and cb.state == "waiting":
            self._start_ring(cb, str(payload["offer_id"]), str(payload["agent_id"]))
        elif kind in ("routing.offer_timed_out", "routing.offer_revoked"):
            offer_id = str(payload["offer_id"])
            if cb.state == "ringing" and cb.offer_id == offer_id and cb.task is not None:
                cb.task.cancel()
        elif kind in ("routing.contact_ended", "routing.contact_overflowed") and (
            cb.state == "waiting"
        ):
            self.pending.pop(cb.id, None)
            log.info("voice.callback_dropped", callback=cb.id, routing_event=kind)

    def _start_ring(self, cb: Callback, offer_id: str, agent_id: str) -> None:
        cb.state = "ringing"
        cb.offer_id, cb.agent_id = offer_id, agent_id
        cb.task = self.server.spawn(self._offered(cb), f"voice-callback-{cb.id}")

    async def _offered(self, cb: Callback) -> None:
        try:
            answered = await self._ring_agent(cb)
        except asyncio.CancelledError:
            await self._drop_agent(cb)
            cb.state = "waiting"
            raise
        if answered:
            await self._connect(cb)

    async def _ring_agent(self, cb: Callback) -> bool:
        server = self.server
        assert cb.offer_id and cb.agent_id
        status, why = 0, ""
        try:
            target, via = await server.agent_binding(cb.tenant_id, cb.agent_id)
            cb.agent_leg = await server.media.open_leg()
            offer = make_offer(local_ip=server.host, local_port=cb.agent_leg.local_port)
            domain = await server.lookups.sip_domain(cb.tenant_id) or server.host
            cb.agent_sip = await server.sip.invite(
                target,
                via,
                offer.build().encode(),
                from_uri=NameAddr(SipUri(user=cb.number, host=domain), f"Callback {cb.number}"),
                to_uri=target,
                headers=[("X-Omnidesk-Contact", cb.id), ("X-Omnidesk-Callback", cb.number)],
            )
            answer = await asyncio.wait_for(cb.agent_sip.wait_answer(), server.ring_timeout_s)
            cb.agent_leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
        except CallFailed as exc:
            status, why = exc.status, exc.reason
        except TimeoutError:
            status, why = 408, "no answer"
        except (SdpError, OSError) as exc:
            status, why = 488, str(exc)
        host = await server.routing.host(cb.tenant_id)
        if status:
            await self._drop_agent(cb)
            cb.state = "waiting"
            log.info("voice.callback_ring_failed", callback=cb.id, status=status, why=why)
            with contextlib.suppress(RoutingError):
                await host.execute(
                    RejectOffer(cb.offer_id, cb.agent_id, RING_REASONS.get(status, f"sip_{status}"))
                )
            return False
        try:
            await host.execute(AcceptOffer(cb.offer_id, cb.agent_id))
        except RoutingError as exc:
            async with host.consistent():
                try:
                    holder = host.engine.contact(cb.id).agent_id
                except (RoutingError, KeyError):
                    holder = None
            if holder != cb.agent_id:
                log.info("voice.callback_accept_refused", callback=cb.id, error=str(exc))
                await self._drop_agent(cb)
                cb.state = "waiting"
                return False
        return True

    async def _connect(self, cb: Callback) -> None:
        """The agent is on the line and holds the contact: now dial the customer."""
        server = self.server
        assert cb.agent_sip is not None and cb.agent_leg is not None and cb.agent_id
        cb.state = "dialling"
        started = utcnow()
        tone: Player = ringback()
        server.media.connect(cb.agent_leg, tone)
        dial = asyncio.ensure_future(dial_out(server, cb.tenant_id, cb.number))
        agent_left = False

        async def agent_gone(_reason: str) -> None:
            nonlocal agent_left
            agent_left = True
            dial.cancel()

        cb.agent_sip.on_ended = agent_gone
        await asyncio.wait({dial})
        server.media.disconnect(cb.agent_leg, tone)
        cb.agent_sip.on_ended = None
        failure = None
        if dial.cancelled():
            failure = "agent hung up while dialling" if agent_left else "cancelled"
        elif isinstance(dial.exception(), DialFailed):
            failure = str(getattr(dial.exception(), "reason", "failed"))
        elif dial.exception() is not None:
            failure = f"error: {dial.exception()}"
        trunk = None
        with contextlib.suppress(DialFailed):
            trunk = await outbound_trunk(server, cb.tenant_id)
        self.pending.pop(cb.id, None)
        host = await server.routing.host(cb.tenant_id)
        if failure is not None:
            await self._drop_agent(cb)
            # The agent took the contact: ending it puts them in wrap-up to note the failure.
            with contextlib.suppress(RoutingError):
                await host.execute(EndContact(cb.id))
            await write_failed_record(
                server,
                cb.tenant_id,
                from_uri=f"sip:{trunk.caller_id or 'anonymous'}@{trunk.outbound_host}"
                if trunk
                else "sip:anonymous@invalid",
                to_uri=f"sip:{cb.number}@{trunk.outbound_host if trunk else 'invalid'}",
                number=cb.number,
                trunk_id=trunk.id if trunk else None,
                agent_id=cb.agent_id,
                started_at=started,
                reason=f"callback failed: {failure}",
                contact_id=cb.id,
            )
            log.info("voice.callback_failed", callback=cb.id, why=failure)
            return
        far_sip, far_leg = dial.result()
        call = VoiceCall(
            tenant_id=cb.tenant_id,
            sip=far_sip,
            leg=far_leg,
            caller=cb.number,
            number=cb.number,
            trunk_id=trunk.id if trunk else None,
            direction="outbound",
            started_at=started,
        )
        call.contact_id, call.queue_id = cb.id, cb.queue_id
        call.attributes.update(cb.attributes)
        call.agent_id, call.agent_sip, call.agent_leg = cb.agent_id, cb.agent_sip, cb.agent_leg
        server.by_contact[cb.id] = call
        await start_connected(server, call, "callback")
        policy = await server.lookups.queue_policy(cb.tenant_id, cb.queue_id)
        if policy.record == "always":
            await server.start_recording(call)

    async def _drop_agent(self, cb: Callback) -> None:
        sip, leg = cb.agent_sip, cb.agent_leg
        cb.agent_sip, cb.agent_leg = None, None
        await drop_leg(self.server, sip, leg)
