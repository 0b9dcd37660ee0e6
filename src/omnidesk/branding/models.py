"""The branding table: one row per tenant that has set its branding (none: the defaults)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow


class Branding(TenantScoped, Base):
    __tablename__ = "branding"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_branding_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # None: the tenant's own name (tenants.name).
    display_name: Mapped[str | None] = mapped_column(String(80))
    # None: the built-in colours. Always #rrggbb in lower case when set.
    accent_color: Mapped[str | None] = mapped_column(String(7))
    # The logo lives in the row: at most 256 KB, read only by the logo route (deferred), and
    # kept with the rest of the tenant's data (backups, no data directory shared between nodes).
    logo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    logo_type: Mapped[str | None] = mapped_column(String(32))
    logo_sha256: Mapped[str | None] = mapped_column(String(64))
    logo_size: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]
