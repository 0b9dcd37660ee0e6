"""Consults: an agent asks a colleague (or a queue's best ready agent) while keeping the contact.

A real Engine and `Engine.verify()` after every command (through `Desk`), no mocks.
"""

from __future__ import annotations

import json

import pytest
from test_engine_flow import COMPILER, Desk, at, state, types

from omnidesk.core.routing import (
    AcceptOffer,
    AgentDisconnected,
    CancelContact,
    Consult,
    ContactArrived,
    EndConsult,
    EndContact,
    Engine,
    EngineSettings,
    RejectOffer,
    Requeue,
    RevokeOffers,
    RoutingError,
    SetAgentState,
    Step,
    Tick,
    Transfer,
)


def _call(desk: Desk, **queue: object) -> None:
    """c1 is an active voice call of a1 in queue q; a2 and a3 are ready to help."""
    queue.setdefault("wrap_up_seconds", None)
    desk.queue(**queue)
    desk.queue("experts", channels=("voice", "chat"), steps=(Step("de3", 20), Step(None)))
    desk.agent("a1")
    desk.do(ContactArrived("c1", "q", "voice"), t=1)
    desk.do(AcceptOffer("c1#1", "a1"), t=2)
    desk.agent("a2", queues={"experts": 0}, skills={"de": 1})
    desk.agent("a3", queues={"experts": 0}, skills={"de": 4})


def _refused(desk: Desk, command: object, code: str) -> None:
    before = state(desk.engine)
    with pytest.raises(RoutingError) as error:
        desk.do(command)  # type: ignore[arg-type]
    assert error.value.code == code
    assert state(desk.engine) == before


def test_consult_an_agent_then_release_them() -> None:
    desk = Desk()
    _call(desk)
    events = desk.do(Consult("c1", "k1", "agent", "a2"), t=10)
    assert types(events) == ["consult_started", "offer_created"]
    assert events[0]["agent_id"] == "a1" and events[0]["target"] == "a2"
    assert events[1]["contact_id"] == "k1" and events[1]["agent_id"] == "a2"
    assert desk.engine.contact("c1").consult_id == "k1"
    assert desk.engine.contact("k1").consult_of == "c1"

    events = desk.do(AcceptOffer("k1#1", "a2"), t=12)
    assert types(events) == ["offer_accepted", "agent_state_changed"]
    assert desk.engine.agent("a2").state == "busy"
    assert desk.engine.agent("a2").load == {"voice": 1}  # a consult on a call uses voice

    events = desk.do(EndConsult("k1"), t=40)
    assert types(events) == ["consult_ended", "agent_state_changed"]
    assert events[0]["outcome"] == "ended" and events[0]["consultant_id"] == "a2"
    assert desk.engine.agent("a2").state == "available"
    assert desk.engine.contact("c1").agent_id == "a1"  # the requester kept the contact
    assert desk.engine.contact("c1").consult_id is None
    assert "k1" not in desk.engine.contact_ids()
    # a consult leg has no contact_received / contact_ended: contact counts stay true
    assert not any(e.type == "routing.contact_received" and e.contact_id == "k1" for e in desk.log)  # type: ignore[attr-defined]


def test_warm_transfer_hands_the_contact_to_the_consultant() -> None:
    desk = Desk()
    _call(desk)
    desk.do(Consult("c1", "k1", "agent", "a2"), t=10)
    desk.do(AcceptOffer("k1#1", "a2"), t=11)
    events = desk.do(EndConsult("k1", transfer=True), t=30)
    kinds = types(events)
    assert kinds[:2] == ["contact_transferred", "consult_ended"]
    assert "wrap_up_started" in kinds  # the requester wraps up
    assert events[1]["outcome"] == "transferred"
    contact = desk.engine.contact("c1")
    assert contact.agent_id == "a2" and contact.state == "active"
    assert desk.engine.agent("a2").contacts == {"c1": "active"}
    assert desk.engine.agent("a1").contacts == {"c1": "wrap_up"}
    # the consultant now ends the contact like any of its own
    events = desk.do(EndContact("c1"), t=90)
    assert types(events)[:2] == ["contact_ended", "wrap_up_started"]
    assert events[0]["agent_id"] == "a2"


def test_consult_a_queue_takes_the_best_matching_ready_agent() -> None:
    desk = Desk()
    _call(desk)
    events = desk.do(Consult("c1", "k1", "queue", "experts"), t=10)
    assert events[1]["agent_id"] == "a3"  # step 0 ("de3") first: only a3 has German >= 3
    desk.do(RejectOffer("k1#1", "a3"), t=11)
    # The rejected consult ends; nothing waits in line.
    events = desk.do(Consult("c1", "k2", "queue", "experts"), t=12)
    assert events[1]["agent_id"] == "a3"
    desk.do(SetAgentState("a3", "away", "break"), t=13)  # revokes the leg offer: it ends
    events = desk.do(Consult("c1", "k3", "queue", "experts"), t=14)
    assert events[1]["agent_id"] == "a2"  # the wider step


def test_consult_refused_when_nobody_is_ready_and_state_is_unchanged() -> None:
    desk = Desk()
    _call(desk)
    desk.do(SetAgentState("a2", "away", "break"), t=5)
    desk.do(SetAgentState("a3", "offline"), t=5)
    _refused(desk, Consult("c1", "k1", "queue", "experts"), "consult_unavailable")
    _refused(desk, Consult("c1", "k1", "agent", "a2"), "consult_unavailable")


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (Consult("c1", "k1", "agent", "a1"), "consult_self"),
        (Consult("c1", "k1", "agent", "ghost"), "unknown_agent"),
        (Consult("c1", "k1", "queue", "ghost"), "unknown_queue"),
        (Consult("ghost", "k1", "agent", "a2"), "unknown_contact"),
        (Consult("c1", "c1", "agent", "a2"), "duplicate_id"),
        (Consult("c1", "bad id", "agent", "a2"), "invalid_definition"),
        (Consult("c1", "k1", "team", "a2"), "invalid_definition"),  # type: ignore[arg-type]
        (EndConsult("ghost"), "unknown_contact"),
        (EndConsult("c1"), "unknown_contact"),  # a contact, not a consult
    ],
)
def test_bad_consult_commands_change_nothing(command: object, code: str) -> None:
    desk = Desk()
    _call(desk)
    _refused(desk, command, code)


def test_only_an_active_contact_can_be_consulted_on() -> None:
    desk = Desk()
    _call(desk)
    desk.do(ContactArrived("c2", "q", "chat"), t=3)  # offered to a1 (a chat fits beside a call)
    assert desk.engine.contact("c2").state == "offered"
    _refused(desk, Consult("c2", "k1", "agent", "a2"), "contact_not_active")


def test_one_open_consult_per_contact_and_the_leg_is_not_a_contact() -> None:
    desk = Desk()
    _call(desk)
    desk.do(Consult("c1", "k1", "agent", "a2"), t=10)
    _refused(desk, Consult("c1", "k2", "agent", "a3"), "consult_open")
    # transfer / requeue of the contact wait for the consult to end
    _refused(desk, Transfer("c1", "queue", "experts"), "consult_open")
    _refused(desk, Requeue("c1"), "consult_open")
    # a leg is ended with EndConsult, not with customer-contact commands
    _refused(desk, CancelContact("k1"), "consult_leg")
    desk.do(AcceptOffer("k1#1", "a2"), t=11)
    _refused(desk, EndContact("k1"), "consult_leg")
    _refused(desk, Transfer("k1", "queue", "experts"), "consult_leg")
    _refused(desk, Consult("k1", "k9", "agent", "a3"), "consult_leg")


def test_warm_transfer_needs_an_accepted_consult() -> None:
    desk = Desk()
    _call(desk)
    desk.do(Consult("c1", "k1", "agent", "a2"), t=10)
    _refused(desk, EndConsult("k1", transfer=True), "consult_not_accepted")
    events = desk.do(EndConsult("k1"), t=11)  # withdrawn while still offered
    assert types(events)[:2] == ["offer_revoked", "consult_ended"]
    assert desk.engine.agent("a2").load == {}


def test_consult_offer_times_out_and_ends_without_missed_state() -> None:
    desk = Desk(EngineSettings(missed_state="away"))
    _call(desk, offer_timeout_seconds=15)
    desk.do(Consult("c1", "k1", "agent", "a2"), t=10)
    events = desk.do(Tick(), t=30)
    assert types(events)[:2] == ["offer_timed_out", "consult_ended"]
    assert events[1]["outcome"] == "timed_out"
    assert desk.engine.agent("a2").state == "available"  # no "missed" away for a consult


def test_ending_the_contact_ends_its_consult() -> None:
    desk = Desk()
    _call(desk)
    desk.do(Consult("c1", "k1", "agent", "a2"), t=10)
    desk.do(AcceptOffer("k1#1", "a2"), t=11)
    events = desk.do(EndContact("c1"), t=20)
    assert types(events)[0] == "consult_ended" and events[0]["outcome"] == "contact_ended"
    assert desk.engine.agent("a2").state == "available"
    assert desk.engine.contact_ids() == []


def test_disconnects_end_the_consult_on_either_side() -> None:
    desk = Desk()
    _call(desk)
    desk.do(Consult("c1", "k1", "agent", "a2"), t=10)
    desk.do(AcceptOffer("k1#1", "a2"), t=11)
    events = desk.do(AgentDisconnected("a2"), t=12)  # the consultant is gone
    ended = next(e for e in events if e["type"] == "routing.consult_ended")
    assert ended["outcome"] == "revoked"
    assert desk.engine.contact("c1").state == "active"

    desk.do(Consult("c1", "k2", "agent", "a3"), t=13)
    desk.do(AcceptOffer("k2#1", "a3"), t=14)
    events = desk.do(AgentDisconnected("a1"), t=15)  # the requester is gone: c1 is requeued
    ended = next(e for e in events if e["type"] == "routing.consult_ended")
    assert ended["outcome"] == "contact_requeued"
    assert "k2" not in desk.engine.contact_ids()


def test_consults_survive_a_snapshot_and_a_restart_revokes_pending_legs() -> None:
    desk = Desk()
    _call(desk)
    desk.do(Consult("c1", "k1", "agent", "a2"), t=10)
    snapshot = json.loads(json.dumps(desk.engine.snapshot()))
    restored = Engine.restore(snapshot, compiler=COMPILER)
    restored.verify()
    assert restored.snapshot() == desk.engine.snapshot()
    assert restored.contact("k1").consult_of == "c1"
    events = [e.to_dict() for e in restored.handle(RevokeOffers(), at(20))]
    restored.verify()
    ended = next(e for e in events if e["type"] == "routing.consult_ended")
    assert ended["outcome"] == "revoked"
    assert restored.contact("c1").consult_id is None
    assert restored.agent("a2").state == "available"
