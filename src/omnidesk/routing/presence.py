"""Honest presence: an agent whose desk is gone is taken out of routing after a grace period.

The realtime hub tells this watcher when a user's last socket closes (the browser closed, the
laptop slept, the network went) and when their first one opens again (the composition root
connects the two; the platform knows no routing). When the last socket closes a timer of
`grace_seconds` starts; a socket opening within it cancels it, and the agent keeps their state
(as Genesys gives a reconnect within 60 s its status back). When it fires and the agent is
still in routing's working states, the agent is disconnected (`AgentDisconnected`): pending
offers go to someone else, contacts go back in line at their place, wrap-ups end, offline. An
agent on a call is set away (reason "disconnected") instead: the call runs on their phone, not
in the browser, and must not be pulled from under them; nothing new is offered to them, and
their pending offers go to someone else.

On start, once routing is restored, the agents it holds in a working state are checked the same
way after the grace: one left available when the server stopped, who never comes back, is no
ghost either. (Agents who go available later without ever opening a socket, an integration
working through the API, are not watched: only a closing socket starts the clock.)
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import (
    AgentDisconnected,
    Routing,
    RoutingError,
    RoutingReads,
    SetAgentState,
)

log = get_logger(__name__)
Key = tuple[uuid.UUID, uuid.UUID]  # tenant, user
DISCONNECTED = "disconnected"


class PresenceWatcher:
    def __init__(
        self,
        routing: Routing,
        grace_seconds: float,
        *,
        connected: Callable[[uuid.UUID, uuid.UUID], bool],
        restored: Callable[[], Awaitable[list[uuid.UUID]]],
    ) -> None:
        self.routing = routing
        self.grace_seconds = grace_seconds
        self._connected = connected
        self._restored = restored
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    # --- the hub's hook ------------------------------------------------------------------------

    def first_opened(self, principal: Principal) -> None:
        timer = self._timers.pop((principal.tenant_id, principal.user_id), None)
        if timer is not None:
            timer.cancel()  # back within the grace: the state stays
        self._check_idle()

    def last_closed(self, principal: Principal) -> None:
        self._start_clock((principal.tenant_id, principal.user_id))

    def _start_clock(self, key: Key) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(self.grace_seconds, self._expire, key)
        self._idle.clear()

    def _check_idle(self) -> None:
        if not self._timers and not self._tasks:
            self._idle.set()

    # --- start and stop --------------------------------------------------------------------------

    def start(self) -> None:
        self._spawn(self._watch_restored())

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()

    async def settled(self) -> None:
        """Wait until no clock runs and no agent is being taken out (tests)."""
        await self._idle.wait()

    # --- the work --------------------------------------------------------------------------------

    def _expire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self._spawn(self.take_out(*key))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name="routing-presence")
        self._tasks.add(task)
        self._idle.clear()

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._check_idle()

        task.add_done_callback(done)

    async def _watch_restored(self) -> None:
        """Start the clock for every agent restored in a working state without a socket."""
        for tenant_id in await self._restored():
            working = await self.routing.read(tenant_id, _working_agents)
            for user in working:
                key = (tenant_id, user)
                if key not in self._timers and not self._connected(tenant_id, user):
                    self._start_clock(key)

    async def take_out(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Take the agent out of routing unless they are connected again (or not working)."""
        if self._connected(tenant_id, user_id):
            return
        agent_id = str(user_id)
        status = await self.routing.read(tenant_id, lambda r: r.agent(agent_id))
        if status is None or (status.presence == "offline" and not status.contacts):
            return  # not an agent, or nothing to take back
        on_call = any(
            kind == "active" and channel == "voice"
            for kind, channel in await self._slots(tenant_id, agent_id)
        )
        if on_call and status.presence == "away" and status.reason == DISCONNECTED:
            return
        command = (
            SetAgentState(agent_id, "away", DISCONNECTED)
            if on_call
            else AgentDisconnected(agent_id)
        )
        try:
            await self.routing.execute(tenant_id, command)
            log.info("presence: agent taken out of routing", agent=agent_id, on_call=on_call)
        except RoutingError:
            # Changed meanwhile (e.g. removed): routing's answer stands.
            log.info("presence: routing refused taking the agent out", agent=agent_id)

    async def _slots(self, tenant_id: uuid.UUID, agent_id: str) -> list[tuple[str, str]]:
        def read(r: RoutingReads) -> list[tuple[str, str]]:
            status = r.agent(agent_id)
            if status is None:
                return []
            found = []
            for contact_id, kind in status.contacts.items():
                contact = r.contact(contact_id)
                found.append((kind, contact.channel if contact is not None else ""))
            return found

        return await self.routing.read(tenant_id, read)


def _working_agents(reads: RoutingReads) -> list[uuid.UUID]:
    found = []
    for agent_id in reads.agents():
        status = reads.agent(agent_id)
        user = _as_uuid(agent_id)
        if user is not None and status is not None and status.presence != "offline":
            found.append(user)
    return found


def _as_uuid(value: str) -> uuid.UUID | None:
    with contextlib.suppress(ValueError):
        return uuid.UUID(value)
    return None
