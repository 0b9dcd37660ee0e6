"""routing log and snapshots

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:46:17.718192
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("command", sa.JSON(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_routing_log_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_log")),
        sa.UniqueConstraint("tenant_id", "position", name="uq_routing_log_position"),
    )
    with op.batch_alter_table("routing_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routing_log_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "routing_snapshots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_routing_snapshots_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_snapshots")),
    )
    with op.batch_alter_table("routing_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routing_snapshots_position", ["tenant_id", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_routing_snapshots_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_snapshots_tenant_id"))
        batch_op.drop_index("ix_routing_snapshots_position")

    op.drop_table("routing_snapshots")
    with op.batch_alter_table("routing_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_log_tenant_id"))

    op.drop_table("routing_log")
