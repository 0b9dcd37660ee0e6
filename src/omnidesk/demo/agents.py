"""Simulated agents for `omnidesk demo traffic`: each one a demo agent logged in through the API
with the realtime socket open, and a baresip softphone registered with the agent's SIP login.

An agent goes available; when the phone rings it answers after a second or three (answering
the softphone is what accepts the offer, docs/voice.md), talks a while, hangs up, and wraps up
with a disposition a few seconds later (or the queue's wrap-up time ends it first). A
voicemail is offered without a ring: the agent accepts it in the API, listens, and ends it.
An offer that rang out puts the agent "away (missed)": they go available again. Stopping,
they go away, finish the call they are on, and log off.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from omnidesk.bench.baresip import BaresipAgent
from omnidesk.demo.client import ApiError, ApiUser

# Weighted picks among the tenant's wrap-up codes (customers.py defines them).
DISPOSITIONS = ("resolved", "resolved", "resolved", "follow_up", "sale")
VOICEMAIL_QUEUE = "voicemail"


@dataclass
class SimAgent:
    user: ApiUser
    phone: BaresipAgent
    rng: random.Random
    talk_seconds: tuple[float, float] = (8.0, 25.0)
    handled: int = 0
    stopping: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)  # set: not on a call

    def __post_init__(self) -> None:
        self._idle.set()

    @property
    def on_call(self) -> bool:
        return not self._idle.is_set()

    @property
    def name(self) -> str:
        return self.user.username

    def _state_path(self) -> str:
        return f"/api/v1/routing/agents/{self.user.user_id}/state"

    async def start(self) -> None:
        await self.phone.start()
        await self.phone.registered()
        await self.user.post(self._state_path(), {"state": "available"})

    async def run(self) -> None:
        """Work until `stop`: answer the phone and follow the realtime events."""
        async with self.user.realtime() as realtime:
            self._tasks = [
                asyncio.create_task(self._answer_calls(), name=f"{self.name}-phone"),
                asyncio.create_task(self._follow(realtime.events()), name=f"{self.name}-events"),
            ]
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if not task.cancelled():
                    task.result()  # raises what ended it

    async def stop(self, within: float = 30.0) -> None:
        """Take no new work, finish the call in progress (up to `within`), log off."""
        self.stopping = True
        with contextlib.suppress(ApiError):
            await self.user.post(self._state_path(), {"state": "away", "reason": "end of shift"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)
        if self.on_call:
            with contextlib.suppress(Exception):
                await self.phone.command("hangup")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(ApiError):
            await self.user.post(self._state_path(), {"state": "offline"})
        await self.phone.stop(unregister=True)

    async def _answer_calls(self) -> None:
        seen = len(self.phone.events)
        while True:
            found = await self.phone.find(_kind("CALL_INCOMING"), start=seen, within=None)
            seen = found + 1
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))  # it rings; they pick up
            self._idle.clear()
            try:
                seen = await self._talk(seen)
            finally:
                self._idle.set()

    async def _talk(self, seen: int) -> int:
        with contextlib.suppress(Exception):
            await self.phone.command("accept")
        ended = _kind("CALL_CLOSED")
        try:
            up = await self.phone.find(
                lambda e: e.get("type") in ("CALL_ESTABLISHED", "CALL_CLOSED"), start=seen
            )
        except TimeoutError:
            return len(self.phone.events)
        if self.phone.events[up].get("type") == "CALL_CLOSED":
            return up + 1  # the caller gave up while it rang
        self.handled += 1
        talk = self.rng.uniform(*self.talk_seconds)
        try:
            closed = await self.phone.find(ended, start=up + 1, within=talk)
        except TimeoutError:
            with contextlib.suppress(Exception):
                await self.phone.command("hangup")
            closed = await self.phone.find(ended, start=up + 1, within=15)
        return closed + 1

    async def _follow(self, events: Any) -> None:
        async for event in events:
            data = event.get("data") or {}
            if data.get("agent_id") != self.user.user_id:
                continue
            kind = event["event"]
            if kind == "routing.wrap_up_started":
                self._spawn(self._wrap_up(str(data["contact_id"])))
            elif kind == "routing.offer_created" and data.get("queue_id") == VOICEMAIL_QUEUE:
                self._spawn(self._listen_to_voicemail(str(data["offer_id"]), data["contact_id"]))
            elif (
                kind == "routing.agent_state_changed"
                and data.get("reason") == "missed"
                and not self.stopping
            ):
                self._spawn(self._available_again())

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.append(task)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _wrap_up(self, contact_id: str) -> None:
        await asyncio.sleep(self.rng.uniform(2.0, 6.0))
        body = {"disposition": self.rng.choice(DISPOSITIONS)}
        # The queue's wrap-up time may have ended it already (404/409): nothing to do.
        with contextlib.suppress(ApiError):
            await self.user.post(f"/api/v1/routing/wrap-ups/{quote(contact_id, safe='')}/end", body)

    async def _listen_to_voicemail(self, offer_id: str, contact_id: str) -> None:
        try:
            await self.user.post(f"/api/v1/routing/offers/{quote(offer_id, safe='')}/accept")
        except ApiError:
            return  # gone meanwhile
        self.handled += 1
        await asyncio.sleep(self.rng.uniform(3.0, 6.0))
        with contextlib.suppress(ApiError):
            await self.user.post(f"/api/v1/routing/contacts/{quote(contact_id, safe='')}/end")

    async def _available_again(self) -> None:
        await asyncio.sleep(1.0)
        with contextlib.suppress(ApiError):
            await self.user.post(self._state_path(), {"state": "available"})


def _kind(kind: str) -> Any:
    return lambda event: event.get("type") == kind


def softphone(
    workdir: Path, sip: dict[str, str], domain: str, port: int, tone: int
) -> BaresipAgent:
    """An agent's baresip, answering when told (so the agent can let it ring a little)."""
    return BaresipAgent(
        workdir, sip["username"], sip["password"], domain, port, tone_hz=tone, answer="manual"
    )
