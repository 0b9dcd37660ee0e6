"""Tenants: the top-level owner of every row. A BPO runs many client tenants on one install."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, new_id, utcnow
from omnidesk.platform.errors import Conflict, Invalid
from omnidesk.platform.eventlog import EventSequence

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def create_tenant(session: AsyncSession, slug: str, name: str) -> Tenant:
    """Create a tenant on a SYSTEM-scoped session (the caller commits)."""
    if not SLUG.match(slug):
        raise Invalid(
            f"tenant slug {slug!r} must be 1-64 lowercase letters, digits or hyphens",
            field="slug",
        )
    if not name.strip():
        raise Invalid("tenant name must not be empty", field="name")
    if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"tenant {slug!r} already exists")
    tenant = Tenant(id=new_id(), slug=slug, name=name.strip())
    session.add(tenant)
    await session.flush()
    session.add(EventSequence(tenant_id=tenant.id, last_seq=0))
    await session.flush()
    return tenant


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.active))
