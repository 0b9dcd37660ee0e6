"""Voice configuration queries. Tenant filtering is automatic on tenant sessions (see
platform.database); the few lookups across tenants (by SIP domain, number, source address)
run on SYSTEM sessions and say so."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.voice.models import (
    AudioFile,
    Extension,
    Flow,
    FlowVersion,
    Number,
    QueuePolicy,
    Recording,
    SipCredential,
    Trunk,
    VoiceSettings,
)
from omnidesk.platform.errors import NotFound


async def settings(session: AsyncSession) -> VoiceSettings | None:
    return await session.scalar(select(VoiceSettings))


async def settings_by_domain(session: AsyncSession, domain: str) -> VoiceSettings | None:
    """Across tenants (any session scope; SYSTEM for the call layer)."""
    return await session.scalar(select(VoiceSettings).where(VoiceSettings.sip_domain == domain))


async def credential_of(session: AsyncSession, user_id: uuid.UUID) -> SipCredential | None:
    return await session.scalar(select(SipCredential).where(SipCredential.user_id == user_id))


async def extension_of(session: AsyncSession, user_id: uuid.UUID) -> Extension | None:
    return await session.scalar(select(Extension).where(Extension.user_id == user_id))


async def extension_by_number(session: AsyncSession, extension: str) -> Extension | None:
    return await session.scalar(select(Extension).where(Extension.extension == extension))


async def credential_by_username(session: AsyncSession, username: str) -> SipCredential | None:
    return await session.scalar(select(SipCredential).where(SipCredential.username == username))


async def trunk_by_inbound_username(session: AsyncSession, username: str) -> Trunk | None:
    return await session.scalar(select(Trunk).where(Trunk.inbound_username == username))


async def count_credentials(session: AsyncSession) -> int:
    agents = await session.scalar(select(func.count()).select_from(SipCredential))
    trunks = await session.scalar(
        select(func.count()).select_from(Trunk).where(Trunk.inbound_ha1_md5.is_not(None))
    )
    return int(agents or 0) + int(trunks or 0)


async def list_trunks(session: AsyncSession) -> Sequence[Trunk]:
    return (await session.scalars(select(Trunk).order_by(Trunk.name))).all()


async def get_trunk(session: AsyncSession, trunk_id: uuid.UUID) -> Trunk:
    trunk = await session.scalar(select(Trunk).where(Trunk.id == trunk_id))
    if trunk is None:
        raise NotFound(f"trunk {trunk_id} not found")
    return trunk


async def trunk_by_name(session: AsyncSession, name: str) -> Trunk | None:
    return await session.scalar(select(Trunk).where(Trunk.name == name))


async def list_numbers(session: AsyncSession) -> Sequence[Number]:
    return (await session.scalars(select(Number).order_by(Number.number))).all()


async def get_number(session: AsyncSession, number_id: uuid.UUID) -> Number:
    row = await session.scalar(select(Number).where(Number.id == number_id))
    if row is None:
        raise NotFound(f"number {number_id} not found")
    return row


async def number_row(session: AsyncSession, number: str) -> Number | None:
    """Across tenants when the session is SYSTEM: a DID belongs to one tenant of the install."""
    return await session.scalar(select(Number).where(Number.number == number))


async def numbers_using(
    session: AsyncSession, *, flow_id: uuid.UUID | None = None, trunk_id: uuid.UUID | None = None
) -> list[str]:
    stmt = select(Number.number)
    if flow_id is not None:
        stmt = stmt.where(Number.flow_id == flow_id)
    if trunk_id is not None:
        stmt = stmt.where(Number.trunk_id == trunk_id)
    return list((await session.scalars(stmt.order_by(Number.number))).all())


async def list_flows(session: AsyncSession) -> Sequence[Flow]:
    return (await session.scalars(select(Flow).order_by(Flow.name))).all()


async def get_flow(session: AsyncSession, flow_id: uuid.UUID) -> Flow:
    flow = await session.scalar(select(Flow).where(Flow.id == flow_id))
    if flow is None:
        raise NotFound(f"flow {flow_id} not found")
    return flow


async def flow_by_name(session: AsyncSession, name: str) -> Flow | None:
    return await session.scalar(select(Flow).where(Flow.name == name))


async def flow_version(session: AsyncSession, flow_id: uuid.UUID, version: int) -> FlowVersion:
    row = await session.scalar(
        select(FlowVersion).where(FlowVersion.flow_id == flow_id, FlowVersion.version == version)
    )
    if row is None:
        raise NotFound(f"flow {flow_id} has no version {version}")
    return row


async def flow_versions(session: AsyncSession, flow_id: uuid.UUID) -> Sequence[FlowVersion]:
    stmt = select(FlowVersion).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.version)
    return (await session.scalars(stmt)).all()


async def queue_policy(session: AsyncSession, queue_id: str) -> QueuePolicy | None:
    return await session.scalar(select(QueuePolicy).where(QueuePolicy.queue_id == queue_id))


async def list_queue_policies(session: AsyncSession) -> Sequence[QueuePolicy]:
    return (await session.scalars(select(QueuePolicy).order_by(QueuePolicy.queue_id))).all()


async def queues_using_audio(session: AsyncSession, name: str) -> list[str]:
    stmt = select(QueuePolicy.queue_id).where(QueuePolicy.moh == name)
    return list((await session.scalars(stmt)).all())


async def list_audio(session: AsyncSession) -> Sequence[AudioFile]:
    return (await session.scalars(select(AudioFile).order_by(AudioFile.name))).all()


async def audio_by_name(session: AsyncSession, name: str) -> AudioFile | None:
    return await session.scalar(select(AudioFile).where(AudioFile.name == name))


async def recordings_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[Recording]:
    if not ids:
        return []
    return (await session.scalars(select(Recording).where(Recording.id.in_(ids)))).all()
