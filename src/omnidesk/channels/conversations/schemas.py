"""API shapes of the conversation store and of channel administration."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    RootModel,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from omnidesk.channels.chat.config import ChatWidgetIn
from omnidesk.channels.conversations.language import LANGUAGE_CODES
from omnidesk.platform.schemas import Input

Shortcut = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
QueueId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,63}$")]
Provider = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]
# The languages detection can tell apart: the schema lists them, so a client knows the choice.
LanguageCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2}$"),
    WithJsonSchema({"type": "string", "enum": list(LANGUAGE_CODES)}),
]
MimeType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9.+\-]+/([a-z0-9.+\-]+|\*)$")]


class TemplateIn(Input):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
    parameters: list[Annotated[str, StringConstraints(max_length=1024)]] = Field(
        default_factory=list, max_length=20
    )


class ReplyIn(Input):
    """One of `text`, `html`, `canned_response_id` or `template`, with attachments or not."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    html: Annotated[str, StringConstraints(min_length=1, max_length=100_000)] | None = None
    canned_response_id: uuid.UUID | None = None
    template: TemplateIn | None = None
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)


class NoteIn(Input):
    text: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class AttachmentOut(BaseModel):
    id: str
    message_id: str | None
    filename: str
    content_type: str
    size: int | None
    sha256: str | None
    state: str
    reason: str | None
    url: str | None


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    kind: Literal["message", "note", "system"]
    direction: Literal["inbound", "outbound", "internal"]
    sender_type: Literal["customer", "agent", "system"]
    sender_id: str | None
    text: str | None
    html: str | None
    subject: str | None
    template: dict[str, Any] | None
    event: str | None
    # A supervisor's whisper: the agent it is for (a note: never sent to the customer).
    whisper_to: str | None
    external_id: str | None
    status: str
    status_times: dict[str, str]
    error: dict[str, Any] | None
    created_at: str
    attachments: list[AttachmentOut]


class ReplyWindowOut(BaseModel):
    applies: bool
    expires_at: str | None
    templates_only: bool
    templates: list[dict[str, Any]]


class ConversationOut(BaseModel):
    id: str
    account_id: str
    account_kind: str
    channel: str
    peer_id: str
    peer_name: str | None
    customer_id: str | None
    status: Literal["open", "closed"]
    contact_id: str | None
    rounds: int
    language: str | None
    language_source: str | None
    last_agent_id: str | None
    last_inbound_at: str | None
    last_message_at: str | None
    created_at: str
    closed_at: str | None
    reply_window: ReplyWindowOut


class WhisperIn(Input):
    text: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class ConversationViewerOut(BaseModel):
    user_id: str
    name: str
    role: Literal["admin", "supervisor", "agent"]
    since: str


class ConversationTakeoverOut(BaseModel):
    conversation_id: str
    contact_id: str
    from_agent_id: str | None
    to_agent_id: str
    # active: the contact is yours now; reserved: routing keeps it for you until you are free.
    state: Literal["active", "reserved"]


class MessagesOut(BaseModel):
    messages: list[MessageOut]


# --- administration ----------------------------------------------------------------------------


class ChannelSettingsIn(Input):
    languages: list[LanguageCode] = Field(min_length=1, max_length=50)
    attachment_max_bytes: int = Field(ge=1, le=100_000_000)
    attachment_types: list[MimeType] = Field(max_length=100)


class ChannelSettingsOut(BaseModel):
    languages: list[str]
    attachment_max_bytes: int
    attachment_types: list[str]


class TemplateDef(Input):
    """A message template approved at the provider (WhatsApp): what an agent may send outside
    the 24-hour window. `name` and `language` as the provider knows them; `parameters`: how
    many body parameters ({{1}}, {{2}}, ...) it takes; `description`: what it says and what
    each parameter is, shown to the agent who picks it."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
    parameters: int = Field(default=0, ge=0, le=20, strict=True)
    description: Annotated[str, StringConstraints(max_length=1000)] = ""


Url = Annotated[str, StringConstraints(pattern=r"^https?://\S{1,500}$")]
Secret = Annotated[str, StringConstraints(min_length=8, max_length=200)]
ApiVersion = Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$")]


class WhatsAppSettings(Input):
    """A WhatsApp Cloud API number's settings but its secrets (shared by create and edit)."""

    kind: Literal["whatsapp"]
    name: Name
    provider: Provider | None = None
    queue_id: QueueId
    phone_number_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")]
    api_base_url: Url | None = None
    api_version: Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$")] | None = (
        None
    )
    templates: list[TemplateDef] = Field(default_factory=list, max_length=200)

    # A template is picked (and checked when sent) by name and language: two alike would be
    # one the agent cannot tell apart.
    @field_validator("templates")
    @classmethod
    def _unique_templates(cls, templates: list[TemplateDef]) -> list[TemplateDef]:
        seen: set[tuple[str, str]] = set()
        for t in templates:
            if (t.name, t.language) in seen:
                raise ValueError(f"the template {t.name} ({t.language}) is listed twice")
            seen.add((t.name, t.language))
        return templates


class WhatsAppAccountIn(WhatsAppSettings):
    """A WhatsApp Cloud API number. `api_base_url` (default https://graph.facebook.com) and
    `api_version` (default v21.0) point outbound calls elsewhere (a proxy, a compatible API)."""

    app_secret: Secret
    verify_token: Secret
    access_token: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class WebhookSettings(Input):
    kind: Literal["webhook"]
    name: Name
    provider: Provider | None = None
    queue_id: QueueId
    outbound_url: Url


class WebhookAccountIn(WebhookSettings):
    """A generic signed webhook: replies go to `outbound_url`, signed with `secret`."""

    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)]


Host = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.\-:\[\]]{1,253}$")]
Port = Annotated[int, Field(ge=1, le=65535)]
MailAddress = Annotated[
    str,
    StringConstraints(
        min_length=3, max_length=254, pattern=r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.\-]{1,189}$"
    ),
]


class EmailAccountIn(Input):
    """A mailbox: mail to `address` (through the SMTP listener, or read from the IMAP mailbox
    when `imap_host` is set) becomes conversations; replies go out through the relay
    `smtp_host`. Security: `tls` (implicit TLS), `starttls`, or `none` (a relay on localhost)."""

    kind: Literal["email"]
    name: Name
    queue_id: QueueId
    address: MailAddress
    smtp_host: Host
    smtp_port: Port = 587
    smtp_security: Literal["tls", "starttls", "none"] = "starttls"
    smtp_username: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    smtp_password: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    imap_host: Host | None = None
    imap_port: Port | None = None
    imap_security: Literal["tls", "none"] = "tls"
    imap_username: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    imap_password: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    imap_mailbox: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "INBOX"
    # After a mail is stored: flag it seen (default) or delete it from the mailbox.
    imap_after: Literal["seen", "delete"] = "seen"
    # An automatic acknowledgement of each new round (sent as Auto-Submitted: auto-replied).
    auto_reply: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None


class ChatSettings(Input):
    kind: Literal["chat"]
    name: Name
    queue_id: QueueId
    widget: ChatWidgetIn = Field(default_factory=ChatWidgetIn)


class ChatAccountIn(ChatSettings):
    """A web chat widget: its look, pre-chat form, languages, business hours and the sites
    that may embed it (`widget`), and `secret`, the key embedding sites sign their users' ids
    with (HMAC-SHA256). The account's id is the widget key of the `<script>` tag."""

    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)]


class AccountIn(
    RootModel[
        Annotated[
            WhatsAppAccountIn | WebhookAccountIn | EmailAccountIn | ChatAccountIn,
            Field(discriminator="kind"),
        ]
    ]
):
    """A channel account: `kind` says which fields it has."""


class _AccountEdit(Input):
    # The version the admin edited (AccountOut.version): a stale one is refused with 409
    # `version_conflict`, so a second admin's save never silently undoes the first's.
    version: int | None = Field(None, ge=1)
    # True brings a deactivated account back; None keeps it as it is.
    active: bool | None = None


OptionalSecret = Annotated[str, StringConstraints(min_length=8, max_length=200)] | None
LongSecret = Annotated[str, StringConstraints(min_length=16, max_length=200)] | None


class WhatsAppAccountUpdate(WhatsAppSettings, _AccountEdit):
    """The account's settings as a whole; a secret left out is kept (secrets are write-only)."""

    app_secret: OptionalSecret = None
    verify_token: OptionalSecret = None
    access_token: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None


class WebhookAccountUpdate(WebhookSettings, _AccountEdit):
    """The account's settings as a whole; `secret` left out is kept (or rotated:
    POST /accounts/{id}/rotate-secret)."""

    secret: LongSecret = None


class EmailAccountUpdate(EmailAccountIn, _AccountEdit):
    """The mailbox's settings as a whole; a password left out is kept."""


class ChatAccountUpdate(ChatSettings, _AccountEdit):
    """The widget's settings as a whole; `secret` left out is kept."""

    secret: LongSecret = None


class AccountUpdate(
    RootModel[
        Annotated[
            WhatsAppAccountUpdate | WebhookAccountUpdate | EmailAccountUpdate | ChatAccountUpdate,
            Field(discriminator="kind"),
        ]
    ]
):
    """A channel account's new settings: `kind` is the account's own (it cannot change)."""


class SecretRotatedOut(BaseModel):
    account_id: str
    # Which secret was replaced: `secret` (webhook, chat widget) or `verify_token` (WhatsApp).
    name: Literal["secret", "verify_token"]
    # The new value: shown this once, never again.
    value: str
    version: int


class AccountOut(BaseModel):
    id: str
    kind: str
    name: str
    provider: str
    queue_id: str
    config: dict[str, Any]
    # Which secrets are set (never their values).
    secrets_set: list[str]
    active: bool
    # Where the provider posts (messaging); None for email (mail comes by SMTP or IMAP).
    webhook_url: str | None
    version: int


class CannedIn(Input):
    shortcut: Shortcut
    title: Name
    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class CannedUpdate(CannedIn):
    # The version edited (CannedOut.version): a stale one is refused (409 `version_conflict`).
    version: int | None = Field(None, ge=1)


class CannedOut(BaseModel):
    id: str
    shortcut: str
    title: str
    text: str
    version: int
