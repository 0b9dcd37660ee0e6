"""crm: the interactions an agent handled, indexed on PostgreSQL (crm/repository.handled_by).

`agent_ids` is a JSON list; PostgreSQL finds the rows holding one agent through a GIN index on
its jsonb form (jsonb_path_ops: containment is all the query asks). SQLite has no index for
membership in a JSON list: nothing to create there.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_crm_interactions_agents ON crm_interactions "
            "USING gin ((CAST(agent_ids AS jsonb)) jsonb_path_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_crm_interactions_agents")
