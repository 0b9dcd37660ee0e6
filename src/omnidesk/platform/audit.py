"""The audit log of administrative actions, written in the same transaction as the action."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, Select, String, select
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import Base, TenantScoped, utcnow
from omnidesk.platform.uow import UnitOfWork


class AuditEntry(TenantScoped, Base):
    __tablename__ = "audit_log"
    # The audit log's filters (GET /audit-log) each have an index that starts with the tenant,
    # so looking for one user's or one target's entries in a long log reads only those; `id`
    # last, so a page (newest first, before an id) is read in index order, not sorted.
    # varchar_pattern_ops: PostgreSQL uses a plain index for LIKE 'prefix%' only in the C
    # locale; the pattern index serves both the exact and the prefix match of `action`.
    __table_args__ = (
        Index(
            "ix_audit_log_tenant_action",
            "tenant_id",
            "action",
            "id",
            postgresql_ops={"action": "varchar_pattern_ops"},
        ),
        Index("ix_audit_log_tenant_target", "tenant_id", "target_type", "target_id", "id"),
        Index("ix_audit_log_tenant_actor_user", "tenant_id", "actor_user_id", "id"),
        Index("ix_audit_log_tenant_actor_token", "tenant_id", "actor_token_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[uuid.UUID | None]
    actor_token_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]
    ip: Mapped[str | None] = mapped_column(String(64))


def audit(
    uow: UnitOfWork,
    by: Principal | None,
    action: str,
    target_type: str,
    target_id: object,
    **details: Any,
) -> None:
    """`by` is None when the system acts (CLI, demo loader)."""
    uow.session.add(
        AuditEntry(
            actor_user_id=by.user_id if by else None,
            actor_token_id=by.token_id if by else None,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=details,
            ip=by.ip if by else None,
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    """What an admin looks for in the log; every field given must match (AND).

    `action` matches exactly, or, ending in `*`, as a prefix (`api_token.*`)."""

    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    actor_user_id: uuid.UUID | None = None
    actor_token_id: uuid.UUID | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def audit_query(wanted: AuditFilter, *, before: int | None, limit: int) -> Select[AuditEntry]:
    """Newest first, paged by id (`before`): ids only grow, so a page boundary stays put while
    entries are added, whatever the filters. The session's tenant scope adds the tenant."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    if wanted.action is not None:
        if wanted.action.endswith("*"):
            # autoescape: action names have `_`, a LIKE wildcard, in them.
            stmt = stmt.where(AuditEntry.action.startswith(wanted.action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == wanted.action)
    if wanted.target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == wanted.target_type)
    if wanted.target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == wanted.target_id)
    if wanted.actor_user_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == wanted.actor_user_id)
    if wanted.actor_token_id is not None:
        stmt = stmt.where(AuditEntry.actor_token_id == wanted.actor_token_id)
    if wanted.since is not None:
        stmt = stmt.where(AuditEntry.at >= wanted.since)
    if wanted.until is not None:
        stmt = stmt.where(AuditEntry.at < wanted.until)
    return stmt
