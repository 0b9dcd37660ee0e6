"""The life of a contact and of an agent through the routing engine, command by command.

Table-driven where the shape repeats; no mocks: a real Engine, plain predicates and real rules.
Every command is followed by `Engine.verify()`, which recomputes every index from the records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    AgentDisconnected,
    CancelContact,
    Command,
    ContactArrived,
    EndContact,
    EndWrapUp,
    Engine,
    EngineSettings,
    Event,
    ExtendWrapUp,
    OffersSent,
    QueueDef,
    RejectOffer,
    RemoveAgent,
    RemoveQueue,
    Requeue,
    RoutingError,
    SetAgentState,
    SetContactPriority,
    Step,
    Tick,
    Transfer,
    UpdateAgent,
    UpdateQueue,
)
from omnidesk.core.routing.predicates import PredicateCompiler, PythonRule

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


COMPILER = PredicateCompiler(
    {
        "de3": PythonRule(
            lambda ctx: ctx.agent["skills"].get("de", 0) >= 3,
            skills={"de"},
            uses_contact=False,
            uses_clock=False,
        ),
        "vip-only": PythonRule(lambda ctx: bool(ctx.contact["attributes"].get("vip"))),
    }
)


class Desk:
    """An engine plus a clock in seconds since T0 and the log of every event."""

    def __init__(self, config: EngineSettings | None = None) -> None:
        self.engine = Engine(config, compiler=COMPILER)
        self.log: list[Event] = []
        self.t = 0.0

    def do(self, command: Command, t: float | None = None) -> list[dict[str, Any]]:
        if t is not None:
            self.t = t
        events = self.engine.handle(command, at(self.t))
        self.engine.verify()
        self.log.extend(events)
        return [e.to_dict() for e in events]

    def queue(self, queue_id: str = "q", **fields: Any) -> None:
        fields.setdefault("channels", ("voice", "chat", "email"))
        self.do(AddQueue(QueueDef(id=queue_id, **fields)))

    def agent(self, agent_id: str, *, available: bool = True, **fields: Any) -> None:
        fields.setdefault("capacity", {"voice": 1, "chat": 2, "email": 2})
        fields.setdefault("queues", {"q": 0})
        self.do(AddAgent(AgentDef(id=agent_id, **fields)))
        if available:
            self.do(SetAgentState(agent_id, "available"))

    def offers(self) -> list[tuple[str, str]]:
        return [(e.contact_id, e.agent_id) for e in self.log if e.type == "routing.offer_created"]  # type: ignore[attr-defined]


def state(engine: Engine) -> dict[str, Any]:
    """The snapshot without the clock: a refused command still lets time pass."""
    snapshot = engine.snapshot()
    del snapshot["now"]
    return snapshot


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("routing.") for e in events]


# --- a contact's life ---------------------------------------------------------------------


def test_arrival_offer_accept_end_wrap_up() -> None:
    desk = Desk()
    desk.queue(wrap_up_seconds=None)
    desk.agent("a1")
    events = desk.do(ContactArrived("c1", "q", "voice"), t=1)
    assert types(events) == ["contact_received", "contact_queued", "offer_created"]
    assert events[2]["offer_id"] == "c1#1" and events[2]["agent_id"] == "a1"
    assert events[2]["expires_at"] == at(31).isoformat()

    events = desk.do(AcceptOffer("c1#1", "a1"), t=3)
    assert types(events) == ["offer_accepted", "agent_state_changed"]
    assert events[0]["waited_seconds"] == 2.0 and events[0]["within_service_level"] is True
    assert events[1]["state"] == "busy"
    assert desk.engine.agent("a1").state == "busy"

    events = desk.do(EndContact("c1"), t=60)
    assert types(events) == ["contact_ended", "wrap_up_started", "agent_state_changed"]
    assert events[0]["reason"] == "completed" and events[1]["ends_at"] is None
    assert events[2]["state"] == "wrap_up"
    assert desk.engine.contact_ids() == []

    events = desk.do(EndWrapUp("a1", "c1", "resolved"), t=70)
    assert types(events) == ["wrap_up_ended", "agent_state_changed"]
    assert events[0]["disposition"] == "resolved" and events[0]["automatic"] is False
    assert desk.engine.agent("a1").state == "available"


def test_contact_waits_until_an_agent_becomes_available() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1", available=False)
    assert types(desk.do(ContactArrived("c1", "q", "chat"), t=1))[-1] == "contact_queued"
    events = desk.do(SetAgentState("a1", "available"), t=5)
    assert types(events) == ["agent_state_changed", "offer_created"]


@pytest.mark.parametrize(
    ("missed_state", "agent_after", "reoffered_to"),
    [("away", ("away", "missed"), "a2"), ("available", ("available", None), "a2")],
)
@pytest.mark.parametrize("how", ["reject", "timeout"])
def test_missed_offer_returns_contact_and_sets_missed_state(
    missed_state: str, agent_after: tuple[str, str | None], reoffered_to: str, how: str
) -> None:
    desk = Desk(EngineSettings(missed_state=missed_state))  # type: ignore[arg-type]
    desk.queue(offer_timeout_seconds=20)
    desk.agent("a1")
    desk.agent("a2", available=False)
    desk.do(ContactArrived("c1", "q", "voice"), t=1)
    desk.do(SetAgentState("a2", "available"), t=2)  # a2 is now ready but a1 holds the offer
    if how == "reject":
        events = desk.do(RejectOffer("c1#1", "a1", "busy"), t=5)
    else:
        events = desk.do(Tick(), t=30)
        assert events[0]["at"] == at(21).isoformat()  # fired at its own deadline
    kinds = types(events)
    assert kinds[0] == ("offer_rejected" if how == "reject" else "offer_timed_out")
    assert "contact_queued" in kinds and kinds[-1] == "offer_created"
    queued = next(e for e in events if e["type"] == "routing.contact_queued")
    assert queued["reason"] == ("rejected" if how == "reject" else "timed_out")
    assert events[-1]["agent_id"] == reoffered_to
    status = desk.engine.agent("a1")
    assert (status.state, status.reason) == agent_after


def test_declining_agent_is_not_offered_the_same_contact_again() -> None:
    desk = Desk(EngineSettings(missed_state="available"))
    desk.queue()
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), t=1)
    events = desk.do(RejectOffer("c1#1", "a1"), t=2)
    assert "offer_created" not in types(events)
    assert desk.engine.contact("c1").state == "waiting"
    desk.agent("a2")
    assert desk.offers()[-1] == ("c1", "a2")


def test_cancel_while_waiting_and_while_offered() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1", available=False)
    desk.do(ContactArrived("c1", "q", "voice"), t=1)
    events = desk.do(CancelContact("c1", "hung up"), t=2)
    assert types(events) == ["contact_ended"]
    assert events[0]["reason"] == "cancelled" and events[0]["detail"] == "hung up"

    desk.do(SetAgentState("a1", "available"), t=3)
    desk.do(ContactArrived("c2", "q", "voice"), t=4)
    desk.do(ContactArrived("c3", "q", "voice"), t=5)  # waits: a1 holds the offer of c2
    events = desk.do(CancelContact("c2"), t=6)
    assert types(events) == ["offer_revoked", "contact_ended", "offer_created"]
    assert events[2]["contact_id"] == "c3" and events[2]["agent_id"] == "a1"


def test_wrap_up_timer_ends_it_and_can_be_extended_once() -> None:
    desk = Desk()
    desk.queue(wrap_up_seconds=30, wrap_up_extension_seconds=15)
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), t=0)
    desk.do(AcceptOffer("c1#1", "a1"), t=1)
    events = desk.do(EndContact("c1"), t=10)
    assert events[1]["ends_at"] == at(40).isoformat()
    events = desk.do(ExtendWrapUp("a1", "c1"), t=20)
    assert types(events) == ["wrap_up_extended"] and events[0]["ends_at"] == at(55).isoformat()
    with pytest.raises(RoutingError) as error:
        desk.do(ExtendWrapUp("a1", "c1"), t=21)
    assert error.value.code == "wrap_up_already_extended" and error.value.http_status == 409
    assert desk.do(Tick(), t=50) == []
    events = desk.do(Tick(), t=56)
    assert types(events) == ["wrap_up_ended", "agent_state_changed"]
    assert events[0]["automatic"] is True and events[0]["at"] == at(55).isoformat()


def test_zero_wrap_up_frees_the_agent_at_once() -> None:
    desk = Desk()
    desk.queue(wrap_up_seconds=0)
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), t=0)
    desk.do(ContactArrived("c2", "q", "voice"), t=0)
    desk.do(AcceptOffer("c1#1", "a1"), t=1)
    events = desk.do(EndContact("c1"), t=5)
    assert types(events) == ["contact_ended", "agent_state_changed", "offer_created"]
    assert desk.offers()[-1] == ("c2", "a1")


# --- capacity and blending -------------------------------------------------------------------


def test_capacity_per_channel_and_blending() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1", capacity={"voice": 1, "chat": 2, "email": 1}, blending={"voice": ()})
    for i in range(3):
        desk.do(ContactArrived(f"chat{i}", "q", "chat"), t=i)
    desk.do(ContactArrived("mail", "q", "email"), t=3)
    assert desk.offers() == [("chat0", "a1"), ("chat1", "a1"), ("mail", "a1")]
    assert desk.engine.agent("a1").load == {"chat": 2, "email": 1}
    # While chats are held a call may still be offered (blending only restricts voice), but
    # while on a call nothing else is.
    desk.do(ContactArrived("call", "q", "voice"), t=4)
    assert desk.offers()[-1] == ("call", "a1")
    for contact in ("chat0", "chat1", "mail", "call"):
        desk.do(AcceptOffer(f"{contact}#1", "a1"), t=5)
    for contact in ("chat0", "chat1", "mail"):
        desk.do(EndContact(contact), t=6)
        desk.do(EndWrapUp("a1", contact), t=6)
    assert desk.engine.agent("a1").load == {"voice": 1}
    assert desk.engine.contact("chat2").state == "waiting"  # not offered while on a call
    desk.do(EndContact("call"), t=7)
    desk.do(EndWrapUp("a1", "call"), t=8)
    assert desk.offers()[-1] == ("chat2", "a1")


def test_update_agent_cannot_shrink_capacity_below_what_it_holds() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "chat"), t=1)
    desk.do(ContactArrived("c2", "q", "chat"), t=1)
    before = state(desk.engine)
    with pytest.raises(RoutingError) as error:
        desk.do(UpdateAgent(AgentDef(id="a1", capacity={"chat": 1}, queues={"q": 0})), t=2)
    assert error.value.code == "capacity_exceeded" and error.value.http_status == 409
    assert state(desk.engine) == before


def test_going_available_beyond_capacity_is_refused() -> None:
    # Only reachable from a state written elsewhere (an edited snapshot): the engine itself
    # never lets an agent hold more than its capacity.
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "chat"), t=1)
    desk.do(ContactArrived("c2", "q", "chat"), t=1)
    desk.do(SetAgentState("a1", "away", "break"), t=2)
    desk.do(SetAgentState("a1", "available"), t=3)
    desk.do(AcceptOffer("c1#2", "a1"), t=4)
    desk.do(AcceptOffer("c2#2", "a1"), t=4)
    desk.do(SetAgentState("a1", "away", "break"), t=5)
    snapshot = desk.engine.snapshot()
    snapshot["agents"][0]["definition"]["capacity"]["chat"] = 1
    engine = Engine.restore(snapshot, compiler=COMPILER)
    with pytest.raises(RoutingError) as error:
        engine.handle(SetAgentState("a1", "available"), at(6))
    assert (error.value.code, error.value.http_status) == ("capacity_exceeded", 409)
    assert engine.agent("a1").presence == "away"


# --- agents: presence, disconnect ----------------------------------------------------------------


def test_going_away_revokes_pending_offers_and_busy_agent_shows_busy() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "chat"), t=1)
    desk.do(ContactArrived("c2", "q", "chat"), t=1)
    desk.do(AcceptOffer("c1#1", "a1"), t=2)
    events = desk.do(SetAgentState("a1", "away", "lunch"), t=3)
    assert types(events) == ["offer_revoked", "contact_queued"]
    assert events[0]["reason"] == "agent_away"
    assert desk.engine.agent("a1").state == "busy"  # away once the chat is done
    desk.do(EndContact("c1"), t=4)
    events = desk.do(EndWrapUp("a1", "c1"), t=5)
    assert events[-1]["state"] == "away" and events[-1]["reason"] == "lunch"


def test_disconnected_agent_never_stays_reserved() -> None:
    desk = Desk()
    desk.queue(wrap_up_seconds=None)
    desk.agent("a1", capacity={"chat": 3})
    for i in range(3):
        desk.do(ContactArrived(f"c{i}", "q", "chat"), t=i)
    desk.do(AcceptOffer("c0#1", "a1"), t=5)
    desk.do(AcceptOffer("c1#1", "a1"), t=5)
    desk.do(EndContact("c0"), t=6)  # c0 in wrap-up, c1 active, c2 offered
    events = desk.do(AgentDisconnected("a1"), t=7)
    kinds = types(events)
    assert kinds.count("offer_revoked") == 1 and kinds.count("contact_queued") == 2
    assert kinds.count("wrap_up_ended") == 1 and kinds[-1] == "agent_state_changed"
    status = desk.engine.agent("a1")
    assert status.state == "offline" and status.load == {} and status.contacts == {}
    assert {desk.engine.contact(c).state for c in ("c1", "c2")} == {"waiting"}
    # c1 goes back to its original place: ahead of c2.
    assert desk.engine.wait_estimate("c1").position == 1
    assert desk.engine.wait_estimate("c2").position == 2


def test_going_offline_with_active_contacts_is_refused_and_changes_nothing() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), t=1)
    desk.do(AcceptOffer("c1#1", "a1"), t=2)
    before = state(desk.engine)
    with pytest.raises(RoutingError) as error:
        desk.do(SetAgentState("a1", "offline"), t=3)
    assert (error.value.code, error.value.http_status) == ("agent_has_active_contacts", 409)
    assert state(desk.engine) == before


# --- transfer and requeue ----------------------------------------------------------------------


def _active_call(desk: Desk) -> None:
    desk.queue(wrap_up_seconds=None)
    desk.queue("sales", channels=("voice", "chat"))
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), t=1)
    desk.do(AcceptOffer("c1#1", "a1"), t=2)


def test_transfer_to_queue_puts_agent_in_wrap_up_and_contact_at_end_of_line() -> None:
    desk = Desk()
    _active_call(desk)
    desk.agent("s1", queues={"sales": 0})
    events = desk.do(Transfer("c1", "queue", "sales"), t=10)
    assert types(events)[:3] == ["contact_transferred", "wrap_up_started", "agent_state_changed"]
    assert desk.offers()[-1] == ("c1", "s1")
    assert desk.engine.contact("c1").queue_id == "sales"


def test_transfer_to_agent_reserves_then_falls_back_to_the_queue() -> None:
    desk = Desk()
    _active_call(desk)
    desk.agent("a2", capacity={"chat": 1}, queues={"q": 0})  # no voice: cannot take it
    desk.agent("a3", available=False)
    events = desk.do(Transfer("c1", "agent", "a2", reserve_seconds=20), t=10)
    queued = next(e for e in events if e["type"] == "routing.contact_queued")
    assert queued["reserved_for"] == "a2" and queued["reason"] == "transfer"
    desk.do(SetAgentState("a3", "available"), t=11)
    assert desk.engine.contact("c1").state == "waiting"  # still reserved for a2
    events = desk.do(Tick(), t=31)
    assert types(events) == ["contact_reservation_ended", "offer_created"]
    assert desk.offers()[-1] == ("c1", "a3")


def test_external_transfer_only_for_voice() -> None:
    desk = Desk()
    _active_call(desk)
    events = desk.do(Transfer("c1", "external", "+4930123456"), t=10)
    ended = next(e for e in events if e["type"] == "routing.contact_ended")
    assert ended["reason"] == "transferred_external" and ended["detail"] == "+4930123456"
    desk.do(ContactArrived("chat", "q", "chat"), t=11)
    desk.do(AcceptOffer("chat#1", "a1"), t=12)
    with pytest.raises(RoutingError) as error:
        desk.do(Transfer("chat", "external", "+4930123456"), t=13)
    assert error.value.code == "external_transfer_voice_only"


def test_requeue_returns_to_original_place_and_not_to_the_same_agent() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), t=1)
    desk.do(AcceptOffer("c1#1", "a1"), t=2)
    desk.do(ContactArrived("c2", "q", "voice"), t=3)
    events = desk.do(Requeue("c1"), t=4)
    assert types(events)[:2] == ["agent_state_changed", "contact_queued"]
    assert desk.offers()[-1] == ("c2", "a1")  # c1 is ahead in line but a1 handed it back
    assert desk.engine.wait_estimate("c1").position == 1


def test_priority_change_applies_at_once() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1", available=False)
    for i in range(3):
        desk.do(ContactArrived(f"c{i}", "q", "voice"), t=i)
    desk.do(SetContactPriority("c2", 5), t=4)
    assert [desk.engine.wait_estimate(f"c{i}").position for i in range(3)] == [2, 3, 1]
    desk.do(SetAgentState("a1", "available"), t=5)
    assert desk.offers() == [("c2", "a1")]


# --- administration ----------------------------------------------------------------------------


def test_wider_rule_from_queue_update_routes_waiting_contacts() -> None:
    desk = Desk()
    desk.queue(steps=(Step(target="de3"),))
    desk.agent("a1", skills={"de": 2})
    desk.do(ContactArrived("c1", "q", "voice"), t=1)
    assert desk.offers() == []
    events = desk.do(UpdateQueue(QueueDef(id="q", channels=("voice",))), t=2)
    assert types(events) == ["queue_updated", "offer_created"]


def test_remove_agent_and_queue_only_when_unused() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    with pytest.raises(RoutingError) as error:
        desk.do(RemoveAgent("a1"))
    assert error.value.code == "agent_in_use"
    with pytest.raises(RoutingError) as error:
        desk.do(RemoveQueue("q"))
    assert error.value.code == "queue_in_use"
    desk.do(SetAgentState("a1", "offline"))
    assert types(desk.do(RemoveAgent("a1"))) == ["agent_removed"]
    assert types(desk.do(RemoveQueue("q"))) == ["queue_removed"]


# --- refused commands: typed errors, state unchanged -------------------------------------------


def _setup_for_errors(desk: Desk) -> None:
    desk.queue(offer_timeout_seconds=10)
    desk.agent("a1")
    desk.agent("a2", available=False)
    desk.do(ContactArrived("c1", "q", "voice"), t=1)  # offered to a1 as c1#1
    desk.do(ContactArrived("c2", "q", "voice"), t=1)  # waiting


ERRORS: list[tuple[str, Callable[[], Command], str, int]] = [
    ("unknown queue", lambda: ContactArrived("x", "nope", "voice"), "unknown_queue", 404),
    ("unknown agent", lambda: SetAgentState("ghost", "available"), "unknown_agent", 404),
    ("unknown contact", lambda: CancelContact("ghost"), "unknown_contact", 404),
    ("unknown offer", lambda: AcceptOffer("c1#9", "a1"), "unknown_offer", 404),
    ("bad offer id", lambda: AcceptOffer("nonsense", "a1"), "unknown_offer", 404),
    ("unknown wrap-up", lambda: EndWrapUp("a1", "c1"), "unknown_wrap_up", 404),
    (
        "preferred agent unknown",
        lambda: ContactArrived("x", "q", "voice", preferred_agent_id="g"),
        "unknown_agent",
        404,
    ),
    ("duplicate contact", lambda: ContactArrived("c1", "q", "voice"), "duplicate_id", 409),
    (
        "duplicate queue",
        lambda: AddQueue(QueueDef(id="q", channels=("voice",))),
        "duplicate_id",
        409,
    ),
    ("offer for another agent", lambda: AcceptOffer("c1#1", "a2"), "offer_not_for_agent", 409),
    ("end a waiting contact", lambda: EndContact("c2"), "contact_not_active", 409),
    ("transfer a waiting contact", lambda: Transfer("c2", "queue", "q"), "contact_not_active", 409),
    ("channel not served", lambda: ContactArrived("x", "q", "fax"), "invalid_definition", 422),
    (
        "bad priority",
        lambda: ContactArrived("x", "q", "voice", priority=10**9),
        "invalid_definition",
        422,
    ),
    ("bad id", lambda: ContactArrived("has space", "q", "voice"), "invalid_definition", 422),
    (
        "naive queued_since",
        lambda: ContactArrived("x", "q", "voice", queued_since=datetime(2025, 1, 1)),
        "invalid_definition",
        422,
    ),
    ("bad away reason", lambda: SetAgentState("a1", "away", ""), "invalid_definition", 422),
    (
        "skill level 6",
        lambda: AddAgent(AgentDef(id="z", skills={"de": 6})),
        "invalid_definition",
        422,
    ),
    (
        "member of unknown queue",
        lambda: AddAgent(AgentDef(id="z", queues={"nope": 0})),
        "invalid_definition",
        422,
    ),
    (
        "bad time zone",
        lambda: AddAgent(AgentDef(id="z", timezone="Mars/Base")),
        "invalid_definition",
        422,
    ),
    (
        "overflow step not last",
        lambda: AddQueue(
            QueueDef(
                id="z",
                channels=("voice",),
                steps=(Step(timeout_seconds=5), Step(overflow=None), Step()),
            )
        ),
        "invalid_definition",
        422,
    ),
    (
        "rule syntax error",
        lambda: AddQueue(QueueDef(id="z", channels=("voice",), steps=(Step(target="skills.x >"),))),
        "invalid_rule",
        422,
    ),
    (
        "max_size without action",
        lambda: AddQueue(QueueDef(id="z", channels=("v",), max_size=3)),
        "invalid_definition",
        422,
    ),
]


@pytest.mark.parametrize(
    ("command", "code", "status"),
    [pytest.param(c, code, s, id=name) for name, c, code, s in ERRORS],
)
def test_refused_commands_raise_typed_errors_and_change_nothing(
    command: Callable[[], Command], code: str, status: int
) -> None:
    desk = Desk()
    _setup_for_errors(desk)
    before = state(desk.engine)
    with pytest.raises(RoutingError) as error:
        desk.do(command(), t=2)
    assert (error.value.code, error.value.http_status) == (code, status)
    assert error.value.to_dict()["code"] == code
    assert state(desk.engine) == before


def test_accepting_a_timed_out_offer_is_a_conflict_and_timer_events_are_kept() -> None:
    desk = Desk()
    _setup_for_errors(desk)
    with pytest.raises(RoutingError) as error:
        desk.do(AcceptOffer("c1#1", "a1"), t=20)  # the offer expired at t=11
    assert (error.value.code, error.value.http_status) == ("offer_not_pending", 409)
    assert error.value.events[0].type == "routing.offer_timed_out"
    assert desk.engine.contact("c1").state == "waiting"


@pytest.mark.parametrize("how", ["accept", "reject"])
def test_an_answer_is_judged_at_its_arrival_not_when_it_is_handled(how: str) -> None:
    desk = Desk(EngineSettings(missed_state="away"))
    desk.queue(offer_timeout_seconds=10, wrap_up_seconds=None)
    desk.agent("a1")
    desk.agent("a2", available=False)
    desk.do(ContactArrived("c1", "q", "voice"), t=1)  # offered to a1 until t=11
    desk.do(ContactArrived("c2", "q", "voice"), t=2)  # waits
    desk.do(SetAgentState("a2", "available"), t=3)  # c2 offered to a2 until t=13
    # a1's answer reached the server at t=10.5 but waited in line until t=20: honoured, and
    # a2's offer, which nobody answered, still times out at its own deadline (after it).
    if how == "accept":
        command: Command = AcceptOffer("c1#1", "a1", received_at=at(10.5))
    else:
        command = RejectOffer("c1#1", "a1", "busy", received_at=at(10.5))
    events = desk.do(command, t=20)
    kinds = types(events)
    assert kinds[0] == ("offer_accepted" if how == "accept" else "offer_rejected")
    assert events[0]["at"] == at(10.5).isoformat()
    timed_out = [e for e in events if e["type"] == "routing.offer_timed_out"]
    assert [(e["agent_id"], e["at"]) for e in timed_out] == [("a2", at(13).isoformat())]
    if how == "accept":
        assert desk.engine.agent("a1").state == "busy"
    assert (desk.engine.agent("a2").state, desk.engine.agent("a2").reason) == ("away", "missed")
    assert desk.engine.now == at(20)


def test_an_answer_that_arrived_after_the_deadline_finds_the_offer_timed_out() -> None:
    desk = Desk()
    _setup_for_errors(desk)
    with pytest.raises(RoutingError) as error:
        desk.do(AcceptOffer("c1#1", "a1", received_at=at(11.5)), t=20)  # expired at t=11
    assert error.value.code == "offer_not_pending"
    assert error.value.events[0].type == "routing.offer_timed_out"


def test_an_offer_times_out_a_whole_timeout_after_it_was_sent() -> None:
    desk = Desk(EngineSettings(missed_state="away"))
    desk.queue(offer_timeout_seconds=10, wrap_up_seconds=None)
    desk.agent("a1")
    desk.agent("a2")
    desk.do(ContactArrived("c1", "q", "voice"), t=1)  # offered to a1 until t=11
    desk.do(ContactArrived("c2", "q", "voice"), t=1)  # offered to a2 until t=11
    # Both offers reached their agents only at t=4 (a slow commit); the command is handled at
    # t=12, after the old deadline, which does not time them out first: judged as of t=4.
    events = desk.do(OffersSent(("c1#1", "c2#1"), at(4)), t=12)
    assert [(e["type"], e["offer_id"], e["expires_at"]) for e in events] == [
        ("routing.offer_extended", "c1#1", at(14).isoformat()),
        ("routing.offer_extended", "c2#1", at(14).isoformat()),
    ]
    expires = {c["id"]: c["offer_expires"] for c in desk.engine.snapshot()["contacts"]}
    assert expires == {"c1": at(14).isoformat(), "c2": at(14).isoformat()}
    # a1 answers in time; a2 misses its offer at its new deadline, not at the old one.
    assert types(desk.do(AcceptOffer("c1#1", "a1"), t=13.5))[0] == "offer_accepted"
    assert desk.engine.contact("c2").state == "offered"
    timed_out = [e for e in desk.do(Tick(), t=20) if e["type"] == "routing.offer_timed_out"]
    assert [(e["agent_id"], e["at"]) for e in timed_out] == [("a2", at(14).isoformat())]
    # Deadlines only move later, and offers no longer pending are left alone.
    assert desk.do(OffersSent(("c1#1", "c2#1", "nobody#1"), at(2)), t=21) == []
    desk.do(SetAgentState("a2", "available"), t=22)
    desk.do(ContactArrived("c3", "q", "voice"), t=22)  # offered to a2 until t=32
    assert desk.engine.contact("c3").offer_id == "c3#1"
    assert desk.do(OffersSent(("c3#1",), at(22)), t=22) == []  # sent at once: nothing to move


def test_rule_syntax_error_reports_line_and_column() -> None:
    desk = Desk()
    with pytest.raises(RoutingError) as error:
        desk.do(
            AddQueue(
                QueueDef(
                    id="z",
                    channels=("voice",),
                    steps=(
                        Step(target="skills.de >= 3 AND\n  (agent.team == ", timeout_seconds=10),
                        Step(),
                    ),
                )
            )
        )
    details = error.value.to_dict()
    assert details["field"] == "queue.steps[0].target"
    assert details["line"] == 2 and details["column"] >= 3


def test_time_never_goes_backwards() -> None:
    desk = Desk()
    desk.queue()
    desk.do(Tick(), t=100)
    desk.agent("a1", available=False)
    events = desk.do(ContactArrived("c1", "q", "voice"), t=50)  # a late clock: treated as now
    assert events[0]["at"] == at(100).isoformat()
    assert desk.engine.now == at(100)
