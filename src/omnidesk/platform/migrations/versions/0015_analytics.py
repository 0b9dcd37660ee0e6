"""analytics: 15-minute KPI rollups from the event log, the ingester's cursor and state, and
the KPI settings (src/omnidesk/analytics).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 16:30:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COUNTS = (
    "offered",
    "answered",
    "answered_in_sl",
    "abandoned",
    "short_abandoned",
    "abandoned_in_sl",
    "overflowed",
    "transferred",
    "wait_answered_us",
    "wait_abandoned_us",
    "talk_us",
    "hold_us",
    "wrap_us",
)


def _table(
    name: str, *columns: sa.Column[Any], unique: tuple[str, ...], big_id: bool = True
) -> None:
    suffix = "tenant" if unique == ("tenant_id",) else "key"
    id_column = (
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False)
        if big_id
        else sa.Column("id", sa.Uuid(), nullable=False)
    )
    op.create_table(
        name,
        id_column,
        *columns,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{name}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*unique, name=f"uq_{name}_{suffix}"),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_tenant_id"), ["tenant_id"], unique=False)


def upgrade() -> None:
    _table(
        "analytics_queue_intervals",
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTS),
        unique=("tenant_id", "interval_start", "queue_id", "channel", "agent_id"),
    )
    _table(
        "analytics_agent_state_intervals",
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("us", sa.BigInteger(), nullable=False),
        unique=("tenant_id", "interval_start", "agent_id", "state", "reason"),
    )
    _table(
        "analytics_cursors",
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        unique=("tenant_id",),
        big_id=False,
    )
    _table(
        "analytics_pending_contacts",
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("quiet_us", sa.BigInteger(), nullable=True),
        unique=("tenant_id", "contact_id"),
    )
    with op.batch_alter_table("analytics_pending_contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_pending_contacts_quiet", ["tenant_id", "quiet_us"], unique=False
        )
    _table(
        "analytics_agent_open_states",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("since_us", sa.BigInteger(), nullable=False),
        unique=("tenant_id", "agent_id"),
    )
    _table(
        "analytics_queue_thresholds",
        sa.Column("queue_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("us", sa.BigInteger(), nullable=False),
        unique=("tenant_id", "queue_id", "seq"),
    )
    _table(
        "analytics_settings",
        sa.Column("short_abandon_seconds", sa.Float(), nullable=False),
        sa.Column("abandons_in_sl", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        unique=("tenant_id",),
        big_id=False,
    )


def downgrade() -> None:
    op.drop_table("analytics_settings")
    op.drop_table("analytics_queue_thresholds")
    op.drop_table("analytics_agent_open_states")
    op.drop_table("analytics_pending_contacts")
    op.drop_table("analytics_cursors")
    op.drop_table("analytics_agent_state_intervals")
    op.drop_table("analytics_queue_intervals")
