"""Channel administration: the tenant's channel settings, channel accounts, canned responses."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.language import supported
from omnidesk.channels.conversations.models import CannedResponse, ChannelAccount
from omnidesk.channels.conversations.schemas import (
    AccountIn,
    CannedIn,
    ChannelSettingsIn,
    ChatAccountIn,
    EmailAccountIn,
    WhatsAppAccountIn,
)
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
    }


async def create_account(
    uow: UnitOfWork, by: Principal, body: AccountIn, queues: set[str], sealing_key: bytes
) -> dict[str, Any]:
    require_admin(by)
    account = body.root
    if account.queue_id not in queues:
        raise NotFound(f"no routing queue {account.queue_id!r}", field="queue_id")
    given = account.model_dump(exclude_none=True)
    config: dict[str, Any] = {k: given[k] for k in CONFIG_KEYS if k in given}
    if isinstance(account, WhatsAppAccountIn):
        config.setdefault("api_base_url", "https://graph.facebook.com")
        config.setdefault("api_version", "v21.0")
        config["templates"] = [t.model_dump() for t in account.templates]
    if isinstance(account, EmailAccountIn):
        config["address"] = account.address.lower()
        if account.imap_host and not (account.imap_username and account.imap_password):
            raise Invalid(
                "an IMAP mailbox needs imap_username and imap_password", field="imap_host"
            )
    if isinstance(account, ChatAccountIn):
        config = account.widget.model_dump(mode="json")
        await check_widget_email(uow, account.widget.email_account_id)
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
    )
    uow.session.add(row)
    await uow.session.flush()
    return account_view(row)


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


async def get_account(uow: UnitOfWork, by: Principal, account_id: uuid.UUID) -> ChannelAccount:
    # Looked up first: another tenant's account is "not found" for everyone, as everywhere.
    row = await uow.session.get(ChannelAccount, account_id)
    if row is None:
        raise NotFound("no such channel account", account_id=str(account_id))
    require_admin(by)
    return row


async def deactivate_account(uow: UnitOfWork, by: Principal, account_id: uuid.UUID) -> None:
    """Accounts are deactivated, not deleted: their conversations stay on record."""
    row = await get_account(uow, by, account_id)
    row.active = False


def canned_view(row: CannedResponse) -> dict[str, Any]:
    return {"id": str(row.id), "shortcut": row.shortcut, "title": row.title, "text": row.text}


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
    )
    uow.session.add(row)
    return canned_view(row)


async def delete_canned(uow: UnitOfWork, by: Principal, canned_id: uuid.UUID) -> None:
    require_staff(by)
    row = await uow.session.get(CannedResponse, canned_id)
    if row is None:
        raise NotFound("no such canned response")
    await uow.session.delete(row)
