"""An agent is never punished for the server's delay (on both databases): an answer to an offer
that reached the server before the offer's deadline is honoured even when it is handled after
it, and only an agent who really did not answer is put in the missed state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from test_routing_compaction import new_tenant

from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    ContactArrived,
    EngineSettings,
    QueueDef,
    RejectOffer,
    SetAgentState,
)
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import Database
from omnidesk.platform.events import PublishedEvent
from omnidesk.routing.host import RoutingHost

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUEUE = QueueDef(id="support", channels=("chat",), offer_timeout_seconds=10, wrap_up_seconds=None)


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t.timestamp()

    def at(self, seconds: float) -> datetime:
        self.t = T0 + timedelta(seconds=seconds)
        return self.t


@pytest.fixture
async def host(db: Database) -> AsyncIterator[tuple[RoutingHost, Clock]]:
    tenant_id = await new_tenant(db, "acme")
    clock = Clock()
    settings = EngineSettings(missed_state="away")
    host = RoutingHost(tenant_id, db, InProcessBus(), settings=settings, clock=clock)
    await host.load()
    await host.execute(AddQueue(QUEUE))
    for agent in ("a1", "a2"):
        definition = AgentDef(id=agent, capacity={"chat": 1}, queues={"support": 0})
        await host.execute(AddAgent(definition))
        await host.execute(SetAgentState(agent, "available"))
    yield host, clock
    await host.close(snapshot=False)


async def _queued_behind_the_lock(host: RoutingHost) -> None:
    """Let every task started so far reach the host's lock and wait there."""
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.parametrize("answer", ["accept", "reject"])
async def test_an_answer_that_arrived_in_time_is_honoured_when_handled_late(host, answer):
    host, clock = host
    published: list[PublishedEvent] = []
    host.bus.subscribe(published.append)
    clock.at(1)
    await host.execute(ContactArrived("c1", "support", "chat"))  # offered to a1 until t=11
    clock.at(2)
    await host.execute(ContactArrived("c2", "support", "chat"))  # offered to a2 until t=12
    offers = {agent: slot["offer_id"] for (agent, _), slot in host.directory.held.items()}

    # The server is busy (the line is held): the timer's step, then a1's answer, which
    # arrives at t=10.5, wait. They are handled only at t=40, long after both deadlines.
    await host.lock.acquire()
    tick = asyncio.create_task(host.tick())
    await _queued_behind_the_lock(host)
    received = clock.at(10.5)
    if answer == "accept":
        command = AcceptOffer(offers["a1"], "a1", received_at=received)
    else:
        command = RejectOffer(offers["a1"], "a1", "busy", received_at=received)
    answered = asyncio.create_task(host.execute(command))
    await _queued_behind_the_lock(host)
    clock.at(40)
    host.lock.release()
    fired = await tick
    events = [e.to_dict() for e in await answered]

    # The timer's step ran while a1's answer was in line: it did not time a1's offer out.
    assert "routing.offer_timed_out" not in [e["type"] for e in fired]
    kinds = [e["type"] for e in events]
    assert kinds[0] == f"routing.offer_{answer}ed"
    # Time catches up once the answer is judged: a2, who really did not answer, misses.
    await host.tick()
    timed_out = [e.payload["agent_id"] for e in published if e.type == "routing.offer_timed_out"]
    assert timed_out == ["a2"]
    a1, a2 = host.engine.agent("a1"), host.engine.agent("a2")
    assert (a2.state, a2.reason) == ("away", "missed")
    if answer == "accept":
        assert a1.state == "busy"
        assert host.engine.contact("c1").state == "active"

    # What was committed replays to the same state.
    restored = RoutingHost(host.tenant_id, host.db, InProcessBus(), settings=host.settings)
    await restored.load()
    assert restored.engine.snapshot() == host.engine.snapshot()


async def test_an_answer_that_arrived_too_late_finds_the_offer_timed_out(host):
    host, clock = host
    clock.at(1)
    events = await host.execute(ContactArrived("c1", "support", "chat"))
    offer_id = next(e.to_dict()["offer_id"] for e in events if e.type == "routing.offer_created")
    clock.at(30)
    with pytest.raises(Exception) as error:
        await host.execute(AcceptOffer(offer_id, "a1", received_at=clock.at(11.5)))
    assert getattr(error.value, "code", None) == "offer_not_pending"
    assert host.engine.agent("a1").reason == "missed"


async def test_an_offer_sent_late_by_a_slow_commit_keeps_its_whole_timeout(host):
    host, clock = host
    published: list[PublishedEvent] = []
    host.bus.subscribe(published.append)
    write = host._write

    async def slow_write(batch: list) -> None:  # type: ignore[type-arg]
        clock.at(clock.t.timestamp() - T0.timestamp() + 6)  # the commit takes 6 s
        await write(batch)

    host._write = slow_write  # type: ignore[method-assign]
    clock.at(1)
    events = await host.execute(ContactArrived("c1", "support", "chat"))  # made at t=1
    host._write = write  # type: ignore[method-assign]
    offer_id = next(e.to_dict()["offer_id"] for e in events if e.type == "routing.offer_created")
    # The offer went out at t=7, after the commit: the agent has 10 s from then, not from t=1.
    await asyncio.gather(*host._sending)
    extended = [e.payload for e in published if e.type == "routing.offer_extended"]
    assert [(p["offer_id"], p["expires_at"]) for p in extended] == [
        (offer_id, (T0 + timedelta(seconds=17)).isoformat())
    ]
    assert host.directory.held[("a1", "c1")]["ends_at"] == extended[0]["expires_at"]
    clock.at(12)  # past the deadline the offer was made with
    assert [e.type for e in await host.tick()] == []
    events = await host.execute(AcceptOffer(offer_id, "a1", received_at=clock.at(16.5)))
    assert events[0].type == "routing.offer_accepted"
    assert host.engine.agent("a1").reason != "missed"

    # The moved deadline is in the log: what was committed replays to the same state.
    restored = RoutingHost(host.tenant_id, host.db, InProcessBus(), settings=host.settings)
    await restored.load()
    assert restored.engine.snapshot() == host.engine.snapshot()


async def test_an_offer_sent_at_once_keeps_its_deadline_and_logs_nothing_more(host):
    host, clock = host
    published: list[PublishedEvent] = []
    host.bus.subscribe(published.append)
    position = host.position
    clock.at(1)
    await host.execute(ContactArrived("c1", "support", "chat"))
    assert not host._sending
    assert host.position == position + 1
    assert "routing.offer_extended" not in [e.type for e in published]
