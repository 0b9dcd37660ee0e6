"""A web chat widget's configuration: what the admin sets on a channel account of kind `chat`
(colours, greeting, pre-chat form, languages, business hours, the offline form, the sites that
may embed it) and what a visitor's browser is shown of it.

Imports nothing of the conversation store, so the store's account schemas can include it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

from omnidesk.platform.schemas import Input

Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Origin = Annotated[
    str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?$")
]
FieldKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _starts_before_end(span: tuple[str, str]) -> tuple[str, str]:
    if span[0] >= span[1]:
        raise ValueError(f"{span[0]}-{span[1]} must start before it ends")
    return span


# Checked per span (not on the whole hours), so a refusal names the span ("days.mon.1") and
# the console shows it on that row.
Span = Annotated[tuple[Clock, Clock], AfterValidator(_starts_before_end)]


class ChatPrechatField(Input):
    """One question of the pre-chat form. `name` and `email` also name the customer;
    `language` (type `language`) is the visitor's explicit choice of language."""

    key: FieldKey
    label: Label
    type: Literal["text", "email", "textarea", "language"] = "text"
    required: bool = False


class ChatBusinessHours(Input):
    """Opening hours in `timezone`: per day (mon..sun) a list of [from, to] times ("09:00",
    "17:30"; "24:00" ends a day). A day not listed is closed. Outside them the widget shows
    the offline form."""

    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    days: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[Span]]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


class ChatWidgetIn(Input):
    """What the widget looks like and asks. Every field has a default."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "Chat with us"
    greeting: Annotated[str, StringConstraints(max_length=1000)] = "Hi! How can we help?"
    colour: Colour = "#1f6feb"
    text_colour: Colour = "#ffffff"
    prechat_fields: list[ChatPrechatField] = Field(
        default_factory=lambda: [
            ChatPrechatField(key="name", label="Name", type="text", required=True),
            ChatPrechatField(key="email", label="Email", type="email", required=False),
        ],
        max_length=10,
    )
    # Languages the visitor may choose from (the first is the widget's default).
    languages: list[LanguageTag] = Field(
        default_factory=lambda: ["en"], min_length=1, max_length=20
    )
    business_hours: ChatBusinessHours | None = None  # None: always open
    offline_message: Annotated[str, StringConstraints(max_length=1000)] = (
        "We are offline now. Leave a message and we will answer by email."
    )
    # Sites that may embed the widget (scheme://host[:port]); empty: any site.
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    # Only visitors with a signed user id may chat (no anonymous chats).
    require_identity: bool = False
    # The tenant's email account (active, kind `email`) the widget mails through: the
    # visitor's transcript goes out by its relay, and the offline form becomes an email
    # conversation on it (an `email` contact on its queue). None: no transcripts, and the
    # offline form stays a chat message.
    email_account_id: uuid.UUID | None = None

    # On the list, not the widget: the refusal then names `prechat_fields`.
    @field_validator("prechat_fields")
    @classmethod
    def _unique_keys(cls, fields: list[ChatPrechatField]) -> list[ChatPrechatField]:
        keys = [f.key for f in fields]
        if len(keys) != len(set(keys)):
            raise ValueError("pre-chat field keys must be unique")
        return fields


def is_open(hours: dict[str, Any] | None, now: datetime) -> bool:
    """Whether `now` (aware) falls within the business hours (None: always open)."""
    if not hours:
        return True
    local = now.astimezone(ZoneInfo(hours["timezone"]))
    clock = local.strftime("%H:%M")
    for start, end in hours.get("days", {}).get(DAYS[local.weekday()], []):
        if start <= clock < end:
            return True
    return False


class ChatFieldOut(BaseModel):
    key: str
    label: str
    type: str
    required: bool


class ChatWidgetOut(BaseModel):
    """What a visitor's browser gets: no secret, no queue."""

    key: str
    name: str
    title: str
    greeting: str
    colour: str
    text_colour: str
    prechat_fields: list[ChatFieldOut]
    languages: list[str]
    online: bool
    offline_message: str
    require_identity: bool
    # Whether the visitor can have the transcript mailed (the widget has an email account).
    transcript_by_email: bool
    attachment_max_bytes: int
    attachment_types: list[str]
