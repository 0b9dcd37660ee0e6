"""Customer use cases: create, update, consent, notes, settings. Services never commit.

Who may do what (checked here, not in the endpoints): every role reads customers, creates and
updates them, writes their identities, consent, notes and cases; supervisors and admins also
merge, split, import and export; admins erase and define custom fields, case types and settings.
"""

from __future__ import annotations

import uuid
from typing import Any

from omnidesk.crm import audiences, fields, identities, normalize, search, timeline, views
from omnidesk.crm import repository as repo
from omnidesk.crm.events import (
    ConsentChanged,
    CustomerCreated,
    CustomerUpdated,
    NoteAdded,
    SettingsUpdated,
)
from omnidesk.crm.models import Customer, Note
from omnidesk.crm.schemas import (
    ConsentIn,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    SettingsIn,
    SettingsOut,
)
from omnidesk.directory.models import Role
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Forbidden, Invalid
from omnidesk.platform.uow import UnitOfWork

PROFILE = ("display_name", "language", "timezone", "tier", "vip", "tags")


def require_staff(by: Principal) -> None:
    if by.role is Role.AGENT:
        raise Forbidden("this action needs the supervisor or admin role")


def require_admin(by: Principal) -> None:
    if not by.is_admin:
        raise Forbidden("this action needs the admin role")


# --- views ---------------------------------------------------------------------------------


async def view(uow: UnitOfWork, customer_id: uuid.UUID) -> CustomerOut:
    """A merged customer is shown too (status "merged", `merged_into`): links to it still work."""
    row = await repo.customer(uow.session, customer_id, active=False)
    ids = await repo.identities_of(uow.session, [row.id])
    return views.customer_out(row, ids.get(row.id, []))


# --- customers -----------------------------------------------------------------------------


async def create(
    uow: UnitOfWork, by: Principal | None, data: CustomerCreate, *, source: str = "api"
) -> Customer:
    assert uow.tenant_id is not None
    definitions = await repo.field_definitions(uow.session, "customer")
    values = {
        k: v for k, v in fields.check_values(definitions, data.fields).items() if v is not None
    }
    keys = [
        await identities.normalise(uow, ident, field=f"identities[{i}].value")
        for i, ident in enumerate(data.identities)
    ]
    if len(set(keys)) != len(keys):
        raise Invalid("the same identity is given twice", field="identities")
    row = Customer(
        display_name=data.display_name,
        language=data.language,
        timezone=data.timezone,
        tier=data.tier,
        vip=data.vip,
        tags=_tags(data.tags),
        fields=values,
        consent={},
    )
    uow.session.add(row)
    await uow.session.flush()
    for i, key in enumerate(keys):
        await identities.attach(uow, row.id, key, field=f"identities[{i}].value")
    await search.index_name(uow.session, uow.tenant_id, row.id, row.display_name)
    await search.index_fields(uow.session, uow.tenant_id, row.id, values)
    actor = by.user_id if by else None
    uow.record(
        CustomerCreated(
            customer_id=row.id, source=source, identity_kinds=[k.kind.value for k in keys]
        ),
        await audiences.of_users(uow.session, [actor]),
    )
    return row


def _tags(tags: list[str]) -> list[str]:
    return sorted(set(tags))


async def update(
    uow: UnitOfWork, by: Principal, customer_id: uuid.UUID, data: CustomerUpdate
) -> Customer:
    assert uow.tenant_id is not None
    row = await repo.customer(uow.session, customer_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("vip", False) is None or changes.get("tags", []) is None:
        raise Invalid("vip and tags cannot be null", field="vip" if "vip" in changes else "tags")
    changed: list[str] = []
    for name in PROFILE:
        if name not in changes:
            continue
        value = _tags(changes[name]) if name == "tags" else changes[name]
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    if changes.get("fields"):
        definitions = await repo.field_definitions(uow.session, "customer")
        new = fields.merged(row.fields, fields.check_values(definitions, changes["fields"]))
        if new != row.fields:
            row.fields = new
            changed.append("fields")
            await search.index_fields(uow.session, uow.tenant_id, row.id, new)
    if not changed:
        return row
    if "display_name" in changed:
        await search.index_name(uow.session, uow.tenant_id, row.id, row.display_name)
    row.updated_at = utcnow()
    await uow.session.flush()
    uow.record(
        CustomerUpdated(customer_id=row.id, changed=changed),
        await audiences.of_customer(uow.session, row.id, by.user_id),
    )
    return row


async def set_consent(
    uow: UnitOfWork, by: Principal, customer_id: uuid.UUID, data: ConsentIn
) -> Customer:
    row = await repo.customer(uow.session, customer_id)
    now = utcnow().isoformat()
    consent: dict[str, Any] = {**row.consent, "opt_out": dict(row.consent.get("opt_out", {}))}
    changed: list[str] = []

    def flag(value: bool) -> dict[str, Any]:
        return {"value": value, "source": data.source, "at": now}

    for name in ("recording", "marketing"):
        value = getattr(data, name)
        if value is not None and (consent.get(name) or {}).get("value") != value:
            consent[name] = flag(value)
            changed.append(name)
    for channel, value in (data.opt_out or {}).items():
        if (consent["opt_out"].get(channel) or {}).get("value") != value:
            consent["opt_out"][channel] = flag(value)
            changed.append(f"opt_out.{channel}")
    if not changed:
        return row
    row.consent = consent
    row.updated_at = utcnow()
    await uow.session.flush()
    await timeline.add(
        uow, row.id, "consent_changed", "customer", row.id, changed=changed, source=data.source
    )
    uow.record(
        ConsentChanged(customer_id=row.id, changed=changed, source=data.source),
        await audiences.of_customer(uow.session, row.id, by.user_id),
    )
    return row


async def add_note(
    uow: UnitOfWork,
    by: Principal,
    customer_id: uuid.UUID,
    body: str,
    *,
    interaction_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
) -> Note:
    await repo.customer(uow.session, customer_id)
    if interaction_id is not None:
        interaction = await repo.interaction(uow.session, interaction_id)
        if interaction.customer_id != customer_id:
            raise Conflict("that interaction is not this customer's", field="interaction_id")
    if case_id is not None:
        case = await repo.case(uow.session, case_id)
        if case.customer_id != customer_id:
            raise Conflict("that case is not this customer's", field="case_id")
    note = Note(
        customer_id=customer_id,
        interaction_id=interaction_id,
        case_id=case_id,
        author_id=by.user_id,
        body=body,
    )
    uow.session.add(note)
    await uow.session.flush()
    await timeline.add(uow, customer_id, "note", "note", note.id, at=note.created_at)
    uow.record(
        NoteAdded(
            customer_id=customer_id,
            note_id=note.id,
            interaction_id=interaction_id,
            case_id=case_id,
        ),
        await audiences.of_customer(uow.session, customer_id, by.user_id),
    )
    return note


# --- settings ------------------------------------------------------------------------------


async def get_settings(uow: UnitOfWork) -> SettingsOut:
    assert uow.tenant_id is not None
    row = await repo.settings(uow.session, uow.tenant_id)
    return SettingsOut(
        default_region=row.default_region,
        retention_days=row.retention_days,
        case_prefix=row.case_prefix,
        repeat_window_days=row.repeat_window_days,
        prefer_last_agent_seconds=row.prefer_last_agent_seconds,
    )


async def put_settings(uow: UnitOfWork, by: Principal, data: SettingsIn) -> SettingsOut:
    require_admin(by)
    assert uow.tenant_id is not None
    row = await repo.settings(uow.session, uow.tenant_id)
    wanted = {
        "default_region": normalize.region(data.default_region),
        "retention_days": data.retention_days,
        "case_prefix": data.case_prefix,
        "repeat_window_days": data.repeat_window_days,
        "prefer_last_agent_seconds": data.prefer_last_agent_seconds,
    }
    changed = [name for name, value in wanted.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, wanted[name])
    if changed:
        row.updated_at = utcnow()
        await uow.session.flush()
        uow.record(SettingsUpdated(changed=changed))
        audit(uow, by, "crm.settings.update", "crm_settings", uow.tenant_id, changed=changed)
    return await get_settings(uow)
