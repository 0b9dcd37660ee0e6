"""voice policy max wait: a queue's voice policy no longer has a longest wait of its own; the
routing queue's max_wait_seconds + on_max_wait own it (ADR 0026). The column was stored and
never acted on, so dropping it changes no call; downgrade gives the column back empty.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("voice_queue_policies", schema=None) as batch_op:
        batch_op.drop_column("max_wait_s")


def downgrade() -> None:
    with op.batch_alter_table("voice_queue_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_wait_s", sa.Integer(), nullable=True))
