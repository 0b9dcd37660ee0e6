"""What the interpreter asks the call layer to do: frozen dataclasses, executed in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Say:
    """Text to speak, placeholders already filled in."""

    text: str
    language: str


@dataclass(frozen=True, slots=True)
class Wav:
    """A tenant audio file by name (resolved under the tenant's audio folder)."""

    name: str


Prompt = Say | Wav


@dataclass(frozen=True, slots=True)
class Action:
    """What the interpreter asks the call layer to do next."""


@dataclass(frozen=True, slots=True)
class Play(Action):
    """Play the prompts in order, then report `prompt_done()`. With `barge_in` a digit stops
    the playback (the session sends `StopPlayback` itself when that happens)."""

    prompts: tuple[Prompt, ...]
    barge_in: bool


@dataclass(frozen=True, slots=True)
class StopPlayback(Action):
    """Cut the prompt now playing (the caller pressed a key during barge-in)."""


@dataclass(frozen=True, slots=True)
class StartTimer(Action):
    """Call `timer(name)` after `seconds`, unless cancelled. Names are unique per session, so a
    timer that fires just after it was cancelled is recognised and ignored."""

    name: str
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer(Action):
    name: str


@dataclass(frozen=True, slots=True)
class SetAttributes(Action):
    """Contact attributes to record (language, reason, collected digits, branch_…)."""

    attributes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Enqueue(Action):
    """Put the call in a routing queue. The call layer plays `moh` and announces position and
    estimated wait every `announce_every_s` in `language`; digits keep coming to the session
    (`callback_key`), and so does `answered()` when an agent takes the call."""

    queue: str
    priority: int
    attributes: Mapping[str, Any]
    announce_every_s: float | None
    moh: str | None
    callback_key: str | None
    max_wait_s: float | None
    language: str


@dataclass(frozen=True, slots=True)
class LeaveQueue(Action):
    """Take the call out of the queue it waits in (max wait reached or caller gone)."""

    queue: str
    reason: Literal["timeout", "hangup"]


@dataclass(frozen=True, slots=True)
class StartVoicemail(Action):
    """Start recording the caller. The session stops it (`StopVoicemail`) on `finish_key`,
    after `max_seconds` (its own timer) or on hang-up; `max_seconds` is also a safety cap."""

    queue: str
    max_seconds: float
    finish_key: str | None


@dataclass(frozen=True, slots=True)
class StopVoicemail(Action):
    """Stop recording; the message becomes a contact routed to the voicemail's queue."""

    queue: str
    reason: Literal["finish_key", "max_seconds", "hangup"]


@dataclass(frozen=True, slots=True)
class OfferCallback(Action):
    """Register a callback to `number` (E.164) through `queue`. With `keep_place` the caller
    was already waiting there: the callback takes over the call's place in line."""

    number: str
    queue: str
    keep_place: bool = False


@dataclass(frozen=True, slots=True)
class TransferOut(Action):
    number: str


@dataclass(frozen=True, slots=True)
class Hangup(Action):
    reason: str


@dataclass(frozen=True, slots=True)
class Warn(Action):
    """Something in the flow did not work out (an unknown placeholder, no store locator); the
    call went on. The call layer logs it."""

    message: str
    node: str


TrailKind = Literal["visit", "digits", "branch", "warning", "end"]


@dataclass(frozen=True, slots=True)
class TrailEntry:
    at: datetime
    kind: TrailKind
    node: str
    detail: str = ""


@dataclass(slots=True)
class Trail:
    """The session's history for the call detail record."""

    entries: list[TrailEntry] = field(default_factory=list)

    @property
    def visited(self) -> list[str]:
        return [e.node for e in self.entries if e.kind == "visit"]

    @property
    def digits(self) -> list[tuple[str, str]]:
        """(node, digits entered there) per completed entry."""
        return [(e.node, e.detail) for e in self.entries if e.kind == "digits"]
