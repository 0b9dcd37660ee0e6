"""The engine's integer-time entry points (used by the digital twin) and the fast __init__ of
commands and events: the same engine behaviour as the datetime API, the same dataclass
semantics as the generated __init__."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    Command,
    ContactArrived,
    EndContact,
    Engine,
    QueueDef,
    SetAgentState,
    UnknownContact,
)
from omnidesk.core.routing.clock import to_us
from omnidesk.core.routing.events import OfferCreated

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _script() -> list[tuple[float, Command | None]]:
    """(seconds after T0, command; None: just let time pass)."""
    return [
        (0, AddQueue(QueueDef(id="q", channels=("voice",), offer_timeout_seconds=10))),
        (0, AddAgent(AgentDef(id="a1", capacity={"voice": 1}, queues={"q": 0}))),
        (0, AddAgent(AgentDef(id="a2", capacity={"voice": 1}, queues={"q": 0}))),
        (1, SetAgentState("a1", "available")),
        (2, ContactArrived("c1", "q", "voice")),
        (3, ContactArrived("c2", "q", "voice")),
        (4, AcceptOffer("c1#1", "a1")),
        (5, SetAgentState("a2", "available")),
        (30, None),  # c2's offer to a2 times out on the way
        (31, EndContact("c1")),
    ]


def test_integer_time_api_gives_the_same_events_as_the_datetime_api() -> None:
    by_datetime, by_us = Engine(), Engine()
    deadlines: list[tuple[datetime | None, int | None]] = []
    log_dt, log_us = [], []
    for seconds, command in _script():
        now = T0 + timedelta(seconds=seconds)
        if command is None:
            log_dt += by_datetime.advance(now)
            log_us += by_us.advance_us(to_us(now))
        else:
            log_dt += by_datetime.handle(command, now)
            log_us += by_us.handle_us(command, to_us(now))
        deadlines.append((by_datetime.next_deadline(), by_us.next_deadline_us()))
    assert log_us == log_dt
    assert any(e.type == "routing.offer_timed_out" for e in log_us)
    assert by_us.snapshot() == by_datetime.snapshot()
    for as_dt, as_us in deadlines:
        assert (None if as_dt is None else to_us(as_dt)) == as_us
    assert any(as_us is not None for _, as_us in deadlines)  # the offer timers
    by_us.verify()


def test_integer_time_api_refuses_like_the_datetime_api() -> None:
    engine = Engine()
    with pytest.raises(UnknownContact):
        engine.handle_us(EndContact("nobody"), to_us(T0))
    # Time never goes backwards: an earlier instant is treated as now.
    engine.advance_us(to_us(T0 + timedelta(seconds=5)))
    engine.handle_us(AddQueue(QueueDef(id="q", channels=("voice",))), to_us(T0))
    assert engine.now == T0 + timedelta(seconds=5)


def test_fast_init_keeps_the_dataclass_semantics() -> None:
    first = ContactArrived("c1", "q", "voice")
    second = ContactArrived("c2", "q", "voice")
    # Defaults, and a fresh default-factory value per instance.
    assert (first.priority, first.emergency, first.preferred_for_seconds) == (0, False, 30.0)
    assert first.attributes == {} and first.attributes is not second.attributes
    given = {"language": "de"}
    assert ContactArrived("c3", "q", "voice", 5, given).attributes is given
    assert ContactArrived("c1", "q", "voice") == first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.priority = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        ContactArrived("c1")  # type: ignore[call-arg]
    offer = OfferCreated(T0, "c1#1", "c1", "a1", "q", "voice", T0)
    assert offer.to_dict()["offer_id"] == "c1#1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        offer.agent_id = "a2"  # type: ignore[misc]
