"""quality: scorecards and evaluations (omnidesk.qa.models).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def _tenant_index(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_tenant_id"), ["tenant_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "quality_scorecards",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        _tenant("quality_scorecards"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_scorecards")),
    )
    _tenant_index("quality_scorecards")
    op.create_table(
        "quality_evaluations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scorecard_id", sa.Uuid(), nullable=True),
        sa.Column("scorecard_name", sa.String(length=200), nullable=False),
        sa.Column("scorecard_version", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("queue_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("evaluator_id", sa.Uuid(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("auto_failed", sa.Boolean(), nullable=False),
        sa.Column("contact_ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scorecard_id"],
            ["quality_scorecards.id"],
            name=op.f("fk_quality_evaluations_scorecard_id_quality_scorecards"),
            ondelete="SET NULL",
        ),
        _tenant("quality_evaluations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_evaluations")),
        sa.UniqueConstraint(
            "tenant_id",
            "contact_id",
            "agent_id",
            "evaluator_id",
            name="uq_quality_evaluations_key",
        ),
    )
    with op.batch_alter_table("quality_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quality_evaluations_agent",
            ["tenant_id", "agent_id", "contact_ended_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_quality_evaluations_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("quality_evaluations")
    op.drop_table("quality_scorecards")
