"""voice: agents' extension numbers (omnidesk.channels.voice.models.Extension).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_extensions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("extension", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_extensions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_voice_extensions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_extensions")),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_voice_extensions_user"),
        sa.UniqueConstraint("tenant_id", "extension", name="uq_voice_extensions_extension"),
    )
    with op.batch_alter_table("voice_extensions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_extensions_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("voice_extensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_extensions_tenant_id"))
    op.drop_table("voice_extensions")
