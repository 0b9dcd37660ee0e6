"""The fold reads the real routing engine's events as it logs them: a transfer between
queues (the first agent's wrap-up before the contact joins the next queue), a short and a long
abandon, wrap-ups ended by their agents, and agents' state time from the same log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from omnidesk.analytics import kpis
from omnidesk.analytics.facts import LogEvent, Sums
from omnidesk.analytics.processing import recompute
from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    CancelContact,
    Command,
    ContactArrived,
    EndContact,
    EndWrapUp,
    Engine,
    QueueDef,
    SetAgentState,
    Transfer,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Run:
    def __init__(self) -> None:
        self.engine = Engine()
        self.events: list[LogEvent] = []

    def do(self, seconds: float, command: Command) -> list[Any]:
        out = self.engine.handle(command, T0 + timedelta(seconds=seconds))
        for event in out:
            self.events.append(LogEvent(len(self.events) + 1, event.type, event.to_dict()))
        return out

    def offer_id(self, contact_id: str) -> str:
        return next(
            e.payload["offer_id"]
            for e in reversed(self.events)
            if e.type == "routing.offer_created" and e.payload["contact_id"] == contact_id
        )


def test_engine_log_gives_the_expected_figures() -> None:
    run = Run()
    for queue in ("q1", "q2"):
        run.do(0, AddQueue(QueueDef(id=queue, channels=("chat",), service_level_seconds=20)))
    for agent, queue in (("a1", "q1"), ("b1", "q2")):
        run.do(0, AddAgent(AgentDef(id=agent, queues={queue: 0}, capacity={"chat": 1})))
        run.do(0, SetAgentState(agent, "available"))
    run.do(1, ContactArrived("c1", "q1", "chat"))
    run.do(11, AcceptOffer(run.offer_id("c1"), "a1"))
    run.do(71, Transfer("c1", "queue", "q2"))
    run.do(81, AcceptOffer(run.offer_id("c1"), "b1"))
    run.do(90, EndWrapUp("a1", "c1", "moved"))
    run.do(181, EndContact("c1"))
    run.do(191, EndWrapUp("b1", "c1", "resolved"))
    run.do(195, SetAgentState("a1", "away", "break"))
    run.do(200, ContactArrived("c2", "q1", "chat"))
    run.do(203, CancelContact("c2"))
    run.do(300, ContactArrived("c3", "q1", "chat"))
    run.do(330, CancelContact("c3"))
    run.do(900, SetAgentState("a1", "available"))
    result = recompute(run.events, 5_000_000)
    by_queue: dict[str, Sums] = {}
    for key, sums in result.queue_rows.items():
        by_queue.setdefault(key.queue_id, Sums()).add(sums)
    q1, q2 = by_queue["q1"], by_queue["q2"]
    assert (q1.offered, q1.answered, q1.transferred, q1.answered_in_sl) == (1 + 2, 1, 1, 1)
    assert (q1.abandoned, q1.short_abandoned, q1.abandoned_in_sl) == (2, 1, 0)
    assert (q1.talk_us, q1.wrap_us, q1.wait_answered_us) == (60_000_000, 19_000_000, 10_000_000)
    assert (q2.offered, q2.answered, q2.answered_in_sl) == (1, 1, 1)
    assert (q2.talk_us, q2.wrap_us, q2.wait_answered_us) == (100_000_000, 10_000_000, 10_000_000)
    assert kpis.service_level(q1, "missed") == 0.5  # 1 / (3 - 1)
    assert kpis.abandon_rate(q1) == 1 / 3
    a1: dict[str, int] = {}
    for key, us in result.agent_rows.items():
        if key.agent_id == "a1":
            name = f"{key.state}:{key.reason}" if key.reason else key.state
            a1[name] = a1.get(name, 0) + us
    assert a1 == {
        "available": (11 + 105) * 1_000_000,
        "busy": 60_000_000,
        "wrap_up": 19_000_000,
        "away:break": 705_000_000,
    }
    assert kpis.occupancy(a1) == 79 / 195
