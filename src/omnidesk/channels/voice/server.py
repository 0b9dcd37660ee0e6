"""The voice server: SIP endpoint + media engine + IVR + routing, as one B2BUA.

A call from a trunk to a number runs that number's IVR flow on the caller's leg; a queue node
makes it a routing contact (channel "voice") that waits with hold music and announcements.
When routing offers it to an agent, the agent's registered softphone rings for as long as the
offer lasts: answering accepts the offer and bridges the two legs; busy, decline, no
registration or the offer ending cancels the ring and routing carries on (ADR 0007).

This class is the facade the feature modules use. It owns the lifecycle, the softphones'
registrations and the ending of a call; the rest lives beside it as functions of the server,
which its methods of the same names call: inbound.py (a trunk's INVITE answered and handed to
its IVR flow), queueing.py (the queue and the agent's ringing phone), call_control.py (hold,
mute, keypad and recording buttons, re-INVITEs), records.py (events, recordings, the detail
record, all written through the batching event_writer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from omnidesk.channels.voice import (
    call_control,
    inbound,
    outbound,
    queueing,
    records,
    transfers,
    voicemail,
)
from omnidesk.channels.voice.callbacks import CallbackDesk
from omnidesk.channels.voice.calls import CallRunner, VoiceCall, utcnow
from omnidesk.channels.voice.event_writer import EventWriter
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.ivr.prompts import PromptRenderer
from omnidesk.channels.voice.lookups import VoiceLookups
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import Player, load_wav
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall
from omnidesk.channels.voice.sip.endpoint import SipEndpoint
from omnidesk.channels.voice.sip.message import SipRequest, SipResponse, SipUri
from omnidesk.channels.voice.sip.transaction import Timers
from omnidesk.channels.voice.sip.transport import Address
from omnidesk.core.routing.commands import EndContact
from omnidesk.core.routing.errors import RoutingError
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import Database
from omnidesk.platform.events import Audience, DomainEvent, PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.service import RoutingService

log = get_logger(__name__)


class VoiceServer:
    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        routing: RoutingService,
        lookups: VoiceLookups,
        data_dir: Path,
        host: str = "127.0.0.1",
        sip_port: int = 5060,
        rtp_ports: tuple[int, int] | None = (20000, 30000),
        timers: Timers | None = None,
        ring_timeout_s: float = 30.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.routing = routing
        self.lookups = lookups
        self.data_dir = data_dir
        self.host = host
        self.sip = SipEndpoint(host, udp_port=sip_port, tcp_port=sip_port, timers=timers)
        self.sip.on_register = self._on_register
        self.sip.authenticate = self._authenticate
        self.sip.on_invite = self._on_invite
        self.media = MediaEngine(host=host, port_range=rtp_ports)
        self.prompts = PromptRenderer(data_dir / "voice" / "prompt-cache")
        self.ring_timeout_s = ring_timeout_s
        self.calls: dict[str, VoiceCall] = {}
        self.by_contact: dict[str, VoiceCall] = {}
        self._subscription: Subscription | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.callbacks = CallbackDesk(self)
        self.events = EventWriter(self.uow)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        from omnidesk.channels.voice.recovery import recover_callbacks, recover_recordings

        self.events.start()
        # Before any call records: a crash's recordings are repaired and marked partial.
        await recover_recordings(self)
        await self.media.start()
        await self.sip.start()
        self._subscription = self.bus.subscribe(self._on_event)
        # Subscribed first, so no routing event of a callback is missed once it is taken back;
        # in the background, as a slow database must not hold up SIP (recovery.py).
        self.callbacks_recovered = self.spawn(recover_callbacks(self), "voice-callback-recovery")
        log.info("voice.started", sip_udp=self.sip.udp_port, sip_tcp=self.sip.tcp_port)

    async def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        for call in list(self.calls.values()):
            await self.hang_up(call, "shutdown")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        # After the calls' tasks: what they queued (a cancelled ring's step, say) is written.
        await self.events.stop()
        await self.sip.stop()
        await self.media.stop()

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @contextlib.asynccontextmanager
    async def uow(self, tenant_id: uuid.UUID) -> AsyncIterator[UnitOfWork]:
        """One transaction of a tenant: commits on success, and always closes its session —
        which also ends a transaction whose commit failed (UnitOfWork leaves that one open,
        and on SQLite an open write transaction holds the database's write lock)."""
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id) as work:
                yield work
        finally:
            await session.close()

    # --- registrations -----------------------------------------------------------------------

    async def _authenticate(self, realm: str, username: str) -> str | None:
        tenant_id = await self.lookups.tenant_for_domain(realm)
        if tenant_id is None:
            return None
        account = await self.lookups.sip_account(tenant_id, username)
        if account is None or account.user_id is None:
            return None  # trunks do not register
        return account.ha1("MD5")

    async def _on_register(self, request: SipRequest, source: Address) -> SipResponse | None:
        # The tenant is the domain the phone registers in; its realm is that domain.
        domain = request.to.uri.host.lower()
        if await self.lookups.tenant_for_domain(domain) is None:
            from omnidesk.channels.voice.sip.message import make_response, new_tag

            return make_response(request, 404, "Not Our Domain", to_tag=new_tag())
        return await self.sip.handle_register(request, source, realm=domain)

    async def agent_binding(self, tenant_id: uuid.UUID, agent_id: str) -> tuple[SipUri, Address]:
        username = await self.lookups.agent_username(tenant_id, uuid.UUID(agent_id))
        domain = await self.lookups.sip_domain(tenant_id)
        if username is None or domain is None:
            raise CallFailed(404, "agent has no SIP login")
        bindings = self.sip.registrar.lookup(f"sip:{username}@{domain.lower()}")
        if not bindings:
            raise CallFailed(480, "softphone not registered")
        binding = bindings[0]
        return binding.contact, binding.source

    # --- inbound calls (inbound.py) ----------------------------------------------------------

    async def _on_invite(self, sip_call: IncomingCall) -> None:
        await inbound.on_invite(self, sip_call)

    def wire(self, call: VoiceCall) -> None:
        """Caller-side signals (keypad, re-INVITE, hang-up) into the call's inbox."""
        inbound.wire(self, call)

    # --- prompts -----------------------------------------------------------------------------

    async def render_prompts(
        self, call: VoiceCall, prompts: Iterable[ivr.Prompt]
    ) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for prompt in prompts:
            if isinstance(prompt, ivr.Wav):
                path = await self.lookups.audio_path(call.tenant_id, prompt.name)
                if path is None:
                    log.warning("voice.prompt_missing", call=call.id, name=prompt.name)
                    continue
                out.append(load_wav(path))
            else:
                out.append(await self.prompts.say(prompt.text, prompt.language))
        return out

    # --- routing events ----------------------------------------------------------------------

    def _on_event(self, published: PublishedEvent) -> None:
        contact_id = published.payload.get("contact_id")
        if contact_id and self.callbacks.handles(str(contact_id)):
            self.callbacks.on_event(published)
            return
        call = self.by_contact.get(str(contact_id)) if contact_id else None
        if call is not None and not call.ended:
            queueing.on_routing_event(self, call, published)

    # --- ending ------------------------------------------------------------------------------

    async def caller_gone(self, call: VoiceCall, reason: str) -> None:
        session = call.session
        if session is not None and not session.ended:
            await CallRunner(self, call).execute(session.hangup(now=utcnow()))
        await self.hang_up(call, f"caller {reason}")

    async def agent_gone(self, call: VoiceCall, reason: str) -> None:
        await self.hang_up(call, f"agent {reason}")

    async def hang_up(self, call: VoiceCall, reason: str) -> None:
        """End the whole call: both legs, routing's contact, recording, the detail record."""
        if call.ended:
            return
        if call.consult is not None:
            await transfers.drop_consult(self, call)  # agent B first: the contact ends as connected
        call.end_reason = reason
        for handle in call.timers.values():
            handle.cancel()
        self.stop_queue_audio(call)
        if call.state in ("queued", "ringing"):
            await self.leave_queue(call, "hangup")
        contact_id = call.contact_id
        was_connected = call.state in ("connected", "held")
        call.state = "ended"
        call.ended_at = utcnow()
        for sip_call in (call.sip, call.agent_sip, *(m[0] for m in call.monitors.values())):
            if sip_call is not None and sip_call.state != "ended":
                with contextlib.suppress(CallFailed, OSError):
                    if isinstance(sip_call, IncomingCall) and sip_call.state == "early":
                        await sip_call.reject(480, "Temporarily Unavailable")
                    else:
                        await sip_call.bye()
        with contextlib.suppress(Exception):
            await self.finish_recording(call)
        with contextlib.suppress(Exception):
            await voicemail.finish_voicemail(self, call, "hangup")
        for leg in (call.leg, call.agent_leg, *(m[1] for m in call.monitors.values())):
            if leg is not None:
                await self.media.close_leg(leg)
        if was_connected and contact_id is not None:
            host = await self.routing.host(call.tenant_id)
            with contextlib.suppress(RoutingError):
                await host.execute(EndContact(contact_id))
        if contact_id is not None:
            self.by_contact.pop(contact_id, None)
        self.calls.pop(call.id, None)
        await records.write_record(self, call)
        if call.worker is not None and call.worker is not asyncio.current_task():
            call.worker.cancel()

    # --- queueing (queueing.py) --------------------------------------------------------------

    async def enqueue(self, call: VoiceCall, action: ivr.Enqueue) -> None:
        await queueing.enqueue(self, call, action)

    async def leave_queue(self, call: VoiceCall, reason: str) -> None:
        await queueing.leave_queue(self, call, reason)

    def stop_queue_audio(self, call: VoiceCall) -> None:
        queueing.stop_queue_audio(self, call)

    async def hold_audio(self, call: VoiceCall, name: str | None) -> Player:
        return await queueing.hold_audio(self, call, name)

    async def stop_ring(self, call: VoiceCall, *, reject: bool, reason: str = "") -> None:
        await queueing.stop_ring(self, call, reject=reject, reason=reason)

    # --- call control (call_control.py) ------------------------------------------------------

    async def control(self, call: VoiceCall, fn: Any, *args: Any) -> None:
        await call_control.control(call, fn, *args)

    async def hold(self, call: VoiceCall) -> None:
        await call_control.hold(self, call)

    async def resume(self, call: VoiceCall) -> None:
        await call_control.resume(self, call)

    async def mute(self, call: VoiceCall, on: bool) -> None:
        await call_control.mute(self, call, on)

    async def send_dtmf(self, call: VoiceCall, digits: str) -> None:
        await call_control.send_dtmf(call, digits)

    async def recording_control(self, call: VoiceCall, action: str) -> None:
        await call_control.recording_control(self, call, action)

    async def on_reinvite(
        self, call: VoiceCall, sip_call: Any, leg: Leg, offer: bytes | None, *, agent: bool
    ) -> bytes:
        return await call_control.on_reinvite(self, call, sip_call, leg, offer, agent)

    # --- records (records.py) ----------------------------------------------------------------

    def recordings_dir(self, tenant_id: uuid.UUID) -> Path:
        return records.recordings_dir(self, tenant_id)

    async def start_recording(self, call: VoiceCall) -> None:
        await records.start_recording(self, call)

    async def finish_recording(self, call: VoiceCall) -> None:
        await records.finish_recording(self, call)

    def audience(self, call: VoiceCall) -> Audience:
        return records.audience(self, call)

    async def record(self, call: VoiceCall, event: DomainEvent) -> None:
        await records.record(self, call, event)

    async def note(
        self,
        call: VoiceCall,
        state: str,
        *,
        agent_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await records.note(self, call, state, agent_id=agent_id, detail=detail)

    # --- features (voicemail.py, callbacks.py, outbound.py) ---------------------------------

    async def start_voicemail(self, call: VoiceCall, action: ivr.StartVoicemail) -> None:
        await voicemail.start_voicemail(self, call, action)

    async def stop_voicemail(self, call: VoiceCall, action: ivr.StopVoicemail) -> None:
        await voicemail.stop_voicemail(self, call, action)

    async def offer_callback(self, call: VoiceCall, action: ivr.OfferCallback) -> None:
        await self.callbacks.register(call, action)

    async def transfer_out(self, call: VoiceCall, number: str) -> None:
        await outbound.transfer_out(self, call, number)
