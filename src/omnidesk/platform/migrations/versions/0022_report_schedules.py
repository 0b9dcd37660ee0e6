"""report schedules: reports mailed on a cadence and their runs (omnidesk.analytics.models).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "analytics_report_schedules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("report", sa.String(length=16), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("at_time", sa.String(length=5), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("sender_address", sa.String(length=254), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("active_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        _tenant("analytics_report_schedules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_report_schedules")),
    )
    with op.batch_alter_table("analytics_report_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_report_schedules_tenant_id"), ["tenant_id"], unique=False
        )
    op.create_table(
        "analytics_report_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["analytics_report_schedules.id"],
            name=op.f("fk_analytics_report_runs_schedule_id_analytics_report_schedules"),
            ondelete="CASCADE",
        ),
        _tenant("analytics_report_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_report_runs")),
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_analytics_report_runs_due"),
    )
    with op.batch_alter_table("analytics_report_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_report_runs_pending", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_analytics_report_runs_schedule_id"), ["schedule_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_analytics_report_runs_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("analytics_report_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_report_runs_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_analytics_report_runs_schedule_id"))
        batch_op.drop_index("ix_analytics_report_runs_pending")
    op.drop_table("analytics_report_runs")
    with op.batch_alter_table("analytics_report_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_report_schedules_tenant_id"))
    op.drop_table("analytics_report_schedules")
