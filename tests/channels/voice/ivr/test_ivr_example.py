from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from omnidesk.channels.voice.ivr.actions import (
    Action,
    Enqueue,
    LeaveQueue,
    OfferCallback,
    Play,
    Say,
    StartTimer,
    StartVoicemail,
    StopVoicemail,
)
from omnidesk.channels.voice.ivr.flow import Flow, flow_warnings, load_flow
from omnidesk.channels.voice.ivr.interpreter import IvrSession
from omnidesk.channels.voice.ivr.locator import Branch, StoreLocator

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "examples" / "voice" / "ivr.yaml"
DOC = ROOT / "docs" / "voice-ivr.md"

OPEN = datetime(2026, 12, 1, 10, tzinfo=UTC)  # Tuesday 11:00 in Berlin
CLOSED = datetime(2026, 12, 25, 10, tzinfo=UTC)  # Christmas Day


def example() -> Flow:
    flow = load_flow(EXAMPLE.read_text())
    assert isinstance(flow, Flow), flow
    return flow


def test_example_is_valid_and_every_node_is_reachable() -> None:
    assert flow_warnings(example()) == []


def test_docs_hold_the_same_example() -> None:
    assert EXAMPLE.read_text().strip() in DOC.read_text()


def test_open_hours_queue_then_callback_key() -> None:
    session = IvrSession(example(), now=OPEN, caller="+4930123456")
    session.start()
    session.prompt_done()  # welcome
    session.prompt_done()  # menu prompt over
    session.digit("1")
    actions = session.prompt_done()  # "please hold" prompt over
    (enqueue,) = [a for a in actions if isinstance(a, Enqueue)]
    assert enqueue.queue == "support" and enqueue.attributes["reason"] == "sales"
    assert enqueue.callback_key == "*" and enqueue.moh == "hold-music"
    actions = session.digit("*")
    assert OfferCallback("+4930123456", "support", keep_place=True) in actions
    assert session.trail.visited == [
        "welcome",
        "main_menu",
        "sales",
        "check_hours",
        "wait_for_agent",
    ]


def test_closed_goes_to_voicemail_in_german() -> None:
    session = IvrSession(example(), now=CLOSED)
    session.start()
    session.prompt_done()
    actions = session.digit("9")
    play = next(a for a in actions if isinstance(a, Play))
    first = play.prompts[0]
    assert isinstance(first, Say) and first.language == "de"
    actions = session.prompt_done()  # closed message
    session.prompt_done()  # voicemail prompt
    assert session.trail.visited[-2:] == ["closed_message", "voicemail"]
    assert session.phase == "recording"
    actions = session.digit("#")
    assert StopVoicemail("voicemail", "finish_key") in actions


def test_a_sunday_call_is_told_the_hours_before_voicemail() -> None:
    sunday = datetime(2026, 12, 6, 12, tzinfo=UTC)  # 13:00 in Berlin
    session = IvrSession(example(), now=sunday)
    session.start()
    session.prompt_done()  # welcome
    actions = session.digit("1")  # during the menu prompt: sales, and the hours say closed
    (play,) = [a for a in actions if isinstance(a, Play)]
    said = " ".join(p.text for p in play.prompts if isinstance(p, Say))
    assert "closed right now" in said and "Saturday 10 to 2" in said
    session.prompt_done()  # closed message over
    assert session.trail.visited[-2:] == ["closed_message", "voicemail"]


def test_queue_timeout_goes_to_voicemail() -> None:
    session = IvrSession(example(), now=OPEN, caller=None)
    session.start()
    session.prompt_done()  # welcome
    session.digit("2")  # billing, pressed during the menu prompt
    actions = session.prompt_done()  # "please hold" over: queued
    timer = next(a for a in actions if isinstance(a, StartTimer))
    assert timer.seconds == 600
    actions = session.timer(timer.name)
    assert actions[0] == LeaveQueue("support", "timeout")
    actions = session.prompt_done()  # voicemail prompt over
    assert StartVoicemail("voicemail", 120, "#") in actions


def test_store_locator_branch() -> None:
    locator = StoreLocator(
        [Branch("Northwind Mitte", "Friedrichstraße 1", "10117", 52.517, 13.389)],
        {"10117": (52.517, 13.389)},
    )
    session = IvrSession(example(), now=OPEN, locator=locator)
    session.start()
    session.prompt_done()
    session.digit("3")
    actions: list[Action] = []
    for d in "10117":
        actions = session.digit(d)
    play = next(a for a in actions if isinstance(a, Play))
    assert play.prompts == (
        Say(
            "Your nearest store is Northwind Mitte, Friedrichstraße 1, about 0 kilometres away.",
            "en",
        ),
    )
