"""API shapes of voice configuration. Every validation error names the field and why."""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from omnidesk.directory.schemas import Input

# The SIP user part we accept: plain enough for every softphone's settings form and for the
# digest `username` parameter (no quotes, colons or spaces).
SipUsername = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
SipPassword = Annotated[str, Field(min_length=8, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s].*$")]
AudioName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,59}\.wav$")]
QueueId = Annotated[str, Field(min_length=1, max_length=128)]
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
MAX_FLOW_BYTES = 256_000
MAX_FLOW_DEPTH = 32


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


class FlowIn(Input):
    name: Name
    definition: dict[str, Any]

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


# --- queue policy ---------------------------------------------------------------------------


class QueuePolicyIn(Input):
    record: Literal["always", "never", "on_demand"] = "always"
    consent_prompt: bool = True
    announce_every_s: Annotated[int, Field(ge=10, le=3600)] | None = 60
    moh: AudioName | None = None  # None: the tenant's default hold music
    max_wait_s: Annotated[int, Field(ge=1, le=86_400)] | None = None
    voicemail_queue: QueueId | None = None


class QueuePolicyOut(BaseModel):
    queue_id: str
    record: str
    consent_prompt: bool
    announce_every_s: int | None
    moh: str | None
    max_wait_s: int | None
    voicemail_queue: str | None
    configured: bool  # False: no policy stored, these are the defaults
