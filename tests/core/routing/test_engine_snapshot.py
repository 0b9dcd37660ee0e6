"""Durability: commands and events round-trip through JSON; a snapshot restores an engine that
behaves exactly like the original, timers included; replaying the command log rebuilds it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.core.routing import (
    COMMAND_TYPES,
    EVENT_TYPES,
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    AgentDisconnected,
    CancelContact,
    Command,
    Consult,
    ContactArrived,
    EndConsult,
    EndContact,
    EndWrapUp,
    Engine,
    EngineSettings,
    ExtendWrapUp,
    Hours,
    InvalidDefinition,
    ManualClock,
    OffersSent,
    OverflowAction,
    OverflowKind,
    QueueDef,
    RejectOffer,
    RemoveAgent,
    RemoveQueue,
    Requeue,
    RevokeOffers,
    RoutingError,
    Selection,
    SetAgentState,
    SetContactPriority,
    StartAgentContact,
    Step,
    Tick,
    Transfer,
    UpdateAgent,
    UpdateQueue,
    command_from_dict,
    event_from_dict,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


QUEUE = QueueDef(
    id="support",
    channels=("voice", "chat"),
    name="Support",
    priority=1,
    hours=Hours("Europe/Berlin", {"mon": (("08:00", "20:00"),)}, holidays=("2025-12-25",)),
    on_closed=OverflowAction(OverflowKind.VOICEMAIL),
    max_wait_seconds=600,
    on_max_wait=OverflowAction(OverflowKind.CALLBACK, message="we call you back"),
    max_size=50,
    on_full=OverflowAction(OverflowKind.DISCONNECT, message="busy"),
    steps=(
        Step(target="skills.de >= 4", timeout_seconds=20),
        Step(target="skills.de >= 1 AND contact.priority >= 0", timeout_seconds=40),
        Step(target=None, timeout_seconds=60),
        Step(overflow=OverflowAction(OverflowKind.VOICEMAIL)),
    ),
    aging_per_minute=0.5,
    selection=Selection.MOST_SKILLED,
    offer_timeout_seconds=15,
    wrap_up_seconds=30,
)
AGENTS = [
    AgentDef(
        id=f"a{i}",
        skills={"de": 1 + i, "en": 3},
        teams=("blue",),
        languages=("de",),
        timezone="Europe/Berlin",
        working_hours={"mon": (("08:00", "17:00"),)},
        capacity={"voice": 1, "chat": 2},
        blending={"voice": ()},
        queues={"support": i % 2},
        attributes={"site": "berlin", "tags": ["a", "b"]},
    )
    for i in range(4)
]

SAMPLE_COMMANDS: list[Command] = [
    AddQueue(QUEUE),
    UpdateQueue(QUEUE),
    RemoveQueue("support"),
    AddAgent(AGENTS[0]),
    UpdateAgent(AGENTS[1]),
    RemoveAgent("a1"),
    SetAgentState("a1", "away", "lunch"),
    AgentDisconnected("a1"),
    ContactArrived(
        "c1",
        "support",
        "chat",
        priority=2,
        attributes={"vip": True, "n": [1, 2]},
        emergency=True,
        preferred_agent_id="a1",
        preferred_for_seconds=12.5,
        last_agent_id="a2",
        sticky_for_seconds=30,
        queued_since=at(-5),
    ),
    StartAgentContact("out-1", "a1", "voice", queue_id="support", attributes={"n": "+4930"}),
    StartAgentContact("out-2", "a1", "chat"),
    CancelContact("c1", "hung up"),
    SetContactPriority("c1", 3),
    AcceptOffer("c1#1", "a1"),
    RejectOffer("c1#1", "a1", "busy"),
    EndContact("c1"),
    EndWrapUp("a1", "c1", "resolved"),
    ExtendWrapUp("a1", "c1", 20),
    Transfer("c1", "external", "+4930123", reserve_seconds=10),
    Requeue("c1", "support"),
    Consult("c1", "k1", "queue", "support"),
    EndConsult("k1", transfer=True),
    RevokeOffers(),
    RevokeOffers(("a1", "a2")),
    OffersSent(("c1#1",), at(2)),
    Tick(),
]


def test_every_command_type_has_a_sample() -> None:
    assert {c.type for c in SAMPLE_COMMANDS} == set(COMMAND_TYPES)


@pytest.mark.parametrize("command", SAMPLE_COMMANDS, ids=lambda c: c.type)
def test_commands_round_trip_through_json(command: Command) -> None:
    data = json.loads(json.dumps(command.to_dict()))
    assert data["type"] == command.type
    assert command_from_dict(data).to_dict() == command.to_dict()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "routing.nope"}, "type"),
        ({"type": "routing.accept_offer", "offer_id": "x"}, "routing.accept_offer.agent_id"),
        ({"type": "routing.tick", "extra": 1}, "routing.tick"),
        (
            {"type": "routing.set_agent_state", "agent_id": "a", "state": "asleep"},
            "routing.set_agent_state.state",
        ),
        (
            {
                "type": "routing.contact_arrived",
                "contact_id": "c",
                "queue_id": "q",
                "channel": "chat",
                "priority": "high",
            },
            "routing.contact_arrived.priority",
        ),
    ],
)
def test_bad_command_payloads_are_422(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidDefinition) as error:
        command_from_dict(data)
    assert error.value.http_status == 422 and error.value.details["field"] == field


def _busy_engine(
    settings: EngineSettings | None = None,
) -> tuple[Engine, list[tuple[Command, float]]]:
    """An engine with something of everything pending: offers, wrap-ups with timers, contacts
    at different steps, reservations and maximum waits."""
    engine = Engine(settings)
    log: list[tuple[Command, float]] = []

    def do(command: Command, t: float) -> None:
        engine.handle(command, at(t))
        log.append((command, t))

    do(AddQueue(QUEUE), 0)
    for agent in AGENTS:
        do(AddAgent(agent), 0)
    do(SetAgentState("a0", "available"), 1)
    do(SetAgentState("a3", "available"), 1)
    for i in range(8):
        do(
            ContactArrived(
                f"c{i}",
                "support",
                "voice" if i % 2 else "chat",
                priority=i % 3,
                preferred_agent_id="a1" if i == 5 else None,
            ),
            2 + i,
        )
    do(AcceptOffer("c0#1", "a3"), 11)
    do(EndContact("c0"), 12)  # a3 in a 30 s wrap-up
    do(SetAgentState("a1", "away", "break"), 13)
    do(ContactArrived("c9", "support", "chat", attributes={"lang": "de"}), 14)
    return engine, log


def _play(engine: Engine, commands: list[tuple[Command, float]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for command, t in commands:
        try:
            out.extend(e.to_dict() for e in engine.handle(command, at(t)))
        except Exception as error:
            out.append(
                {
                    "error": type(error).__name__,
                    "events": [e.to_dict() for e in getattr(error, "events", [])],
                }
            )
    return out


FOLLOW_UP: list[tuple[Command, float]] = [
    (Tick(), 20),
    (SetAgentState("a1", "available"), 25),
    (Tick(), 40),
    (AcceptOffer("c1#1", "a0"), 41),
    (SetAgentState("a2", "available"), 45),
    (Tick(), 70),
    (Tick(), 200),
    (AgentDisconnected("a0"), 210),
    (Tick(), 900),
]


def test_snapshot_is_json_and_restores_to_the_same_behaviour() -> None:
    original, _ = _busy_engine()
    snapshot = original.snapshot()
    text = json.dumps(snapshot)
    restored = Engine.restore(json.loads(text))
    restored.verify()
    assert restored.snapshot() == snapshot
    assert _play(restored, FOLLOW_UP) == _play(original, FOLLOW_UP)
    assert restored.snapshot() == original.snapshot()


def test_restore_keeps_the_snapshots_settings_or_takes_the_given_ones() -> None:
    original, _ = _busy_engine(EngineSettings(max_overflow_hops=3))
    snapshot = json.loads(json.dumps(original.snapshot()))
    assert Engine.restore(snapshot).settings == EngineSettings(max_overflow_hops=3)
    # The server restores with the settings of its own start (docs/routing.md, "Durability").
    now = EngineSettings(missed_state="available", tick_seconds=2.0)
    restored = Engine.restore(snapshot, settings=now)
    assert restored.settings == now
    assert restored.snapshot()["config"] == now.to_dict()
    with pytest.raises(InvalidDefinition, match=r"settings\.max_overflow_hops"):
        Engine.restore(snapshot, settings=EngineSettings(max_overflow_hops=-1))


def test_timers_continue_from_absolute_deadlines_after_restore() -> None:
    original, _ = _busy_engine()
    deadline = original.next_deadline()
    assert deadline is not None
    restored = Engine.restore(json.loads(json.dumps(original.snapshot())))
    assert restored.next_deadline() == deadline
    # A restore that happens long after the snapshot fires every timer at its own deadline.
    late = restored.advance(at(100))
    on_time = original.advance(at(100))
    assert [e.to_dict() for e in late] == [e.to_dict() for e in on_time]
    assert {e.at for e in late} != {at(100)}


def test_replaying_the_command_log_rebuilds_the_same_state() -> None:
    original, log = _busy_engine()
    replayed = Engine()
    for command, t in log:
        replayed.handle(command_from_dict(json.loads(json.dumps(command.to_dict()))), at(t))
    assert replayed.snapshot() == original.snapshot()


def test_events_round_trip_through_json() -> None:
    engine, _ = _busy_engine()
    events = []
    for command, t in FOLLOW_UP:
        try:
            events.extend(engine.handle(command, at(t)))
        except RoutingError as error:
            events.extend(error.events)
    seen = {e.type for e in events}
    assert {"routing.offer_created", "routing.contact_step_changed"} <= seen
    for event in events:
        data = json.loads(json.dumps(event.to_dict()))
        assert set(data) >= {"type", "at"}
        assert event_from_dict(data) == event
    assert all(t.startswith("routing.") for t in EVENT_TYPES)


def test_events_are_frozen() -> None:
    engine, _ = _busy_engine()
    event = engine.handle(Tick(), at(100))[0]
    with pytest.raises(AttributeError):
        event.at = at(0)  # type: ignore[misc]


def test_restore_rejects_what_is_not_a_snapshot() -> None:
    with pytest.raises(InvalidDefinition):
        Engine.restore({"format": "something else"})
    engine, _ = _busy_engine()
    broken = engine.snapshot()
    del broken["contacts"][0]["queue_id"]
    with pytest.raises(InvalidDefinition):
        Engine.restore(broken)


def test_injected_clock_supplies_now() -> None:
    clock = ManualClock(at(0))
    engine = Engine(clock=clock)
    engine.handle(AddQueue(QueueDef(id="q", channels=("chat",))))
    clock.advance(5)
    events = engine.handle(ContactArrived("c", "q", "chat"))
    assert events[0].at == at(5)
    restored = Engine.restore(engine.snapshot(), clock=clock)
    assert restored.now == at(5)
    with pytest.raises(InvalidDefinition):
        Engine().handle(Tick())
