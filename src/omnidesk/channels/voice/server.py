"""The voice server: SIP endpoint + media engine + IVR + routing, as one B2BUA.

A call from a trunk to a number runs that number's IVR flow on the caller's leg; a queue node
makes it a routing contact (channel "voice") that waits with hold music and announcements.
When routing offers it to an agent, the agent's registered softphone rings for as long as the
offer lasts: answering accepts the offer and bridges the two legs; busy, decline, no
registration or the offer ending cancels the ring and routing carries on (ADR 0007).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice import consent, outbound, transfers, voicemail
from omnidesk.channels.voice.callbacks import CallbackDesk
from omnidesk.channels.voice.calls import CallRunner, Ring, VoiceCall, hold_music, utcnow
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.ivr.flow import Flow, normalize_e164, validate_flow
from omnidesk.channels.voice.ivr.interpreter import IvrSession
from omnidesk.channels.voice.ivr.prompts import PromptRenderer
from omnidesk.channels.voice.ivr.speech import queue_announcement
from omnidesk.channels.voice.lookups import VoiceLookups
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import BufferSource, Player, load_wav
from omnidesk.channels.voice.media.recorder import Recorder
from omnidesk.channels.voice.media.sdp import (
    NoCommonCodec,
    SdpError,
    SessionDescription,
    accept_answer,
    make_offer,
    negotiate,
)
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall
from omnidesk.channels.voice.sip.endpoint import SipEndpoint
from omnidesk.channels.voice.sip.message import NameAddr, SipRequest, SipResponse, SipUri
from omnidesk.channels.voice.sip.transaction import Timers
from omnidesk.channels.voice.sip.transport import Address
from omnidesk.core.routing.commands import (
    AcceptOffer,
    CancelContact,
    ContactArrived,
    EndContact,
    RejectOffer,
)
from omnidesk.core.routing.errors import RoutingError
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import Database
from omnidesk.platform.errors import Conflict
from omnidesk.platform.events import Audience, DomainEvent, PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.service import RoutingService

log = get_logger(__name__)

# The SIP statuses an unanswered ring ends with, as the offer's reject reason.
RING_REASONS = {486: "busy", 600: "busy", 603: "declined", 480: "unavailable", 408: "no_answer"}


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

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        from omnidesk.channels.voice.recovery import recover_recordings

        # Before any call records: a crash's recordings are repaired and marked partial.
        await recover_recordings(self)
        await self.media.start()
        await self.sip.start()
        self._subscription = self.bus.subscribe(self._on_event)
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
        await self.sip.stop()
        await self.media.stop()

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

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

    # --- inbound calls -----------------------------------------------------------------------

    async def _on_invite(self, sip_call: IncomingCall) -> None:
        if await outbound.agent_invite(self, sip_call):
            return  # an agent's softphone calling a number
        request = sip_call.request
        dialled = request.uri.user or request.to.uri.user or ""
        number = _e164(dialled)
        source_ip = sip_call.source.host
        found = await self.lookups.trunk_for_source(source_ip, number)
        if found is None:
            log.info("voice.invite_refused", source=source_ip, number=number)
            if await self.lookups.trunks_for_source(source_ip):
                # A known carrier dialling a number none of its tenants owns.
                await sip_call.reject(404, "Number Not Found")
            else:
                await sip_call.reject(403, "Not From A Known Trunk")
            return
        tenant_id, trunk = found
        route = await self.lookups.number_route(number) if number else None
        if route is None or route.tenant_id != tenant_id:
            await sip_call.reject(404, "Number Not Found")
            return
        flow = validate_flow(route.definition)
        if not isinstance(flow, Flow):
            log.error("voice.flow_invalid", number=number, issues=[str(i) for i in flow])
            await sip_call.reject(503, "Flow Not Usable")
            return
        try:
            offer = SessionDescription.parse(sip_call.remote_sdp or b"")
        except SdpError as exc:
            await sip_call.reject(400, f"Bad SDP ({exc})"[:60])
            return
        leg = await self.media.open_leg()
        try:
            answer, params = negotiate(offer, local_ip=self.host, local_port=leg.local_port)
        except NoCommonCodec:
            await self.media.close_leg(leg)
            await sip_call.reject(488, "Not Acceptable Here")
            return
        except SdpError as exc:
            await self.media.close_leg(leg)
            await sip_call.reject(400, f"Bad SDP ({exc})"[:60])
            return
        leg.configure(params)
        caller = request.from_.uri.user
        call = VoiceCall(
            tenant_id=tenant_id,
            sip=sip_call,
            leg=leg,
            caller=_e164(caller or "") or caller,
            number=number,
            trunk_id=trunk.id,
            language=flow.language,
        )
        call.attributes.update({"caller": call.caller, "number": number})
        self.calls[call.id] = call
        self._wire(call)
        try:
            await sip_call.answer(answer.build().encode())
        except CallFailed:
            await self.hang_up(call, "no ack")
            return
        await self.record(
            call,
            ev.CallStarted(
                call_id=call.id,
                direction="inbound",
                caller=call.caller,
                callee=number,
                number=number,
                trunk_id=str(trunk.id),
            ),
        )
        runner = CallRunner(self, call)
        call.worker = self.spawn(runner.run(), f"voice-call-{call.id}")
        session = IvrSession(flow, now=utcnow(), attributes=call.attributes, caller=call.caller)
        call.session = session
        call.put("call", lambda: runner.execute(session.start(now=utcnow())))

    def _wire(self, call: VoiceCall) -> None:
        """Caller-side signals into the call's inbox."""
        call.leg.on_dtmf = lambda digit, _ms: call.put("digit", digit)

        async def on_info(content_type: str, body: bytes) -> None:
            digit = _info_digit(content_type, body)
            if digit is not None:
                call.put("digit", digit)

        async def on_ended(reason: str) -> None:
            if not call.ended:
                call.put("call", lambda: self.caller_gone(call, reason))

        call.sip.on_info = on_info
        call.sip.on_reinvite = lambda offer: self._reinvited(
            call, call.sip, call.leg, offer, agent=False
        )
        call.sip.on_ended = on_ended

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

    async def _hold_audio(self, call: VoiceCall, name: str | None) -> Player:
        if name:
            path = await self.lookups.audio_path(call.tenant_id, name)
            if path is not None:
                return BufferSource(load_wav(path), loop=True)
        return hold_music()

    # --- queueing ----------------------------------------------------------------------------

    async def enqueue(self, call: VoiceCall, action: ivr.Enqueue) -> None:
        policy = await self.lookups.queue_policy(call.tenant_id, action.queue)
        call.queue_id = action.queue
        call.contact_id = call.id
        call.language = action.language or call.language
        call.attributes.update(action.attributes)
        call.announce_every_s = action.announce_every_s or policy.announce_every_s
        host = await self.routing.host(call.tenant_id)
        self.by_contact[call.contact_id] = call
        try:
            await host.execute(
                ContactArrived(
                    contact_id=call.contact_id,
                    queue_id=action.queue,
                    channel="voice",
                    priority=action.priority,
                    attributes={k: v for k, v in call.attributes.items() if _plain(v)},
                )
            )
        except RoutingError as exc:
            self.by_contact.pop(call.contact_id, None)
            call.contact_id = None
            log.error("voice.enqueue_refused", call=call.id, queue=action.queue, error=str(exc))
            await self.hang_up(call, "queue refused")
            return
        async with host.consistent():
            queued = call.contact_id in host.engine.contact_ids()
        if not queued:
            self.by_contact.pop(call.id, None)
            call.put("overflowed", "overflow")
            return
        call.state = "queued"
        await self.note(call, "queued", detail={"queue": action.queue})
        runner = CallRunner(self, call)
        runner.stop_playing()
        call.hold_audio = await self._hold_audio(call, action.moh or policy.moh)
        self.media.connect(call.leg, call.hold_audio)
        if call.announce_every_s:
            call.announcer = self.spawn(self._announce(call), f"voice-announce-{call.id}")

    async def _announce(self, call: VoiceCall) -> None:
        """Position and estimated wait, now and every `announce_every_s`, over the music."""
        assert call.announce_every_s
        while call.state == "queued" and call.contact_id is not None:
            host = await self.routing.host(call.tenant_id)
            async with host.consistent():
                if call.contact_id not in host.engine.contact_ids():
                    return
                estimate = host.engine.wait_estimate(call.contact_id)
            if estimate.position:
                text = queue_announcement(
                    estimate.position, estimate.estimated_wait_seconds, call.language
                )
                audio = await self.prompts.say(text, call.language)
                if call.state != "queued":
                    return
                call.put("call", lambda a=audio: self._play_over_music(call, a))
            await asyncio.sleep(call.announce_every_s)

    async def _play_over_music(self, call: VoiceCall, audio: np.ndarray) -> None:
        if call.state != "queued" or call.hold_audio is None:
            return
        music = call.hold_audio
        self.media.disconnect(call.leg, music)

        def back() -> None:
            if call.state == "queued" and call.hold_audio is music:
                self.media.connect(call.leg, music)

        # Not through CallRunner.play: the announcement must not count as the IVR's prompt.
        announcement = BufferSource(audio, on_done=back)
        self.media.connect(call.leg, announcement)

    async def leave_queue(self, call: VoiceCall, reason: str) -> None:
        contact_id = call.contact_id
        if contact_id is None or call.state not in ("queued", "ringing"):
            return
        await self._stop_ring(call, reject=False)
        self._stop_queue_audio(call)
        call.state = "ivr"
        self.by_contact.pop(contact_id, None)
        host = await self.routing.host(call.tenant_id)
        with contextlib.suppress(RoutingError):
            await host.execute(
                CancelContact(contact_id, "abandoned" if reason == "hangup" else "max_wait")
            )
        call.contact_id = None

    def _stop_queue_audio(self, call: VoiceCall) -> None:
        if call.announcer is not None:
            call.announcer.cancel()
            call.announcer = None
        if call.hold_audio is not None:
            self.media.disconnect(call.leg, call.hold_audio)
            call.hold_audio = None

    # --- routing events ----------------------------------------------------------------------

    def _on_event(self, published: PublishedEvent) -> None:
        payload = published.payload
        contact_id = payload.get("contact_id")
        if contact_id and self.callbacks.handles(str(contact_id)):
            self.callbacks.on_event(published)
            return
        call = self.by_contact.get(str(contact_id)) if contact_id else None
        if call is None or call.ended:
            return
        kind = published.type
        if kind == "routing.offer_created":
            offer_id, agent_id = str(payload["offer_id"]), str(payload["agent_id"])
            call.put("call", lambda: self._ring(call, offer_id, agent_id))
        elif kind in ("routing.offer_timed_out", "routing.offer_revoked"):
            offer_id = str(payload["offer_id"])
            if call.ring is not None and call.ring.offer_id == offer_id:
                call.put("call", lambda: self._stop_ring(call, reject=False))
        elif kind == "routing.contact_ended" and call.state in ("connected", "held"):
            call.put("call", lambda: self.hang_up(call, "ended by agent"))
        elif kind == "routing.contact_overflowed" and call.state in ("queued", "ringing"):
            self.by_contact.pop(str(contact_id), None)
            call.put("overflowed", "overflow")

    # --- ringing the agent -------------------------------------------------------------------

    async def _ring(self, call: VoiceCall, offer_id: str, agent_id: str) -> None:
        if call.state != "queued" or call.ring is not None:
            return
        ring = Ring(offer_id, agent_id)
        call.ring = ring
        call.state = "ringing"
        ring.task = self.spawn(self._ring_agent(call, ring), f"voice-ring-{offer_id}")

    async def _ring_agent(self, call: VoiceCall, ring: Ring) -> None:
        """Ring the softphone; answering accepts the offer and bridges."""
        status, why = 0, ""
        try:
            target, via = await self.agent_binding(call.tenant_id, ring.agent_id)
            leg = await self.media.open_leg()
            ring.leg = leg
            offer = make_offer(local_ip=self.host, local_port=leg.local_port)
            domain = await self.lookups.sip_domain(call.tenant_id) or self.host
            caller = call.caller or "anonymous"
            ring.sip = await self.sip.invite(
                target,
                via,
                offer.build().encode(),
                from_uri=NameAddr(SipUri(user=_uri_user(caller), host=domain), caller),
                to_uri=target,
                headers=[("X-Omnidesk-Contact", call.contact_id or "")],
            )
            await self.note(
                call, "ringing", agent_id=ring.agent_id, detail={"offer": ring.offer_id}
            )
            answer = await asyncio.wait_for(ring.sip.wait_answer(), self.ring_timeout_s)
            leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
        except CallFailed as exc:
            status, why = exc.status, exc.reason
        except TimeoutError:
            status, why = 408, "no answer"
        except (SdpError, OSError) as exc:
            status, why = 488, str(exc)
        if status:
            call.put("call", lambda: self._ring_failed(call, ring, status, why))
        else:
            call.put("call", lambda: self._agent_answered(call, ring))

    async def _ring_failed(self, call: VoiceCall, ring: Ring, status: int, why: str) -> None:
        if call.ring is not ring:
            return
        await self._stop_ring(call, reject=True, reason=RING_REASONS.get(status, f"sip_{status}"))
        log.info("voice.ring_failed", call=call.id, agent=ring.agent_id, status=status, why=why)

    async def _stop_ring(self, call: VoiceCall, *, reject: bool, reason: str = "") -> None:
        ring = call.ring
        if ring is None:
            return
        call.ring = None
        if call.state == "ringing":
            call.state = "queued"
        if ring.task is not None and not ring.task.done():
            ring.task.cancel()
        if ring.sip is not None:
            with contextlib.suppress(CallFailed, OSError):
                if ring.sip.state == "early":
                    await ring.sip.cancel()
                else:
                    await ring.sip.bye()
        if ring.leg is not None:
            await self.media.close_leg(ring.leg)
        if reject:
            host = await self.routing.host(call.tenant_id)
            with contextlib.suppress(RoutingError):
                await host.execute(RejectOffer(ring.offer_id, ring.agent_id, reason or None))

    async def _agent_answered(self, call: VoiceCall, ring: Ring) -> None:
        if call.ring is not ring or call.state != "ringing":
            # The caller left or the offer ended while the phone was being answered.
            if ring.sip is not None:
                with contextlib.suppress(CallFailed, OSError):
                    await ring.sip.bye()
            if ring.leg is not None:
                await self.media.close_leg(ring.leg)
            return
        host = await self.routing.host(call.tenant_id)
        try:
            await host.execute(AcceptOffer(ring.offer_id, ring.agent_id))
        except RoutingError as exc:
            # Already accepted from the desktop is fine; anything else means the offer is gone.
            async with host.consistent():
                contact = _contact_or_none(host, call.contact_id)
            if contact is None or getattr(contact, "agent_id", None) != ring.agent_id:
                log.info("voice.accept_refused", call=call.id, error=str(exc))
                await self._stop_ring(call, reject=False)
                return
        assert ring.sip is not None and ring.leg is not None
        call.ring = None
        self._stop_queue_audio(call)
        CallRunner(self, call).stop_playing()
        call.agent_id, call.agent_sip, call.agent_leg = ring.agent_id, ring.sip, ring.leg
        call.state = "connected"
        call.connected_at = utcnow()
        self.media.bridge(call.leg, ring.leg)

        async def agent_gone(reason: str) -> None:
            if not call.ended:
                call.put("call", lambda: self.agent_gone(call, reason))

        agent_sip, agent_leg = ring.sip, ring.leg
        agent_sip.on_ended = agent_gone
        agent_sip.on_reinvite = lambda offer: self._reinvited(
            call, agent_sip, agent_leg, offer, agent=True
        )
        ring.leg.on_dtmf = None
        call.put("answered")
        await self.note(call, "connected", agent_id=ring.agent_id)
        policy = await self.lookups.queue_policy(call.tenant_id, call.queue_id or "")
        if policy.record == "always":
            await self.start_recording(call)

    async def _reinvited(
        self, call: VoiceCall, sip_call: Any, leg: Leg, offer: bytes | None, *, agent: bool
    ) -> bytes:
        """A re-INVITE from either side: renegotiate its leg (new address, codec, direction).
        The agent's phone putting the call on hold (sendonly/inactive/0.0.0.0) holds the call
        as the desktop's hold does — the customer hears music — and taking it off resumes."""
        if not offer:
            return bytes(sip_call.local_sdp or b"")  # an offerless re-INVITE: the same answer
        try:
            answer, params = negotiate(
                SessionDescription.parse(offer), local_ip=self.host, local_port=leg.local_port
            )
        except SdpError as exc:
            raise CallFailed(488, str(exc)) from exc
        leg.configure(params)
        if agent:
            on_hold = not params.sends  # they send only / nothing, or to 0.0.0.0
            if on_hold and call.state == "connected":
                call.put("call", lambda: self.hold(call))
            elif not on_hold and call.state == "held":
                call.put("call", lambda: self.resume(call))
        return answer.build().encode()

    # --- recording ---------------------------------------------------------------------------

    def recordings_dir(self, tenant_id: uuid.UUID) -> Path:
        path = self.data_dir / "voice" / "recordings" / str(tenant_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def start_recording(self, call: VoiceCall) -> None:
        if call.recorder is not None or call.agent_leg is None:
            return
        if await consent.wait_for_consent(self, call):
            return  # recording starts once the caller has heard the consent prompt
        call.recording_path = self.recordings_dir(call.tenant_id) / f"{call.id}.wav"
        # Stereo: the caller on the left, the agent on the right (quality review hears who said
        # what; a mono mix is one sum away).
        call.recorder = Recorder(
            call.recording_path, sources=[call.leg, call.agent_leg], stereo=True
        )
        call.recording_started = utcnow()
        self.media.attach_recorder(call.recorder)
        await self.note(call, "recording", detail={"recording": "started"})

    async def finish_recording(self, call: VoiceCall) -> None:
        recorder, path = call.recorder, call.recording_path
        if recorder is None or path is None:
            return
        call.recorder = None
        await self.media.detach_recorder(recorder)
        data = await asyncio.to_thread(path.read_bytes)
        seconds = recorder.frames_written / 8000.0
        row = RecordingRow(
            tenant_id=call.tenant_id,
            contact_id=call.contact_id,
            path=str(path.relative_to(self.data_dir)),
            duration_s=seconds,
            state="complete",
            sha256=hashlib.sha256(data).hexdigest(),
            started_at=call.recording_started or utcnow(),
            ended_at=utcnow(),
        )
        async with self._uow(call.tenant_id) as uow:
            uow.session.add(row)
            await uow.session.flush()
            call.recording_ids.append(str(row.id))
            uow.record(
                ev.RecordingSaved(
                    call_id=call.id,
                    recording_id=str(row.id),
                    contact_id=call.contact_id,
                    seconds=seconds,
                    sha256=row.sha256 or "",
                    complete=True,
                ),
                self._audience(call),
            )

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
        self._stop_queue_audio(call)
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
        await self._write_record(call)
        if call.worker is not None and call.worker is not asyncio.current_task():
            call.worker.cancel()

    async def _write_record(self, call: VoiceCall) -> None:
        ended = call.ended_at or utcnow()
        agent = uuid.UUID(call.agent_id) if call.agent_id else None
        trail = call.session.trail.visited if call.session is not None else []
        async with self._uow(call.tenant_id) as uow:
            uow.session.add(
                CallRow(
                    tenant_id=call.tenant_id,
                    call_id=call.sip.call_id or call.id,
                    contact_id=call.contact_id or (call.id if call.queue_id else None),
                    direction=call.direction,
                    from_uri=str(call.sip.request.from_.uri),
                    to_uri=str(call.sip.request.uri),
                    number=call.number,
                    trunk_id=call.trunk_id,
                    agent_id=agent,
                    started_at=call.started_at,
                    answered_at=call.connected_at,
                    ended_at=ended,
                    end_reason=(call.end_reason or "")[:64],
                    recording_ids=list(call.recording_ids),
                )
            )
            uow.record(
                ev.CallEnded(
                    call_id=call.id,
                    direction=call.direction,
                    caller=call.caller,
                    callee=call.number,
                    contact_id=call.contact_id or (call.id if call.queue_id else None),
                    agent_id=agent,
                    started_at=call.started_at,
                    connected_at=call.connected_at,
                    ended_at=ended,
                    reason=call.end_reason or "",
                    recording_ids=list(call.recording_ids),
                    ivr_path=list(trail),
                ),
                self._audience(call),
            )

    # --- call control (the agent desktop) ----------------------------------------------------

    async def control(self, call: VoiceCall, fn: Any, *args: Any) -> None:
        """Run a control step in the call's own order, and wait for it: its refusal (a 409)
        reaches the HTTP caller."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def step() -> None:
            try:
                await fn(call, *args)
            except Exception as exc:
                if not done.done():
                    done.set_exception(exc)
                return
            if not done.done():
                done.set_result(None)

        if call.ended:
            raise Conflict("the call has ended")
        call.put("call", step)
        await done

    def _connected(self, call: VoiceCall) -> Leg:
        if call.state not in ("connected", "held") or call.agent_leg is None:
            raise Conflict(f"the call is {call.state}, not connected to an agent")
        return call.agent_leg

    async def hold(self, call: VoiceCall) -> None:
        """The customer hears hold music and nobody hears them; the agent hears silence."""
        self._connected(call)
        if call.state == "held":
            return
        call.held = self.media.hold(call.leg, await self._hold_audio(call, None))
        call.state = "held"
        await self.note(call, "held")

    async def resume(self, call: VoiceCall) -> None:
        self._connected(call)
        if call.state != "held" or call.held is None:
            raise Conflict("the call is not on hold")
        self.media.resume(call.leg, call.held)
        call.held = None
        call.state = "connected"
        await self.note(call, "resumed")

    async def mute(self, call: VoiceCall, on: bool) -> None:
        leg = self._connected(call)
        leg.muted = on
        await self.note(call, "muted" if on else "unmuted")

    async def send_dtmf(self, call: VoiceCall, digits: str) -> None:
        self._connected(call)
        for digit in digits:
            call.leg.send_dtmf(digit)
            await asyncio.sleep(0.25)  # one key press after the other, as a phone sends them

    async def recording_control(self, call: VoiceCall, action: str) -> None:
        self._connected(call)
        if action == "start":
            if call.recorder is not None:
                raise Conflict("the call is already being recorded")
            await self.start_recording(call)
            return
        if call.recorder is None:
            raise Conflict("the call is not being recorded")
        if action == "pause":
            call.recorder.pause()
        else:
            call.recorder.resume()
        await self.note(call, "recording", detail={"recording": action})

    # --- features the flow can ask for that are not built yet --------------------------------

    async def start_voicemail(self, call: VoiceCall, action: ivr.StartVoicemail) -> None:
        await voicemail.start_voicemail(self, call, action)

    async def stop_voicemail(self, call: VoiceCall, action: ivr.StopVoicemail) -> None:
        await voicemail.stop_voicemail(self, call, action)

    async def offer_callback(self, call: VoiceCall, action: ivr.OfferCallback) -> None:
        await self.callbacks.register(call, action)

    async def transfer_out(self, call: VoiceCall, number: str) -> None:
        await outbound.transfer_out(self, call, number)

    # --- events ------------------------------------------------------------------------------

    def _uow(self, tenant_id: uuid.UUID) -> UnitOfWork:
        return UnitOfWork(self.db.session(tenant_id), self.bus, tenant_id=tenant_id)

    def _audience(self, call: VoiceCall) -> Audience:
        """Who follows a call besides admins: the same people as its routing contact — the
        supervisors of the teams serving its queue — plus its agent and the agent's teams."""
        users: set[uuid.UUID] = set()
        teams: set[uuid.UUID] = set()
        host = self.routing.loaded_host(call.tenant_id)
        if host is not None and call.queue_id:
            teams |= host.directory.queue_audience(call.queue_id).teams
        if call.agent_id:
            users.add(uuid.UUID(call.agent_id))
            if host is not None:
                teams |= host.directory.agent_audience(call.agent_id).teams
        return Audience(users=frozenset(users), teams=frozenset(teams))

    async def record(self, call: VoiceCall, event: DomainEvent) -> None:
        async with self._uow(call.tenant_id) as uow:
            uow.record(event, self._audience(call))

    async def note(
        self,
        call: VoiceCall,
        state: str,
        *,
        agent_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        try:
            await self.record(
                call,
                ev.CallStateChanged(
                    call_id=call.id,
                    state=state,
                    contact_id=call.contact_id,
                    agent_id=uuid.UUID(agent_id or call.agent_id)
                    if (agent_id or call.agent_id)
                    else None,
                    detail=detail or {},
                ),
            )
        except Exception:
            # A call must not drop because its log line could not be written.
            log.exception("voice.event_failed", call=call.id, state=state)


def _contact_or_none(host: Any, contact_id: str | None) -> Any:
    if contact_id is None:
        return None
    try:
        return host.engine.contact(contact_id)
    except (RoutingError, KeyError):
        return None


def _e164(value: str) -> str | None:
    digits = value.strip()
    if not digits:
        return None
    if not digits.startswith("+") and digits.isdigit():
        digits = "+" + digits
    try:
        return normalize_e164(digits)
    except ValueError:
        return None


def _uri_user(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum() or ch in "+-_.") or "anonymous"


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _info_digit(content_type: str, body: bytes) -> str | None:
    """SIP INFO DTMF: application/dtmf-relay ("Signal=5\\r\\nDuration=160") or application/dtmf."""
    text = body.decode("ascii", "replace").strip()
    if content_type == "application/dtmf-relay":
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                text = value.strip()
                break
        else:
            return None
    elif content_type != "application/dtmf":
        return None
    mapping = {"10": "*", "11": "#"}
    text = mapping.get(text, text)
    return text if len(text) == 1 and text in "0123456789*#ABCD" else None


def _now() -> datetime:
    return utcnow()
