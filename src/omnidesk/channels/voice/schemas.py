"""API shapes of voice configuration. Every validation error names the field and why."""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from omnidesk.platform.fields import Id as QueueId
from omnidesk.platform.fields import ShortName as Name
from omnidesk.platform.schemas import Input

# The SIP user part we accept: plain enough for every softphone's settings form and for the
# digest `username` parameter (no quotes, colons or spaces).
SipUsername = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
SipPassword = Annotated[str, Field(min_length=8, max_length=128)]
AudioName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,59}\.wav$")]
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
MAX_FLOW_BYTES = 256_000
MAX_FLOW_DEPTH = 32
# Values (mappings, lists and scalars) a flow document may hold once YAML aliases are expanded;
# a real flow has a few hundred.
MAX_FLOW_VALUES = 20_000


def _hostname(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if len(value) > 253 or not all(_HOST_LABEL.match(label) for label in value.split(".")):
        raise ValueError(f"{value!r} is not a valid host name")
    return value


def _domain(value: str) -> str:
    value = _hostname(value)
    if "." not in value:
        raise ValueError(f"{value!r} needs at least two labels, like voice.example.com")
    return value


def _host(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return _hostname(value)


def e164(value: str) -> str:
    """A phone number in E.164 form, checked against the numbering plan of its country."""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number in E.164 form (+ and digits)") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as exc:
        # ipaddress says why: "has host bits set", "does not appear to be an IPv4 or IPv6 ..."
        raise ValueError(f"{value!r} is not an IP address or network: {exc}") from exc


SipDomain = Annotated[str, AfterValidator(_domain)]
Host = Annotated[str, AfterValidator(_host)]
E164 = Annotated[str, AfterValidator(e164)]
Network = Annotated[str, AfterValidator(network)]


# --- SIP credentials ------------------------------------------------------------------------


class SipCredentialIn(Input):
    username: SipUsername
    password: SipPassword


# An extension: 2 to 6 digits, no "+" (which is how a dialled number is told from one: an
# E.164 number starts with "+", and a national number is longer).
EXTENSION_PATTERN = r"^[0-9]{2,6}$"


class ExtensionIn(Input):
    extension: Annotated[
        str,
        Field(
            pattern=EXTENSION_PATTERN,
            description="2 to 6 digits, unique in the tenant (409 when another agent has it)",
        ),
    ]


# --- tenant settings ------------------------------------------------------------------------


class Prompt(Input):
    """What to play: a tenant audio file, or text spoken in a language (espeak-ng voice)."""

    audio: AudioName | None = None
    text: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Prompt:
        if (self.audio is None) == (self.text is None):
            raise ValueError("give exactly one of audio (a file name) or text")
        return self


class VoiceSettingsIn(Input):
    sip_domain: SipDomain | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] = "en"
    recording_consent_prompt: Prompt | None = None
    default_moh: AudioName | None = None  # None: the built-in hold music
    ring_timeout_s: Annotated[int, Field(ge=5, le=120)] = 20
    max_concurrent_calls: Annotated[int, Field(ge=1, le=10_000)] | None = None
    # Changing sip_domain changes the digest realm, so every stored HA1 stops matching: the
    # change is refused while credentials exist unless the caller agrees to clear them.
    reset_credentials: bool = False


# --- trunks ---------------------------------------------------------------------------------


class OutboundIn(Input):
    host: Host
    port: Annotated[int, Field(ge=1, le=65535)] = 5060
    transport: Literal["udp", "tcp"] = "udp"
    username: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\s:\"]+$")] | None = (
        None
    )
    password: Annotated[str, Field(min_length=1, max_length=256)] | None = None

    @model_validator(mode="after")
    def _pair(self) -> OutboundIn:
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        return self


class TrunkIn(Input):
    """On update, a password left out keeps the stored one; null clears it."""

    name: Name
    allowed_addresses: Annotated[list[Network], Field(max_length=100)] = Field(default_factory=list)
    inbound_username: SipUsername | None = None
    inbound_password: SipPassword | None = None
    outbound: OutboundIn | None = None
    caller_id: E164 | None = None

    @field_validator("allowed_addresses")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an address twice")
        return value

    @model_validator(mode="after")
    def _inbound_pair(self) -> TrunkIn:
        if self.inbound_password is not None and self.inbound_username is None:
            raise ValueError("inbound_password needs inbound_username")
        return self


# --- numbers --------------------------------------------------------------------------------


class NumberIn(Input):
    number: E164
    flow_id: uuid.UUID
    trunk_id: uuid.UUID | None = None


# --- flows ----------------------------------------------------------------------------------


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def json_values(value: Any, *, max_values: int = MAX_FLOW_VALUES) -> Any:
    """`value` with only JSON values, as a flow definition is stored: dates and times (YAML
    reads `2026-12-24` as a date) become ISO 8601 text, which the flow schema reads back as
    dates; keys become text as JSON makes them (`1: sales` is the option "1"). Anything else
    (bytes, sets) is a ValueError naming its path. The walk stops after `max_values` values
    and below MAX_FLOW_DEPTH levels: YAML aliases repeat a value without copying it, and
    "billion laughs" documents would otherwise grow without bound while being written out."""
    left = [max_values]

    def walk(item: Any, path: str, depth: int) -> Any:
        left[0] -= 1
        if left[0] < 0:
            raise ValueError(f"holds more than {max_values} values")
        if depth > MAX_FLOW_DEPTH:
            raise ValueError(f"nests deeper than {MAX_FLOW_DEPTH} levels")
        if isinstance(item, dict):
            return {_json_key(k, path): walk(v, f"{path}.{k}", depth + 1) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v, f"{path}.{i}", depth + 1) for i, v in enumerate(item)]
        if isinstance(item, datetime | date | time):
            return item.isoformat()
        if item is None or isinstance(item, str | bool | int | float):
            return item
        raise ValueError(f"{path or 'the document'}: {type(item).__name__} has no JSON form")

    return walk(value, "", 0)


def _json_key(key: Any, path: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool | int | float) or key is None:
        return json.dumps(key)  # as json.dumps names keys: 1 -> "1", true -> "true"
    if isinstance(key, datetime | date | time):
        return key.isoformat()
    raise ValueError(f"{path or 'the document'}: a {type(key).__name__} key has no JSON form")


class FlowIn(Input):
    name: Name
    definition: dict[str, Any]

    @field_validator("definition", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        # A definition read from YAML by a client (or a script) may hold dates: stored as JSON.
        return json_values(value) if isinstance(value, dict) else value

    @field_validator("definition")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("must not be empty")
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > MAX_FLOW_BYTES:
            raise ValueError(f"is {size} bytes; flows are limited to {MAX_FLOW_BYTES}")
        if _depth(value) > MAX_FLOW_DEPTH:
            raise ValueError(f"nests deeper than {MAX_FLOW_DEPTH} levels")
        return value


class FlowUpdateIn(FlowIn):
    version: Annotated[int, Field(ge=1)] = Field(
        description="The flow's version in use the edit was made on (from GET): when the flow "
        "has changed since, the save is refused with 409 `version_conflict`. Required: a save "
        "that names no version could silently replace another admin's change. With a YAML body "
        "that is a definition on its own, give it as `?version=`."
    )


# --- queue policy ---------------------------------------------------------------------------


class QueuePolicyIn(Input):
    record: Literal["always", "never", "on_demand"] = "always"
    consent_prompt: bool = True
    announce_every_s: Annotated[int, Field(ge=10, le=3600)] | None = 60
    moh: AudioName | None = None  # None: the tenant's default hold music
    # Not the policy's any more (ADR 0026): the routing queue's max_wait_seconds + on_max_wait
    # own a call's longest wait. Refused when given a value, so a script that still sets it
    # learns where it went; null (what the old console sent) changes nothing.
    max_wait_s: Any = Field(
        None,
        deprecated=True,
        description="Refused (422): a call's longest wait is the routing queue's "
        "`max_wait_seconds` with `on_max_wait` (PUT /api/v1/routing/queues/{id}).",
    )
    voicemail_queue: QueueId | None = Field(
        None,
        description="Where messages go when the routing queue overflows a call to voicemail "
        "(`on_max_wait`, `on_full`, `on_closed` or a step's `overflow` of kind `voicemail`); "
        "null: the queue the call waited in.",
    )
    version: Annotated[int, Field(ge=0)] | None = Field(
        None,
        description="The policy's version the edit was made on (from GET; 0 while the queue has "
        "none stored): when the policy has changed since, the save is refused with 409 "
        "`version_conflict`. Left out, the save is not checked (scripts that set a policy "
        "wholesale).",
    )

    @field_validator("max_wait_s", mode="before")
    @classmethod
    def _max_wait_moved(cls, value: object) -> None:
        if value is not None:
            raise ValueError(
                "a call's longest wait is no longer the voice policy's: set the routing "
                "queue's max_wait_seconds and on_max_wait (what happens then: voicemail, "
                "callback, another queue or a message)"
            )
        return None


class QueuePolicyOut(BaseModel):
    queue_id: str
    record: str
    consent_prompt: bool
    announce_every_s: int | None
    moh: str | None
    voicemail_queue: str | None
    configured: bool  # False: no policy stored, these are the defaults
    version: int  # counts saves; 0 while none is stored


# --- what the configuration routes answer ---------------------------------------------------


class SipCredentialOut(BaseModel):
    user_id: str
    username: str | None
    set: bool  # False: the user has no SIP login
    realm: str | None = None
    updated_at: datetime | None = None


class ExtensionOut(BaseModel):
    user_id: str
    extension: str | None  # null: the user has no extension
    updated_at: datetime | None = None


class VoiceSettingsOut(BaseModel):
    sip_domain: str | None
    language: str
    recording_consent_prompt: dict[str, Any] | None
    default_moh: str | None
    ring_timeout_s: int
    max_concurrent_calls: int | None
    updated_at: datetime | None


class TrunkInboundOut(BaseModel):
    username: str | None
    password_set: bool


class TrunkOutboundOut(BaseModel):
    host: str
    port: int
    transport: str
    username: str | None
    password_set: bool


class TrunkOut(BaseModel):
    id: uuid.UUID
    name: str
    allowed_addresses: list[str]
    inbound: TrunkInboundOut
    outbound: TrunkOutboundOut | None
    caller_id: str | None
    created_at: datetime
    updated_at: datetime


class NumberOut(BaseModel):
    id: uuid.UUID
    number: str
    flow_id: uuid.UUID
    trunk_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class FlowSummary(BaseModel):
    id: uuid.UUID
    name: str
    version: int
    updated_at: datetime


class FlowVersionRef(BaseModel):
    version: int
    created_at: datetime
    created_by: uuid.UUID | None
    created_by_name: str | None = None  # None: saved by the system, or the user was removed


class FlowOut(FlowSummary):
    definition: dict[str, Any]
    versions: list[FlowVersionRef]
    created_at: datetime


class FlowRestoreIn(Input):
    version: Annotated[int, Field(ge=1)] = Field(
        description="The flow's version in use as the caller saw it (from GET): a restore on "
        "a stale view is refused with 409 `version_conflict`."
    )


class FlowVersionOut(BaseModel):
    id: uuid.UUID
    name: str
    version: int
    current: bool
    definition: dict[str, Any]
    created_at: datetime


class AudioOut(BaseModel):
    name: str
    size: int
    sha256: str
    sample_rate: int
    channels: int
    sample_width: int
    duration_s: float
    created_at: datetime


# --- live calls and recordings --------------------------------------------------------------


class MonitorOut(BaseModel):
    user_id: str
    mode: str


class ConsultOut(BaseModel):
    consult_id: str
    agent_id: str | None
    target_kind: str
    target: str
    state: Literal["ringing", "connected"]


class CallOut(BaseModel):
    """A live call as the desktops show it."""

    call_id: str
    state: str
    contact_id: str | None
    queue_id: str | None
    agent_id: str | None
    caller: str | None
    number: str | None
    started_at: datetime | None
    connected_at: datetime | None
    muted: bool
    recording: Literal["recording", "paused"] | None
    monitors: list[MonitorOut]
    consult: ConsultOut | None = Field(
        None, description="The open consult (attended transfer): the consulted agent and state"
    )
    callee_id: str | None = Field(
        None, description="The agent called, for a call from one agent to another"
    )


class CallWithConsultOut(CallOut):
    consult: ConsultOut | None


class RecordingOut(BaseModel):
    id: uuid.UUID
    contact_id: str | None
    duration_s: float | None
    state: str
    sha256: str | None
    started_at: datetime | None
    ended_at: datetime | None
    audio_url: str
