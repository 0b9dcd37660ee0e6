"""IVR flow definitions: data that tenants' admins edit (YAML/JSON), checked before use.

    result = load_flow(yaml_text)        # Flow, or list[FlowIssue] naming each error's path
    warnings = flow_warnings(flow)       # unreachable nodes: worth telling, not fatal

`Flow.model_validate(data)` checks the shape and the references together (a model validator),
so a `Flow` object in hand is always runnable; `validate_flow` turns pydantic's errors into
`FlowIssue(path="nodes.main.options.7", message=...)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from omnidesk.channels.voice.ivr.languages import UnknownLanguage, espeak_voice

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
DTMF_DIGITS = "0123456789*#"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INTERVAL = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
_WAV_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

NodeId = Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]
Digit = Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")]


@dataclass(frozen=True, slots=True)
class FlowIssue:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class FlowReferenceErrors(ValueError):
    def __init__(self, issues: list[FlowIssue]) -> None:
        super().__init__("; ".join(str(i) for i in issues))
        self.issues = issues


class FieldIssue(ValueError):
    """A check of a whole node that blames one of its fields: `validate_flow` names the field
    in the path ("nodes.wait.on_timeout", not just "nodes.wait"), so an editor shows the error
    on that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Model(BaseModel):
    # YAML reads `1: sales` with an int key; digits are strings everywhere else.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def placeholders(text: str) -> list[str]:
    """Names in `{name}`; `{{` and `}}` are literal braces."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(text.replace("{{", "").replace("}}", ""))]


def _check_language(value: str) -> str:
    try:
        espeak_voice(value)
    except UnknownLanguage as exc:
        raise ValueError(str(exc)) from None
    return value


class PromptItem(_Model):
    say: str | None = None
    language: str | None = None
    wav: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PromptItem:
        if (self.say is None) == (self.wav is None):
            raise ValueError("a prompt is either {say: text} or {wav: name}")
        if self.wav is not None and (not _WAV_NAME.match(self.wav) or ".." in self.wav):
            raise ValueError(f"wav name {self.wav!r} must be a plain file name")
        if self.wav is not None and self.language is not None:
            raise ValueError("language applies to {say} prompts only")
        if self.say is not None:
            for name in placeholders(self.say):
                if not _NAME.match(name):
                    raise ValueError(f"placeholder {{{name}}} is not an attribute name")
        if self.language is not None:
            _check_language(self.language)
        return self


def _as_prompt_list(value: Any) -> Any:
    # Shorthands: "text" → [{say: text}]; {say: ...} → [{say: ...}].
    if value is None:
        return ()
    if isinstance(value, str):
        return ({"say": value},)
    if isinstance(value, dict):
        return (value,)
    if isinstance(value, list):
        return tuple({"say": v} if isinstance(v, str) else v for v in value)
    return value


Prompts = Annotated[tuple[PromptItem, ...], BeforeValidator(_as_prompt_list)]


class _Node(_Model):
    def refs(self) -> Iterator[tuple[str, str]]:
        """(path inside the node, target node id) for every outgoing edge."""
        for name in ("next", "on_failure", "on_timeout", "open", "closed", "found", "not_found"):
            target = getattr(self, name, None)
            if isinstance(target, str):
                yield name, target

    def prompt_fields(self) -> Iterator[tuple[str, tuple[PromptItem, ...]]]:
        for name, value in self:
            if isinstance(value, tuple) and all(isinstance(v, PromptItem) for v in value):
                yield name, value


class MenuNode(_Node):
    type: Literal["menu"]
    prompt: Prompts = ()
    options: dict[Digit, NodeId]
    timeout_s: float = Field(default=5.0, gt=0)
    retries: int = Field(default=2, ge=0)
    invalid_prompt: Prompts = ()
    no_input_prompt: Prompts = ()
    on_failure: NodeId | None = None

    def refs(self) -> Iterator[tuple[str, str]]:
        for digit, target in self.options.items():
            yield f"options.{digit}", target
        yield from super().refs()


class CollectNode(_Node):
    type: Literal["collect"]
    prompt: Prompts = ()
    min_digits: int = Field(default=1, ge=0)
    max_digits: int = Field(default=16, ge=1, le=64)
    terminator: Digit | None = "#"
    first_digit_timeout_s: float = Field(default=5.0, gt=0)
    inter_digit_timeout_s: float = Field(default=3.0, gt=0)
    retries: int = Field(default=2, ge=0)
    invalid_prompt: Prompts = ()
    no_input_prompt: Prompts = ()
    store_as: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    pattern: str | None = None
    next: NodeId
    on_failure: NodeId | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _bounds(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise FieldIssue("min_digits", "min_digits is greater than max_digits")
        return self


class PlayNode(_Node):
    type: Literal["play"]
    prompt: Prompts
    next: NodeId


def _interval(text: str) -> tuple[int, int]:
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r} is not a time of day")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError(f"{text!r} is empty")
    return start, end


def _check_interval(text: str) -> str:
    _interval(text)
    return text


Interval = Annotated[
    str,
    BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
    AfterValidator(_check_interval),
]


class Schedule(_Model):
    """Opening hours in local time. An interval whose end is before its start runs past
    midnight into the next day ("22:00-02:00")."""

    mon: tuple[Interval, ...] = ()
    tue: tuple[Interval, ...] = ()
    wed: tuple[Interval, ...] = ()
    thu: tuple[Interval, ...] = ()
    fri: tuple[Interval, ...] = ()
    sat: tuple[Interval, ...] = ()
    sun: tuple[Interval, ...] = ()
    # Closed all day on these dates; `closed_dates` also takes "YYYY-MM-DD..YYYY-MM-DD" ranges
    # (a shutdown between the years). `holiday_calendar` adds a country's public holidays
    # ("DE", "DE-BY", "US-CA") from the `holidays` package.
    holidays: tuple[date, ...] = ()
    closed_dates: tuple[date | str, ...] = ()
    holiday_calendar: str | None = None

    @field_validator("closed_dates")
    @classmethod
    def _ranges(cls, value: tuple[date | str, ...]) -> tuple[date | str, ...]:
        for item in value:
            if isinstance(item, str):
                parse_date_range(item)
        return value

    @field_validator("holiday_calendar")
    @classmethod
    def _calendar(cls, value: str | None) -> str | None:
        if value is not None:
            from omnidesk.channels.voice.ivr.hours import holiday_calendar

            holiday_calendar(value, 2000)
        return value

    def intervals(self, weekday: int) -> list[tuple[int, int]]:
        texts: tuple[str, ...] = getattr(self, WEEKDAYS[weekday])
        return [_interval(t) for t in texts]


def parse_date_range(text: str) -> tuple[date, date]:
    try:
        if ".." in text:
            first, last = (date.fromisoformat(p.strip()) for p in text.split("..", 1))
        else:
            first = last = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date or a YYYY-MM-DD..YYYY-MM-DD range") from None
    if last < first:
        raise ValueError(f"{text!r} ends before it starts")
    return first, last


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


class HoursNode(_Node):
    type: Literal["hours"]
    schedule: Schedule
    timezone: str | None = None  # default: the flow's
    open: NodeId
    closed: NodeId

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return value if value is None else _check_timezone(value)


AttributeValue = str | int | float | bool


class SetNode(_Node):
    type: Literal["set"]
    attributes: dict[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], AttributeValue
    ]
    next: NodeId

    @field_validator("attributes")
    @classmethod
    def _language(cls, value: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
        if "language" in value:
            try:
                _check_language(str(value["language"]))
            except ValueError as exc:
                raise FieldIssue("language", str(exc)) from None
        return value


class QueueNode(_Node):
    type: Literal["queue"]
    prompt: Prompts = ()
    queue: Annotated[str, StringConstraints(min_length=1)]
    priority: int = 0
    announce_every_s: float | None = Field(default=None, gt=0)
    moh: str | None = None
    callback_key: Digit | None = None
    callback_prompt: Prompts = ()  # confirms the callback before hanging up
    max_wait_s: float | None = Field(default=None, gt=0)
    on_timeout: NodeId | None = None

    @model_validator(mode="after")
    def _timeout(self) -> QueueNode:
        if (self.max_wait_s is None) != (self.on_timeout is None):
            field = "on_timeout" if self.on_timeout is None else "max_wait_s"
            raise FieldIssue(field, "max_wait_s and on_timeout go together")
        if self.moh is not None and not _WAV_NAME.match(self.moh):
            raise FieldIssue("moh", f"moh {self.moh!r} must be a plain file name")
        return self


class VoicemailNode(_Node):
    type: Literal["voicemail"]
    prompt: Prompts = ()
    max_seconds: float = Field(default=120.0, gt=0, le=3600)
    queue: Annotated[str, StringConstraints(min_length=1)]
    finish_key: Digit | None = "#"
    next: NodeId | None = None  # default: hang up after recording


class CallbackNode(_Node):
    """Offers a callback: `caller_key` for the number the caller is calling from, `other_key`
    to key another number (national digits, read in `region`). Without a caller id the
    caller goes straight to keying a number."""

    type: Literal["callback"]
    prompt: Prompts = ()
    caller_key: Digit = "1"
    other_key: Digit = "2"
    number_prompt: Prompts = ()
    confirm_prompt: Prompts = ()
    region: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "US"
    timeout_s: float = Field(default=5.0, gt=0)
    retries: int = Field(default=2, ge=0)
    queue: Annotated[str, StringConstraints(min_length=1)]
    next: NodeId | None = None
    on_failure: NodeId | None = None

    @model_validator(mode="after")
    def _keys(self) -> CallbackNode:
        if self.caller_key == self.other_key:
            raise FieldIssue("other_key", "caller_key and other_key must differ")
        return self


class TransferNode(_Node):
    type: Literal["transfer"]
    prompt: Prompts = ()
    number: str

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        return normalize_e164(value)


def normalize_e164(value: str, region: str | None = None) -> str:
    """The number in E.164, or ValueError. Without `region` it must start with '+'."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number")
    formatted: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return formatted


class LocateStoreNode(_Node):
    type: Literal["locate_store"]
    prompt: Prompts = ()
    min_digits: int = Field(default=4, ge=1)
    max_digits: int = Field(default=5, ge=1, le=16)
    terminator: Digit | None = "#"
    first_digit_timeout_s: float = Field(default=5.0, gt=0)
    inter_digit_timeout_s: float = Field(default=3.0, gt=0)
    retries: int = Field(default=2, ge=0)
    invalid_prompt: Prompts = ()
    no_input_prompt: Prompts = ()
    found: NodeId
    not_found: NodeId
    on_failure: NodeId | None = None  # no usable input; default: not_found


class HangupNode(_Node):
    type: Literal["hangup"]
    prompt: Prompts = ()


Node = Annotated[
    MenuNode
    | CollectNode
    | PlayNode
    | HoursNode
    | SetNode
    | QueueNode
    | VoicemailNode
    | CallbackNode
    | TransferNode
    | LocateStoreNode
    | HangupNode,
    Field(discriminator="type"),
]
NODE_TYPES = (
    "menu",
    "collect",
    "play",
    "hours",
    "set",
    "queue",
    "voicemail",
    "callback",
    "transfer",
    "locate_store",
    "hangup",
)


class Flow(_Model):
    id: Annotated[str, StringConstraints(min_length=1)]
    name: str | None = None
    language: str = "en"
    timezone: str = "UTC"
    start: NodeId
    nodes: dict[NodeId, Node] = Field(min_length=1)

    @field_validator("language")
    @classmethod
    def _lang(cls, value: str) -> str:
        return _check_language(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_timezone(value)

    @model_validator(mode="after")
    def _references(self) -> Flow:
        issues: list[FlowIssue] = []
        if self.start not in self.nodes:
            issues.append(FlowIssue("start", f"no node {self.start!r}"))
        for node_id, node in self.nodes.items():
            for where, target in node.refs():
                if target not in self.nodes:
                    issues.append(FlowIssue(f"nodes.{node_id}.{where}", f"no node {target!r}"))
        if issues:
            raise FlowReferenceErrors(issues)
        return self


def reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in flow.nodes:
            continue
        seen.add(node_id)
        todo.extend(target for _, target in flow.nodes[node_id].refs())
    return seen


def flow_warnings(flow: Flow) -> list[FlowIssue]:
    live = reachable(flow)
    return [
        FlowIssue(f"nodes.{node_id}", "unreachable from start")
        for node_id in flow.nodes
        if node_id not in live
    ]


def _path(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    # The discriminated union puts the node's tag into the location: nodes.main.menu.options.
    if len(parts) >= 3 and parts[0] == "nodes" and parts[2] in NODE_TYPES:
        del parts[2]
    # A bad dict key is reported at <key>.[key]; the key is the path.
    return ".".join(str(p) for p in parts if p != "[key]")


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid":
        return (
            f"unknown node type {error['ctx']['tag']!r} (expected one of: {', '.join(NODE_TYPES)})"
        )
    if kind == "union_tag_not_found":
        return "node needs a 'type'"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def validate_flow(data: Any) -> Flow | list[FlowIssue]:
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        issues: list[FlowIssue] = []
        for error in exc.errors():
            original = error.get("ctx", {}).get("error")
            if isinstance(original, FlowReferenceErrors):
                issues.extend(original.issues)
            elif isinstance(original, FieldIssue):
                path = _path(error["loc"])
                issues.append(FlowIssue(f"{path}.{original.field}", str(original)))
            else:
                issues.append(FlowIssue(_path(error["loc"]), _message(error)))
        return issues


def load_flow(text: str) -> Flow | list[FlowIssue]:
    """A flow from YAML (or JSON, which YAML reads too)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [FlowIssue("", f"not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return [FlowIssue("", "a flow is a mapping with id, start and nodes")]
    return validate_flow(data)
