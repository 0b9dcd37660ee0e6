"""Voice configuration use cases. Never commits; every change is audited and recorded as an event.

Who may do what: admins manage everything of their tenant. Supervisors read the configuration
(trunks, numbers, flows, queue policies, audio) and the SIP status of the users they may see.
Agents read the tenant's voice settings (their softphone needs the domain) and their own SIP
credential, which they may also set and remove; every other voice route refuses them (403).
Users the caller may not see are "not found", as everywhere else.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from omnidesk.channels.voice import repository as repo
from omnidesk.channels.voice.events import (
    NumberChanged,
    SipCredentialRemoved,
    SipCredentialSet,
    TrunkChanged,
    VoiceSettingsUpdated,
)
from omnidesk.channels.voice.models import (
    Extension,
    Number,
    SipCredential,
    Trunk,
    VoiceSettings,
)
from omnidesk.channels.voice.schemas import (
    ExtensionIn,
    NumberIn,
    QueuePolicyIn,
    SipCredentialIn,
    TrunkIn,
    VoiceSettingsIn,
)
from omnidesk.channels.voice.vault import ha1, seal
from omnidesk.directory import repository as directory
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import Conflict, Forbidden, Invalid, NotFound
from omnidesk.platform.events import Audience
from omnidesk.platform.uow import UnitOfWork

DEFAULT_POLICY = QueuePolicyIn()


def require_admin(by: Principal) -> None:
    if not by.is_admin:
        raise Forbidden("this action needs the admin role")


def require_staff(by: Principal) -> None:
    if by.role is Role.AGENT:
        raise Forbidden("this action needs the supervisor or admin role")


async def flush_unique(uow: UnitOfWork, message: str, field: str) -> None:
    """Flush, turning a unique-constraint race (or a cross-tenant clash the tenant-scoped
    session cannot see beforehand) into 409."""
    try:
        await uow.session.flush()
    except IntegrityError:
        raise Conflict(message, field=field) from None


async def _realm(uow: UnitOfWork) -> str:
    row = await repo.settings(uow.session)
    if row is None or not row.sip_domain:
        raise Conflict(
            "set the tenant's SIP domain first (PUT /api/v1/voice/settings): it is the realm "
            "of every SIP password",
            field="sip_domain",
        )
    return row.sip_domain


async def _check_sip_username_free(
    uow: UnitOfWork,
    username: str,
    *,
    user_id: uuid.UUID | None = None,
    trunk_id: uuid.UUID | None = None,
) -> None:
    """Agents and trunks authenticate in the same realm, so they share one username space."""
    owner = await repo.credential_by_username(uow.session, username)
    trunk = await repo.trunk_by_inbound_username(uow.session, username)
    if (owner is not None and owner.user_id != user_id) or (
        trunk is not None and trunk.id != trunk_id
    ):
        raise Conflict(f"SIP username {username!r} is taken in this domain", field="username")


async def check_audio(uow: UnitOfWork, name: str | None, field: str) -> None:
    if name is not None and await repo.audio_by_name(uow.session, name) is None:
        raise Invalid(
            f"{field}: no audio file {name!r} (upload it to /api/v1/voice/audio)", field=field
        )


# --- SIP credentials ------------------------------------------------------------------------


def _credential_view(user_id: uuid.UUID, row: SipCredential | None) -> dict[str, Any]:
    if row is None:
        return {"user_id": str(user_id), "username": None, "set": False}
    return {
        "user_id": str(user_id),
        "username": row.username,
        "set": True,
        "realm": row.realm,
        "updated_at": row.updated_at.isoformat(),
    }


async def get_sip_credential(uow: UnitOfWork, by: Principal, user_id: uuid.UUID) -> dict[str, Any]:
    user = await directory.get_user(uow.session, by, user_id)
    return _credential_view(user.id, await repo.credential_of(uow.session, user.id))


async def put_sip_credential(
    uow: UnitOfWork, by: Principal, user_id: uuid.UUID, data: SipCredentialIn
) -> dict[str, Any]:
    if user_id != by.user_id:
        require_admin(by)
    user = await directory.get_user(uow.session, by, user_id)
    realm = await _realm(uow)
    await _check_sip_username_free(uow, data.username, user_id=user.id)
    row = await repo.credential_of(uow.session, user.id)
    if row is None:
        row = SipCredential(user_id=user.id)
        uow.session.add(row)
    row.username = data.username
    row.realm = realm
    row.ha1_md5 = ha1(data.username, realm, data.password, "MD5")
    row.ha1_sha256 = ha1(data.username, realm, data.password, "SHA-256")
    row.updated_by = by.user_id
    await flush_unique(uow, f"SIP username {data.username!r} is taken", "username")
    uow.record(SipCredentialSet(user_id=user.id, username=row.username), Audience.of([user.id]))
    audit(uow, by, "voice.sip_credential.set", "user", user.id, username=row.username)
    return _credential_view(user.id, row)


async def delete_sip_credential(uow: UnitOfWork, by: Principal, user_id: uuid.UUID) -> None:
    if user_id != by.user_id:
        require_admin(by)
    user = await directory.get_user(uow.session, by, user_id)
    row = await repo.credential_of(uow.session, user.id)
    if row is None:
        raise NotFound(f"user {user_id} has no SIP credential")
    await uow.session.delete(row)
    await uow.session.flush()
    uow.record(SipCredentialRemoved(user_id=user.id, username=row.username), Audience.of([user.id]))
    audit(uow, by, "voice.sip_credential.remove", "user", user.id, username=row.username)


# --- extensions -----------------------------------------------------------------------------


def _extension_view(user_id: uuid.UUID, row: Extension | None) -> dict[str, Any]:
    return {
        "user_id": str(user_id),
        "extension": row.extension if row is not None else None,
        "updated_at": row.updated_at.isoformat() if row is not None else None,
    }


async def get_extension(uow: UnitOfWork, by: Principal, user_id: uuid.UUID) -> dict[str, Any]:
    user = await directory.get_user(uow.session, by, user_id)
    return _extension_view(user.id, await repo.extension_of(uow.session, user.id))


async def put_extension(
    uow: UnitOfWork, by: Principal, user_id: uuid.UUID, data: ExtensionIn
) -> dict[str, Any]:
    """Admins number agents (an agent may not take a colleague's number, nor renumber)."""
    require_admin(by)
    user = await directory.get_user(uow.session, by, user_id)
    owner = await repo.extension_by_number(uow.session, data.extension)
    if owner is not None and owner.user_id != user.id:
        raise Conflict(
            f"extension {data.extension!r} is another agent's ({owner.user_id})", field="extension"
        )
    row = await repo.extension_of(uow.session, user.id)
    if row is None:
        row = Extension(user_id=user.id)
        uow.session.add(row)
    before = row.extension
    row.extension = data.extension
    row.updated_by = by.user_id
    await flush_unique(uow, f"extension {data.extension!r} is taken", "extension")
    audit(uow, by, "voice.extension.set", "user", user.id, extension=row.extension, before=before)
    return _extension_view(user.id, row)


async def delete_extension(uow: UnitOfWork, by: Principal, user_id: uuid.UUID) -> None:
    require_admin(by)
    user = await directory.get_user(uow.session, by, user_id)
    row = await repo.extension_of(uow.session, user.id)
    if row is None:
        raise NotFound(f"user {user_id} has no extension")
    await uow.session.delete(row)
    await uow.session.flush()
    audit(uow, by, "voice.extension.remove", "user", user.id, extension=row.extension)


# --- tenant settings ------------------------------------------------------------------------

_SETTING_FIELDS = (
    "language",
    "recording_consent_prompt",
    "default_moh",
    "ring_timeout_s",
    "max_concurrent_calls",
)


def _settings_view(row: VoiceSettings | None) -> dict[str, Any]:
    defaults = VoiceSettingsIn().model_dump(mode="json", exclude={"reset_credentials"})
    if row is None:
        return {**defaults, "updated_at": None}
    return {
        **defaults,
        **row.options,
        "sip_domain": row.sip_domain,
        "updated_at": row.updated_at.isoformat(),
    }


async def get_settings(uow: UnitOfWork, by: Principal) -> dict[str, Any]:
    return _settings_view(await repo.settings(uow.session))


async def put_settings(uow: UnitOfWork, by: Principal, data: VoiceSettingsIn) -> dict[str, Any]:
    require_admin(by)
    await check_audio(uow, data.default_moh, "default_moh")
    prompt = data.recording_consent_prompt
    await check_audio(uow, prompt.audio if prompt else None, "recording_consent_prompt.audio")
    row = await repo.settings(uow.session)
    before = _settings_view(row)
    reset = 0
    if row is not None and row.sip_domain and row.sip_domain != data.sip_domain:
        existing = await repo.count_credentials(uow.session)
        if existing and not data.reset_credentials:
            raise Conflict(
                f"{existing} SIP password(s) were hashed with realm {row.sip_domain!r} and stop "
                "working when the domain changes; send reset_credentials: true to clear them "
                "(agents and trunks then set new ones)",
                field="sip_domain",
            )
        if existing:
            reset = await _clear_credentials(uow)
    if row is None:
        row = VoiceSettings(options={})
        uow.session.add(row)
    row.sip_domain = data.sip_domain
    row.options = data.model_dump(mode="json", include=set(_SETTING_FIELDS))
    row.updated_by = by.user_id
    await flush_unique(
        uow, f"SIP domain {data.sip_domain!r} is used by another tenant", "sip_domain"
    )
    view = _settings_view(row)
    changed = sorted(k for k in (*_SETTING_FIELDS, "sip_domain") if before.get(k) != view.get(k))
    uow.record(
        VoiceSettingsUpdated(sip_domain=row.sip_domain, changed=changed, credentials_reset=reset)
    )
    audit(uow, by, "voice.settings.set", "voice_settings", by.tenant_id, changed=changed)
    return view


async def _clear_credentials(uow: UnitOfWork) -> int:
    count = 0
    for credential in await uow.session.scalars(select(SipCredential)):
        await uow.session.delete(credential)
        count += 1
    for trunk in await repo.list_trunks(uow.session):
        if trunk.inbound_ha1_md5 is not None:
            trunk.inbound_ha1_md5 = trunk.inbound_ha1_sha256 = trunk.inbound_realm = None
            count += 1
    await uow.session.flush()
    return count


# --- trunks ---------------------------------------------------------------------------------


def trunk_view(row: Trunk) -> dict[str, Any]:
    outbound = None
    if row.outbound_host is not None:
        outbound = {
            "host": row.outbound_host,
            "port": row.outbound_port,
            "transport": row.outbound_transport,
            "username": row.outbound_username,
            "password_set": row.outbound_password_sealed is not None,
        }
    return {
        "id": str(row.id),
        "name": row.name,
        "allowed_addresses": list(row.allowed_addresses),
        "inbound": {
            "username": row.inbound_username,
            "password_set": row.inbound_ha1_md5 is not None,
        },
        "outbound": outbound,
        "caller_id": row.caller_id,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


async def list_trunks(uow: UnitOfWork, by: Principal) -> list[dict[str, Any]]:
    require_staff(by)
    return [trunk_view(t) for t in await repo.list_trunks(uow.session)]


async def get_trunk(uow: UnitOfWork, by: Principal, trunk_id: uuid.UUID) -> dict[str, Any]:
    require_staff(by)
    return trunk_view(await repo.get_trunk(uow.session, trunk_id))


async def _apply_trunk(
    uow: UnitOfWork, row: Trunk, data: TrunkIn, key: bytes, *, new: bool
) -> None:
    given = data.model_fields_set
    if data.inbound_username is None:
        row.inbound_username = row.inbound_realm = None
        row.inbound_ha1_md5 = row.inbound_ha1_sha256 = None
    else:
        await _check_sip_username_free(uow, data.inbound_username, trunk_id=row.id)
        renamed = data.inbound_username != row.inbound_username
        if data.inbound_password is not None:
            realm = await _realm(uow)
            row.inbound_realm = realm
            row.inbound_ha1_md5 = ha1(data.inbound_username, realm, data.inbound_password, "MD5")
            row.inbound_ha1_sha256 = ha1(
                data.inbound_username, realm, data.inbound_password, "SHA-256"
            )
        elif "inbound_password" in given or new or renamed:
            # The HA1 contains the username: a new name without a password cannot be kept.
            if renamed and not new and "inbound_password" not in given:
                raise Invalid(
                    "inbound_password is needed when inbound_username changes",
                    field="inbound_password",
                )
            row.inbound_realm = row.inbound_ha1_md5 = row.inbound_ha1_sha256 = None
        row.inbound_username = data.inbound_username
    out = data.outbound
    if out is None:
        row.outbound_host = row.outbound_username = row.outbound_password_sealed = None
        row.outbound_port, row.outbound_transport = 5060, "udp"
    else:
        row.outbound_host, row.outbound_port = out.host, out.port
        row.outbound_transport, row.outbound_username = out.transport, out.username
        if out.password is not None:
            row.outbound_password_sealed = seal(key, out.password)
        elif "password" in out.model_fields_set or out.username is None:
            row.outbound_password_sealed = None
    row.name = data.name
    row.allowed_addresses = list(data.allowed_addresses)
    row.caller_id = data.caller_id


async def create_trunk(uow: UnitOfWork, by: Principal, data: TrunkIn, key: bytes) -> dict[str, Any]:
    require_admin(by)
    if await repo.trunk_by_name(uow.session, data.name) is not None:
        raise Conflict(f"a trunk named {data.name!r} exists", field="name")
    row = Trunk(id=uuid.uuid4(), outbound_port=5060, outbound_transport="udp")
    row.inbound_username = None
    await _apply_trunk(uow, row, data, key, new=True)
    row.updated_by = by.user_id
    uow.session.add(row)
    await flush_unique(uow, f"a trunk named {data.name!r} exists", "name")
    view = trunk_view(row)
    uow.record(TrunkChanged(id=str(row.id), action="created", data=view))
    audit(uow, by, "voice.trunk.create", "voice_trunk", row.id, **_audit_trunk(view))
    return view


async def update_trunk(
    uow: UnitOfWork, by: Principal, trunk_id: uuid.UUID, data: TrunkIn, key: bytes
) -> dict[str, Any]:
    require_admin(by)
    row = await repo.get_trunk(uow.session, trunk_id)
    other = await repo.trunk_by_name(uow.session, data.name)
    if other is not None and other.id != row.id:
        raise Conflict(f"a trunk named {data.name!r} exists", field="name")
    await _apply_trunk(uow, row, data, key, new=False)
    row.updated_by = by.user_id
    await flush_unique(uow, f"a trunk named {data.name!r} exists", "name")
    view = trunk_view(row)
    uow.record(TrunkChanged(id=str(row.id), action="updated", data=view))
    audit(uow, by, "voice.trunk.update", "voice_trunk", row.id, **_audit_trunk(view))
    return view


def _audit_trunk(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in ("name", "allowed_addresses", "inbound", "outbound", "caller_id")}


async def delete_trunk(uow: UnitOfWork, by: Principal, trunk_id: uuid.UUID) -> None:
    require_admin(by)
    row = await repo.get_trunk(uow.session, trunk_id)
    used = await repo.numbers_using(uow.session, trunk_id=row.id)
    if used:
        raise Conflict(f"trunk {row.name!r} is used by number(s) {', '.join(used)}", numbers=used)
    await uow.session.delete(row)
    await uow.session.flush()
    uow.record(TrunkChanged(id=str(row.id), action="deleted"))
    audit(uow, by, "voice.trunk.delete", "voice_trunk", row.id, name=row.name)


# --- numbers --------------------------------------------------------------------------------


def _number_view(row: Number) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "number": row.number,
        "flow_id": str(row.flow_id),
        "trunk_id": str(row.trunk_id) if row.trunk_id else None,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


async def list_numbers(uow: UnitOfWork, by: Principal) -> list[dict[str, Any]]:
    require_staff(by)
    return [_number_view(n) for n in await repo.list_numbers(uow.session)]


async def get_number(uow: UnitOfWork, by: Principal, number_id: uuid.UUID) -> dict[str, Any]:
    require_staff(by)
    return _number_view(await repo.get_number(uow.session, number_id))


async def _check_number_refs(uow: UnitOfWork, data: NumberIn) -> None:
    try:
        await repo.get_flow(uow.session, data.flow_id)
    except NotFound:
        raise Invalid(f"flow_id: flow {data.flow_id} not found", field="flow_id") from None
    if data.trunk_id is not None:
        try:
            await repo.get_trunk(uow.session, data.trunk_id)
        except NotFound:
            raise Invalid(f"trunk_id: trunk {data.trunk_id} not found", field="trunk_id") from None


async def _save_number(
    uow: UnitOfWork, by: Principal, row: Number, data: NumberIn, action: str
) -> dict[str, Any]:
    row.number, row.flow_id, row.trunk_id = data.number, data.flow_id, data.trunk_id
    row.updated_by = by.user_id
    # The other tenants' numbers are invisible to this session: the unique index decides.
    await flush_unique(uow, f"number {data.number} is already in use", "number")
    view = _number_view(row)
    uow.record(NumberChanged(id=str(row.id), action=action, data=view))
    audit(uow, by, f"voice.number.{action[:-1]}", "voice_number", row.id, **view)
    return view


async def create_number(uow: UnitOfWork, by: Principal, data: NumberIn) -> dict[str, Any]:
    require_admin(by)
    await _check_number_refs(uow, data)
    row = Number(id=uuid.uuid4())
    uow.session.add(row)
    return await _save_number(uow, by, row, data, "created")


async def update_number(
    uow: UnitOfWork, by: Principal, number_id: uuid.UUID, data: NumberIn
) -> dict[str, Any]:
    require_admin(by)
    row = await repo.get_number(uow.session, number_id)
    await _check_number_refs(uow, data)
    return await _save_number(uow, by, row, data, "updated")


async def delete_number(uow: UnitOfWork, by: Principal, number_id: uuid.UUID) -> None:
    require_admin(by)
    row = await repo.get_number(uow.session, number_id)
    await uow.session.delete(row)
    await uow.session.flush()
    uow.record(NumberChanged(id=str(row.id), action="deleted", data={"number": row.number}))
    audit(uow, by, "voice.number.delete", "voice_number", row.id, number=row.number)
