"""Agents' softphone registrations over HTTP: who is registered, from where, with what phone,
since and until when (docs/voice.md, "Softphone registrations").

Registrations live in the voice server's memory (registrations.py): after a restart the list
is empty until the phones re-register. Who sees whose: admins every user's of their tenant,
a supervisor their own and their teams' members', an agent their own (views.py,
`visible_registrations`; the same rule as the realtime snapshot and the events).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from omnidesk.channels.voice import repository as repo
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.registrations import Registration
from omnidesk.channels.voice.views import visible_registrations
from omnidesk.directory import repository as directory
from omnidesk.platform.http import Ctx

router = APIRouter(prefix="/voice/registrations", tags=["voice registrations"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such user in your tenant, or not one whose softphone you may see"}
}


class SoftphoneRegistration(BaseModel):
    """One registered softphone: one contact of the user's SIP address."""

    user_id: uuid.UUID
    username: str = Field(description="The SIP username the phone registered with")
    aor: str = Field(description="The address of record, sip:<username>@<tenant's SIP domain>")
    contact: str = Field(description="Where the phone says it is reached (its Contact URI)")
    transport: Literal["udp", "tcp"] = Field(description="How the REGISTER came in")
    address: str = Field(description="The address the REGISTER came from (calls go there)")
    port: int = Field(description="The port the REGISTER came from")
    user_agent: str | None = Field(description="The phone's User-Agent header, if it sent one")
    registered_at: datetime = Field(
        description="Since when it is registered from this address (a refresh from the same "
        "place keeps it; one from elsewhere starts it again)"
    )
    expires_at: datetime = Field(description="When the registration lapses unless refreshed")

    @classmethod
    def of(cls, registration: Registration) -> SoftphoneRegistration:
        return cls.model_validate(registration, from_attributes=True)


class AgentSoftphones(BaseModel):
    user_id: uuid.UUID
    sip_username: str | None = Field(description="The user's SIP login; null without one")
    registered: bool = Field(description="Whether any softphone of the user is registered")
    registrations: list[SoftphoneRegistration]


def _voice(request: Request) -> VoiceContext | None:
    # Without a voice server (OMNIDESK_VOICE_ENABLED off) no softphone is registered.
    server: VoiceContext | None = getattr(request.app.state, "voice", None)
    return server


@router.get("", response_model=list[SoftphoneRegistration])
async def list_registrations(request: Request, ctx: Ctx) -> list[SoftphoneRegistration]:
    """Every registered softphone you may see, by username. Kept in memory: empty after a
    restart until the phones re-register."""
    voice = _voice(request)
    if voice is None:
        return []
    async with ctx.uow:
        found = await visible_registrations(ctx.uow.session, ctx.principal, voice)
    return [SoftphoneRegistration.of(r) for r in found]


@router.get("/{user_id}", response_model=AgentSoftphones, responses=NOT_FOUND)
async def user_registrations(user_id: uuid.UUID, request: Request, ctx: Ctx) -> AgentSoftphones:
    """One user's softphones (an empty list when none is registered)."""
    voice = _voice(request)
    async with ctx.uow:
        # The directory's rule: a user you may not see is not found.
        user = await directory.get_user(ctx.uow.session, ctx.principal, user_id)
        login = await repo.credential_of(ctx.uow.session, user.id)
    found = voice.softphones.of_user(user.tenant_id, user.id) if voice is not None else []
    return AgentSoftphones(
        user_id=user.id,
        sip_username=login.username if login is not None else None,
        registered=bool(found),
        registrations=[SoftphoneRegistration.of(r) for r in found],
    )
