"""Custom fields: per-tenant definitions (text, number, date, choice) and the values written
against them. A value is checked on every write; an unknown key is a 422 naming it.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from sqlalchemy import delete

from omnidesk.crm import repository as repo
from omnidesk.crm.events import FieldChanged
from omnidesk.crm.models import FieldDefinition, FieldValue
from omnidesk.crm.schemas import FieldDefinitionIn, FieldDefinitionOut
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.errors import Conflict, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork

MAX_TEXT = 1000


def check_values(
    definitions: dict[str, FieldDefinition],
    values: dict[str, Any],
    *,
    prefix: str = "fields",
    from_text: bool = False,
) -> dict[str, Any]:
    """The values as stored (None: remove the field). `from_text`: values are strings from a
    CSV file, so numbers are parsed."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        where = f"{prefix}.{key}"
        if definition is None:
            known = ", ".join(sorted(definitions)) or "none defined"
            raise Invalid(f"unknown custom field {key!r} (known: {known})", field=where)
        if value is None or (from_text and value == ""):
            checked[key] = None
            continue
        checked[key] = _check(definition, value, where, from_text)
    return checked


def _check(definition: FieldDefinition, value: Any, where: str, from_text: bool) -> Any:
    kind = definition.type
    if kind == "number":
        return _number(value, where, from_text)
    if not isinstance(value, str):
        raise Invalid(f"{where} must be a {kind}, not {value!r}", field=where)
    if kind == "text":
        if len(value) > MAX_TEXT:
            raise Invalid(f"{where} is longer than {MAX_TEXT} characters", field=where)
        return value
    if kind == "date":
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise Invalid(
                f"{where} must be a date (YYYY-MM-DD), not {value!r}", field=where
            ) from None
    if value not in definition.choices:
        allowed = ", ".join(definition.choices)
        raise Invalid(f"{where} must be one of {allowed}, not {value!r}", field=where)
    return value


def _number(value: Any, where: str, from_text: bool) -> float | int:
    if from_text and isinstance(value, str):
        try:
            value = float(value.strip()) if any(c in value for c in ".eE") else int(value.strip())
        except ValueError:
            raise Invalid(f"{where} must be a number, not {value!r}", field=where) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{where} must be a number, not {value!r}", field=where)
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{where} must be a finite number", field=where)
    return value


def merged(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = dict(current)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def out(row: FieldDefinition) -> FieldDefinitionOut:
    return FieldDefinitionOut(
        id=row.id,
        entity=row.entity,
        key=row.key,
        label=row.label,
        type=row.type,
        choices=list(row.choices),
    )


# --- definitions (admins) ------------------------------------------------------------------


def _check_definition(data: FieldDefinitionIn) -> None:
    if data.type == "choice" and not data.choices:
        raise Invalid("a choice field needs its choices", field="choices")
    if data.type != "choice" and data.choices:
        raise Invalid("only a choice field has choices", field="choices")
    if len(set(data.choices)) != len(data.choices):
        raise Invalid("choices must differ from each other", field="choices")


async def define(uow: UnitOfWork, by: Principal, data: FieldDefinitionIn) -> FieldDefinition:
    _check_definition(data)
    existing = await repo.field_definitions(uow.session, data.entity)
    if data.key in existing:
        raise Conflict(f"the {data.entity} field {data.key!r} exists", field="key")
    row = FieldDefinition(
        entity=data.entity, key=data.key, label=data.label, type=data.type, choices=data.choices
    )
    uow.session.add(row)
    await uow.session.flush()
    uow.record(FieldChanged(entity=data.entity, key=data.key, action="created"))
    audit(uow, by, "crm.field.create", "crm_field", row.id, key=data.key, type=data.type)
    return row


async def redefine(
    uow: UnitOfWork, by: Principal, entity: str, key: str, data: FieldDefinitionIn
) -> FieldDefinition:
    """Label and choices may change; the type and key may not (values were checked by them)."""
    _check_definition(data)
    row = await _definition(uow, entity, key)
    if data.key != key or data.entity != entity or data.type != row.type:
        raise Conflict("a field's entity, key and type cannot change; define a new field")
    row.label, row.choices = data.label, list(data.choices)
    await uow.session.flush()
    uow.record(FieldChanged(entity=entity, key=key, action="updated"))
    audit(uow, by, "crm.field.update", "crm_field", row.id, key=key)
    return row


async def undefine(uow: UnitOfWork, by: Principal, entity: str, key: str) -> None:
    """The definition goes; values already stored stay on the records (and in exports)."""
    row = await _definition(uow, entity, key)
    await uow.session.delete(row)
    if entity == "customer":
        await uow.session.execute(delete(FieldValue).where(FieldValue.key == key))
    uow.record(FieldChanged(entity=entity, key=key, action="deleted"))
    audit(uow, by, "crm.field.delete", "crm_field", row.id, key=key)


async def _definition(uow: UnitOfWork, entity: str, key: str) -> FieldDefinition:
    row = (await repo.field_definitions(uow.session, entity)).get(key)
    if row is None:
        raise NotFound(f"no {entity} field {key!r}")
    return row
