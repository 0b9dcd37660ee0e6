"""queue policy version: a queue's voice policy counts its saves, so an admin's edit names the
version it was made on (409 version_conflict on a stale one).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("voice_queue_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("voice_queue_policies", schema=None) as batch_op:
        batch_op.drop_column("version")
