"""wfm forecasts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wfm_forecasts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("requested_method", sa.String(length=32), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("history_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("history_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("backtest", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_wfm_forecasts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_forecasts")),
    )
    with op.batch_alter_table("wfm_forecasts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wfm_forecasts_queue",
            ["tenant_id", "queue_id", "channel", "created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_wfm_forecasts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "wfm_forecast_intervals",
        sa.Column("forecast_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.Column("aht", sa.Float(), nullable=False),
        sa.Column("holiday", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["forecast_id"],
            ["wfm_forecasts.id"],
            name=op.f("fk_wfm_forecast_intervals_forecast_id_wfm_forecasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_wfm_forecast_intervals_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("forecast_id", "position", name=op.f("pk_wfm_forecast_intervals")),
    )
    with op.batch_alter_table("wfm_forecast_intervals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_forecast_intervals_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wfm_forecast_intervals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_forecast_intervals_tenant_id"))

    op.drop_table("wfm_forecast_intervals")
    with op.batch_alter_table("wfm_forecasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_forecasts_tenant_id"))
        batch_op.drop_index("ix_wfm_forecasts_queue")

    op.drop_table("wfm_forecasts")
