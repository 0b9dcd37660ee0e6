"""audit log filters: an index per filter of GET /audit-log, each starting with the tenant and
ending with the id (the page order). See omnidesk.platform.audit.AuditEntry.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_audit_log_tenant_action": ["tenant_id", "action", "id"],
    "ix_audit_log_tenant_target": ["tenant_id", "target_type", "target_id", "id"],
    "ix_audit_log_tenant_actor_user": ["tenant_id", "actor_user_id", "id"],
    "ix_audit_log_tenant_actor_token": ["tenant_id", "actor_token_id", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        # PostgreSQL serves LIKE 'prefix%' (the action filter's prefix form) from a pattern
        # index only; other dialects ignore the option.
        ops = {"action": "varchar_pattern_ops"} if "action" in columns else {}
        op.create_index(name, "audit_log", columns, unique=False, postgresql_ops=ops)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="audit_log")
