"""CSV in and out. An import is checked whole before anything is written: every row is
validated (profile, custom fields, identities, and identities already known or repeated in the
file), a dry run only reports, and a real run writes all rows in its one transaction, or, when
any row is rejected, nothing (unless asked to skip the rejected rows).

Columns (UTF-8, header row, comma separated): display_name, phone, email, language, timezone,
tier, vip (true/false), tags (separated by ";"), and one `field.<key>` column per custom field.
phone and email may hold several values separated by ";". Other columns are refused.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from omnidesk.crm import fields, identities, normalize, service
from omnidesk.crm import repository as repo
from omnidesk.crm.models import Customer
from omnidesk.crm.normalize import IdentityKey
from omnidesk.crm.record_schemas import ImportReport, RejectedRow, RowError
from omnidesk.crm.schemas import CustomerCreate, IdentityIn
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import Database
from omnidesk.platform.errors import DomainError, Invalid
from omnidesk.platform.uow import UnitOfWork

PROFILE_COLUMNS = ("display_name", "language", "timezone", "tier", "vip", "tags")
IDENTITY_COLUMNS = ("phone", "email")
MAX_ROWS = 100_000
EXPORT_PAGE = 1000


@dataclass
class _Row:
    line: int
    data: CustomerCreate | None = None
    keys: list[IdentityKey] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _read(content: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the file is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise Invalid("the file is empty: the first line must name the columns")
    reader.fieldnames = header
    rows = []
    for record in reader:
        if reader.line_num - 1 > MAX_ROWS:
            raise Invalid(f"at most {MAX_ROWS} rows per file")
        if None in record:
            raise Invalid(f"line {reader.line_num} has more values than the header has columns")
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in record.items()}))
    return header, rows


def _check_header(header: list[str], definitions: dict[str, Any]) -> None:
    for column in header:
        if column in PROFILE_COLUMNS or column in IDENTITY_COLUMNS:
            continue
        if column.startswith("field."):
            key = column.removeprefix("field.")
            if key not in definitions:
                known = ", ".join(sorted(definitions)) or "none defined"
                raise Invalid(f"unknown custom field {key!r} (known: {known})", field=column)
            continue
        allowed = ", ".join([*PROFILE_COLUMNS, *IDENTITY_COLUMNS, "field.<key>"])
        raise Invalid(f"unknown column {column!r} (columns: {allowed})", field=column)


def _parse(line: int, record: dict[str, str], definitions: dict[str, Any]) -> _Row:
    row = _Row(line)
    values: dict[str, Any] = {k: v for k, v in record.items() if k in PROFILE_COLUMNS and v}
    if "vip" in values:
        values["vip"] = values["vip"].lower() in ("1", "true", "yes", "y")
    if "tags" in values:
        values["tags"] = [t.strip() for t in values["tags"].split(";") if t.strip()]
    try:
        raw_fields = {
            k.removeprefix("field."): v for k, v in record.items() if k.startswith("field.")
        }
        values["fields"] = {
            k: v
            for k, v in fields.check_values(definitions, raw_fields, from_text=True).items()
            if v is not None
        }
        values["identities"] = [
            IdentityIn(kind=kind, value=value.strip())
            for kind in IDENTITY_COLUMNS
            for value in record.get(kind, "").split(";")
            if value.strip()
        ]
        row.data = CustomerCreate.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            row.errors.append(RowError(field=where or None, message=error["msg"]))
    except DomainError as exc:
        row.errors.append(RowError(field=exc.extra.get("field"), message=exc.detail))
    if row.data is not None and not row.data.display_name and not row.data.identities:
        row.errors.append(RowError(field=None, message="a row needs a name, a phone or an email"))
    return row


async def _check_identities(uow: UnitOfWork, rows: list[_Row], region: str | None) -> None:
    seen: dict[IdentityKey, int] = {}
    for row in rows:
        if row.data is None or row.errors:
            continue
        for ident in row.data.identities:
            try:
                key = normalize.identity(ident.kind, ident.value, region=region, field=ident.kind)
            except DomainError as exc:
                row.errors.append(RowError(field=ident.kind, message=exc.detail))
                continue
            if key in seen:
                row.errors.append(
                    RowError(field=ident.kind, message=f"{key.value} is on line {seen[key]} too")
                )
            seen.setdefault(key, row.line)
            row.keys.append(key)
    assert uow.tenant_id is not None
    conn = await uow.session.connection()
    known = await identities.lookup_many(conn, uow.tenant_id, list(seen))
    for row in rows:
        for key in row.keys:
            if key in known:
                owner = known[key].customer_id
                row.errors.append(
                    RowError(field=key.kind.value, message=f"{key.value} is customer {owner}'s")
                )


async def run(
    uow: UnitOfWork, by: Principal, content: bytes, *, dry_run: bool, skip_rejected: bool
) -> ImportReport:
    service.require_staff(by)
    assert uow.tenant_id is not None
    definitions = await repo.field_definitions(uow.session, "customer")
    header, records = _read(content)
    _check_header(header, definitions)
    rows = [_parse(line, record, definitions) for line, record in records]
    region = (await repo.settings(uow.session, uow.tenant_id)).default_region
    await _check_identities(uow, rows, region)
    rejected = [RejectedRow(row=r.line, errors=r.errors) for r in rows if r.errors]
    accepted = [r for r in rows if not r.errors]
    report = ImportReport(
        dry_run=dry_run, rows=len(rows), accepted=len(accepted), rejected=rejected, applied=False
    )
    if dry_run:
        return report
    if rejected and not skip_rejected:
        raise Invalid(
            f"{len(rejected)} of {len(rows)} rows are rejected; nothing was imported "
            "(fix them, or import the others with skip_rejected=true)",
            rejected=[r.model_dump() for r in rejected],
        )
    for row in accepted:
        assert row.data is not None
        created = await service.create(uow, by, row.data, source="import")
        report.created_ids.append(created.id)
    report.applied = True
    return report


# --- export --------------------------------------------------------------------------------


async def export_csv(db: Database, tenant_id: uuid.UUID) -> AsyncIterator[str]:
    """Every active customer, in pages (a session of its own: the response streams)."""
    session = db.session(tenant_id)
    try:
        keys = list((await repo.field_definitions(session, "customer")).keys())
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", *PROFILE_COLUMNS, *IDENTITY_COLUMNS, *(f"field.{k}" for k in keys)])
        last: uuid.UUID | None = None
        while True:
            stmt = select(Customer).where(Customer.status == "active").order_by(Customer.id)
            if last is not None:
                stmt = stmt.where(Customer.id > last)
            page = list(await session.scalars(stmt.limit(EXPORT_PAGE)))
            if not page:
                break
            ids = await repo.identities_of(session, [c.id for c in page])
            for customer in page:
                writer.writerow(_line(customer, ids.get(customer.id, []), keys))
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            last = page[-1].id
        if out.getvalue():
            yield out.getvalue()
    finally:
        await session.close()


def _line(customer: Customer, ids: list[Any], keys: list[str]) -> list[str]:
    by_kind = {kind: ";".join(i.value for i in ids if i.kind == kind) for kind in IDENTITY_COLUMNS}
    return [
        str(customer.id),
        customer.display_name or "",
        customer.language or "",
        customer.timezone or "",
        customer.tier or "",
        "true" if customer.vip else "false",
        ";".join(customer.tags),
        by_kind["phone"],
        by_kind["email"],
        *(str(customer.fields.get(k, "")) for k in keys),
    ]
