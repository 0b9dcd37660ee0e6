"""Wrap-up dispositions: the tenant's codes an agent picks when ending a wrap-up (routing's
wrap-up command checks the code through the CRM's hooks, arrivals.py) and the flags the
interaction record keeps with it (resolved, category). Everyone reads them; admins define them.
A code is never deleted, since records name it: an admin retires it (`active: false`). Until a
tenant defines its first code, any disposition is taken as given.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm.events import DispositionChanged
from omnidesk.crm.models import Disposition
from omnidesk.crm.schemas import DispositionIn, DispositionOut, DispositionUpdate
from omnidesk.crm.service import require_admin
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork


def out(row: Disposition) -> DispositionOut:
    return DispositionOut(
        id=row.id,
        code=row.code,
        label=row.label,
        resolved=row.resolved,
        category=row.category,
        active=row.active,
    )


async def all_codes(session: AsyncSession) -> list[Disposition]:
    return list(await session.scalars(select(Disposition).order_by(Disposition.code)))


async def by_code(session: AsyncSession, code: str) -> Disposition | None:
    found: Disposition | None = await session.scalar(
        select(Disposition).where(Disposition.code == code)
    )
    return found


async def get(session: AsyncSession, code: str) -> Disposition:
    row = await by_code(session, code)
    if row is None:
        raise NotFound(f"disposition {code!r} not found")
    return row


async def check(session: AsyncSession, code: str) -> None:
    """A code an agent may give now: one of the tenant's active codes (422 otherwise, naming
    them). A tenant that has defined no codes takes any (free text, as before codes existed)."""
    row = await by_code(session, code)
    if row is not None and row.active:
        return
    codes = await all_codes(session)
    if not codes:
        return
    known = ", ".join(r.code for r in codes if r.active) or "all are retired"
    raise Invalid(f"{code!r} is not one of the disposition codes: {known}", field="disposition")


async def create(uow: UnitOfWork, by: Principal, data: DispositionIn) -> Disposition:
    require_admin(by)
    if await by_code(uow.session, data.code) is not None:
        raise Conflict(f"disposition {data.code!r} exists", field="code")
    row = Disposition(
        code=data.code, label=data.label, resolved=data.resolved, category=data.category
    )
    uow.session.add(row)
    await uow.session.flush()
    uow.record(DispositionChanged(code=row.code, action="created"))
    return row


async def update(uow: UnitOfWork, by: Principal, code: str, data: DispositionUpdate) -> Disposition:
    require_admin(by)
    row = await get(uow.session, code)
    given = data.model_dump(exclude_unset=True)
    for name in ("label", "resolved", "active"):
        if given.get(name, ...) is None:
            raise Invalid(f"{name} cannot be null", field=name)
    changed = [name for name, value in given.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, given[name])
    if changed:
        row.updated_at = utcnow()
        await uow.session.flush()
        uow.record(DispositionChanged(code=row.code, action="updated", changed=changed))
    return row
