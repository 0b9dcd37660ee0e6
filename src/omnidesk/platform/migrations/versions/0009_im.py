"""im: team communication — threads (direct, team, all), their numbered messages, read markers
and raised hands (src/omnidesk/directory/im).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
    ]


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="CASCADE"
    )


def _tenant_index(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_tenant_id"), ["tenant_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "im_hands",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("im_hands"),
        _user_fk("im_hands", "user_id"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_im_hands")),
    )
    _tenant_index("im_hands")
    op.create_table(
        "im_threads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("user_a", sa.Uuid(), nullable=True),
        sa.Column("user_b", sa.Uuid(), nullable=True),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("im_threads"),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_im_threads_team_id_teams"), ondelete="CASCADE"
        ),
        _user_fk("im_threads", "user_a"),
        _user_fk("im_threads", "user_b"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_im_threads")),
        sa.UniqueConstraint("tenant_id", "key", name="uq_im_threads_key"),
    )
    _tenant_index("im_threads")
    op.create_table(
        "im_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("broadcast", sa.Boolean(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("im_messages"),
        _user_fk("im_messages", "author_id"),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["im_threads.id"],
            name=op.f("fk_im_messages_thread_id_im_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_im_messages")),
        sa.UniqueConstraint("thread_id", "number", name="uq_im_messages_thread_number"),
    )
    _tenant_index("im_messages")
    op.create_table(
        "im_reads",
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("last_read", sa.Integer(), nullable=False),
        *_tenant("im_reads"),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["im_threads.id"],
            name=op.f("fk_im_reads_thread_id_im_threads"),
            ondelete="CASCADE",
        ),
        _user_fk("im_reads", "user_id"),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name=op.f("pk_im_reads")),
    )
    _tenant_index("im_reads")


def downgrade() -> None:
    for table in ("im_reads", "im_messages", "im_threads", "im_hands"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_tenant_id"))
        op.drop_table(table)
