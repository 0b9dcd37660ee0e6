"""The audit log of administrative actions, written in the same transaction as the action."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import Base, TenantScoped, utcnow
from omnidesk.platform.uow import UnitOfWork


class AuditEntry(TenantScoped, Base):
    __tablename__ = "audit_log"

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
