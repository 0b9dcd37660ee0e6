"""Runs one call through a flow: inputs in, actions out; pure and deterministic.

    session = IvrSession(flow, now=t0, attributes={}, caller="+4930...", locator=locator)
    actions = session.start(now=t0)
    actions = session.prompt_done(now=t1)      # the Play finished
    actions = session.digit("1", now=t2)       # RFC 4733 / SIP INFO
    actions = session.timer(name, now=t3)      # a StartTimer the session asked for fired
    actions = session.answered(now=t4)         # an agent took the queued call
    actions = session.hangup(now=t5)           # the caller is gone

Time comes only from the `now` given with each input (the last one when omitted), so the same
code runs on a real call and in a simulation. At most one timer is armed at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from omnidesk.channels.voice.ivr import hours
from omnidesk.channels.voice.ivr.actions import (
    Action,
    CancelTimer,
    Enqueue,
    Hangup,
    LeaveQueue,
    OfferCallback,
    Play,
    Prompt,
    Say,
    SetAttributes,
    StartTimer,
    StartVoicemail,
    StopPlayback,
    StopVoicemail,
    Trail,
    TrailEntry,
    TrailKind,
    TransferOut,
    Warn,
    Wav,
)
from omnidesk.channels.voice.ivr.flow import (
    DTMF_DIGITS,
    CallbackNode,
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    LocateStoreNode,
    MenuNode,
    PlayNode,
    PromptItem,
    QueueNode,
    SetNode,
    TransferNode,
    VoicemailNode,
    normalize_e164,
    placeholders,
)
from omnidesk.channels.voice.ivr.languages import is_known_language
from omnidesk.channels.voice.ivr.locator import StoreLocator

# Nodes that pass control on at once (set, hours) could form a cycle; cut it off.
MAX_HOPS_PER_INPUT = 64

Phase = Literal["idle", "gather", "playing", "queued", "recording", "ended"]


@dataclass(frozen=True, slots=True)
class _Gather:
    """How one round of input is taken: a single choice digit, or a digit string."""

    mode: Literal["choice", "digits"]
    prompt: tuple[PromptItem, ...]
    invalid_prompt: tuple[PromptItem, ...]
    no_input_prompt: tuple[PromptItem, ...]
    retries: int
    first_timeout_s: float
    inter_timeout_s: float
    min_digits: int = 1
    max_digits: int = 1
    terminator: str | None = None


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{round(value, 1):g}"
    return str(value)


class IvrSession:
    def __init__(
        self,
        flow: Flow,
        *,
        now: datetime,
        attributes: Mapping[str, Any] | None = None,
        caller: str | None = None,
        locator: StoreLocator | None = None,
    ) -> None:
        self.flow = flow
        self.now = self._aware(now)
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.caller = caller
        self.locator = locator
        self.trail = Trail()
        self.node_id: str | None = None
        self.phase: Phase = "idle"
        self.outcome: str | None = None
        self._out: list[Action] = []
        self._timer: str | None = None
        self._timer_seq = 0
        self._gather: _Gather | None = None
        self._gather_key = ""  # which gather of a node (callback: "choose" or "number")
        self._attempts = 0
        self._buffer = ""
        self._playing = False
        self._continuation: Callable[[], None] | None = None
        self._hops = 0

    # --- inputs ------------------------------------------------------------------------------

    def start(self, *, now: datetime | None = None) -> list[Action]:
        if self.phase != "idle":
            return []
        return self._run(now, lambda: self._enter(self.flow.start))

    def digit(self, digit: str, *, now: datetime | None = None) -> list[Action]:
        # RFC 4733 also carries A-D and flash; no flow uses them.
        if self.phase == "ended" or len(digit) != 1 or digit not in DTMF_DIGITS:
            return []
        return self._run(now, lambda: self._on_digit(digit))

    def prompt_done(self, *, now: datetime | None = None) -> list[Action]:
        return self._run(now, self._on_prompt_done)

    def timer(self, name: str, *, now: datetime | None = None) -> list[Action]:
        if name != self._timer or self.phase == "ended":
            return []  # cancelled or superseded: it lost a race with an input
        self._timer = None
        return self._run(now, self._on_timer)

    def answered(self, *, now: datetime | None = None) -> list[Action]:
        if self.phase != "queued":
            return []
        return self._run(now, lambda: self._end("answered", hangup=False))

    def overflowed(self, reason: str, *, now: datetime | None = None) -> list[Action]:
        """Routing took the queued call out of its queue (closed, full, its max wait, a last
        workflow step). A queue node with its own `max_wait_s` + `on_timeout` keeps precedence
        at a max wait: the flow goes on at `on_timeout` (as if its own timer had fired).
        Otherwise the flow ends here (outcome "overflow", no action): the call layer carries
        out the queue's overflow action."""
        if self.phase != "queued":
            return []
        return self._run(now, lambda: self._on_overflow(reason))

    def hangup(self, *, now: datetime | None = None) -> list[Action]:
        if self.phase == "ended":
            return []
        return self._run(now, self._on_hangup)

    @property
    def ended(self) -> bool:
        return self.phase == "ended"

    # --- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _aware(now: datetime) -> datetime:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        return now

    def _run(self, now: datetime | None, step: Callable[[], None]) -> list[Action]:
        if now is not None:
            # Time never goes backwards, as in the routing engine.
            self.now = max(self.now, self._aware(now))
        self._out = []
        self._hops = 0
        step()
        return self._out

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _note(self, kind: TrailKind, detail: str = "") -> None:
        self.trail.entries.append(TrailEntry(self.now, kind, self.node_id or "", detail))

    def _warn(self, message: str) -> None:
        self._note("warning", message)
        self._emit(Warn(message, self.node_id or ""))

    def _start_timer(self, kind: str, seconds: float) -> None:
        self._cancel_timer()
        self._timer_seq += 1
        self._timer = f"{self.node_id}.{kind}.{self._timer_seq}"
        self._emit(StartTimer(self._timer, seconds))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._emit(CancelTimer(self._timer))
            self._timer = None

    def _end(self, reason: str, *, hangup: bool = True) -> None:
        self._cancel_timer()
        if hangup:
            self._emit(Hangup(reason))
        self.phase = "ended"
        self.outcome = reason
        self._note("end", reason)

    def _goto(self, target: str | None, *, otherwise: str = "flow_end") -> None:
        if target is None:
            self._end(otherwise)
        else:
            self._enter(target)

    def _language(self) -> str:
        chosen = self.attributes.get("language")
        if isinstance(chosen, str) and is_known_language(chosen):
            return chosen
        return self.flow.language

    def render(self, items: tuple[PromptItem, ...]) -> tuple[Prompt, ...]:
        """The prompts with placeholders filled from the call's attributes. A part naming an
        unknown attribute is left out (and reported), never spoken half-filled."""
        rendered: list[Prompt] = []
        for item in items:
            if item.wav is not None:
                rendered.append(Wav(item.wav))
                continue
            text = item.say or ""
            missing = [n for n in placeholders(text) if n not in self.attributes]
            if missing:
                self._warn(f"prompt {text!r} names unknown attribute(s) {', '.join(missing)}")
                continue
            filled = re.sub(
                r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}",
                lambda m: (
                    _format_value(self.attributes[m.group(1)]) if m.group(1) else m.group(0)[0]
                ),
                text,
            )
            rendered.append(Say(filled, item.language or self._language()))
        return tuple(rendered)

    def _play_then(
        self, items: tuple[PromptItem, ...], then: Callable[[], None], *, barge_in: bool = False
    ) -> None:
        prompts = self.render(items)
        if not prompts:
            then()
            return
        self._emit(Play(prompts, barge_in=barge_in))
        self.phase = "playing"
        self._continuation = then

    # --- nodes -------------------------------------------------------------------------------

    def _enter(self, node_id: str) -> None:
        self._hops += 1
        if self._hops > MAX_HOPS_PER_INPUT:
            self._warn(f"more than {MAX_HOPS_PER_INPUT} nodes without waiting for the caller")
            self._end("loop")
            return
        self._cancel_timer()
        self.node_id = node_id
        self._attempts = 0
        self._note("visit")
        node = self.flow.nodes[node_id]
        if isinstance(node, MenuNode):
            self._begin_gather("choose", self._menu_gather(node))
        elif isinstance(node, CollectNode | LocateStoreNode):
            self._begin_gather("digits", self._digits_gather(node))
        elif isinstance(node, PlayNode):
            self._play_then(node.prompt, lambda: self._enter(node.next))
        elif isinstance(node, HoursNode):
            zone = node.timezone or self.flow.timezone
            is_open = hours.is_open(node.schedule, zone, self.now)
            self._note("branch", "open" if is_open else "closed")
            self._enter(node.open if is_open else node.closed)
        elif isinstance(node, SetNode):
            self.attributes.update(node.attributes)
            self._emit(SetAttributes(dict(node.attributes)))
            self._enter(node.next)
        elif isinstance(node, QueueNode):
            # "Press star to be called back" may be pressed while it is being said.
            barge_in = node.callback_key is not None and bool(self.caller)
            self._play_then(node.prompt, lambda: self._enqueue(node), barge_in=barge_in)
        elif isinstance(node, VoicemailNode):
            self._play_then(node.prompt, lambda: self._record(node))
        elif isinstance(node, CallbackNode):
            if self._caller_number(node) is None:
                self._begin_gather("number", self._number_gather(node))
            else:
                self._begin_gather("choose", self._callback_gather(node))
        elif isinstance(node, TransferNode):
            self._play_then(node.prompt, lambda: self._transfer(node))
        elif isinstance(node, HangupNode):
            self._play_then(node.prompt, lambda: self._end("flow_end"))

    def _enqueue(self, node: QueueNode) -> None:
        self.phase = "queued"
        self._emit(
            Enqueue(
                queue=node.queue,
                priority=node.priority,
                attributes=dict(self.attributes),
                announce_every_s=node.announce_every_s,
                moh=node.moh,
                callback_key=node.callback_key if self.caller else None,
                max_wait_s=node.max_wait_s,
                language=self._language(),
            )
        )
        if node.max_wait_s is not None:
            self._start_timer("max_wait", node.max_wait_s)

    def _record(self, node: VoicemailNode) -> None:
        self.phase = "recording"
        self._emit(StartVoicemail(node.queue, node.max_seconds, node.finish_key))
        self._start_timer("max_seconds", node.max_seconds)

    def _stop_recording(self, node: VoicemailNode, reason: Any) -> None:
        self._cancel_timer()
        self._emit(StopVoicemail(node.queue, reason))
        if reason == "hangup":
            self._end("caller_hangup", hangup=False)
        else:
            self._goto(node.next, otherwise="voicemail")

    def _transfer(self, node: TransferNode) -> None:
        self._emit(TransferOut(node.number))
        self._end("transferred", hangup=False)

    def _caller_number(self, node: CallbackNode) -> str | None:
        if not self.caller:
            return None
        try:
            return normalize_e164(self.caller, node.region)
        except ValueError:
            return None

    # --- gathering digits --------------------------------------------------------------------

    @staticmethod
    def _menu_gather(node: MenuNode) -> _Gather:
        return _Gather(
            "choice",
            node.prompt,
            node.invalid_prompt,
            node.no_input_prompt,
            node.retries,
            node.timeout_s,
            node.timeout_s,
        )

    @staticmethod
    def _digits_gather(node: CollectNode | LocateStoreNode) -> _Gather:
        return _Gather(
            "digits",
            node.prompt,
            node.invalid_prompt,
            node.no_input_prompt,
            node.retries,
            node.first_digit_timeout_s,
            node.inter_digit_timeout_s,
            node.min_digits,
            node.max_digits,
            node.terminator,
        )

    @staticmethod
    def _callback_gather(node: CallbackNode) -> _Gather:
        return _Gather("choice", node.prompt, (), (), node.retries, node.timeout_s, node.timeout_s)

    @staticmethod
    def _number_gather(node: CallbackNode) -> _Gather:
        return _Gather(
            "digits", node.number_prompt, (), (), node.retries, node.timeout_s, node.timeout_s,
            3, 15, "#",
        )  # fmt: skip

    def _begin_gather(self, key: str, gather: _Gather) -> None:
        self.phase = "gather"
        self._gather = gather
        self._gather_key = key
        self._attempts = 0
        self._ask(gather.prompt)

    def _ask(self, items: tuple[PromptItem, ...]) -> None:
        self._buffer = ""
        prompts = self.render(items)
        if prompts:
            self._emit(Play(prompts, barge_in=True))
            self._playing = True
        else:
            self._playing = False
            self._arm_input_timer()

    def _arm_input_timer(self) -> None:
        assert self._gather is not None
        if self._buffer:
            self._start_timer("inter_digit", self._gather.inter_timeout_s)
        else:
            self._start_timer("no_input", self._gather.first_timeout_s)

    def _retry(self, why: Literal["invalid", "no_input"]) -> None:
        assert self._gather is not None
        self._attempts += 1
        if self._attempts > self._gather.retries:
            self._gather_failed()
            return
        extra = self._gather.invalid_prompt if why == "invalid" else self._gather.no_input_prompt
        self._ask(extra + self._gather.prompt)

    def _gather_digit(self, digit: str) -> None:
        gather = self._gather
        assert gather is not None
        if self._playing:
            self._emit(StopPlayback())
            self._playing = False
        self._cancel_timer()
        if gather.mode == "choice":
            self._note("digits", digit)
            self._choice(digit)
            return
        if digit == gather.terminator:
            self._finish_digits()
            return
        self._buffer += digit
        if len(self._buffer) >= gather.max_digits:
            self._finish_digits()
        else:
            self._start_timer("inter_digit", gather.inter_timeout_s)

    def _finish_digits(self) -> None:
        digits, self._buffer = self._buffer, ""
        assert self._gather is not None
        self._note("digits", digits)
        if not digits and self._gather.min_digits > 0:
            self._retry("no_input")
        elif len(digits) < self._gather.min_digits:
            self._retry("invalid")
        else:
            self._digits(digits)

    def _choice(self, digit: str) -> None:
        node = self.flow.nodes[self.node_id or ""]
        if isinstance(node, MenuNode):
            if digit in node.options:
                self._enter(node.options[digit])
            else:
                self._retry("invalid")
        elif isinstance(node, CallbackNode):
            number = self._caller_number(node)
            if digit == node.caller_key and number is not None:
                self._callback(node, number)
            elif digit == node.other_key:
                self._begin_gather("number", self._number_gather(node))
            else:
                self._retry("invalid")

    def _digits(self, digits: str) -> None:
        node = self.flow.nodes[self.node_id or ""]
        if isinstance(node, CollectNode):
            if node.pattern is not None and not re.fullmatch(node.pattern, digits):
                self._retry("invalid")
                return
            self.attributes[node.store_as] = digits
            self._emit(SetAttributes({node.store_as: digits}))
            self._enter(node.next)
        elif isinstance(node, LocateStoreNode):
            self._locate(node, digits)
        elif isinstance(node, CallbackNode):
            try:
                number = normalize_e164(digits, node.region)
            except ValueError:
                self._retry("invalid")
                return
            self._callback(node, number)

    def _gather_failed(self) -> None:
        node = self.flow.nodes[self.node_id or ""]
        if isinstance(node, LocateStoreNode):
            self._enter(node.on_failure or node.not_found)
        elif isinstance(node, MenuNode | CollectNode | CallbackNode):
            self._goto(node.on_failure, otherwise="failure")

    def _locate(self, node: LocateStoreNode, postcode: str) -> None:
        found = None
        if self.locator is None:
            self._warn("no store locator for this flow")
        else:
            found = self.locator.nearest(postcode)
        if found is None:
            self.attributes["postcode"] = postcode
            self._emit(SetAttributes({"postcode": postcode}))
            self._enter(node.not_found)
            return
        branch, distance = found
        values = {
            "postcode": postcode,
            "branch_name": branch.name,
            "branch_address": branch.address,
            "branch_postcode": branch.postcode,
            "branch_distance_km": round(distance, 1),
        }
        self.attributes.update(values)
        self._emit(SetAttributes(values))
        self._enter(node.found)

    def _callback(self, node: CallbackNode, number: str) -> None:
        self.attributes["callback_number"] = number
        self._emit(OfferCallback(number, node.queue))
        self._play_then(node.confirm_prompt, lambda: self._goto(node.next, otherwise="callback"))

    # --- input dispatch ----------------------------------------------------------------------

    def _on_digit(self, digit: str) -> None:
        node = self.flow.nodes.get(self.node_id or "")
        if self.phase == "gather":
            self._gather_digit(digit)
        elif (
            self.phase in ("queued", "playing")
            and isinstance(node, QueueNode)
            and digit == node.callback_key
            and self.caller
        ):
            queued = self.phase == "queued"
            if not queued:  # still hearing the queue's prompt: never enqueued
                self._emit(StopPlayback())
                self._continuation = None
            self._cancel_timer()
            self._note("digits", digit)
            self._emit(OfferCallback(self.caller, node.queue, keep_place=queued))
            self._play_then(node.callback_prompt, lambda: self._end("callback"))
        elif (
            self.phase == "recording"
            and isinstance(node, VoicemailNode)
            and digit == node.finish_key
        ):
            self._stop_recording(node, "finish_key")
        # Digits during a prompt without barge-in are dropped, as callers expect.

    def _on_prompt_done(self) -> None:
        if self.phase == "gather" and self._playing:
            self._playing = False
            self._arm_input_timer()
        elif self.phase == "playing" and self._continuation is not None:
            then, self._continuation = self._continuation, None
            self.phase = "idle"
            then()

    def _on_timer(self) -> None:
        node = self.flow.nodes.get(self.node_id or "")
        if self.phase == "gather":
            if self._buffer:
                self._finish_digits()
            else:
                self._retry("no_input")
        elif self.phase == "queued" and isinstance(node, QueueNode):
            self._emit(LeaveQueue(node.queue, "timeout"))
            self._goto(node.on_timeout)
        elif self.phase == "recording" and isinstance(node, VoicemailNode):
            self._stop_recording(node, "max_seconds")

    def _on_overflow(self, reason: str) -> None:
        node = self.flow.nodes.get(self.node_id or "")
        self._note("branch", f"overflow:{reason}")
        if reason == "max_wait" and isinstance(node, QueueNode) and node.on_timeout is not None:
            self._cancel_timer()
            self._emit(LeaveQueue(node.queue, "timeout"))
            self._goto(node.on_timeout)
            return
        self._end("overflow", hangup=False)

    def _on_hangup(self) -> None:
        node = self.flow.nodes.get(self.node_id or "")
        if self.phase == "recording" and isinstance(node, VoicemailNode):
            self._stop_recording(node, "hangup")
            return
        if self.phase == "queued" and isinstance(node, QueueNode):
            self._cancel_timer()
            self._emit(LeaveQueue(node.queue, "hangup"))
        self._end("caller_hangup", hangup=False)
