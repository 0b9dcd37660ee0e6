"""What the call modules share: the voice server's resources, as the one object they are given.

Every call module (queueing, transfers, callbacks, ...) is a set of functions of a
`VoiceContext` and a call. The context holds the shared resources — the SIP endpoint (with its
registrar), the media engine, the lookups, the prompt renderer, the event writer, routing — and
the registries of live calls; it is defined here, low in the tree, so that no call module imports
the server. The two call operations that sit above every feature (ending a call touches all of
them; running one starts its runner) are abstract here and implemented by the server
(server.py), which is the only concrete context. docs/voice.md, "Module map", shows the tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnidesk.channels.voice.calls import AgentPhone, NotRegistered, VoiceCall
from omnidesk.channels.voice.event_writer import EventWriter
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.ivr.prompts import PromptRenderer
from omnidesk.channels.voice.lookups import VoiceLookups
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import load_wav
from omnidesk.channels.voice.media.sdp import SessionDescription, make_offer
from omnidesk.channels.voice.registrations import SoftphoneRegistry
from omnidesk.channels.voice.schemas import VoiceSettingsIn
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.channels.voice.sip.endpoint import SipEndpoint
from omnidesk.channels.voice.sip.message import NameAddr, SipUri
from omnidesk.channels.voice.sip.transport import Address
from omnidesk.channels.voice.webrtc import BrowserPhones
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import Database
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.api import Routing

log = get_logger(__name__)
# A tenant that never saved the setting rings as long as the settings API says it would.
TENANT_RING_TIMEOUT_S: float = VoiceSettingsIn.model_fields["ring_timeout_s"].default


@dataclass(frozen=True)
class RingLimit:
    seconds: float
    setting: str  # which setting chose it: ring_timeout_s | voice_ring_timeout_seconds


class VoiceContext(ABC):
    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        routing: Routing,
        lookups: VoiceLookups,
        sip: SipEndpoint,
        media: MediaEngine,
        data_dir: Path,
        host: str,
        ring_timeout_s: float,
        answer_media_timeout_s: float = 0.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.routing = routing
        self.lookups = lookups
        self.sip = sip
        self.media = media
        self.data_dir = data_dir
        self.host = host  # the address SDP offers and answers name
        self.ring_timeout_s = ring_timeout_s  # the server's cap on any ring (ring_limit)
        # How long an answered ring may stay without RTP from the softphone ("media failed").
        self.answer_media_timeout_s = answer_media_timeout_s
        self.prompts = PromptRenderer(data_dir / "voice" / "prompt-cache")
        self.events = EventWriter(self.uow)
        self.browser_phones = BrowserPhones(host)
        self.softphones = SoftphoneRegistry(sip.registrar, self.events.write, lookups.user_teams)
        # The live calls, by call id and by the routing contact they are (not every call is).
        self.calls: dict[str, VoiceCall] = {}
        self.by_contact: dict[str, VoiceCall] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- above every call module (server.py) ---------------------------------------------

    @abstractmethod
    async def hang_up(self, call: VoiceCall, reason: str) -> None:
        """End the whole call: both legs, routing's contact, recording, the detail record."""

    @abstractmethod
    def run_call(self, call: VoiceCall) -> None:
        """Wire a connected call's caller-side signals into its inbox and start its runner."""

    async def agent_gone(self, call: VoiceCall, reason: str) -> None:
        """The agent's phone hung up."""
        await self.agent_ended(call, f"agent {reason}")

    async def agent_ended(self, call: VoiceCall, reason: str) -> None:
        """The agent ended the call (their phone, or the desktop's hang-up); the server may
        keep the caller on for the post-call survey (server.py, survey.py)."""
        await self.hang_up(call, reason)

    # --- shared resources --------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A task the server cancels (and waits for) when it stops."""
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

    async def agent_binding(self, tenant_id: uuid.UUID, agent_id: str) -> tuple[SipUri, Address]:
        """Where a user's registered softphone is rung (NotRegistered, a CallFailed 404/480, when
        it cannot be)."""
        username = await self.lookups.agent_username(tenant_id, uuid.UUID(agent_id))
        domain = await self.lookups.sip_domain(tenant_id)
        if username is None or domain is None:
            raise NotRegistered(404, "agent has no SIP login")
        bindings = self.sip.registrar.lookup(f"sip:{username}@{domain.lower()}")
        if not bindings:
            raise NotRegistered(480, "softphone not registered")
        binding = bindings[0]
        return binding.contact, binding.source

    async def ring_agent(
        self,
        tenant_id: uuid.UUID,
        agent_id: str,
        ring_id: str,
        leg: Leg,
        *,
        from_user: str,
        display: str | None,
        headers: Iterable[tuple[str, str]] = (),
        call_id: str | None = None,
    ) -> tuple[AgentPhone, SessionDescription]:
        """The one rule for ringing a user's phone (a queued call's offer, a callback's, a
        consult, a call from another agent's browser): their browser phone when registered —
        the desk answers `ring_id` (routing's offer, or the call's id for a call that is not
        one) with `POST …/browser-phone/answer` — else their SIP softphone's binding. `leg` is
        the engine leg the phone's audio goes to (the caller opened it and closes it on any
        failure). `call_id`: the id the call will have, when it is chosen before the call exists
        (a callback's), for the browser phone to renegotiate by. Returns the ringing phone and
        the offer it was sent, for `accept_answer`."""
        if any(
            c.tenant_id == tenant_id and c.attributes.get("callee_id") == agent_id and not c.ended
            for c in list(self.calls.values())
        ):
            # On a call from another agent (agent_calls.py), which routing does not know of:
            # busy, as a softphone on a call would say (routing then offers someone else).
            raise CallFailed(486, "busy on a call from another agent")
        browser = self.browser_phones.get(tenant_id, uuid.UUID(agent_id))
        if browser is not None:
            # No telephone-event toward the browser: its relay passes audio only (webrtc.py).
            offer = make_offer(local_ip=self.host, local_port=leg.local_port, dtmf_pt=None)
            engine_offer = offer.build().encode()
            return self.browser_phones.invite(browser, ring_id, engine_offer, call_id), offer
        target, via = await self.agent_binding(tenant_id, agent_id)
        offer = make_offer(local_ip=self.host, local_port=leg.local_port)
        domain = await self.lookups.sip_domain(tenant_id) or self.host
        phone = await self.sip.invite(
            target,
            via,
            offer.build().encode(),
            from_uri=NameAddr(SipUri(user=from_user, host=domain), display),
            to_uri=target,
            headers=list(headers),
        )
        return phone, offer

    async def ring_limit(self, tenant_id: uuid.UUID) -> RingLimit:
        """How long a softphone of this tenant rings before Omnidesk gives up: the tenant's
        `ring_timeout_s`, but never longer than the server's `voice_ring_timeout_seconds`
        (an offer's own timeout may end it sooner: queueing.py, docs/voice.md)."""
        options = await self.lookups.voice_options(tenant_id)
        tenant = options.get("ring_timeout_s", TENANT_RING_TIMEOUT_S)
        if isinstance(tenant, int | float) and 0 < tenant <= self.ring_timeout_s:
            return RingLimit(float(tenant), "ring_timeout_s")
        return RingLimit(self.ring_timeout_s, "voice_ring_timeout_seconds")

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

    def audience(self, call: VoiceCall, also: Iterable[str | None] = ()) -> Audience:
        """Who follows a call besides admins: the same people as its routing contact — the
        supervisors of the teams serving its queue — plus its agent (and consultant) and their
        teams. `also`: agents who just left it (a transfer, a consult's end), whose desks
        must hear of the step that took them off it."""
        users: set[uuid.UUID] = set()
        teams: set[uuid.UUID] = set()
        if call.queue_id:
            teams |= self.routing.queue_audience(call.tenant_id, call.queue_id).teams
        # The agents on it: its agent, and the one consulted while a consult is open (their
        # desk follows the call: its browser phone ends when the consult does).
        consultant = call.consult.agent_id if call.consult is not None else None
        callee = call.attributes.get("callee_id")  # a call between agents (agent_calls.py)
        for agent in (call.agent_id, consultant, callee, *also):
            if agent:
                users.add(uuid.UUID(agent))
                teams |= self.routing.agent_audience(call.tenant_id, agent).teams
        return Audience(users=frozenset(users), teams=frozenset(teams))
