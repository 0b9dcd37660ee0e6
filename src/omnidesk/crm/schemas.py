"""API shapes of the CRM: customers, identities, consent, search, settings and custom fields.

Cases, interactions, the timeline, merges and data in/out have theirs in record_schemas.py.
"""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^\S(?:.*\S)?$"  # not blank, no surrounding spaces, one line

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Short = Annotated[str, Field(min_length=1, max_length=32, pattern=NAME_PATTERN)]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=NAME_PATTERN)]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["contract_no"])]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}$")]
Source = Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]
Channel = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
IdentityKindName = Literal["phone", "email", "messaging", "webchat"]
FieldValue = str | float | int | bool | None
Choice = Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return value


# --- identities ----------------------------------------------------------------------------


class IdentityIn(_In):
    kind: IdentityKindName
    value: Annotated[str, Field(min_length=1, max_length=320)]
    provider: Annotated[str, Field(max_length=32)] | None = None


class IdentityOut(BaseModel):
    id: uuid.UUID
    kind: str
    provider: str
    value: str
    created_at: datetime


class ResolveOut(BaseModel):
    customer_id: uuid.UUID
    identity_id: uuid.UUID
    created: bool


# --- customers -----------------------------------------------------------------------------


class _Profile(_In):
    display_name: Name | None = None
    language: Language | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    tier: Short | None = None
    vip: bool = False
    tags: Annotated[list[Tag], Field(max_length=50)] = []
    fields: dict[str, FieldValue] = {}

    _zone = field_validator("timezone")(_check_zone)


class CustomerCreate(_Profile):
    identities: Annotated[list[IdentityIn], Field(max_length=20)] = []


class CustomerUpdate(_In):
    """Only what is sent changes; `fields` merges (a null value removes that field)."""

    display_name: Name | None = None
    language: Language | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    tier: Short | None = None
    vip: bool | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None
    fields: dict[str, FieldValue] | None = None

    _zone = field_validator("timezone")(_check_zone)


class ConsentFlag(BaseModel):
    value: bool
    source: str
    at: datetime


class ConsentOut(BaseModel):
    recording: ConsentFlag | None = None
    marketing: ConsentFlag | None = None
    opt_out: dict[str, ConsentFlag] = {}


class ConsentIn(_In):
    """Set any of the flags; `source` says where the answer came from (call, web form, ...)."""

    recording: bool | None = None
    marketing: bool | None = None
    opt_out: Annotated[dict[Channel, bool], Field(max_length=20)] | None = None
    source: Source


class CustomerOut(BaseModel):
    id: uuid.UUID
    display_name: str | None
    language: str | None
    timezone: str | None
    tier: str | None
    vip: bool
    tags: list[str]
    fields: dict[str, Any]
    consent: ConsentOut
    status: Literal["active", "merged", "erased"]
    merged_into: uuid.UUID | None
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime


class CustomerHit(BaseModel):
    id: uuid.UUID
    display_name: str | None
    identities: list[IdentityOut]
    # What matched: name, phone, email, case, field.
    matched: str
    score: float


class SearchOut(BaseModel):
    results: list[CustomerHit]


# --- settings and custom fields ------------------------------------------------------------


class SettingsIn(_In):
    default_region: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = None
    retention_days: Annotated[int, Field(ge=1, le=36_500)] | None = None
    case_prefix: Annotated[str, Field(pattern=r"^[A-Z]{1,6}-?$")] = "C-"
    repeat_window_days: Annotated[int, Field(ge=1, le=365)] = Field(
        7, description="A contact on the same case or reason within this many days repeats."
    )
    prefer_last_agent_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        30,
        description="How long a returning customer's contact on an open case is reserved "
        "for the agent who last worked it (0: not at all).",
    )


class SettingsOut(BaseModel):
    default_region: str | None
    retention_days: int | None
    case_prefix: str
    repeat_window_days: int
    prefer_last_agent_seconds: int


# --- wrap-up dispositions --------------------------------------------------------------------

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", examples=["resolved"])]


class DispositionIn(_In):
    code: Code
    label: Name
    resolved: bool = Field(False, description="The contact resolved the customer's matter.")
    category: Short | None = None


class DispositionUpdate(_In):
    label: Name | None = None
    resolved: bool | None = None
    category: Short | None = None
    active: bool | None = Field(None, description="False retires the code (records keep it).")


class DispositionOut(BaseModel):
    id: uuid.UUID
    code: str
    label: str
    resolved: bool
    category: str | None
    active: bool


class FieldDefinitionIn(_In):
    entity: Literal["customer", "case"] = "customer"
    key: Key
    label: Name
    type: Literal["text", "number", "date", "choice"]
    choices: Annotated[list[Choice], Field(max_length=200)] = []


class FieldDefinitionOut(BaseModel):
    id: uuid.UUID
    entity: str
    key: str
    label: str
    type: str
    choices: list[str]


class CaseTypeIn(_In):
    key: Key
    name: Name
    has_lines: bool = False


class CaseTypeOut(BaseModel):
    key: str
    name: str
    has_lines: bool
    builtin: bool
