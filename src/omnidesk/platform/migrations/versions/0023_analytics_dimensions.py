"""analytics dimensions: team and disposition rollups and the agents' team history
(src/omnidesk/analytics, docs/kpis.md "Teams", "Dispositions").

The new rollups must hold the whole log, not only what comes after the upgrade: every
tenant's rollups and ingester state are dropped and its cursor set back to 0, so the server's
ingester rebuilds them all from the log (as `omnidesk kpis rebuild` would) when it starts.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
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
_REBUILT = (
    "analytics_queue_intervals",
    "analytics_agent_state_intervals",
    "analytics_pending_contacts",
    "analytics_agent_open_states",
    "analytics_queue_thresholds",
)


def _table(name: str, *columns: sa.Column[Any], unique: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        *columns,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{name}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*unique, name=f"uq_{name}_key"),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_tenant_id"), ["tenant_id"], unique=False)


def upgrade() -> None:
    _table(
        "analytics_team_intervals",
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTS),
        unique=("tenant_id", "interval_start", "team_id"),
    )
    _table(
        "analytics_disposition_intervals",
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("disposition", sa.String(length=128), nullable=False),
        *(
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in ("handled", "talk_us", "hold_us", "wrap_us")
        ),
        unique=("tenant_id", "interval_start", "queue_id", "channel", "disposition"),
    )
    _table(
        "analytics_team_memberships",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        unique=("tenant_id", "agent_id", "seq"),
    )
    for name in _REBUILT:
        op.execute(sa.text(f"DELETE FROM {name}"))
    op.execute(sa.text("UPDATE analytics_cursors SET last_seq = 0"))


def downgrade() -> None:
    op.drop_table("analytics_team_memberships")
    op.drop_table("analytics_disposition_intervals")
    op.drop_table("analytics_team_intervals")
