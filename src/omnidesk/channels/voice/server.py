"""The voice server: SIP endpoint + media engine + IVR + routing, as one B2BUA.

A call from a trunk to a number runs that number's IVR flow on the caller's leg; a queue node
makes it a routing contact (channel "voice") that waits with hold music and announcements.
When routing offers it to an agent, the agent's registered softphone rings for as long as the
offer lasts: answering accepts the offer and bridges the two legs; busy, decline, no
registration or the offer ending cancels the ring and routing carries on (ADR 0007).

The server owns what calls share (it is their `VoiceContext`: the SIP endpoint and its
registrar, the media engine, the lookups, the event writer) and only dispatches: a phone's
REGISTER, a new INVITE (inbound.py, or outbound.py for an agent's own call) and routing's events
about a call (queueing.py, callbacks.py). Each call is owned by its runner (runner.py); the call
modules are functions of the context and a call (docs/voice.md, "Module map"). Only wiring.py
imports this module.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from omnidesk.channels.voice import ending, inbound, queueing, survey
from omnidesk.channels.voice.callbacks import CallbackDesk
from omnidesk.channels.voice.calls import VoiceCall
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.lookups import VoiceLookups
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.recovery import recover_callbacks, recover_recordings
from omnidesk.channels.voice.registrations import Owner
from omnidesk.channels.voice.runner import CallRunner
from omnidesk.channels.voice.sip.dialog import IncomingCall
from omnidesk.channels.voice.sip.endpoint import SipEndpoint
from omnidesk.channels.voice.sip.message import SipRequest, SipResponse, make_response, new_tag
from omnidesk.channels.voice.sip.transaction import Timers
from omnidesk.channels.voice.sip.transport import Address
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import Database
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import Routing

log = get_logger(__name__)


class VoiceServer(VoiceContext):
    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        routing: Routing,
        lookups: VoiceLookups,
        data_dir: Path,
        host: str = "127.0.0.1",
        sip_port: int = 5060,
        rtp_ports: tuple[int, int] | None = (20000, 30000),
        timers: Timers | None = None,
        ring_timeout_s: float = 30.0,
        answer_media_timeout_s: float = 0.0,
    ) -> None:
        super().__init__(
            db=db,
            bus=bus,
            routing=routing,
            lookups=lookups,
            sip=SipEndpoint(host, udp_port=sip_port, tcp_port=sip_port, timers=timers),
            media=MediaEngine(host=host, port_range=rtp_ports),
            data_dir=data_dir,
            host=host,
            ring_timeout_s=ring_timeout_s,
            answer_media_timeout_s=answer_media_timeout_s,
        )
        self.sip.on_register = self._on_register
        self.sip.authenticate = self._authenticate
        self.sip.on_invite = self._on_invite
        self.callbacks = CallbackDesk(self)
        self._subscription: Subscription | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.events.start()
        self.softphones.start()
        # Before any call records: a crash's recordings are repaired and marked partial.
        await recover_recordings(self)
        await self.media.start()
        await self.sip.start()
        self._subscription = self.bus.subscribe(self._on_event)
        # Subscribed first, so no routing event of a callback is missed once it is taken back;
        # in the background, as a slow database must not hold up SIP (recovery.py).
        self.callbacks_recovered = self.spawn(
            recover_callbacks(self, self.callbacks), "voice-callback-recovery"
        )
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
        await self.browser_phones.close()
        await self.softphones.stop()
        # After the calls' tasks: what they queued (a cancelled ring's step, say) is written.
        await self.events.stop()
        await self.sip.stop()
        await self.media.stop()

    # --- for other parts of the app ----------------------------------------------------------

    async def request_callback(
        self,
        tenant_id: uuid.UUID,
        number: str,
        queue_id: str,
        *,
        customer_id: uuid.UUID,
        attributes: dict[str, Any],
        preferred_agent_id: str | None = None,
        preferred_for_seconds: float = 30.0,
    ) -> str:
        """Call the customer back at `number` when an agent of `queue_id` takes it (a channel
        switch); the callback's routing contact id. See `CallbackDesk.request`."""
        cb = await self.callbacks.request(
            tenant_id,
            number,
            queue_id,
            customer_id=customer_id,
            attributes=attributes,
            preferred_agent_id=preferred_agent_id,
            preferred_for_seconds=preferred_for_seconds,
        )
        return cb.id

    # --- the call operations above every call module (VoiceContext) --------------------------

    async def hang_up(self, call: VoiceCall, reason: str) -> None:
        await ending.hang_up(self, call, reason)

    async def agent_ended(self, call: VoiceCall, reason: str) -> None:
        """The agent ended the call (their phone hung up, or the desktop's hang-up): the
        caller stays on for the post-call survey when one is due (survey.py), else it ends."""
        if not await survey.agent_left(self, call, reason):
            await self.hang_up(call, reason)

    def run_call(self, call: VoiceCall) -> None:
        runner = CallRunner(self, call, self.callbacks)
        runner.wire()
        runner.start()

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
        tenant_id = await self.lookups.tenant_for_domain(domain)
        if tenant_id is None:
            return make_response(request, 404, "Not Our Domain", to_tag=new_tag())
        # Whose phone it is, before the registrar changes: between that change and the
        # registry's look at it there must be no await (registrations.py).
        username = request.to.uri.user or ""
        account = await self.lookups.sip_account(tenant_id, username)
        response = await self.sip.handle_register(request, source, realm=domain)
        if response.status == 200 and account is not None and account.user_id is not None:
            owner = Owner(tenant_id, account.user_id, username)
            self.softphones.registered(self.sip.aor_for(request.to.uri, domain), owner)
        return response

    # --- new calls and routing's events ------------------------------------------------------

    async def _on_invite(self, sip_call: IncomingCall) -> None:
        await inbound.on_invite(self, self.callbacks, sip_call)

    def _on_event(self, published: PublishedEvent) -> None:
        contact_id = published.payload.get("contact_id")
        if contact_id and self.callbacks.handles(str(contact_id)):
            self.callbacks.on_event(published)
            return
        call = self.by_contact.get(str(contact_id)) if contact_id else None
        if call is not None and not call.ended:
            queueing.on_routing_event(self, call, published)
