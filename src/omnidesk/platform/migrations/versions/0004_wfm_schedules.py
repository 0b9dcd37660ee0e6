"""wfm schedules

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wfm_schedules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("horizon_start", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("best_bound", sa.Float(), nullable=True),
        sa.Column("wall_seconds", sa.Float(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("coverage", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_wfm_schedules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_schedules")),
    )
    with op.batch_alter_table("wfm_schedules", schema=None) as batch_op:
        batch_op.create_index("ix_wfm_schedules_created", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_wfm_schedules_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "wfm_agent_profiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_wfm_agent_profiles_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wfm_agent_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_agent_profiles")),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_wfm_agent_profiles_user"),
    )
    with op.batch_alter_table("wfm_agent_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_agent_profiles_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "wfm_schedule_agents",
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("paid_minutes_by_week", sa.JSON(), nullable=False),
        sa.Column("target_minutes_by_week", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["wfm_schedules.id"],
            name=op.f("fk_wfm_schedule_agents_schedule_id_wfm_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_wfm_schedule_agents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wfm_schedule_agents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("schedule_id", "user_id", name=op.f("pk_wfm_schedule_agents")),
    )
    with op.batch_alter_table("wfm_schedule_agents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_schedule_agents_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index("ix_wfm_schedule_agents_user", ["tenant_id", "user_id"], unique=False)

    op.create_table(
        "wfm_schedule_shifts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breaks", sa.JSON(), nullable=False),
        sa.Column("paid_minutes", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["wfm_schedules.id"],
            name=op.f("fk_wfm_schedule_shifts_schedule_id_wfm_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_wfm_schedule_shifts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wfm_schedule_shifts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_schedule_shifts")),
    )
    with op.batch_alter_table("wfm_schedule_shifts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wfm_schedule_shifts_agent", ["tenant_id", "schedule_id", "user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wfm_schedule_shifts_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_wfm_schedule_shifts_user_start", ["tenant_id", "user_id", "start_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wfm_schedule_shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_wfm_schedule_shifts_user_start")
        batch_op.drop_index(batch_op.f("ix_wfm_schedule_shifts_tenant_id"))
        batch_op.drop_index("ix_wfm_schedule_shifts_agent")

    op.drop_table("wfm_schedule_shifts")
    with op.batch_alter_table("wfm_schedule_agents", schema=None) as batch_op:
        batch_op.drop_index("ix_wfm_schedule_agents_user")
        batch_op.drop_index(batch_op.f("ix_wfm_schedule_agents_tenant_id"))

    op.drop_table("wfm_schedule_agents")
    with op.batch_alter_table("wfm_agent_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_agent_profiles_tenant_id"))

    op.drop_table("wfm_agent_profiles")
    with op.batch_alter_table("wfm_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_schedules_tenant_id"))
        batch_op.drop_index("ix_wfm_schedules_created")

    op.drop_table("wfm_schedules")
