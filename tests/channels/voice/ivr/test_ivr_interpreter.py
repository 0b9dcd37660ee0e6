from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.channels.voice.ivr.actions import (
    Action,
    CancelTimer,
    Enqueue,
    Hangup,
    LeaveQueue,
    OfferCallback,
    Play,
    Say,
    SetAttributes,
    StartTimer,
    StartVoicemail,
    StopPlayback,
    StopVoicemail,
    TransferOut,
    Warn,
    Wav,
)
from omnidesk.channels.voice.ivr.flow import Flow, validate_flow
from omnidesk.channels.voice.ivr.interpreter import IvrSession
from omnidesk.channels.voice.ivr.locator import Branch, StoreLocator

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def make_flow(nodes: dict[str, Any], start: str = "main", **extra: Any) -> Flow:
    result = validate_flow({"id": "t", "start": start, "nodes": nodes, **extra})
    assert isinstance(result, Flow), result
    return result


def of(actions: list[Action], kind: type[Any]) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def timer_name(actions: list[Action]) -> str:
    (start,) = of(actions, StartTimer)
    return str(start.name)


def texts(actions: list[Action]) -> list[str]:
    return [p.text for play in of(actions, Play) for p in play.prompts if isinstance(p, Say)]


MENU = {
    "main": {
        "type": "menu",
        "prompt": "Press 1 for sales, 2 for billing.",
        "options": {1: "sales", 2: "billing"},
        "timeout_s": 4,
        "retries": 2,
        "invalid_prompt": "Invalid.",
        "no_input_prompt": "No input.",
        "on_failure": "bye",
    },
    "sales": {"type": "hangup", "prompt": "Sales."},
    "billing": {"type": "hangup", "prompt": "Billing."},
    "bye": {"type": "hangup", "prompt": "Goodbye."},
}


def test_menu_barge_in_stops_the_prompt_and_follows_the_option() -> None:
    session = IvrSession(make_flow(MENU), now=T0)
    first = session.start()
    assert first == [Play((Say("Press 1 for sales, 2 for billing.", "en"),), barge_in=True)]
    # Pressed while the prompt still plays: no timer was started yet.
    actions = session.digit("2", now=T0 + timedelta(seconds=1))
    assert actions[0] == StopPlayback()
    assert texts(actions) == ["Billing."]
    assert session.prompt_done() == [Hangup("flow_end")]
    assert session.trail.visited == ["main", "billing"]
    assert session.trail.digits == [("main", "2")]
    assert session.outcome == "flow_end" and session.ended


def test_menu_retries_then_failure_branch() -> None:
    session = IvrSession(make_flow(MENU), now=T0)
    session.start()
    timer = timer_name(session.prompt_done())  # the no-input timer starts after the prompt
    actions = session.timer(timer)
    assert texts(actions) == ["No input.", "Press 1 for sales, 2 for billing."]
    session.prompt_done()
    actions = session.digit("9")  # not an option
    assert texts(actions) == ["Invalid.", "Press 1 for sales, 2 for billing."]
    session.prompt_done()
    actions = session.digit("7")  # third failure with retries=2
    assert texts(actions) == ["Goodbye."]
    assert session.trail.visited == ["main", "bye"]


def test_menu_digit_after_prompt_cancels_the_timer() -> None:
    session = IvrSession(make_flow(MENU), now=T0)
    session.start()
    timer = timer_name(session.prompt_done())
    actions = session.digit("1")
    assert actions[0] == CancelTimer(timer)
    assert StopPlayback() not in actions
    # The cancelled timer fires anyway (a race in the call layer): nothing happens.
    assert session.timer(timer) == []


def test_retries_zero_fails_on_first_miss_and_missing_on_failure_hangs_up() -> None:
    nodes = {"main": {"type": "menu", "options": {1: "x"}, "retries": 0}, "x": {"type": "hangup"}}
    session = IvrSession(make_flow(nodes), now=T0)
    actions = session.start()  # no prompt: the timer starts at once
    assert session.timer(timer_name(actions)) == [Hangup("failure")]


COLLECT = {
    "main": {
        "type": "collect",
        "prompt": "Your account number, then hash.",
        "min_digits": 4,
        "max_digits": 6,
        "inter_digit_timeout_s": 2,
        "store_as": "account",
        "pattern": r"[1-9]\d*",
        "invalid_prompt": "That is not an account number.",
        "next": "done",
        "on_failure": "fail",
    },
    "done": {"type": "hangup", "prompt": "Account {account}."},
    "fail": {"type": "hangup"},
}


def feed(session: IvrSession, digits: str) -> list[Action]:
    out: list[Action] = []
    for d in digits:
        out = session.digit(d)
    return out


def test_collect_with_terminator_stores_the_digits() -> None:
    session = IvrSession(make_flow(COLLECT), now=T0)
    session.start()
    session.digit("1")  # barge-in
    actions = feed(session, "234#")
    assert SetAttributes({"account": "1234"}) in actions
    assert texts(actions) == ["Account 1234."]
    assert session.attributes["account"] == "1234"
    assert session.trail.digits == [("main", "1234")]


def test_collect_finishes_at_max_digits_without_terminator() -> None:
    session = IvrSession(make_flow(COLLECT), now=T0)
    session.start()
    actions = feed(session, "123456")
    assert SetAttributes({"account": "123456"}) in actions


def test_collect_inter_digit_timeout_ends_the_entry() -> None:
    session = IvrSession(make_flow(COLLECT), now=T0)
    session.start()
    session.prompt_done()
    feed(session, "12")
    actions = session.digit("3")
    (timer,) = of(actions, StartTimer)
    assert timer.seconds == 2
    actions = session.timer(timer.name)  # three digits: below min_digits
    assert texts(actions)[0] == "That is not an account number."
    session.prompt_done()
    actions = feed(session, "4321")
    actions = session.timer(timer_name(actions))
    assert SetAttributes({"account": "4321"}) in actions


def test_collect_pattern_mismatch_retries_then_fails() -> None:
    session = IvrSession(make_flow(COLLECT), now=T0)
    session.start()
    for _ in range(2):
        actions = feed(session, "0123#")  # leading zero: the pattern refuses it
        assert texts(actions)[0] == "That is not an account number."
    actions = feed(session, "0999#")
    assert actions[-1] == Hangup("flow_end")
    assert session.trail.visited == ["main", "fail"]
    assert "account" not in session.attributes


def test_set_then_queue_carries_attributes_and_language() -> None:
    nodes = {
        "main": {"type": "set", "attributes": {"language": "de", "reason": "billing"}, "next": "q"},
        "q": {
            "type": "queue",
            "queue": "billing",
            "priority": 3,
            "prompt": "Bitte warten.",
            "announce_every_s": 45,
            "moh": "jazz",
            "callback_key": "*",
            "max_wait_s": 300,
            "on_timeout": "vm",
        },
        "vm": {"type": "voicemail", "queue": "voicemail", "max_seconds": 60},
    }
    session = IvrSession(make_flow(nodes), now=T0, attributes={"did": "+4930111"}, caller="+4930")
    actions = session.start()
    assert actions[0] == SetAttributes({"language": "de", "reason": "billing"})
    # Barge-in: the callback key may be pressed during the prompt.
    assert actions[1] == Play((Say("Bitte warten.", "de"),), barge_in=True)
    actions = session.prompt_done()
    assert actions[0] == Enqueue(
        queue="billing",
        priority=3,
        attributes={"did": "+4930111", "language": "de", "reason": "billing"},
        announce_every_s=45,
        moh="jazz",
        callback_key="*",
        max_wait_s=300,
        language="de",
    )
    assert session.digit("5") == []  # other digits while waiting do nothing
    actions = session.timer(timer_name(actions), now=T0 + timedelta(seconds=300))
    assert actions[0] == LeaveQueue("billing", "timeout")
    assert of(actions, StartVoicemail) == [StartVoicemail("voicemail", 60, "#")]


def queue_flow(**queue: Any) -> Flow:
    node = {"type": "queue", "queue": "support", "callback_key": "*", **queue}
    return make_flow({"main": node})


def test_queue_callback_key_keeps_the_place() -> None:
    flow = queue_flow(callback_prompt="We will call you back.", max_wait_s=600, on_timeout="main")
    session = IvrSession(flow, now=T0, caller="+15551234567")
    timer = timer_name(session.start())
    actions = session.digit("*")
    assert actions[:2] == [
        CancelTimer(timer),
        OfferCallback("+15551234567", "support", keep_place=True),
    ]
    assert texts(actions) == ["We will call you back."]
    assert session.prompt_done() == [Hangup("callback")]


def test_queue_without_caller_id_offers_no_callback_key() -> None:
    session = IvrSession(queue_flow(), now=T0, caller=None)
    (enqueue,) = session.start()
    assert isinstance(enqueue, Enqueue) and enqueue.callback_key is None
    assert session.digit("*") == []


def test_queue_answered_and_hangup() -> None:
    session = IvrSession(queue_flow(), now=T0)
    session.start()
    assert session.answered() == []
    assert session.outcome == "answered" and session.digit("*") == []
    session = IvrSession(queue_flow(), now=T0)
    session.start()
    assert session.hangup() == [LeaveQueue("support", "hangup")]
    assert session.outcome == "caller_hangup"


VOICEMAIL = {
    "main": {
        "type": "voicemail",
        "prompt": {"wav": "beep"},
        "queue": "vm",
        "max_seconds": 90,
        "next": "thanks",
    },
    "thanks": {"type": "hangup", "prompt": "Thanks."},
}


def test_voicemail_finish_key_and_max_seconds_and_hangup() -> None:
    session = IvrSession(make_flow(VOICEMAIL), now=T0)
    assert session.start() == [Play((Wav("beep"),), barge_in=False)]
    assert session.digit("#") == []  # during the prompt: not recording yet
    actions = session.prompt_done()
    assert actions[0] == StartVoicemail("vm", 90, "#")
    timer = timer_name(actions)
    actions = session.digit("#")
    assert actions[:2] == [CancelTimer(timer), StopVoicemail("vm", "finish_key")]
    assert texts(actions) == ["Thanks."]

    session = IvrSession(make_flow(VOICEMAIL), now=T0)
    session.start()
    actions = session.timer(timer_name(session.prompt_done()))
    assert actions[0] == StopVoicemail("vm", "max_seconds")

    session = IvrSession(make_flow(VOICEMAIL), now=T0)
    session.start()
    session.prompt_done()
    actions = session.hangup()
    assert StopVoicemail("vm", "hangup") in actions
    assert not of(actions, Hangup) and session.outcome == "caller_hangup"


CALLBACK = {
    "main": {
        "type": "callback",
        "prompt": "1 for this number, 2 for another.",
        "number_prompt": "Key your number.",
        "confirm_prompt": "We will call {callback_number}.",
        "region": "DE",
        "queue": "callbacks",
    }
}


def test_callback_to_the_caller_id() -> None:
    session = IvrSession(make_flow(CALLBACK), now=T0, caller="030 12345678")
    session.start()
    actions = session.digit("1")
    assert OfferCallback("+493012345678", "callbacks") in actions
    assert texts(actions) == ["We will call +493012345678."]
    assert session.prompt_done() == [Hangup("callback")]


def test_callback_to_a_keyed_number_with_a_retry() -> None:
    session = IvrSession(make_flow(CALLBACK), now=T0, caller="+493012345678")
    session.start()
    assert texts(session.digit("2")) == ["Key your number."]
    actions = feed(session, "0000#")  # not a valid German number: asked again
    assert texts(actions) == ["Key your number."]
    actions = feed(session, "08912345678#")
    assert OfferCallback("+498912345678", "callbacks") in actions


def test_callback_without_caller_id_goes_straight_to_keying() -> None:
    session = IvrSession(make_flow(CALLBACK), now=T0, caller=None)
    assert texts(session.start()) == ["Key your number."]


def test_transfer_out() -> None:
    nodes = {"main": {"type": "transfer", "number": "+44 20 7946 0958", "prompt": "Connecting."}}
    session = IvrSession(make_flow(nodes), now=T0)
    session.start()
    assert session.prompt_done() == [TransferOut("+442079460958")]
    assert session.outcome == "transferred"


LOCATOR = StoreLocator(
    [
        Branch("Mitte", "Friedrichstr. 1", "10117", 52.517, 13.389),
        Branch("Spandau", "Carl-Schurz-Str. 5", "13597", 52.536, 13.203),
    ],
    {"10117": (52.517, 13.389), "10115": (52.532, 13.385), "13597": (52.536, 13.203)},
)

LOCATE: dict[str, Any] = {
    "main": {"type": "locate_store", "min_digits": 5, "max_digits": 5, "found": "yes"},
    "yes": {"type": "hangup", "prompt": "Nearest: {branch_name}, {branch_distance_km} km."},
}


def locate_flow() -> Flow:
    main = {**LOCATE["main"], "not_found": "no"}
    return make_flow(
        {**LOCATE, "main": main, "no": {"type": "hangup", "prompt": "None near {postcode}."}}
    )


def test_locate_store_found_sets_branch_attributes() -> None:
    session = IvrSession(locate_flow(), now=T0, locator=LOCATOR)
    session.start()
    actions = feed(session, "10115")
    (attrs,) = of(actions, SetAttributes)
    assert attrs.attributes["branch_name"] == "Mitte"
    assert attrs.attributes["branch_address"] == "Friedrichstr. 1"
    assert attrs.attributes["branch_distance_km"] == pytest.approx(1.7, abs=0.1)
    assert texts(actions) == ["Nearest: Mitte, 1.7 km."]


def test_locate_store_not_found_and_no_locator() -> None:
    session = IvrSession(locate_flow(), now=T0, locator=LOCATOR)
    session.start()
    assert texts(feed(session, "99999")) == ["None near 99999."]
    session = IvrSession(locate_flow(), now=T0, locator=None)
    session.start()
    actions = feed(session, "10115")
    assert of(actions, Warn) and texts(actions) == ["None near 10115."]


def test_unknown_placeholder_skips_that_part_and_warns() -> None:
    nodes = {"main": {"type": "hangup", "prompt": ["Hello {name}.", "Goodbye."]}}
    session = IvrSession(make_flow(nodes), now=T0, attributes={})
    actions = session.start()
    (warn,) = of(actions, Warn)
    assert "name" in warn.message and warn.node == "main"
    assert texts(actions) == ["Goodbye."]
    session = IvrSession(make_flow(nodes), now=T0, attributes={"name": "Ada"})
    assert texts(session.start()) == ["Hello Ada.", "Goodbye."]


def test_a_cycle_without_input_is_cut_off() -> None:
    nodes = {
        "main": {"type": "set", "attributes": {"a": 1}, "next": "other"},
        "other": {"type": "set", "attributes": {"b": 2}, "next": "main"},
    }
    session = IvrSession(make_flow(nodes), now=T0)
    actions = session.start()
    assert actions[-1] == Hangup("loop") and of(actions, Warn)


def test_inputs_after_the_end_and_non_dtmf_are_ignored() -> None:
    session = IvrSession(make_flow(MENU), now=T0)
    session.start()
    assert session.digit("A") == [] and session.digit("12") == []
    session.hangup()
    assert session.digit("1") == [] and session.prompt_done() == [] and session.hangup() == []


def test_time_must_be_aware_and_never_goes_back() -> None:
    with pytest.raises(ValueError):
        IvrSession(make_flow(MENU), now=datetime(2026, 1, 1))
    session = IvrSession(make_flow(MENU), now=T0)
    session.start(now=T0 + timedelta(seconds=5))
    session.digit("1", now=T0)
    assert session.now == T0 + timedelta(seconds=5)
    assert session.trail.entries[-1].at == T0 + timedelta(seconds=5)


def test_a_superseded_timer_does_not_end_the_entry() -> None:
    session = IvrSession(make_flow(COLLECT), now=T0)
    session.start()
    session.prompt_done()
    first = timer_name(session.digit("1"))
    actions = session.digit("2")
    assert CancelTimer(first) in actions
    assert session.timer(first) == []  # fired late: ignored, the caller is still keying
    actions = feed(session, "345#")
    assert SetAttributes({"account": "12345"}) in actions


def test_callback_key_during_the_queue_prompt_skips_the_queue() -> None:
    flow = queue_flow(prompt="Please hold or press star.", callback_prompt="Noted.")
    session = IvrSession(flow, now=T0, caller="+15551234567")
    (play,) = session.start()
    assert isinstance(play, Play) and play.barge_in
    actions = session.digit("*")
    assert actions[:2] == [StopPlayback(), OfferCallback("+15551234567", "support")]
    assert texts(actions) == ["Noted."]
    assert session.prompt_done() == [Hangup("callback")]
    # Without a caller id the key means nothing and the prompt is not interruptible.
    session = IvrSession(flow, now=T0, caller=None)
    (play,) = session.start()
    assert isinstance(play, Play) and not play.barge_in
    assert session.digit("*") == []
    assert isinstance(session.prompt_done()[0], Enqueue)


def test_routing_overflow_ends_the_flow_unless_its_queue_node_times_out_itself() -> None:
    """ADR 0026: routing's overflow is the queue's to carry out (the flow ends, no action),
    except a max wait for a node with its own max_wait_s + on_timeout: the flow goes on."""
    plain = IvrSession(queue_flow(), now=T0)
    plain.start()
    assert plain.overflowed("max_wait") == []
    assert plain.ended and plain.outcome == "overflow"
    assert plain.overflowed("max_wait") == []  # once only

    nodes = {
        "main": {"type": "queue", "queue": "support", "max_wait_s": 600, "on_timeout": "bye"},
        "bye": {"type": "hangup", "prompt": "Sorry."},
    }
    own = IvrSession(make_flow(nodes), now=T0)
    timer = timer_name(own.start())
    closed = IvrSession(make_flow(nodes), now=T0)
    closed_timer = timer_name(closed.start())
    assert closed.overflowed("closed") == [CancelTimer(closed_timer)]
    assert closed.outcome == "overflow"
    actions = own.overflowed("max_wait")
    assert actions[:2] == [CancelTimer(timer), LeaveQueue("support", "timeout")]
    assert texts(actions) == ["Sorry."] and not own.ended
    assert own.timer(timer) == []  # its own timer, cancelled, no longer counts
