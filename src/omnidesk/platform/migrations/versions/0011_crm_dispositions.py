"""crm phase 2: wrap-up disposition codes, the disposition's flags, reason and repeat on
interactions, the repeat window and last-agent preference settings.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_dispositions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_dispositions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_dispositions")),
        sa.UniqueConstraint("tenant_id", "code", name="uq_crm_dispositions_code"),
    )
    with op.batch_alter_table("crm_dispositions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_dispositions_tenant_id"), ["tenant_id"], unique=False
        )
    with op.batch_alter_table("crm_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("repeat_window_days", sa.Integer(), nullable=False, server_default="7")
        )
        batch_op.add_column(
            sa.Column(
                "prefer_last_agent_seconds", sa.Integer(), nullable=False, server_default="30"
            )
        )
    with op.batch_alter_table("crm_interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("disposition_category", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("repeat_of", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crm_interactions", schema=None) as batch_op:
        batch_op.drop_column("repeat_of")
        batch_op.drop_column("reason")
        batch_op.drop_column("disposition_category")
        batch_op.drop_column("resolved")
    with op.batch_alter_table("crm_settings", schema=None) as batch_op:
        batch_op.drop_column("prefer_last_agent_seconds")
        batch_op.drop_column("repeat_window_days")
    with op.batch_alter_table("crm_dispositions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_dispositions_tenant_id"))
    op.drop_table("crm_dispositions")
