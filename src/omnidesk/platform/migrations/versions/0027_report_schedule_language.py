"""analytics: the language of a scheduled report's mail (ReportSchedule.language).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default fills the existing rows: their mails were English until now.
    with op.batch_alter_table("analytics_report_schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), server_default="en", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("analytics_report_schedules", schema=None) as batch_op:
        batch_op.drop_column("language")
