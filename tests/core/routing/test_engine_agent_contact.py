"""A contact the agent starts themselves (StartAgentContact, e.g. an outbound call): active with
the agent at once, taking capacity like an accepted contact, ending with EndContact and wrap-up.

A real Engine with plain predicates; every command is followed by `Engine.verify()`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    AgentDisconnected,
    Command,
    Consult,
    ContactArrived,
    EndContact,
    EndWrapUp,
    Engine,
    EngineSettings,
    Event,
    ExtendWrapUp,
    QueueDef,
    Requeue,
    RoutingError,
    SetAgentState,
    StartAgentContact,
    Tick,
    Transfer,
    command_from_dict,
    event_from_dict,
)
from omnidesk.core.routing.predicates import PredicateCompiler

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
COMPILER = PredicateCompiler({})


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Desk:
    """An engine, a clock in seconds since T0 and every event and command so far."""

    def __init__(self, config: EngineSettings | None = None) -> None:
        self.engine = Engine(config, compiler=COMPILER)
        self.log: list[Event] = []
        self.commands: list[tuple[Command, datetime]] = []
        self.t = 0.0

    def do(self, command: Command, t: float | None = None) -> list[dict[str, Any]]:
        if t is not None:
            self.t = t
        events = self.engine.handle(command, at(self.t))
        self.engine.verify()
        self.log.extend(events)
        self.commands.append((command, at(self.t)))
        return [e.to_dict() for e in events]

    def queue(self, queue_id: str = "q", **fields: Any) -> None:
        fields.setdefault("channels", ("voice", "chat"))
        fields.setdefault("wrap_up_seconds", None)
        self.do(AddQueue(QueueDef(id=queue_id, **fields)))

    def agent(self, agent_id: str, *, state: str = "available", **fields: Any) -> None:
        fields.setdefault("capacity", {"voice": 1, "chat": 2})
        fields.setdefault("queues", {"q": 0})
        self.do(AddAgent(AgentDef(id=agent_id, **fields)))
        if state != "offline":
            self.do(SetAgentState(agent_id, state, "break" if state == "away" else None))  # type: ignore[arg-type]

    def state_of(self, agent_id: str) -> tuple[str, str | None]:
        status = self.engine.agent(agent_id)
        return status.state, status.reason


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("routing.") for e in events]


def offers(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (e["contact_id"], e["agent_id"]) for e in events if e["type"] == "routing.offer_created"
    ]


def state(engine: Engine) -> dict[str, Any]:
    snapshot = engine.snapshot()
    del snapshot["now"]  # a refused command still lets time pass
    return snapshot


def desk_with_queue(config: EngineSettings | None = None, **queue: Any) -> Desk:
    desk = Desk(config)
    desk.queue(**queue)
    return desk


# --- busy while on it --------------------------------------------------------------------------


def test_start_makes_the_agent_busy_and_no_call_is_offered_to_them() -> None:
    desk = desk_with_queue()
    desk.agent("a1")
    events = desk.do(StartAgentContact("out-1", "a1", "voice"), t=1)
    assert kinds(events) == ["agent_contact_started", "agent_state_changed"]
    assert events[0] == {
        "type": "routing.agent_contact_started",
        "at": at(1).isoformat(),
        "contact_id": "out-1",
        "agent_id": "a1",
        "queue_id": None,
        "channel": "voice",
    }
    assert (events[1]["previous_state"], events[1]["state"]) == ("available", "busy")
    status = desk.engine.contact("out-1")
    assert (status.state, status.agent_id, status.queue_id) == ("active", "a1", None)
    assert desk.engine.agent("a1").load == {"voice": 1}

    # A call for the queue waits: the only member is on the phone.
    events = desk.do(ContactArrived("c1", "q", "voice"), t=2)
    assert kinds(events) == ["contact_received", "contact_queued"]
    # Another member who comes available takes it at once.
    desk.agent("a2")
    assert offers([e.to_dict() for e in desk.log[-3:]]) == [("c1", "a2")]


@pytest.mark.parametrize(
    ("blending", "chat_offered"),
    [({}, True), ({"voice": ()}, False)],
    ids=["chat-beside-a-call", "nothing-beside-a-call"],
)
def test_other_channels_are_still_offered_as_capacity_and_blending_allow(
    blending: dict[str, tuple[str, ...]], chat_offered: bool
) -> None:
    desk = desk_with_queue()
    desk.agent("a1", blending=blending)
    desk.do(StartAgentContact("out-1", "a1", "voice"), t=1)
    events = desk.do(ContactArrived("chat-1", "q", "chat"), t=2)
    assert offers(events) == ([("chat-1", "a1")] if chat_offered else [])
    # Once the call and its wrap-up are over, the waiting chat goes to a1 in any case.
    desk.do(EndContact("out-1"), t=3)
    events = desk.do(EndWrapUp("a1", "out-1"), t=4)
    if not chat_offered:
        assert offers(events) == [("chat-1", "a1")]


def test_a_chat_held_takes_room_like_any_accepted_contact() -> None:
    # Started on chat twice: the agent's chat capacity of 2 is full, a third is refused and
    # routing offers it no chat meanwhile.
    desk = desk_with_queue()
    desk.agent("a1")
    desk.do(StartAgentContact("m1", "a1", "chat"), t=1)
    desk.do(StartAgentContact("m2", "a1", "chat"), t=1)
    assert desk.engine.agent("a1").load == {"chat": 2}
    with pytest.raises(RoutingError) as refused:
        desk.do(StartAgentContact("m3", "a1", "chat"), t=2)
    assert refused.value.code == "capacity_exceeded"
    assert kinds(desk.do(ContactArrived("c1", "q", "chat"), t=3)) == [
        "contact_received",
        "contact_queued",
    ]


# --- the end: wrap-up, then available -----------------------------------------------------------


def test_end_contact_puts_the_agent_in_wrap_up_then_available_again() -> None:
    desk = desk_with_queue()
    desk.agent("a1")
    desk.do(StartAgentContact("out-1", "a1", "voice"), t=1)
    desk.do(ContactArrived("c1", "q", "voice"), t=2)  # waits for a1
    events = desk.do(EndContact("out-1"), t=30)
    assert kinds(events) == ["contact_ended", "wrap_up_started", "agent_state_changed"]
    assert events[0]["queue_id"] is None and events[0]["reason"] == "completed"
    assert events[0]["agent_id"] == "a1"
    assert events[1]["ends_at"] is None  # the default: until the agent ends it
    assert desk.state_of("a1") == ("wrap_up", None)
    # Still no call while wrapping up: the slot is held.
    assert desk.engine.contact("c1").state == "waiting"
    events = desk.do(EndWrapUp("a1", "out-1", "sale"), t=40)
    assert kinds(events)[:2] == ["wrap_up_ended", "agent_state_changed"]
    assert events[1]["state"] == "available"
    assert offers(events) == [("c1", "a1")]


@pytest.mark.parametrize(
    ("config_seconds", "queue_id", "expected"),
    [
        (10.0, None, ["wrap_up_started", 10.0]),  # the engine's default for queueless ones
        (0.0, None, []),  # no wrap-up at all: available at once
        (None, "q", ["wrap_up_started", 5.0]),  # the queue's wrap-up applies
    ],
)
def test_wrap_up_length(
    config_seconds: float | None, queue_id: str | None, expected: list[Any]
) -> None:
    config = EngineSettings(agent_contact_wrap_up_seconds=config_seconds)
    desk = desk_with_queue(config, wrap_up_seconds=5.0)
    desk.agent("a1")
    desk.do(StartAgentContact("out-1", "a1", "voice", queue_id=queue_id), t=1)
    events = desk.do(EndContact("out-1"), t=20)
    if not expected:
        assert "wrap_up_started" not in kinds(events)
        assert desk.state_of("a1") == ("available", None)
        return
    [started] = [e for e in events if e["type"] == "routing.wrap_up_started"]
    seconds = expected[1]
    assert started["ends_at"] == at(20 + seconds).isoformat()
    assert desk.state_of("a1") == ("wrap_up", None)
    # The extension defaults to the same length.
    extended = desk.do(ExtendWrapUp("a1", "out-1"), t=21)
    assert extended[0]["ends_at"] == at(20 + 2 * seconds).isoformat()
    events = desk.do(Tick(), t=20 + 2 * seconds)
    assert kinds(events)[:2] == ["wrap_up_ended", "agent_state_changed"]
    assert events[0]["automatic"] is True
    assert desk.state_of("a1") == ("available", None)


def test_an_away_agent_may_start_one_and_stays_away_after() -> None:
    desk = desk_with_queue()
    desk.agent("a1", state="away")
    desk.do(ContactArrived("c1", "q", "voice"), t=1)  # waits: nobody available
    events = desk.do(StartAgentContact("out-1", "a1", "voice"), t=2)
    assert kinds(events) == ["agent_contact_started", "agent_state_changed"]
    assert desk.state_of("a1") == ("busy", None)
    assert desk.engine.agent("a1").presence == "away"
    desk.do(EndContact("out-1"), t=3)
    events = desk.do(EndWrapUp("a1", "out-1"), t=4)
    assert desk.state_of("a1") == ("away", "break")
    assert offers(events) == []  # away: still not offered the waiting call


def test_going_offline_on_it_is_refused_like_for_any_active_contact() -> None:
    desk = desk_with_queue()
    desk.agent("a1")
    desk.do(StartAgentContact("out-1", "a1", "voice"), t=1)
    with pytest.raises(RoutingError) as refused:
        desk.do(SetAgentState("a1", "offline"), t=2)
    assert refused.value.code == "agent_has_active_contacts"


# --- refusals ----------------------------------------------------------------------------------


def _busy_desk() -> Desk:
    """a2 away and free; a3 offline; a4 being offered call "c-offered"; a5 wrapping up a call;
    a6 on a chat, with nothing allowed beside chats; call "c-old" waiting in line."""
    desk = desk_with_queue()
    desk.agent("a2", state="away")
    desk.agent("a3", state="offline")
    desk.agent("a4")
    desk.do(ContactArrived("c-offered", "q", "voice"), t=1)
    desk.agent("a5", state="away")
    desk.do(StartAgentContact("out-5", "a5", "voice"), t=2)
    desk.do(EndContact("out-5"), t=3)  # a5 wraps up (no timer)
    desk.agent("a6", state="away", blending={"chat": ()})
    desk.do(StartAgentContact("chat-6", "a6", "chat"), t=4)
    desk.do(ContactArrived("c-old", "q", "voice"), t=5)  # a4's voice slot is taken by the offer
    assert desk.engine.contact("c-old").state == "waiting"
    return desk


@pytest.mark.parametrize(
    ("command", "code", "status"),
    [
        (StartAgentContact("x", "a3", "voice"), "agent_offline", 409),
        (StartAgentContact("x", "a4", "voice"), "capacity_exceeded", 409),  # a ringing offer
        (StartAgentContact("x", "a5", "voice"), "capacity_exceeded", 409),  # wrap-up holds it
        (StartAgentContact("x", "a6", "voice"), "capacity_exceeded", 409),  # blending
        (StartAgentContact("x", "a2", "email"), "capacity_exceeded", 409),  # no email capacity
        (StartAgentContact("c-old", "a2", "voice"), "duplicate_id", 409),
        (StartAgentContact("c-offered", "a2", "voice"), "duplicate_id", 409),
        (StartAgentContact("chat-6", "a2", "voice"), "duplicate_id", 409),
        (StartAgentContact("x", "a2", "voice", queue_id="nope"), "unknown_queue", 404),
        (StartAgentContact("x", "nobody", "voice"), "unknown_agent", 404),
        (StartAgentContact("x", "a2", "email", queue_id="q"), "invalid_definition", 422),
        (StartAgentContact("bad id!", "a2", "voice"), "invalid_definition", 422),
        (StartAgentContact("x", "a2", ""), "invalid_definition", 422),
    ],
)
def test_refusals_change_nothing(command: StartAgentContact, code: str, status: int) -> None:
    desk = _busy_desk()
    before = state(desk.engine)
    with pytest.raises(RoutingError) as refused:
        desk.do(command, t=9)
    assert (refused.value.code, refused.value.http_status) == (code, status)
    assert state(desk.engine) == before
    desk.engine.verify()
    # The same agent with room starts one: the refusals above were about what was named.
    assert kinds(desk.do(StartAgentContact("ok", "a2", "voice"), t=10))[0] == (
        "agent_contact_started"
    )


def test_an_id_is_free_again_once_its_contact_has_ended() -> None:
    desk = desk_with_queue()
    desk.agent("a1")
    desk.do(StartAgentContact("out-1", "a1", "voice"), t=1)
    desk.do(EndContact("out-1"), t=2)
    desk.do(EndWrapUp("a1", "out-1"), t=3)
    assert kinds(desk.do(StartAgentContact("out-1", "a1", "voice"), t=4))[0] == (
        "agent_contact_started"
    )


# --- what other commands do with it ------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        Transfer("out-1", "agent", "a2"),
        Requeue("out-1"),
        Consult("out-1", "k1", "agent", "a2"),
    ],
    ids=["transfer-to-agent", "requeue", "consult-agent"],
)
def test_without_a_queue_there_is_no_line_to_hand_it_to(command: Command) -> None:
    desk = desk_with_queue()
    desk.agent("a1")
    desk.agent("a2")
    desk.do(StartAgentContact("out-1", "a1", "voice"), t=1)
    before = state(desk.engine)
    with pytest.raises(RoutingError) as refused:
        desk.do(command, t=2)
    assert refused.value.code == "no_queue"
    assert state(desk.engine) == before


def test_transfer_to_a_queue_or_out_works_without_a_queue_of_its_own() -> None:
    desk = desk_with_queue()
    desk.agent("a1")
    desk.agent("a2", state="away")
    desk.do(StartAgentContact("out-1", "a1", "voice"), t=1)
    events = desk.do(Transfer("out-1", "queue", "q"), t=2)
    assert kinds(events) == [
        "contact_transferred",
        "wrap_up_started",
        "agent_state_changed",
        "contact_queued",
    ]
    assert desk.engine.contact("out-1").queue_id == "q"
    assert desk.engine.contact("out-1").state == "waiting"  # a1 wraps up, a2 is away
    desk.do(StartAgentContact("out-2", "a2", "voice"), t=3)
    events = desk.do(Transfer("out-2", "external", "+4930123"), t=4)
    [ended] = [e for e in events if e["type"] == "routing.contact_ended"]
    assert (ended["reason"], ended["queue_id"], ended["detail"]) == (
        "transferred_external",
        None,
        "+4930123",
    )


# --- agent disconnected --------------------------------------------------------------------------


def test_disconnect_ends_a_contact_without_a_queue() -> None:
    # The rule for active contacts is "back to their place in line"; one started without a
    # queue has no line, so it ends (reason agent_disconnected) and leaves no wrap-up.
    desk = desk_with_queue()
    desk.agent("a1")
    desk.do(StartAgentContact("out-1", "a1", "voice"), t=1)
    events = desk.do(AgentDisconnected("a1"), t=2)
    assert kinds(events) == ["contact_ended", "agent_state_changed"]
    assert events[0]["reason"] == "agent_disconnected" and events[0]["queue_id"] is None
    assert desk.state_of("a1") == ("offline", None)
    assert desk.engine.contact_ids() == []


def test_disconnect_puts_a_contact_with_a_queue_back_in_line_like_any_active_one() -> None:
    desk = desk_with_queue()
    desk.agent("a1")
    desk.do(StartAgentContact("out-1", "a1", "voice", queue_id="q"), t=1)
    assert desk.engine.queue("q").active == 1
    desk.agent("a2", state="away")
    events = desk.do(AgentDisconnected("a1"), t=5)
    assert kinds(events) == ["contact_queued", "agent_state_changed"]
    assert events[0]["reason"] == "agent_disconnected"
    status = desk.engine.contact("out-1")
    # Its place in line is the instant it started.
    assert (status.state, status.queue_id, status.queued_at) == ("waiting", "q", at(1))
    events = desk.do(SetAgentState("a2", "available"), t=6)
    assert offers(events) == [("out-1", "a2")]
    desk.do(AcceptOffer("out-1#1", "a2"), t=7)
    assert desk.engine.contact("out-1").agent_id == "a2"


# --- durability --------------------------------------------------------------------------------


def _mid_contact() -> Desk:
    desk = desk_with_queue(EngineSettings(agent_contact_wrap_up_seconds=20))
    desk.agent("a1")
    desk.agent("a2", state="away")
    desk.do(StartAgentContact("out-1", "a1", "voice", attributes={"number": "+4930"}), t=1)
    desk.do(StartAgentContact("out-2", "a2", "voice", queue_id="q"), t=2)
    desk.do(ContactArrived("c1", "q", "voice"), t=3)  # waits: a1 busy, a2 away and busy
    return desk


AFTER: list[tuple[Command, float]] = [
    (ContactArrived("c2", "q", "chat"), 4),
    (EndContact("out-1"), 10),
    (Tick(), 31),  # out-1's wrap-up ends by itself: a1 takes c1
    (AgentDisconnected("a2"), 32),  # out-2 goes back to q's line
    (StartAgentContact("out-3", "a2", "voice"), 33),  # refused: a2 is offline now
    (SetAgentState("a2", "available"), 34),
    (EndContact("c1"), 35),
]


def _run(engine: Engine, commands: list[tuple[Command, float]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for command, t in commands:
        try:
            out.extend(e.to_dict() for e in engine.handle(command, at(t)))
        except RoutingError as error:
            out.append({"refused": error.code})
        engine.verify()
    return out


def test_snapshot_and_restore_mid_contact_behave_the_same() -> None:
    desk = _mid_contact()
    # Through JSON, as the host stores it.
    snapshot = json.loads(json.dumps(desk.engine.snapshot()))
    [out1] = [c for c in snapshot["contacts"] if c["id"] == "out-1"]
    assert out1["queue_id"] is None and out1["state"] == "active"
    restored = Engine.restore(snapshot, compiler=COMPILER)
    restored.verify()
    assert restored.snapshot() == desk.engine.snapshot()
    assert restored.agent("a1").state == "busy"
    assert restored.contact("out-1").queue_id is None
    original = _run(desk.engine, AFTER)
    assert _run(restored, AFTER) == original
    assert {"refused": "agent_offline"} in original
    assert restored.snapshot() == desk.engine.snapshot()


def test_replaying_the_logged_commands_gives_the_same_state() -> None:
    desk = _mid_contact()
    replayed = Engine(desk.engine.settings, compiler=COMPILER)
    for command, instant in desk.commands:
        # As the host logs them: to_dict, JSON, command_from_dict.
        again = command_from_dict(json.loads(json.dumps(command.to_dict())))
        assert again == command
        replayed.handle(again, instant)
    assert replayed.snapshot() == desk.engine.snapshot()


def test_events_read_back() -> None:
    desk = _mid_contact()
    later = [e for e in _run(desk.engine, AFTER) if "refused" not in e]
    for data in [e.to_dict() for e in desk.log] + later:
        assert event_from_dict(json.loads(json.dumps(data))).to_dict() == data
