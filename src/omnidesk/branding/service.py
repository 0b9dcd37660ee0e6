"""Branding use cases. Never commits; every change is audited and announced to the whole tenant.

Admins write; every signed-in user of the tenant reads (the header of every screen shows it).
Each row is the caller's tenant's (the session is tenant-scoped): no route takes a tenant id.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

from omnidesk.branding.contrast import MIN_CONTRAST, contrast_with_white
from omnidesk.branding.events import BrandingUpdated
from omnidesk.branding.images import LOGO_TYPES, looks_like_svg, sniff_image
from omnidesk.branding.models import Branding
from omnidesk.branding.schemas import BrandingIn
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from omnidesk.platform.events import Audience
from omnidesk.platform.tenancy import Tenant
from omnidesk.platform.uow import UnitOfWork, still_at_version

LOGO_MAX_BYTES = 256 * 1024
LOGO_URL = "/api/v1/branding/logo"
# Every signed-in user of the tenant shows the branding, so every one of them is told.
EVERYONE = Audience(everyone=True)


class BrandingVersionConflict(Conflict):
    code = "version_conflict"


def require_admin(by: Principal) -> None:
    if not by.is_admin:
        raise Forbidden("this action needs the admin role")


async def _row(uow: UnitOfWork) -> Branding | None:
    return await uow.session.scalar(select(Branding))


async def _view(uow: UnitOfWork, by: Principal, row: Branding | None) -> dict[str, Any]:
    tenant_name = await uow.session.scalar(select(Tenant.name).where(Tenant.id == by.tenant_id))
    logo = None
    if row is not None and row.logo_sha256 is not None:
        logo = {
            "content_type": row.logo_type,
            "size": row.logo_size,
            "url": f"{LOGO_URL}?v={row.logo_sha256[:16]}",
        }
    return {
        "display_name": (row.display_name if row else None) or tenant_name or "",
        "display_name_set": bool(row and row.display_name),
        "accent_color": row.accent_color if row else None,
        "logo": logo,
        "version": row.version if row else 1,
        "updated_at": row.updated_at.isoformat() if row else None,
    }


async def get_branding(uow: UnitOfWork, by: Principal) -> dict[str, Any]:
    return await _view(uow, by, await _row(uow))


async def _claim(uow: UnitOfWork, by: Principal, expected: int) -> Branding:
    """The tenant's row at version `expected` (made on first save), held until the commit
    (`still_at_version`)."""
    row = await _row(uow)
    current = row.version if row else 1
    if current != expected:
        raise _conflict(current, expected)
    if row is None:
        row = Branding(version=1, updated_by=by.user_id)
        uow.session.add(row)
        # Two first saves at once: the second breaks the tenant's unique key → a conflict.
        try:
            await uow.session.flush()
        except IntegrityError:
            raise _conflict(expected + 1, expected) from None
        return row
    if not await still_at_version(uow, row, expected):
        raise _conflict(row.version, expected)
    return row


def _conflict(actual: int, expected: int) -> BrandingVersionConflict:
    return BrandingVersionConflict(
        f"the branding was changed by someone else (version {actual}, this save was made on "
        f"version {expected}): reload it and try again",
        field="version",
        version=actual,
    )


def check_accent(color: str | None) -> str | None:
    if color is None:
        return None
    ratio = contrast_with_white(color)
    if ratio < MIN_CONTRAST:
        raise Invalid(
            f"white text on {color} has a contrast ratio of {ratio:.2f}:1; at least "
            f"{MIN_CONTRAST}:1 is needed to stay readable (pick a darker colour)",
            field="accent_color",
            contrast_ratio=round(ratio, 2),
        )
    return color.lower()


async def _saved(
    uow: UnitOfWork, by: Principal, row: Branding, before: dict[str, Any], action: str
) -> dict[str, Any]:
    row.version += 1
    row.updated_by = by.user_id
    await uow.session.flush()
    view = await _view(uow, by, row)
    changed = sorted(k for k in ("display_name", "accent_color", "logo") if before[k] != view[k])
    uow.record(BrandingUpdated(changed=changed, branding=view), audience=EVERYONE)
    audit(uow, by, action, "branding", by.tenant_id, changed=changed, version=row.version)
    return view


async def put_branding(uow: UnitOfWork, by: Principal, data: BrandingIn) -> dict[str, Any]:
    require_admin(by)
    accent = check_accent(data.accent_color)
    row = await _claim(uow, by, data.version)
    before = await _view(uow, by, row)
    row.display_name = data.display_name
    row.accent_color = accent
    return await _saved(uow, by, row, before, "branding.set")


def check_logo(data: bytes) -> str:
    """The logo's media type, told by its bytes; refuses anything else with the reason."""
    if len(data) > LOGO_MAX_BYTES:
        raise PayloadTooLarge(
            f"a logo may be at most {LOGO_MAX_BYTES // 1024} KB; this one is "
            f"{len(data) // 1024} KB",
            field="logo",
        )
    kind = sniff_image(data)
    if kind is not None:
        return kind
    if looks_like_svg(data):
        raise UnsupportedMediaType(
            "SVG logos are refused: an SVG file can carry script; upload a PNG, JPEG or WebP",
            field="logo",
        )
    raise UnsupportedMediaType(
        f"the file is not an image of the accepted types ({', '.join(LOGO_TYPES)}), whatever its "
        "name or declared type says",
        field="logo",
    )


async def set_logo(uow: UnitOfWork, by: Principal, data: bytes, version: int) -> dict[str, Any]:
    require_admin(by)
    kind = check_logo(data)
    row = await _claim(uow, by, version)
    before = await _view(uow, by, row)
    row.logo = data
    row.logo_type = kind
    row.logo_size = len(data)
    row.logo_sha256 = hashlib.sha256(data).hexdigest()
    return await _saved(uow, by, row, before, "branding.logo.set")


async def remove_logo(uow: UnitOfWork, by: Principal, version: int) -> dict[str, Any]:
    require_admin(by)
    row = await _claim(uow, by, version)
    before = await _view(uow, by, row)
    row.logo = row.logo_type = row.logo_sha256 = row.logo_size = None
    return await _saved(uow, by, row, before, "branding.logo.remove")


async def get_logo(uow: UnitOfWork, by: Principal) -> tuple[bytes, str, str]:
    """The logo's bytes, media type and SHA-256 (its validator)."""
    row = await uow.session.scalar(select(Branding).options(undefer(Branding.logo)))
    if row is None or row.logo is None or row.logo_type is None or row.logo_sha256 is None:
        raise NotFound("the tenant has no logo")
    return row.logo, row.logo_type, row.logo_sha256


async def look(db: Database, tenant_id: uuid.UUID) -> tuple[str, str | None]:
    """The name and accent colour public pages of a tenant show (its survey page)."""
    async with db.snapshot_session(SYSTEM) as session:
        name = await session.scalar(select(Tenant.name).where(Tenant.id == tenant_id))
        row = await session.execute(
            select(Branding.display_name, Branding.accent_color).where(
                Branding.tenant_id == tenant_id
            )
        )
        found = row.first()
    if found is None:
        return name or "", None
    return found.display_name or name or "", found.accent_color
