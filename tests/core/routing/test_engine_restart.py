"""After a restart: pending offers are revoked and re-evaluated (RevokeOffers), and queues whose
waiting contacts overflow when they close (by their hours or by an update).

Table-driven with a real Engine and real rules; every command is followed by `Engine.verify()`.
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
    Command,
    ContactArrived,
    Engine,
    EngineSettings,
    Hours,
    InvalidDefinition,
    OverflowAction,
    OverflowKind,
    QueueDef,
    RejectOffer,
    RevokeOffers,
    SetAgentState,
    Tick,
    UnknownAgent,
    UpdateQueue,
)
from omnidesk.core.routing.clock import from_us, to_us
from omnidesk.core.routing.hours import is_open, next_closing

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Berlin


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("routing.") for e in events]


class Desk:
    def __init__(self, config: EngineSettings | None = None) -> None:
        self.engine = Engine(config)
        self.t = 0.0

    def do(self, command: Command, t: float | None = None) -> list[dict[str, Any]]:
        if t is not None:
            self.t = t
        events = self.engine.handle(command, at(self.t))
        self.engine.verify()
        return [e.to_dict() for e in events]

    def restart(self) -> None:
        """kill -9 and start again: a restore from the last snapshot (the service replays
        the logged commands after it; here the snapshot is the latest state)."""
        self.engine = Engine.restore(json.loads(json.dumps(self.engine.snapshot())))
        self.engine.verify()

    def queue(self, queue_id: str = "q", **fields: Any) -> None:
        fields.setdefault("channels", ("voice",))
        fields.setdefault("offer_timeout_seconds", 15)
        self.do(AddQueue(QueueDef(id=queue_id, **fields)))

    def agent(self, agent_id: str, **fields: Any) -> None:
        fields.setdefault("capacity", {"voice": 1})
        fields.setdefault("queues", {"q": 0})
        self.do(AddAgent(AgentDef(id=agent_id, **fields)))
        self.do(SetAgentState(agent_id, "available"))


def offered(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (e["contact_id"], e["agent_id"], e["offer_id"])
        for e in events
        if e["type"] == "routing.offer_created"
    ]


# --- RevokeOffers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("downtime", "revoked_at"),
    [(3, 3), (60, 15)],  # back before the offer's deadline / long after it
    ids=["short-outage", "outage-past-the-deadline"],
)
def test_pending_offer_is_revoked_and_offered_again_without_missed_state(
    downtime: float, revoked_at: float
) -> None:
    desk = Desk(EngineSettings(missed_state="away"))
    desk.queue()
    desk.agent("a1")
    desk.agent("a2")
    events = desk.do(ContactArrived("c1", "q", "voice"), 0)
    assert offered(events) == [("c1", "a1", "c1#1")]  # a1 is the longest idle
    desk.restart()

    events = desk.do(RevokeOffers(), downtime)
    assert kinds(events) == ["offer_revoked", "contact_queued", "offer_created"]
    revoked, queued, offer = events
    assert revoked["reason"] == "restart" and revoked["offer_id"] == "c1#1"
    assert revoked["at"] == at(revoked_at).isoformat()  # at its deadline if that passed
    assert queued["reason"] == "revoked"
    # Agents first: the freed agent takes the best contact it may take, here the same one.
    assert (offer["agent_id"], offer["offer_id"], offer["at"]) == (
        "a1",
        "c1#2",
        at(downtime).isoformat(),
    )
    status = desk.engine.agent("a1")
    assert (status.state, status.reason) == ("available", None)  # not marked as missed
    contact = desk.engine.contact("c1")
    assert contact.queued_at == at(0)  # its place in line and waited time are kept
    desk.do(AcceptOffer("c1#2", "a1"))


def test_revoke_only_the_given_agents_others_time_out_as_usual() -> None:
    desk = Desk(EngineSettings(missed_state="away"))
    desk.queue()
    desk.agent("a1")
    desk.agent("a2")
    desk.do(ContactArrived("c1", "q", "voice"), 0)  # -> a1
    desk.do(ContactArrived("c2", "q", "voice"), 1)  # -> a2
    desk.restart()
    events = desk.do(RevokeOffers(("a1",)), 40)
    by_kind = [(e["type"][8:], e.get("contact_id"), e.get("reason")) for e in events]
    assert ("offer_revoked", "c1", "restart") in by_kind
    assert ("offer_timed_out", "c2", None) in by_kind
    assert desk.engine.agent("a1").state == "available"
    assert (desk.engine.agent("a2").state, desk.engine.agent("a2").reason) == ("away", "missed")
    assert desk.engine.contact("c1").agent_id == "a1"  # a2 is away: c1 goes back to a1


def test_freed_agent_takes_the_best_contact_in_line() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), 0)  # -> a1, the only agent
    desk.do(ContactArrived("c2", "q", "voice", emergency=True), 1)  # waits
    desk.restart()
    events = desk.do(RevokeOffers(), 2)
    assert offered(events) == [("c2", "a1", "c2#1")]  # the emergency first
    assert desk.engine.contact("c1").state == "waiting"
    assert desk.engine.wait_estimate("c1").position == 1


def test_reservation_survives_the_revocation() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    desk.agent("a2")
    desk.do(ContactArrived("c1", "q", "voice", preferred_agent_id="a2", preferred_for_seconds=60))
    events = desk.do(RevokeOffers(), 5)
    assert [k for k in kinds(events) if k.startswith("contact_res")] == []
    assert offered(events) == [("c1", "a2", "c1#2")]


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (RevokeOffers(("a1", "ghost")), UnknownAgent),
        (RevokeOffers(("a1", 7)), InvalidDefinition),  # type: ignore[arg-type]
    ],
)
def test_bad_revoke_changes_nothing_not_even_time(command: RevokeOffers, error: type) -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), 0)
    before = desk.engine.snapshot()
    with pytest.raises(error) as raised:
        desk.engine.handle(command, at(100))
    assert raised.value.events == []  # the offer did not time out either
    assert desk.engine.snapshot() == before


def test_revoke_with_nothing_pending_only_lets_time_pass() -> None:
    desk = Desk()
    desk.queue()
    desk.agent("a1")
    assert desk.do(RevokeOffers(), 10) == []
    assert desk.do(RevokeOffers(()), 20) == []
    assert desk.engine.now == at(20)


def test_restored_and_original_engines_agree_on_the_revocation() -> None:
    desk = Desk()
    desk.queue()
    for agent in ("a1", "a2", "a3"):
        desk.agent(agent)
    for i in range(5):
        desk.do(ContactArrived(f"c{i}", "q", "voice", priority=i % 2), i)
    restored = Engine.restore(json.loads(json.dumps(desk.engine.snapshot())))
    one = [e.to_dict() for e in desk.engine.handle(RevokeOffers(), at(30))]
    two = [e.to_dict() for e in restored.handle(RevokeOffers(), at(30))]
    assert one == two
    assert desk.engine.snapshot() == restored.snapshot()
    assert {e["reason"] for e in one if e["type"] == "routing.offer_revoked"} == {"restart"}


# --- queues that close ------------------------------------------------------------------------

DAY = Hours("Europe/Berlin", {"mon": (("08:00", "18:00"),)})  # closes 17:00 UTC on T0's day
CLOSES = 8 * 3600  # seconds after T0


@pytest.mark.parametrize(
    ("option", "on_closed", "expected"),
    [
        (False, OverflowKind.VOICEMAIL, []),
        (True, OverflowKind.VOICEMAIL, ["contact_overflowed", "contact_ended"]),
        (True, OverflowKind.QUEUE, ["contact_overflowed", "contact_queued"]),
    ],
    ids=["waiting-stays", "overflow-to-voicemail", "overflow-to-night-queue"],
)
def test_waiting_contacts_when_the_queue_closes_by_its_hours(
    option: bool, on_closed: OverflowKind, expected: list[str]
) -> None:
    desk = Desk()
    desk.queue("night")
    action = OverflowAction(
        on_closed, queue_id="night" if on_closed is OverflowKind.QUEUE else None
    )
    desk.queue("q", hours=DAY, on_closed=action, overflow_waiting_on_close=option)
    desk.do(ContactArrived("c1", "q", "voice"), 0)  # no agent: waits
    assert desk.do(Tick(), CLOSES - 1) == []
    if option:
        assert desk.engine.next_deadline() == at(CLOSES)
    events = desk.do(Tick(), CLOSES + 3600)  # whenever the next command comes
    assert kinds(events) == expected
    if expected:
        assert events[0]["reason"] == "closed" and events[0]["at"] == at(CLOSES).isoformat()


def test_offered_contact_keeps_its_offer_and_overflows_if_it_comes_back_closed() -> None:
    desk = Desk()
    desk.queue(
        "q",
        hours=DAY,
        on_closed=OverflowAction(OverflowKind.CALLBACK),
        overflow_waiting_on_close=True,
    )
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), CLOSES - 5)  # offered to a1
    assert desk.do(Tick(), CLOSES + 1) == []
    events = desk.do(RejectOffer("c1#1", "a1"), CLOSES + 2)
    assert kinds(events)[:3] == ["offer_rejected", "agent_state_changed", "contact_overflowed"]
    assert events[2]["reason"] == "closed"


@pytest.mark.parametrize(("option", "overflows"), [(False, False), (True, True)])
def test_update_to_closed_hours(option: bool, overflows: bool) -> None:
    desk = Desk()
    desk.queue("q")
    desk.do(ContactArrived("c1", "q", "voice"), 0)
    closed = Hours("UTC", {"tue": (("08:00", "09:00"),)})  # closed on Monday
    events = desk.do(
        UpdateQueue(
            QueueDef(
                id="q",
                channels=("voice",),
                hours=closed,
                on_closed=OverflowAction(OverflowKind.VOICEMAIL),
                overflow_waiting_on_close=option,
            )
        ),
        1,
    )
    assert ("contact_overflowed" in kinds(events)) is overflows
    assert (desk.engine.contact_ids() == []) is overflows


def test_closing_timer_survives_a_snapshot() -> None:
    desk = Desk()
    desk.queue(
        "q",
        hours=DAY,
        on_closed=OverflowAction(OverflowKind.VOICEMAIL),
        overflow_waiting_on_close=True,
    )
    desk.do(ContactArrived("c1", "q", "voice"), 0)
    snapshot = json.loads(json.dumps(desk.engine.snapshot()))
    assert snapshot["queues"][0]["close_at"] == at(CLOSES).isoformat()
    restored = Engine.restore(snapshot)
    assert restored.next_deadline() == at(CLOSES)
    late = [e.to_dict() for e in restored.advance(at(CLOSES + 60))]
    assert late == [e.to_dict() for e in desk.engine.advance(at(CLOSES + 60))]
    assert kinds(late) == ["contact_overflowed", "contact_ended"]
    # The next closing is a week later (Mondays only).
    assert restored.next_deadline() == at(CLOSES + 7 * 86400)


def test_option_needs_hours() -> None:
    with pytest.raises(InvalidDefinition) as error:
        Desk().queue("q", overflow_waiting_on_close=True)
    assert error.value.details["field"] == "queue.overflow_waiting_on_close"


def _utc(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


@pytest.mark.parametrize(
    ("hours", "after", "closes"),
    [
        (DAY, "2025-01-06T09:00:00+00:00", "2025-01-06T17:00:00+00:00"),
        (DAY, "2025-01-06T17:00:00+00:00", "2025-01-13T17:00:00+00:00"),  # closed: next week
        # Runs past midnight; Tuesday is a holiday, so it closes at midnight, not at 02:00.
        (
            Hours("Europe/Berlin", {"mon": (("20:00", "02:00"),)}, holidays=("2025-01-07",)),
            "2025-01-06T12:00:00+00:00",
            "2025-01-06T23:00:00+00:00",
        ),
        # Spring forward in Berlin (02:00 -> 03:00 on 30 March): "until 02:30" ends at 03:00.
        (
            Hours("Europe/Berlin", {"sun": (("00:00", "02:30"),)}),
            "2025-03-29T12:00:00+00:00",
            "2025-03-30T01:00:00+00:00",
        ),
        # Fall back (03:00 -> 02:00 on 26 October): 02:30 happens twice; the first time
        # (CEST) is the first closing, it reopens at 02:00 CET and closes again at 02:30 CET.
        (
            Hours("Europe/Berlin", {"sun": (("00:00", "02:30"),)}),
            "2025-10-25T12:00:00+00:00",
            "2025-10-26T00:30:00+00:00",
        ),
        (Hours("UTC", {}), "2025-01-06T00:00:00+00:00", None),  # never open
        (  # always open
            Hours(
                "UTC",
                {
                    d: (("00:00", "24:00"),)
                    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                },
            ),
            "2025-01-06T00:00:00+00:00",
            None,
        ),
    ],
)
def test_next_closing(hours: Hours, after: str, closes: str | None) -> None:
    found = next_closing(hours, _utc(after))
    assert found == (None if closes is None else _utc(closes))
    if found is not None:
        assert not is_open(hours, from_us(found)) and is_open(hours, from_us(found - 1))
