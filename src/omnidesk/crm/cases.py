"""Cases: open matters that span contacts (orders, repairs, complaints, ...). Every change is
on the customer's timeline and recorded as an event.

A case number is per tenant and human-friendly (prefix + number, C-1042). Status moves freely
between open and pending and on to resolved or closed (stamping `closed_at`); a resolved or
closed case comes back only by reopen(), which counts. Orders are a case type with line items
(and an order status of the tenant's own words: placed, shipped, ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select

from omnidesk.crm import audiences, fields, timeline, views
from omnidesk.crm import repository as repo
from omnidesk.crm.events import CaseCreated, CaseReopened, CaseTypeCreated, CaseUpdated
from omnidesk.crm.models import Case, CaseLine, CaseType
from omnidesk.crm.record_schemas import CaseCreate, CaseLineIn, CaseOut, CaseUpdate
from omnidesk.crm.schemas import CaseTypeIn, CaseTypeOut
from omnidesk.directory.models import User
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Forbidden, Invalid, NotFound
from omnidesk.platform.events import Audience
from omnidesk.platform.uow import UnitOfWork

BUILTIN_TYPES = (
    CaseTypeOut(key="order", name="Order", has_lines=True, builtin=True),
    CaseTypeOut(key="repair", name="Repair", has_lines=False, builtin=True),
    CaseTypeOut(key="complaint", name="Complaint", has_lines=False, builtin=True),
    CaseTypeOut(key="service_request", name="Service request", has_lines=False, builtin=True),
    CaseTypeOut(key="sales_opportunity", name="Sales opportunity", has_lines=False, builtin=True),
)
CLOSED = ("resolved", "closed")


async def types(uow: UnitOfWork) -> list[CaseTypeOut]:
    own = await uow.session.scalars(select(CaseType).order_by(CaseType.key))
    return [
        *BUILTIN_TYPES,
        *(CaseTypeOut(key=t.key, name=t.name, has_lines=t.has_lines, builtin=False) for t in own),
    ]


async def add_type(uow: UnitOfWork, by: Principal, data: CaseTypeIn) -> CaseTypeOut:
    if not by.is_admin:
        raise Forbidden("this action needs the admin role")
    if any(t.key == data.key for t in await types(uow)):
        raise Conflict(f"case type {data.key!r} exists", field="key")
    row = CaseType(key=data.key, name=data.name, has_lines=data.has_lines)
    uow.session.add(row)
    await uow.session.flush()
    uow.record(CaseTypeCreated(key=data.key))
    audit(uow, by, "crm.case_type.create", "crm_case_type", row.id, key=data.key)
    return CaseTypeOut(key=row.key, name=row.name, has_lines=row.has_lines, builtin=False)


async def _type(uow: UnitOfWork, key: str) -> CaseTypeOut:
    for known in await types(uow):
        if known.key == key:
            return known
    raise Invalid(f"unknown case type {key!r}", field="type")


async def _check_owner(uow: UnitOfWork, owner_id: uuid.UUID | None) -> None:
    if owner_id is None:
        return
    found = await uow.session.scalar(select(User.id).where(User.id == owner_id, User.active))
    if found is None:
        raise Invalid(f"owner {owner_id} is not an active user of this tenant", field="owner_id")


async def _lines(uow: UnitOfWork, case: Case, lines: Sequence[CaseLineIn]) -> None:
    await uow.session.execute(delete(CaseLine).where(CaseLine.case_id == case.id))
    for position, line in enumerate(lines, start=1):
        uow.session.add(CaseLine(case_id=case.id, position=position, **line.model_dump()))


async def lines_of(
    uow: UnitOfWork, case_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CaseLine]]:
    found: dict[uuid.UUID, list[CaseLine]] = {i: [] for i in case_ids}
    if not case_ids:
        return found
    rows = await uow.session.scalars(
        select(CaseLine).where(CaseLine.case_id.in_(case_ids)).order_by(CaseLine.position)
    )
    for row in rows:
        found[row.case_id].append(row)
    return found


async def out(uow: UnitOfWork, rows: Sequence[Case]) -> list[CaseOut]:
    assert uow.tenant_id is not None
    prefix = (await repo.settings(uow.session, uow.tenant_id)).case_prefix
    lines = await lines_of(uow, [r.id for r in rows])
    return [views.case_out(r, lines[r.id], prefix) for r in rows]


async def _audience(uow: UnitOfWork, by: Principal | None, case: Case) -> Audience:
    actor = by.user_id if by else None
    return await audiences.of_customer(uow.session, case.customer_id, actor, case.owner_id)


async def create(uow: UnitOfWork, by: Principal, data: CaseCreate) -> Case:
    await repo.customer(uow.session, data.customer_id)
    kind = await _type(uow, data.type)
    if data.lines and not kind.has_lines:
        raise Invalid(f"a {kind.key} case has no line items", field="lines")
    await _check_owner(uow, data.owner_id)
    definitions = await repo.field_definitions(uow.session, "case")
    values = fields.check_values(definitions, data.fields)
    now = utcnow()
    case = Case(
        number=await repo.next_case_number(uow.session),
        customer_id=data.customer_id,
        type=data.type,
        title=data.title,
        status=data.status,
        priority=data.priority,
        owner_id=data.owner_id,
        due_at=data.due_at,
        fields={k: v for k, v in values.items() if v is not None},
        order_status=data.order_status,
        closed_at=now if data.status in CLOSED else None,
    )
    uow.session.add(case)
    await uow.session.flush()
    await _lines(uow, case, data.lines)
    number = await _number(uow, case)
    await timeline.add(
        uow, case.customer_id, "case_created", "case", case.id, number=number, type=case.type,
        status=case.status,
    )  # fmt: skip
    uow.record(
        CaseCreated(
            case_id=case.id,
            number=number,
            customer_id=case.customer_id,
            type=case.type,
            status=case.status,
            priority=case.priority,
            owner_id=case.owner_id,
        ),
        await _audience(uow, by, case),
    )
    return case


async def _number(uow: UnitOfWork, case: Case) -> str:
    assert uow.tenant_id is not None
    prefix = (await repo.settings(uow.session, uow.tenant_id)).case_prefix
    return views.case_number(prefix, case.number)


async def update(uow: UnitOfWork, by: Principal, case_id: uuid.UUID, data: CaseUpdate) -> Case:
    case = await repo.case(uow.session, case_id, lock=True)
    changes = data.model_dump(exclude_unset=True)
    for name in ("title", "status", "priority"):
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be null", field=name)
    if case.status in CLOSED and changes.get("status") not in (None, *CLOSED):
        raise Conflict(f"case is {case.status}: reopen it (POST .../reopen)", field="status")
    if "owner_id" in changes:
        await _check_owner(uow, changes["owner_id"])
    changed: list[str] = []
    for name in ("title", "status", "priority", "owner_id", "due_at", "order_status"):
        if name in changes and getattr(case, name) != changes[name]:
            setattr(case, name, changes[name])
            changed.append(name)
    if changes.get("fields"):
        definitions = await repo.field_definitions(uow.session, "case")
        new = fields.merged(case.fields, fields.check_values(definitions, changes["fields"]))
        if new != case.fields:
            case.fields = new
            changed.append("fields")
    if data.lines is not None:
        if not (await _type(uow, case.type)).has_lines and data.lines:
            raise Invalid(f"a {case.type} case has no line items", field="lines")
        await _lines(uow, case, data.lines)
        changed.append("lines")
    if not changed:
        return case
    if "status" in changed:
        case.closed_at = utcnow() if case.status in CLOSED else None
    case.updated_at = utcnow()
    await uow.session.flush()
    number = await _number(uow, case)
    await timeline.add(
        uow, case.customer_id, "case_updated", "case", case.id, number=number, changed=changed,
        status=case.status,
    )  # fmt: skip
    uow.record(
        CaseUpdated(
            case_id=case.id,
            number=number,
            customer_id=case.customer_id,
            changed=changed,
            status=case.status,
        ),
        await _audience(uow, by, case),
    )
    return case


async def reopen(uow: UnitOfWork, by: Principal, case_id: uuid.UUID) -> Case:
    case = await repo.case(uow.session, case_id, lock=True)
    if case.status not in CLOSED:
        raise Conflict(f"case is {case.status}, not resolved or closed", field="status")
    case.status, case.closed_at = "open", None
    case.reopened_count += 1
    case.updated_at = utcnow()
    await uow.session.flush()
    number = await _number(uow, case)
    await timeline.add(
        uow, case.customer_id, "case_reopened", "case", case.id, number=number,
        reopened_count=case.reopened_count,
    )  # fmt: skip
    uow.record(
        CaseReopened(
            case_id=case.id,
            number=number,
            customer_id=case.customer_id,
            reopened_count=case.reopened_count,
        ),
        await _audience(uow, by, case),
    )
    return case


async def listing(
    uow: UnitOfWork,
    *,
    customer_id: uuid.UUID | None,
    status: str | None,
    number: str | None,
    limit: int,
) -> list[Case]:
    stmt = select(Case)
    if customer_id is not None:
        stmt = stmt.where(Case.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(Case.status == status)
    if number is not None:
        digits = number.strip().lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")
        if not digits.isdigit():
            raise NotFound(f"no case {number!r}")
        stmt = stmt.where(Case.number == int(digits))
    rows = await uow.session.scalars(stmt.order_by(Case.created_at.desc()).limit(limit))
    return list(rows)
