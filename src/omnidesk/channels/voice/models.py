"""Tables of voice: configuration (settings, SIP credentials, trunks, numbers, flows, queue
policies, audio files) and the call layer's records (calls, recordings).

Secrets: SIP passwords agents and trunks authenticate *to us* with are kept only as digest HA1
values (RFC 2617 MD5 and RFC 7616 SHA-256), which the registrar needs and which cannot be turned
back into the password. The password a trunk's carrier expects *from us* must be sent as is,
so it is sealed (see voice.sealing) and never returned by the API.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.platform.database import Base, TenantScoped, new_id, utcnow

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class VoiceSettings(TenantScoped, Base):
    """One row per tenant that uses voice. `sip_domain` is unique across the install: it is how
    a REGISTER or INVITE addressed to `sip:…@domain` finds its tenant, and it is the digest realm
    of every HA1 below."""

    __tablename__ = "voice_settings"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_voice_settings_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sip_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    # The rest of VoiceSettingsIn (language, consent prompt, default hold music, ...).
    options: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class SipCredential(TenantScoped, Base):
    __tablename__ = "voice_sip_credentials"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", name="uq_voice_sip_credentials_user"),
        UniqueConstraint("tenant_id", "username", name="uq_voice_sip_credentials_username"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    # The realm the HA1s were computed with (the tenant's SIP domain at that time).
    realm: Mapped[str] = mapped_column(String(253))
    ha1_md5: Mapped[str] = mapped_column(String(32))
    ha1_sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class Extension(TenantScoped, Base):
    """An agent's short extension number: dialled from a browser phone or a softphone, it
    rings that agent's phone (their browser phone, else their softphone) instead of going out
    the trunk. One per user, unique in the tenant (docs/voice.md, "Extensions")."""

    __tablename__ = "voice_extensions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", name="uq_voice_extensions_user"),
        UniqueConstraint("tenant_id", "extension", name="uq_voice_extensions_extension"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    extension: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class Trunk(TenantScoped, Base):
    __tablename__ = "voice_trunks"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_voice_trunks_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    # Normalised networks ("203.0.113.7/32", "2001:db8::/48") whose packets are this trunk's.
    allowed_addresses: Mapped[list[str]] = mapped_column(JSON)
    inbound_username: Mapped[str | None] = mapped_column(String(64))
    inbound_realm: Mapped[str | None] = mapped_column(String(253))
    inbound_ha1_md5: Mapped[str | None] = mapped_column(String(32))
    inbound_ha1_sha256: Mapped[str | None] = mapped_column(String(64))
    outbound_host: Mapped[str | None] = mapped_column(String(253))
    outbound_port: Mapped[int] = mapped_column(default=5060)
    outbound_transport: Mapped[str] = mapped_column(String(8), default="udp")
    outbound_username: Mapped[str | None] = mapped_column(String(128))
    # Reversible on purpose (we must send it); sealed with the install's key, never returned.
    outbound_password_sealed: Mapped[str | None] = mapped_column(String(600))
    caller_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class Flow(TenantScoped, Base):
    """An IVR flow; its definitions are kept per version, `version` is the one in use."""

    __tablename__ = "voice_flows"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_voice_flows_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class FlowVersion(TenantScoped, Base):
    __tablename__ = "voice_flow_versions"
    __table_args__ = (
        UniqueConstraint("flow_id", "version", name="uq_voice_flow_versions_version"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    flow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("voice_flows.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None]


class Number(TenantScoped, Base):
    """A DID. `number` is unique across the install: a DID belongs to exactly one tenant."""

    __tablename__ = "voice_numbers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # No ON DELETE action: a flow or trunk in use is refused deletion (409) by the service
    # first; the constraint is the backstop against a concurrent change. (Not RESTRICT, which
    # is checked at once and could refuse a tenant's cascading delete midway.)
    flow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("voice_flows.id"))
    trunk_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("voice_trunks.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class QueuePolicy(TenantScoped, Base):
    """Voice behaviour of a routing queue (the queue itself lives in the routing engine)."""

    __tablename__ = "voice_queue_policies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "queue_id", name="uq_voice_queue_policies_queue"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    queue_id: Mapped[str] = mapped_column(String(128))
    record: Mapped[str] = mapped_column(String(16))  # always | never | on_demand
    consent_prompt: Mapped[bool]
    announce_every_s: Mapped[int | None]
    moh: Mapped[str | None] = mapped_column(String(64))
    voicemail_queue: Mapped[str | None] = mapped_column(String(128))
    # Counts saves: an admin's edit names the version it was made on (409 on a stale one).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class AudioFile(TenantScoped, Base):
    """A PCM WAV file of a tenant (prompts, hold music); the bytes live in the data directory."""

    __tablename__ = "voice_audio_files"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_voice_audio_files_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    sample_rate: Mapped[int]
    channels: Mapped[int]
    sample_width: Mapped[int]
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None]


# --- the call layer's records (written by the call layer, not by this package) -------------


class Call(TenantScoped, Base):
    """Call detail record: one SIP call (one dialog on the customer's side)."""

    __tablename__ = "voice_calls"
    __table_args__ = (
        Index("ix_voice_calls_started", "tenant_id", "started_at"),
        Index("ix_voice_calls_contact", "tenant_id", "contact_id"),
        Index("ix_voice_calls_call_id", "tenant_id", "call_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(String(255))  # SIP Call-ID
    contact_id: Mapped[str | None] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(16))  # inbound | outbound | internal
    from_uri: Mapped[str] = mapped_column(String(255))
    to_uri: Mapped[str] = mapped_column(String(255))
    number: Mapped[str | None] = mapped_column(String(32))
    trunk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("voice_trunks.id", ondelete="SET NULL")
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(64))
    recording_ids: Mapped[list[str]] = mapped_column(JSON, default=list)


class Recording(TenantScoped, Base):
    __tablename__ = "voice_recordings"
    __table_args__ = (
        Index("ix_voice_recordings_contact", "tenant_id", "contact_id"),
        Index("ix_voice_recordings_call", "tenant_id", "call_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    call_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("voice_calls.id", ondelete="SET NULL")
    )
    contact_id: Mapped[str | None] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(500))  # relative to the data directory
    duration_s: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))  # complete | partial
    sha256: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
