"""Who gets what: order in line, agent selection, workflow steps, overflow, hours, estimates.

Rules here are real rules of the rule language (compile_rule), except where a test needs a rule
that reads the contact and wants to count evaluations.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.core.routing import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDef,
    Command,
    ContactArrived,
    EndContact,
    EndWrapUp,
    Engine,
    EngineSettings,
    Event,
    Hours,
    OverflowAction,
    OverflowKind,
    QueueDef,
    RejectOffer,
    Selection,
    SetAgentState,
    Step,
    Tick,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Desk:
    def __init__(self, config: EngineSettings | None = None) -> None:
        self.engine = Engine(config)  # the real rule language
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
        fields.setdefault("channels", ("voice", "chat"))
        self.do(AddQueue(QueueDef(id=queue_id, **fields)))

    def agent(self, agent_id: str, *, available: bool = True, **fields: Any) -> None:
        fields.setdefault("capacity", {"voice": 1, "chat": 3})
        fields.setdefault("queues", {"q": 0})
        self.do(AddAgent(AgentDef(id=agent_id, **fields)))
        if available:
            self.do(SetAgentState(agent_id, "available"))

    def offers(self) -> list[tuple[str, str]]:
        return [
            (e.to_dict()["contact_id"], e.to_dict()["agent_id"])
            for e in self.log
            if e.type == "routing.offer_created"
        ]

    def serve(self, agent_id: str, t: float) -> str:
        """The agent finishes what it holds; returns the contact it is offered next."""
        for contact_id, kind in self.engine.agent(agent_id).contacts.items():
            if kind == "offered":
                self.do(AcceptOffer(f"{contact_id}#1", agent_id), t)
            self.do(EndContact(contact_id), t)
            self.do(EndWrapUp(agent_id, contact_id), t)
        return self.offers()[-1][0]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("routing.") for e in events]


# --- order in line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrivals", "served"),
    [
        # (contact, priority, emergency, arrival second)
        ([("a", 0, False, 0), ("b", 0, False, 1), ("c", 0, False, 2)], ["a", "b", "c"]),
        ([("a", 0, False, 0), ("b", 5, False, 1), ("c", 1, False, 2)], ["b", "c", "a"]),
        ([("a", 9, False, 0), ("b", 0, True, 1), ("c", 9, False, 2)], ["b", "a", "c"]),
        ([("a", 0, True, 0), ("b", 0, True, 1), ("c", 0, False, 2)], ["a", "b", "c"]),
    ],
    ids=["fifo", "priority", "emergency-first", "fifo-among-emergencies"],
)
def test_order_in_line(arrivals: list[tuple[str, int, bool, float]], served: list[str]) -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1", capacity={"voice": 1}, available=False)
    for contact, priority, emergency, second in arrivals:
        desk.do(
            ContactArrived(contact, "q", "voice", priority=priority, emergency=emergency), second
        )
    desk.do(SetAgentState("a1", "available"), 10)
    order = [desk.offers()[-1][0]]
    for i in range(len(arrivals) - 1):
        order.append(desk.serve("a1", 20 + i))
    assert order == served


def test_aging_lets_a_long_wait_overtake_higher_priority() -> None:
    desk = Desk()
    desk.queue(aging_per_minute=1.0)
    desk.agent("a1", capacity={"voice": 1}, available=False)
    desk.do(ContactArrived("old", "q", "voice", priority=0), 0)
    # Priority 2 arriving 121 s later: the old contact has aged past 2 by then, and stays ahead.
    desk.do(ContactArrived("new", "q", "voice", priority=2), 121)
    desk.do(ContactArrived("newer", "q", "voice", priority=2), 122)
    desk.do(SetAgentState("a1", "available"), 130)
    assert desk.offers()[-1][0] == "old"
    assert desk.engine.wait_estimate("new").position == 1


def test_membership_priority_decides_between_queues_then_effective_priority() -> None:
    desk = Desk()
    desk.queue("low")
    desk.queue("high")
    desk.queue("other")
    desk.agent(
        "a1", capacity={"voice": 1}, queues={"low": 0, "high": 5, "other": 0}, available=False
    )
    desk.do(ContactArrived("l1", "low", "voice"), 0)
    desk.do(ContactArrived("o1", "other", "voice", priority=3), 1)
    desk.do(ContactArrived("h1", "high", "voice"), 2)
    desk.do(SetAgentState("a1", "available"), 3)
    assert desk.serve("a1", 4) == "o1"
    assert desk.offers()[0][0] == "h1"  # its best-membership queue first
    assert desk.serve("a1", 5) == "l1"  # then by effective priority, then time


# --- preferred and sticky agents ------------------------------------------------------------------


def test_preferred_agent_then_last_agent_then_anyone() -> None:
    desk = Desk()
    desk.queue()
    for agent_id in ("pref", "last", "other"):
        desk.agent(agent_id, capacity={"voice": 1}, available=agent_id == "other")
    events = desk.do(
        ContactArrived(
            "c",
            "q",
            "voice",
            preferred_agent_id="pref",
            preferred_for_seconds=10,
            last_agent_id="last",
            sticky_for_seconds=30,
        ),
        0,
    )
    # "pref" is offline: its reservation is skipped; "last" is offline too; anyone then.
    assert kinds(events)[-1] == "offer_created" and desk.offers()[-1] == ("c", "other")

    desk.do(SetAgentState("pref", "away", "break"), 1)
    desk.do(SetAgentState("last", "away", "break"), 1)
    events = desk.do(
        ContactArrived(
            "d",
            "q",
            "voice",
            preferred_agent_id="pref",
            preferred_for_seconds=10,
            last_agent_id="last",
            sticky_for_seconds=30,
        ),
        2,
    )
    assert events[1]["reserved_for"] == "pref"
    events = desk.do(Tick(), 13)
    assert kinds(events) == ["contact_reservation_ended"] and events[0]["reserved_for"] == "last"
    desk.do(SetAgentState("pref", "available"), 14)
    assert desk.engine.contact("d").state == "waiting"  # reserved for "last" now
    desk.do(SetAgentState("last", "available"), 15)
    assert desk.offers()[-1] == ("d", "last")


def test_reserved_agent_declining_ends_the_reservation() -> None:
    desk = Desk(EngineSettings(missed_state="available"))
    desk.queue()
    desk.agent("pref", capacity={"voice": 1})
    desk.agent("b", capacity={"voice": 1}, available=False)
    desk.do(SetAgentState("b", "available"), 0)
    desk.do(ContactArrived("c", "q", "voice", preferred_agent_id="pref"), 1)
    assert desk.offers()[-1] == ("c", "pref")
    events = desk.do(RejectOffer("c#1", "pref"), 2)
    assert "contact_reservation_ended" in kinds(events)
    assert desk.offers()[-1] == ("c", "b")


# --- selection among eligible agents -------------------------------------------------------------


def _selection_desk(selection: Selection) -> Desk:
    desk = Desk()
    desk.queue(selection=selection, steps=(Step(target="skills.de >= 1"),))
    desk.agent("a1", skills={"de": 2}, available=False)
    desk.agent("a2", skills={"de": 5}, available=False)
    desk.agent("a3", skills={"de": 3}, available=False)
    desk.agent("x", skills={"fr": 5}, available=False)  # never eligible
    for agent_id in ("a3", "a1", "x", "a2"):  # a3 has been idle longest
        desk.do(SetAgentState(agent_id, "available"), 1)
    return desk


@pytest.mark.parametrize(
    ("selection", "first"),
    [
        (Selection.LONGEST_IDLE, "a3"),
        (Selection.MOST_SKILLED, "a2"),
        (Selection.ROUND_ROBIN, "a1"),
        (Selection.LEAST_OCCUPIED, "a3"),
    ],
)
def test_selection_strategy_picks_first(selection: Selection, first: str) -> None:
    desk = _selection_desk(selection)
    desk.do(ContactArrived("c1", "q", "chat"), 2)
    assert desk.offers() == [("c1", first)]


def test_round_robin_rotates_and_least_occupied_spreads_chats() -> None:
    desk = _selection_desk(Selection.ROUND_ROBIN)
    for i in range(4):
        desk.do(ContactArrived(f"c{i}", "q", "chat"), 2 + i)
    assert [agent for _, agent in desk.offers()] == ["a1", "a2", "a3", "a1"]

    desk = _selection_desk(Selection.LEAST_OCCUPIED)
    for i in range(6):
        desk.do(ContactArrived(f"c{i}", "q", "chat"), 2 + i)
    assert sorted(desk.engine.agent(a).load["chat"] for a in ("a1", "a2", "a3")) == [2, 2, 2]


def test_most_skilled_with_a_rule_that_reads_the_contact() -> None:
    desk = Desk()
    rule = "skill(contact.attributes.lang) >= 1"
    desk.queue(selection=Selection.MOST_SKILLED, steps=(Step(target=rule),))
    desk.agent("de2", skills={"de": 2})
    desk.agent("de4", skills={"de": 4, "fr": 1})
    desk.agent("fr5", skills={"fr": 5})
    desk.do(ContactArrived("c1", "q", "chat", attributes={"lang": "de"}), 1)
    desk.do(ContactArrived("c2", "q", "chat", attributes={"lang": "fr"}), 2)
    # referenced_skills is empty for a computed skill name: ties fall to longest idle.
    assert desk.offers() == [("c1", "de2"), ("c2", "de4")]


def test_agent_takes_first_contact_it_is_eligible_for_not_just_the_head() -> None:
    desk = Desk()
    desk.queue(steps=(Step(target="contact.attributes.lang IN agent.languages"),))
    desk.agent("fr", languages=("fr",), available=False)
    desk.do(ContactArrived("de1", "q", "chat", attributes={"lang": "de"}), 0)
    desk.do(ContactArrived("fr1", "q", "chat", attributes={"lang": "fr"}), 1)
    desk.do(ContactArrived("de2", "q", "chat", attributes={"lang": "de"}), 2)
    desk.do(SetAgentState("fr", "available"), 3)
    assert desk.offers() == [("fr1", "fr")]


# --- workflow steps and overflow -----------------------------------------------------------


def test_steps_widen_over_time_then_overflow() -> None:
    desk = Desk()
    desk.queue(
        steps=(
            Step(target="skills.de >= 4", timeout_seconds=30),
            Step(target="skills.de >= 1", timeout_seconds=60),
            Step(overflow=OverflowAction(OverflowKind.VOICEMAIL, message="leave a message")),
        )
    )
    desk.agent("weak", skills={"de": 2}, capacity={"voice": 1}, available=False)
    desk.do(ContactArrived("c1", "q", "voice"), 0)
    desk.do(ContactArrived("c2", "q", "voice"), 1)
    desk.do(SetAgentState("weak", "available"), 2)
    assert desk.offers() == []  # step 0 needs level 4
    events = desk.do(Tick(), 40)
    assert kinds(events) == ["contact_step_changed", "offer_created", "contact_step_changed"]
    assert events[0]["at"] == at(30).isoformat() and events[2]["at"] == at(31).isoformat()
    events = desk.do(Tick(), 200)
    assert kinds(events)[:3] == ["offer_timed_out", "agent_state_changed", "contact_queued"]
    overflowed = [e for e in events if e["type"] == "routing.contact_overflowed"]
    # c1's offer timed out at 60 s (back to its place, step 1); both reach the end of step 1.
    assert [(e["contact_id"], e["at"]) for e in overflowed] == [
        ("c1", at(90).isoformat()),
        ("c2", at(91).isoformat()),
    ]
    assert overflowed[0]["reason"] == "workflow"
    assert overflowed[0]["action"] == {
        "kind": "voicemail",
        "queue_id": None,
        "message": "leave a message",
    }
    assert desk.engine.contact_ids() == []


def test_closed_queue_and_holiday_overflow_to_another_queue() -> None:
    desk = Desk()
    desk.queue("night")
    desk.queue(
        "day",
        hours=Hours("Europe/Berlin", {"mon": (("08:00", "18:00"),)}, holidays=("2025-01-13",)),
        on_closed=OverflowAction(OverflowKind.QUEUE, queue_id="night"),
    )
    events = desk.do(ContactArrived("c1", "day", "voice"), 0)  # Monday 10:00 Berlin: open
    assert kinds(events) == ["contact_received", "contact_queued"]
    events = desk.do(ContactArrived("c2", "day", "voice"), 9 * 3600)  # 19:00 Berlin: closed
    assert kinds(events) == ["contact_received", "contact_overflowed", "contact_queued"]
    assert events[1]["reason"] == "closed" and events[2]["queue_id"] == "night"
    events = desk.do(ContactArrived("c3", "day", "voice"), 7 * 86400)  # next Monday: holiday
    assert events[1]["reason"] == "closed"


@pytest.mark.parametrize(
    ("fields", "reason", "kind"),
    [
        ({"max_size": 2, "on_full": OverflowAction(OverflowKind.CALLBACK)}, "full", "callback"),
        (
            {
                "max_wait_seconds": 60,
                "on_max_wait": OverflowAction(OverflowKind.DISCONNECT, message="sorry"),
            },
            "max_wait",
            "disconnect",
        ),
    ],
)
def test_full_and_max_wait_overflow(fields: dict[str, Any], reason: str, kind: str) -> None:
    desk = Desk()
    desk.queue(**fields)
    for i in range(3):
        desk.do(ContactArrived(f"c{i}", "q", "voice"), i)
    desk.do(Tick(), 120)
    overflowed = [e.to_dict() for e in desk.log if e.type == "routing.contact_overflowed"]
    ended = [e.to_dict() for e in desk.log if e.type == "routing.contact_ended"]
    assert overflowed and {e["reason"] for e in overflowed} == {reason}
    assert {e["detail"] for e in ended} == {kind} and {e["reason"] for e in ended} == {"overflow"}
    if reason == "full":
        assert [e["contact_id"] for e in overflowed] == ["c2"]
    else:
        assert [e["at"] for e in overflowed] == [
            at(60).isoformat(),
            at(61).isoformat(),
            at(62).isoformat(),
        ]


def test_overflow_loop_is_cut_off() -> None:
    desk = Desk(EngineSettings(max_overflow_hops=3))
    closed = Hours("UTC", {})  # never open
    desk.queue("a", channels=("voice",))
    desk.queue(
        "b",
        channels=("voice",),
        hours=closed,
        on_closed=OverflowAction(OverflowKind.QUEUE, queue_id="a"),
    )
    from omnidesk.core.routing import UpdateQueue

    desk.do(
        UpdateQueue(
            QueueDef(
                id="a",
                channels=("voice",),
                hours=closed,
                on_closed=OverflowAction(OverflowKind.QUEUE, queue_id="b"),
            )
        )
    )
    events = desk.do(ContactArrived("c", "a", "voice"), 1)
    reasons = [e["reason"] for e in events if e["type"] == "routing.contact_overflowed"]
    assert reasons == ["closed"] * 4 + ["loop"]
    assert events[-1]["type"] == "routing.contact_ended" and events[-1]["detail"] == "disconnect"


def test_time_of_day_rule_routes_on_tick_when_working_hours_begin() -> None:
    desk = Desk()
    desk.queue(steps=(Step(target="within_working_hours(agent)"),))
    desk.agent("a1", timezone="Europe/Berlin", working_hours={"mon": (("10:30", "18:00"),)})
    desk.do(ContactArrived("c1", "q", "chat"), 0)  # 10:00 in Berlin: not yet working
    assert desk.offers() == []
    assert desk.do(Tick(), 1700) == []
    events = desk.do(Tick(), 1800)  # 10:30
    assert kinds(events) == ["offer_created"]


# --- estimates -------------------------------------------------------------------------------


def test_position_and_estimated_wait() -> None:
    desk = Desk()
    desk.queue(default_handle_seconds=120, wrap_up_seconds=0)
    desk.agent("a1", capacity={"voice": 1})
    desk.agent("a2", capacity={"voice": 1})
    for i in range(5):
        desk.do(ContactArrived(f"c{i}", "q", "voice"), i)
    estimate = desk.engine.wait_estimate("c4")
    assert (estimate.position, estimate.waited_seconds) == (3, 0.0)
    assert estimate.estimated_wait_seconds == pytest.approx(3 * 120 / 2)
    desk.do(AcceptOffer("c0#1", "a1"), 10)
    desk.do(AcceptOffer("c1#1", "a2"), 10)
    desk.do(EndContact("c0"), 70)  # handled in 60 s: the moving average starts there
    estimate = desk.engine.wait_estimate("c4")
    assert estimate.position == 2
    assert estimate.estimated_wait_seconds == pytest.approx(2 * 60 / 2)
    assert desk.engine.queue("q").waiting == 2


def test_rules_see_custom_attributes_at_the_top_level_and_under_attributes() -> None:
    desk = Desk()
    rule = (
        "contact.language IN agent.languages AND agent.seniority >= 3"
        ' AND contact.attributes.tier == "gold" AND agent.id NOT IN contact.blocked'
    )
    desk.queue(steps=(Step(target=rule),))
    desk.agent("junior", languages=("de",), attributes={"seniority": 1})
    desk.agent("blocked", languages=("de",), attributes={"seniority": 5})
    desk.agent("senior", languages=("de",), attributes={"seniority": 4, "id": "spoofed"})
    attributes = {"language": "de", "tier": "gold", "blocked": ["blocked"], "channel": "x"}
    desk.do(ContactArrived("c1", "q", "chat", attributes=attributes), 1)
    assert desk.offers() == [("c1", "senior")]


# --- pools ------------------------------------------------------------------------------------


def test_a_step_every_member_passes_shares_the_pool_until_one_does_not() -> None:
    from omnidesk.core.routing import UpdateAgent

    desk = Desk()
    steps = (Step(target="skills.de >= 1", timeout_seconds=30), Step(target=None))
    desk.queue(channels=("chat",), steps=steps)
    desk.agent("a1", skills={"de": 2})
    desk.agent("a2", skills={"de": 5}, capacity={"chat": 1})
    core = desk.engine._core  # what the test is about: which pools exist
    assert sorted(k[2] for k in core.pools) == [-1]  # step 0 uses the pool of all members
    desk.do(ContactArrived("c1", "q", "chat"), 1)
    assert desk.offers() == [("c1", "a1")]
    desk.do(AcceptOffer("c1#1", "a1"))
    # a1 loses German: step 0 gets a pool of its own, and routing follows the rule.
    desk.do(UpdateAgent(AgentDef(id="a1", capacity={"chat": 3}, queues={"q": 0})), 2)
    assert sorted(k[2] for k in core.pools) == [-1, 0]
    desk.do(ContactArrived("c2", "q", "chat"), 3)
    desk.do(ContactArrived("c3", "q", "chat"), 4)  # a2 is full, a1 has room but no German
    assert desk.offers()[1:] == [("c2", "a2")]
    desk.do(Tick(), 34)  # step 1: anyone
    assert desk.offers()[-1] == ("c3", "a1")
