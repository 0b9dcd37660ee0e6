"""Channel administration: the tenant's channel settings, channel accounts, canned responses."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select

from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.language import supported
from omnidesk.channels.conversations.models import CannedResponse, ChannelAccount
from omnidesk.channels.conversations.schemas import (
    AccountIn,
    AccountUpdate,
    CannedIn,
    CannedUpdate,
    ChannelSettingsIn,
    ChatSettings,
    EmailAccountIn,
    WebhookSettings,
    WhatsAppSettings,
)
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Forbidden, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork

WEBHOOK_PATHS = {
    "whatsapp": "/api/v1/channels/whatsapp/{id}/webhook",
    "webhook": "/api/v1/channels/webhook/{id}",
    # The widget's public base: its key is the account id.
    "chat": "/api/v1/chat/widget/{id}",
}
CONFIG_KEYS = (
    "phone_number_id",
    "api_base_url",
    "api_version",
    "outbound_url",
    # email
    "address",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_mailbox",
    "imap_after",
    "auto_reply",
)
SECRET_KEYS = (
    "app_secret",
    "verify_token",
    "access_token",
    "secret",
    "smtp_password",
    "imap_password",
)


def require_admin(by: Principal) -> None:
    if by.role is not Role.ADMIN:
        raise Forbidden("only admins configure channels")


def require_staff(by: Principal) -> None:
    if by.role is Role.AGENT:
        raise Forbidden("only supervisors and admins manage canned responses")


def settings_view(row: Any) -> dict[str, Any]:
    return {
        "languages": list(row.languages),
        "attachment_max_bytes": row.attachment_max_bytes,
        "attachment_types": list(row.attachment_types),
    }


async def get_settings(uow: UnitOfWork) -> dict[str, Any]:
    assert uow.tenant_id is not None
    return settings_view(await store.settings_of(uow.session, uow.tenant_id))


async def put_settings(uow: UnitOfWork, by: Principal, body: ChannelSettingsIn) -> dict[str, Any]:
    require_admin(by)
    assert uow.tenant_id is not None
    for i, code in enumerate(body.languages):
        if not supported(code):
            raise Invalid(f"{code!r} is not an ISO 639-1 language", field=f"languages[{i}]")
    row = await store.settings_of(uow.session, uow.tenant_id)
    row.languages = list(dict.fromkeys(body.languages))
    row.attachment_max_bytes = body.attachment_max_bytes
    row.attachment_types = list(dict.fromkeys(body.attachment_types))
    row.updated_at = utcnow()
    uow.session.add(row)
    return settings_view(row)


def account_view(row: ChannelAccount) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "kind": row.kind,
        "name": row.name,
        "provider": row.provider,
        "queue_id": row.queue_id,
        "config": dict(row.config or {}),
        "secrets_set": sorted(k for k, v in (row.secrets or {}).items() if v),
        "active": row.active,
        "webhook_url": WEBHOOK_PATHS[row.kind].format(id=row.id)
        if row.kind in WEBHOOK_PATHS
        else None,
        "version": row.version,
    }


async def create_account(
    uow: UnitOfWork, by: Principal, body: AccountIn, queues: set[str], sealing_key: bytes
) -> dict[str, Any]:
    require_admin(by)
    account = body.root
    if account.queue_id not in queues:
        raise NotFound(f"no routing queue {account.queue_id!r}", field="queue_id")
    given = account.model_dump(exclude_none=True)
    config = await _config_of(uow, account, given, has_secrets=set())
    row = ChannelAccount(
        id=uuid.uuid4(),
        kind=account.kind,
        name=account.name,
        provider=getattr(account, "provider", None) or account.kind,
        queue_id=account.queue_id,
        config=config,
        secrets=store.seal_secrets(sealing_key, {k: given[k] for k in SECRET_KEYS if k in given}),
        active=True,
        created_at=utcnow(),
        version=1,
    )
    uow.session.add(row)
    await uow.session.flush()
    audit(
        uow, by, "channel.account.create", "channel_account", row.id, kind=row.kind, name=row.name
    )
    return account_view(row)


async def _config_of(
    uow: UnitOfWork,
    account: WhatsAppSettings | WebhookSettings | EmailAccountIn | ChatSettings,
    given: dict[str, Any],
    has_secrets: set[str],
) -> dict[str, Any]:
    """The account's non-secret settings as stored. `has_secrets`: the secrets already set
    (an edit keeps a secret it leaves out)."""
    config: dict[str, Any] = {k: given[k] for k in CONFIG_KEYS if k in given}
    if isinstance(account, WhatsAppSettings):
        config.setdefault("api_base_url", "https://graph.facebook.com")
        config.setdefault("api_version", "v21.0")
        config["templates"] = [t.model_dump() for t in account.templates]
    if isinstance(account, EmailAccountIn):
        config["address"] = account.address.lower()
        password = account.imap_password or "imap_password" in has_secrets
        if account.imap_host and not (account.imap_username and password):
            raise Invalid(
                "an IMAP mailbox needs imap_username and imap_password", field="imap_host"
            )
    if isinstance(account, ChatSettings):
        config = account.widget.model_dump(mode="json")
        await check_widget_email(uow, account.widget.email_account_id)
    return config


class AccountVersionConflict(Conflict):
    code = "version_conflict"


def _check_version(what: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise AccountVersionConflict(
            f"{what} was changed by someone else (version {current}, this save was made on "
            f"version {expected}): reload it and try again",
            field="version",
            version=current,
        )


async def update_account(
    uow: UnitOfWork,
    by: Principal,
    account_id: uuid.UUID,
    body: AccountUpdate,
    queues: set[str],
    sealing_key: bytes,
) -> dict[str, Any]:
    """An account's settings as a whole, on the version the admin saw. Secrets left out are
    kept; secrets given replace the stored ones (sealed, as on create)."""
    row = await get_account(uow, by, account_id, lock=True)
    account = body.root
    if account.kind != row.kind:
        raise Invalid(f"the account is of kind {row.kind!r}; a kind cannot change", field="kind")
    _check_version(f"channel account {row.name!r}", row.version, account.version)
    if account.queue_id not in queues:
        raise NotFound(f"no routing queue {account.queue_id!r}", field="queue_id")
    given = account.model_dump(exclude_none=True, exclude={"version", "active"})
    has = {k for k, v in (row.secrets or {}).items() if v}
    config = await _config_of(uow, account, given, has_secrets=has)
    new_secrets = {k: given[k] for k in SECRET_KEYS if k in given}
    changed = [
        name
        for name, old, new in (
            ("name", row.name, account.name),
            ("queue_id", row.queue_id, account.queue_id),
            ("config", row.config, config),
            ("active", row.active, row.active if account.active is None else account.active),
        )
        if old != new
    ]
    row.name = account.name
    row.provider = getattr(account, "provider", None) or row.provider
    row.queue_id = account.queue_id
    row.config = config
    if account.active is not None:
        row.active = account.active
    if new_secrets:
        # A new dict: the JSON column notices reassignment, not mutation.
        row.secrets = {**(row.secrets or {}), **store.seal_secrets(sealing_key, new_secrets)}
    row.version += 1
    # What changed, and which secrets were replaced: never their values.
    audit(
        uow,
        by,
        "channel.account.update",
        "channel_account",
        row.id,
        changed=changed,
        secrets_changed=sorted(new_secrets),
        version=row.version,
    )
    return account_view(row)


# The secret Omnidesk chooses for each kind (a WhatsApp app secret and access token are Meta's
# to issue; an email account's passwords are the mail server's).
ROTATABLE = {"webhook": "secret", "chat": "secret", "whatsapp": "verify_token"}


async def rotate_secret(
    uow: UnitOfWork, by: Principal, account_id: uuid.UUID, sealing_key: bytes
) -> dict[str, Any]:
    """A new random secret in place of the old one, which stops working at once; returned
    this once and stored sealed like every other secret."""
    row = await get_account(uow, by, account_id, lock=True)
    name = ROTATABLE.get(row.kind)
    if name is None:
        raise Invalid(
            f"an account of kind {row.kind!r} has no secret Omnidesk generates: change its "
            "passwords by editing it",
            field="kind",
        )
    value = secrets.token_urlsafe(32)
    row.secrets = {**(row.secrets or {}), **store.seal_secrets(sealing_key, {name: value})}
    row.version += 1
    audit(
        uow,
        by,
        "channel.account.rotate_secret",
        "channel_account",
        row.id,
        secret=name,
        version=row.version,
    )
    return {"account_id": str(row.id), "name": name, "value": value, "version": row.version}


async def check_widget_email(uow: UnitOfWork, account_id: uuid.UUID | None) -> None:
    """A widget's `email_account_id` must name an active email account of the same tenant
    (the session is the tenant's: another tenant's account is not found)."""
    if account_id is None:
        return
    row = await uow.session.get(ChannelAccount, account_id)
    if row is None or row.tenant_id != uow.tenant_id:
        raise Invalid("no such email account", field="widget.email_account_id")
    if row.kind != "email":
        raise Invalid(
            f"the account is of kind {row.kind!r}, not an email account",
            field="widget.email_account_id",
        )
    if not row.active:
        raise Invalid("the email account is deactivated", field="widget.email_account_id")


async def list_accounts(uow: UnitOfWork, by: Principal) -> list[dict[str, Any]]:
    require_admin(by)
    rows = await uow.session.scalars(select(ChannelAccount).order_by(ChannelAccount.created_at))
    return [account_view(r) for r in rows]


async def get_account(
    uow: UnitOfWork, by: Principal, account_id: uuid.UUID, *, lock: bool = False
) -> ChannelAccount:
    # Looked up first: another tenant's account is "not found" for everyone, as everywhere.
    # `lock`: a save reads, checks the version and writes; the row lock makes a concurrent
    # save on PostgreSQL wait and then see the new version (SQLite has one writer anyway).
    row = await uow.session.get(ChannelAccount, account_id, with_for_update=lock)
    if row is None:
        raise NotFound("no such channel account", account_id=str(account_id))
    require_admin(by)
    return row


async def deactivate_account(uow: UnitOfWork, by: Principal, account_id: uuid.UUID) -> None:
    """Accounts are deactivated, not deleted: their conversations stay on record."""
    row = await get_account(uow, by, account_id, lock=True)
    if row.active:
        row.active = False
        row.version += 1
        audit(uow, by, "channel.account.deactivate", "channel_account", row.id, name=row.name)


def canned_view(row: CannedResponse) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "shortcut": row.shortcut,
        "title": row.title,
        "text": row.text,
        "version": row.version,
    }


async def list_canned(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = await uow.session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut))
    return [canned_view(r) for r in rows]


async def create_canned(uow: UnitOfWork, by: Principal, body: CannedIn) -> dict[str, Any]:
    require_staff(by)
    taken = await uow.session.scalar(
        select(CannedResponse.id).where(CannedResponse.shortcut == body.shortcut)
    )
    if taken is not None:
        raise Conflict(f"the shortcut {body.shortcut!r} is taken", field="shortcut")
    row = CannedResponse(
        id=uuid.uuid4(),
        shortcut=body.shortcut,
        title=body.title,
        text=body.text,
        created_at=utcnow(),
        version=1,
    )
    uow.session.add(row)
    return canned_view(row)


async def update_canned(
    uow: UnitOfWork, by: Principal, canned_id: uuid.UUID, body: CannedUpdate
) -> dict[str, Any]:
    require_staff(by)
    row = await uow.session.get(CannedResponse, canned_id, with_for_update=True)
    if row is None:
        raise NotFound("no such canned response")
    _check_version(f"canned response {row.shortcut!r}", row.version, body.version)
    taken = await uow.session.scalar(
        select(CannedResponse.id).where(
            CannedResponse.shortcut == body.shortcut, CannedResponse.id != row.id
        )
    )
    if taken is not None:
        raise Conflict(f"the shortcut {body.shortcut!r} is taken", field="shortcut")
    if (row.shortcut, row.title, row.text) != (body.shortcut, body.title, body.text):
        row.shortcut, row.title, row.text = body.shortcut, body.title, body.text
        row.version += 1
    return canned_view(row)


async def delete_canned(
    uow: UnitOfWork, by: Principal, canned_id: uuid.UUID, version: int | None = None
) -> None:
    """With `version`, a delete decided on an older version (someone edited it since) is
    refused like a stale save."""
    require_staff(by)
    row = await uow.session.get(CannedResponse, canned_id, with_for_update=True)
    if row is None:
        raise NotFound("no such canned response")
    _check_version(f"canned response {row.shortcut!r}", row.version, version)
    await uow.session.delete(row)
