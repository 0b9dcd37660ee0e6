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
from typing import Any

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.calls import AgentPhone, VoiceCall, drop_leg, ring_refusal, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.ivr.flow import normalize_e164
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import Player
from omnidesk.channels.voice.media.sdp import (
    SdpError,
    SessionDescription,
    accept_answer,
)
from omnidesk.channels.voice.outbound import (
    DialFailed,
    dial_out,
    outbound_trunk,
    ringback,
    start_connected,
    write_failed_record,
)
from omnidesk.channels.voice.queueing import stop_queue_audio, stop_ring
from omnidesk.channels.voice.recording import start_recording
from omnidesk.channels.voice.records import note, record
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.channels.voice.views import call_json
from omnidesk.platform.events import Audience, PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import (
    AcceptOffer,
    CancelContact,
    ContactArrived,
    ContactStatus,
    CustomerRef,
    EndContact,
    RejectOffer,
    RoutingError,
)

log = get_logger(__name__)

CALLBACK_PREFIX = "callback-"
# A callback asked for outside a call (`CallbackDesk.request`) has a request id in the place of
# the asking call's id.
REQUEST_PREFIX = "req-"
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
    agent_sip: AgentPhone | None = None
    agent_leg: Leg | None = None
    task: asyncio.Task[None] | None = None
    # The id the call will have once the customer answers: chosen now, so the agent's browser
    # phone can renegotiate (ICE restart) while the customer is dialled (webrtc_endpoints.py).
    live_call_id: str = field(default_factory=lambda: uuid.uuid4().hex)


class CallbackDesk:
    """The callbacks this server has in hand (`pending`, by contact id), from being asked for
    until they are connected calls (or dropped)."""

    def __init__(self, ctx: VoiceContext) -> None:
        self.ctx = ctx
        self.pending: dict[str, Callback] = {}

    def handles(self, contact_id: str) -> bool:
        return contact_id in self.pending

    # --- registering -----------------------------------------------------------------------

    async def register(self, call: VoiceCall, action: ivr.OfferCallback) -> Callback | None:
        ctx = self.ctx
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
        queued_since: datetime | None = None
        priority = 0
        if action.keep_place and call.contact_id and call.state in ("queued", "ringing"):
            old = call.contact_id
            status = await ctx.routing.read(call.tenant_id, lambda r: r.contact(old))
            if status is not None:
                queued_since, priority = status.queued_at, status.priority
            await stop_ring(ctx, call, reject=False)
            stop_queue_audio(ctx, call)
            ctx.by_contact.pop(old, None)
            # Not "abandoned": the caller hangs up next, but their request stays in line.
            with contextlib.suppress(RoutingError):
                await ctx.routing.execute(call.tenant_id, CancelContact(old, "callback"))
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
            await record(
                ctx,
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
            await note(ctx, call, "callback_failed", detail={"why": f"not recorded: {exc}"})
            return None
        # Registered before routing hears of it: an offer can follow at once.
        self.pending[cb.id] = cb
        try:
            await ctx.routing.arrive(
                call.tenant_id,
                ContactArrived(
                    contact_id=cb.id,
                    queue_id=action.queue,
                    channel="voice",
                    priority=priority,
                    attributes=attributes,
                    queued_since=queued_since,
                ),
                CustomerRef("phone", number),
                strict=False,
            )
        except RoutingError as exc:
            self.pending.pop(cb.id, None)
            log.error("voice.callback_refused", call=call.id, error=str(exc))
            await note(ctx, call, "callback_failed", detail={"why": str(exc)})
            return None
        return cb

    async def request(
        self,
        tenant_id: uuid.UUID,
        number: str,
        queue_id: str,
        *,
        customer_id: uuid.UUID,
        attributes: dict[str, Any],
        preferred_agent_id: str | None = None,
        preferred_for_seconds: float = 30.0,
    ) -> Callback:
        """A callback asked for outside a call (a chat or a message whose customer wants a
        call: a channel switch). It is the same callback as an IVR's, recorded and recovered
        the same way: a request id takes the asking call's place (its `callback` step is this
        id's event), so the contact is `callback-<request id>`. Raises ValueError for a
        number that is not E.164 and the RoutingError when routing refuses the contact
        (nothing is then pending)."""
        ctx = self.ctx
        number = normalize_e164(number)
        request_id = f"{REQUEST_PREFIX}{uuid.uuid4().hex}"
        attributes = {**attributes, "callback_number": number, "callback_for": request_id}
        cb = Callback(
            id=callback_contact_id(request_id),
            tenant_id=tenant_id,
            queue_id=queue_id,
            number=number,
            call_id=request_id,
            attributes=attributes,
        )
        # As in `register`: on record (committed) before routing hears of it, so a restart
        # can take it back; a step that cannot be written refuses the callback.
        await ctx.events.write(
            tenant_id,
            ev.CallStateChanged(
                call_id=request_id,
                state=CALLBACK_STEP,
                detail={
                    "callback_id": cb.id,
                    "number": number,
                    "queue": queue_id,
                    "kept_place": False,
                    "priority": 0,
                    "attributes": attributes,
                    "requested": True,
                },
            ),
            Audience.of(teams=ctx.routing.queue_audience(tenant_id, queue_id).teams),
        )
        self.pending[cb.id] = cb
        try:
            await ctx.routing.arrive(
                tenant_id,
                ContactArrived(
                    contact_id=cb.id,
                    queue_id=queue_id,
                    channel="voice",
                    attributes=attributes,
                    preferred_agent_id=preferred_agent_id,
                    preferred_for_seconds=preferred_for_seconds,
                ),
                CustomerRef(customer_id=customer_id),
            )
        except Exception:
            self.pending.pop(cb.id, None)
            raise
        log.info("voice.callback_requested", callback=cb.id, queue=queue_id)
        return cb

    # --- after a restart (recovery.py) ---------------------------------------------------

    def restore(self, cb: Callback, status: ContactStatus) -> str:
        """Take back a callback that routing still holds after a restart, given its contact's
        status read under routing's lock (so no routing event of it can be missed between
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
        cb.task = self.ctx.spawn(self._offered(cb), f"voice-callback-{cb.id}")

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
        ctx = self.ctx
        assert cb.offer_id and cb.agent_id
        status, why, refusal = 0, "", ""
        try:
            phone, leg, offer = await self._ring_phone(cb)
            limit = await ctx.ring_limit(cb.tenant_id)
            answer = await asyncio.wait_for(phone.wait_answer(), limit.seconds)
            leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
        except CallFailed as exc:
            status, why, refusal = exc.status, exc.reason, ring_refusal(exc)
        except TimeoutError:
            status, why, refusal = 408, "no answer", "no_answer"
        except (SdpError, OSError) as exc:
            status, why, refusal = 488, str(exc), "sip_488"
        if status:
            await self._drop_agent(cb)
            cb.state = "waiting"
            log.info("voice.callback_ring_failed", callback=cb.id, status=status, why=why)
            with contextlib.suppress(RoutingError):
                await ctx.routing.execute(
                    cb.tenant_id, RejectOffer(cb.offer_id, cb.agent_id, refusal)
                )
            return False
        try:
            await ctx.routing.execute(cb.tenant_id, AcceptOffer(cb.offer_id, cb.agent_id))
        except RoutingError as exc:
            contact = await ctx.routing.read(cb.tenant_id, lambda r: r.contact(cb.id))
            holder = contact.agent_id if contact is not None else None
            if holder != cb.agent_id:
                log.info("voice.callback_accept_refused", callback=cb.id, error=str(exc))
                await self._drop_agent(cb)
                cb.state = "waiting"
                return False
        return True

    async def _ring_phone(self, cb: Callback) -> tuple[AgentPhone, Leg, SessionDescription]:
        """Ring the agent's phone for the callback: their browser phone when registered (as
        queueing.py does for a queued call: the desk shows routing's offer and answers it with
        the browser's WebRTC offer), else their SIP softphone. Returns it, its leg and the
        offer; both are on `cb` as they are made, for _drop_agent."""
        ctx = self.ctx
        assert cb.agent_id is not None and cb.offer_id is not None
        leg = cb.agent_leg = await ctx.media.open_leg()
        phone, offer = await ctx.ring_agent(
            cb.tenant_id,
            cb.agent_id,
            cb.offer_id,
            leg,
            from_user=cb.number,
            display=f"Callback {cb.number}",
            headers=[("X-Omnidesk-Contact", cb.id), ("X-Omnidesk-Callback", cb.number)],
            call_id=cb.live_call_id,
        )
        cb.agent_sip = phone
        return phone, leg, offer

    async def _connect(self, cb: Callback) -> None:
        """The agent is on the line and holds the contact: now dial the customer."""
        ctx = self.ctx
        assert cb.agent_sip is not None and cb.agent_leg is not None and cb.agent_id
        cb.state = "dialling"
        started = utcnow()
        tone: Player = ringback()
        ctx.media.connect(cb.agent_leg, tone)
        dial = asyncio.ensure_future(dial_out(ctx, cb.tenant_id, cb.number))
        agent_left = False

        async def agent_gone(_reason: str) -> None:
            nonlocal agent_left
            agent_left = True
            dial.cancel()

        cb.agent_sip.on_ended = agent_gone
        await asyncio.wait({dial})
        ctx.media.disconnect(cb.agent_leg, tone)
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
            trunk = await outbound_trunk(ctx, cb.tenant_id)
        self.pending.pop(cb.id, None)
        if failure is not None:
            await self._drop_agent(cb)
            # The agent took the contact: ending it puts them in wrap-up to note the failure.
            with contextlib.suppress(RoutingError):
                await ctx.routing.execute(cb.tenant_id, EndContact(cb.id))
            await write_failed_record(
                ctx,
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
            id=cb.live_call_id,
        )
        call.contact_id, call.queue_id = cb.id, cb.queue_id
        call.attributes.update(cb.attributes)
        call.agent_id, call.agent_sip, call.agent_leg = cb.agent_id, cb.agent_sip, cb.agent_leg
        ctx.by_contact[cb.id] = call
        await start_connected(ctx, call, "callback")
        policy = await ctx.lookups.queue_policy(cb.tenant_id, cb.queue_id)
        if policy.record == "always":
            await start_recording(ctx, call)

    async def _drop_agent(self, cb: Callback) -> None:
        sip, leg = cb.agent_sip, cb.agent_leg
        cb.agent_sip, cb.agent_leg = None, None
        await drop_leg(self.ctx.media, sip, leg)
