"""Recordings (calls and voicemail messages): the stored row and the WAV itself.

Admins and supervisors read every recording of their tenant; an agent reads a recording when
its contact is or was offered to them (a voicemail they are handling, a call they took). Any
other id — another tenant's included — is 404.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from omnidesk.channels.voice.models import Recording
from omnidesk.channels.voice.schemas import RecordingOut
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.errors import NotFound
from omnidesk.platform.eventlog import EventRecord
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import documented

router = APIRouter(prefix="/voice/recordings", tags=["voice recordings"])


async def _recording(ctx: Any, recording_id: uuid.UUID) -> Recording:
    missing = NotFound(f"recording {recording_id} not found")
    async with ctx.uow:
        session = ctx.uow.session
        row: Recording | None = await session.get(Recording, recording_id)
        # session.get may answer from the identity map without the tenant criteria: check too.
        if row is None or row.tenant_id != ctx.principal.tenant_id:
            raise missing
        if ctx.principal.role is not Role.AGENT:
            return row
        if row.contact_id is None:
            raise missing
        offers = await session.scalars(
            select(EventRecord.payload).where(
                EventRecord.subject_type == "contact",
                EventRecord.subject_id == row.contact_id,
                EventRecord.type.in_(("routing.offer_created", "routing.offer_accepted")),
            )
        )
        me = str(ctx.principal.user_id)
        if not any(str(p.get("agent_id")) == me for p in offers):
            raise missing
        return row


def _view(row: Recording) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "contact_id": row.contact_id,
        "duration_s": row.duration_s,
        "state": row.state,
        "sha256": row.sha256,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "audio_url": f"/api/v1/voice/recordings/{row.id}/audio",
    }


@router.get("/{recording_id}", **documented(RecordingOut))
async def get_recording(recording_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    return _view(await _recording(ctx, recording_id))


@router.get(
    "/{recording_id}/audio",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def get_recording_audio(recording_id: uuid.UUID, request: Request, ctx: Ctx) -> FileResponse:
    row = await _recording(ctx, recording_id)
    data_dir: Path = request.app.state.services.settings.data_dir
    path = await asyncio.to_thread(_file_under, data_dir, row.path)
    if path is None:
        raise NotFound(f"the audio of recording {recording_id} is missing")
    return FileResponse(path, media_type="audio/wav", filename=f"recording-{row.id}.wav")


def _file_under(root: Path, relative: str) -> Path | None:
    path = (root / relative).resolve()
    return path if path.is_file() and path.is_relative_to(root.resolve()) else None
