"""voice: configuration (settings, SIP credentials, trunks, numbers, flows, queue policies,
audio files) and call records (calls, recordings)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_audio_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("sample_width", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_audio_files_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_audio_files")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_voice_audio_files_name"),
    )
    with op.batch_alter_table("voice_audio_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_audio_files_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "voice_flows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_flows_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_flows")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_voice_flows_name"),
    )
    with op.batch_alter_table("voice_flows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voice_flows_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "voice_queue_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.String(length=128), nullable=False),
        sa.Column("record", sa.String(length=16), nullable=False),
        sa.Column("consent_prompt", sa.Boolean(), nullable=False),
        sa.Column("announce_every_s", sa.Integer(), nullable=True),
        sa.Column("moh", sa.String(length=64), nullable=True),
        sa.Column("max_wait_s", sa.Integer(), nullable=True),
        sa.Column("voicemail_queue", sa.String(length=128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_queue_policies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_queue_policies")),
        sa.UniqueConstraint("tenant_id", "queue_id", name="uq_voice_queue_policies_queue"),
    )
    with op.batch_alter_table("voice_queue_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_queue_policies_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "voice_settings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sip_domain", sa.String(length=253), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_settings")),
        sa.UniqueConstraint("sip_domain", name=op.f("uq_voice_settings_sip_domain")),
        sa.UniqueConstraint("tenant_id", name="uq_voice_settings_tenant"),
    )
    with op.batch_alter_table("voice_settings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_settings_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "voice_trunks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("allowed_addresses", sa.JSON(), nullable=False),
        sa.Column("inbound_username", sa.String(length=64), nullable=True),
        sa.Column("inbound_realm", sa.String(length=253), nullable=True),
        sa.Column("inbound_ha1_md5", sa.String(length=32), nullable=True),
        sa.Column("inbound_ha1_sha256", sa.String(length=64), nullable=True),
        sa.Column("outbound_host", sa.String(length=253), nullable=True),
        sa.Column("outbound_port", sa.Integer(), nullable=False),
        sa.Column("outbound_transport", sa.String(length=8), nullable=False),
        sa.Column("outbound_username", sa.String(length=128), nullable=True),
        sa.Column("outbound_password_sealed", sa.String(length=600), nullable=True),
        sa.Column("caller_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_trunks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_trunks")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_voice_trunks_name"),
    )
    with op.batch_alter_table("voice_trunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voice_trunks_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "voice_calls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("from_uri", sa.String(length=255), nullable=False),
        sa.Column("to_uri", sa.String(length=255), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("trunk_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        sa.Column("recording_ids", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
            name=op.f("fk_voice_calls_agent_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_calls_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trunk_id"],
            ["voice_trunks.id"],
            name=op.f("fk_voice_calls_trunk_id_voice_trunks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_calls")),
    )
    with op.batch_alter_table("voice_calls", schema=None) as batch_op:
        batch_op.create_index("ix_voice_calls_call_id", ["tenant_id", "call_id"], unique=False)
        batch_op.create_index("ix_voice_calls_contact", ["tenant_id", "contact_id"], unique=False)
        batch_op.create_index("ix_voice_calls_started", ["tenant_id", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_voice_calls_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "voice_flow_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("flow_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["voice_flows.id"],
            name=op.f("fk_voice_flow_versions_flow_id_voice_flows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_flow_versions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_flow_versions")),
        sa.UniqueConstraint("flow_id", "version", name="uq_voice_flow_versions_version"),
    )
    with op.batch_alter_table("voice_flow_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_flow_versions_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "voice_numbers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("flow_id", sa.Uuid(), nullable=False),
        sa.Column("trunk_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["voice_flows.id"],
            name=op.f("fk_voice_numbers_flow_id_voice_flows"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_numbers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trunk_id"],
            ["voice_trunks.id"],
            name=op.f("fk_voice_numbers_trunk_id_voice_trunks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_voice_numbers_number")),
    )
    with op.batch_alter_table("voice_numbers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voice_numbers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "voice_sip_credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("realm", sa.String(length=253), nullable=False),
        sa.Column("ha1_md5", sa.String(length=32), nullable=False),
        sa.Column("ha1_sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_sip_credentials_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_voice_sip_credentials_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_sip_credentials")),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_voice_sip_credentials_user"),
        sa.UniqueConstraint("tenant_id", "username", name="uq_voice_sip_credentials_username"),
    )
    with op.batch_alter_table("voice_sip_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_sip_credentials_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "voice_recordings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.String(length=128), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["voice_calls.id"],
            name=op.f("fk_voice_recordings_call_id_voice_calls"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_voice_recordings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_recordings")),
    )
    with op.batch_alter_table("voice_recordings", schema=None) as batch_op:
        batch_op.create_index("ix_voice_recordings_call", ["tenant_id", "call_id"], unique=False)
        batch_op.create_index(
            "ix_voice_recordings_contact", ["tenant_id", "contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_voice_recordings_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("voice_recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_recordings_tenant_id"))
        batch_op.drop_index("ix_voice_recordings_contact")
        batch_op.drop_index("ix_voice_recordings_call")

    op.drop_table("voice_recordings")
    with op.batch_alter_table("voice_sip_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_sip_credentials_tenant_id"))

    op.drop_table("voice_sip_credentials")
    with op.batch_alter_table("voice_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_numbers_tenant_id"))

    op.drop_table("voice_numbers")
    with op.batch_alter_table("voice_flow_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_flow_versions_tenant_id"))

    op.drop_table("voice_flow_versions")
    with op.batch_alter_table("voice_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_calls_tenant_id"))
        batch_op.drop_index("ix_voice_calls_started")
        batch_op.drop_index("ix_voice_calls_contact")
        batch_op.drop_index("ix_voice_calls_call_id")

    op.drop_table("voice_calls")
    with op.batch_alter_table("voice_trunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_trunks_tenant_id"))

    op.drop_table("voice_trunks")
    with op.batch_alter_table("voice_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_settings_tenant_id"))

    op.drop_table("voice_settings")
    with op.batch_alter_table("voice_queue_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_queue_policies_tenant_id"))

    op.drop_table("voice_queue_policies")
    with op.batch_alter_table("voice_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_flows_tenant_id"))

    op.drop_table("voice_flows")
    with op.batch_alter_table("voice_audio_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_audio_files_tenant_id"))

    op.drop_table("voice_audio_files")
