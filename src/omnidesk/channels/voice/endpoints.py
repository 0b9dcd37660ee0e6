"""Voice configuration over HTTP (thin: the rules are in config_service / config_content)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from omnidesk.channels.voice import config_content as content
from omnidesk.channels.voice import config_service as service
from omnidesk.channels.voice.audio import AudioStore, check_wav
from omnidesk.channels.voice.flow_yaml import (
    YAML_FLOW_BODY,
    YAML_FLOW_UPDATE_BODY,
    YamlFlowRoute,
)
from omnidesk.channels.voice.schemas import (
    AudioOut,
    ExtensionIn,
    ExtensionOut,
    FlowIn,
    FlowOut,
    FlowRestoreIn,
    FlowSummary,
    FlowUpdateIn,
    FlowVersionOut,
    NumberIn,
    NumberOut,
    QueuePolicyIn,
    QueuePolicyOut,
    SipCredentialIn,
    SipCredentialOut,
    TrunkIn,
    TrunkOut,
    VoiceSettingsIn,
    VoiceSettingsOut,
)
from omnidesk.channels.voice.vault import install_key
from omnidesk.platform.errors import NotFound, UnsupportedMediaType
from omnidesk.platform.http import Ctx, read_body, services_of
from omnidesk.platform.openapi import documented, errors
from omnidesk.routing.api import Routing

# YamlFlowRoute: the flow routes (those whose OpenAPI lists YAML) take a YAML body too.
router = APIRouter(prefix="/voice", tags=["voice"], route_class=YamlFlowRoute)
WAV_TYPES = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream"}
AUDIO_NAME = r"^[a-z0-9][a-z0-9._-]{0,59}\.wav$"
AudioNamePath = Annotated[str, Path(pattern=AUDIO_NAME)]
AudioNameQuery = Annotated[str, Query(pattern=AUDIO_NAME)]


def _key(request: Request) -> bytes:
    settings = services_of(request).settings
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    return install_key(secret, settings.data_dir)


def _store(request: Request) -> AudioStore:
    return AudioStore(services_of(request).settings.data_dir)


async def _queues(request: Request, ctx: Ctx) -> set[str]:
    """The tenant's routing queue ids, as committed (without loading routing for a tenant
    that has none)."""
    routing: Routing = request.app.state.routing
    return await routing.read(ctx.principal.tenant_id, lambda r: set(r.queues()))


# --- SIP credentials ------------------------------------------------------------------------


@router.get("/agents/{user_id}/sip", **documented(SipCredentialOut))
async def get_sip(user_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.get_sip_credential(ctx.uow, ctx.principal, user_id)


@router.put("/agents/{user_id}/sip", **documented(SipCredentialOut, 200, 409))
async def put_sip(user_id: uuid.UUID, body: SipCredentialIn, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.put_sip_credential(ctx.uow, ctx.principal, user_id, body)


@router.delete("/agents/{user_id}/sip", status_code=status.HTTP_204_NO_CONTENT)
async def delete_sip(user_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await service.delete_sip_credential(ctx.uow, ctx.principal, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- extensions -----------------------------------------------------------------------------


@router.get("/agents/{user_id}/extension", **documented(ExtensionOut))
async def get_extension(user_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    """The user's extension number (null without one): dialled from a browser phone or a
    softphone, it rings them."""
    async with ctx.uow:
        return await service.get_extension(ctx.uow, ctx.principal, user_id)


@router.put("/agents/{user_id}/extension", **documented(ExtensionOut, 200, 403, 409))
async def put_extension(user_id: uuid.UUID, body: ExtensionIn, ctx: Ctx) -> dict[str, Any]:
    """Give the user an extension (admins): 2 to 6 digits, unique in the tenant (`409` naming
    `extension` when another agent has it; `422` when it is not 2 to 6 digits)."""
    async with ctx.uow:
        return await service.put_extension(ctx.uow, ctx.principal, user_id, body)


@router.delete(
    "/agents/{user_id}/extension", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403)
)
async def delete_extension(user_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await service.delete_extension(ctx.uow, ctx.principal, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- settings -------------------------------------------------------------------------------


@router.get("/settings", **documented(VoiceSettingsOut))
async def get_settings(ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.get_settings(ctx.uow, ctx.principal)


@router.put("/settings", **documented(VoiceSettingsOut, 200, 409))
async def put_settings(body: VoiceSettingsIn, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.put_settings(ctx.uow, ctx.principal, body)


# --- trunks ---------------------------------------------------------------------------------


@router.get("/trunks", **documented(list[TrunkOut]))
async def list_trunks(ctx: Ctx) -> list[dict[str, Any]]:
    async with ctx.uow:
        return await service.list_trunks(ctx.uow, ctx.principal)


@router.post("/trunks", **documented(TrunkOut, 201, 409))
async def create_trunk(body: TrunkIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    service.require_admin(ctx.principal)
    async with ctx.uow:
        return await service.create_trunk(ctx.uow, ctx.principal, body, _key(request))


@router.get("/trunks/{trunk_id}", **documented(TrunkOut))
async def get_trunk(trunk_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.get_trunk(ctx.uow, ctx.principal, trunk_id)


@router.put("/trunks/{trunk_id}", **documented(TrunkOut, 200, 409))
async def update_trunk(
    trunk_id: uuid.UUID, body: TrunkIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    service.require_admin(ctx.principal)
    async with ctx.uow:
        return await service.update_trunk(ctx.uow, ctx.principal, trunk_id, body, _key(request))


@router.delete("/trunks/{trunk_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409))
async def delete_trunk(trunk_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await service.delete_trunk(ctx.uow, ctx.principal, trunk_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- numbers --------------------------------------------------------------------------------


@router.get("/numbers", **documented(list[NumberOut]))
async def list_numbers(ctx: Ctx) -> list[dict[str, Any]]:
    async with ctx.uow:
        return await service.list_numbers(ctx.uow, ctx.principal)


@router.post("/numbers", **documented(NumberOut, 201, 404, 409))
async def create_number(body: NumberIn, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.create_number(ctx.uow, ctx.principal, body)


@router.get("/numbers/{number_id}", **documented(NumberOut))
async def get_number(number_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.get_number(ctx.uow, ctx.principal, number_id)


@router.put("/numbers/{number_id}", **documented(NumberOut, 200, 409))
async def update_number(number_id: uuid.UUID, body: NumberIn, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.update_number(ctx.uow, ctx.principal, number_id, body)


@router.delete("/numbers/{number_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_number(number_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await service.delete_number(ctx.uow, ctx.principal, number_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- flows ----------------------------------------------------------------------------------


@router.get("/flows", **documented(list[FlowSummary]))
async def list_flows(ctx: Ctx) -> list[dict[str, Any]]:
    async with ctx.uow:
        return await content.list_flows(ctx.uow, ctx.principal)


@router.post("/flows", **documented(FlowOut, 201, 409), openapi_extra=YAML_FLOW_BODY)
async def create_flow(body: FlowIn, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await content.create_flow(ctx.uow, ctx.principal, body)


@router.get("/flows/{flow_id}", **documented(FlowOut))
async def get_flow(flow_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await content.get_flow(ctx.uow, ctx.principal, flow_id)


@router.get("/flows/{flow_id}/versions/{version}", **documented(FlowVersionOut))
async def get_flow_version(
    flow_id: uuid.UUID, version: Annotated[int, Path(ge=1)], ctx: Ctx
) -> dict[str, Any]:
    async with ctx.uow:
        return await content.get_flow_version(ctx.uow, ctx.principal, flow_id, version)


@router.post("/flows/{flow_id}/versions/{version}/restore", **documented(FlowOut, 200, 409, 422))
async def restore_flow_version(
    flow_id: uuid.UUID, version: Annotated[int, Path(ge=1)], body: FlowRestoreIn, ctx: Ctx
) -> dict[str, Any]:
    """Save version `version`'s definition as the flow's new version in use (a rollback that
    keeps every version). Admins only."""
    async with ctx.uow:
        return await content.restore_flow_version(
            ctx.uow, ctx.principal, flow_id, version, body.version
        )


@router.put(
    "/flows/{flow_id}", **documented(FlowOut, 200, 409), openapi_extra=YAML_FLOW_UPDATE_BODY
)
async def update_flow(flow_id: uuid.UUID, body: FlowUpdateIn, ctx: Ctx) -> dict[str, Any]:
    """A new version of the flow, made on `version` (the one in use when the edit began): a
    stale one is refused with 409 `version_conflict`. Admins only."""
    async with ctx.uow:
        return await content.update_flow(ctx.uow, ctx.principal, flow_id, body)


@router.delete("/flows/{flow_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409))
async def delete_flow(flow_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await content.delete_flow(ctx.uow, ctx.principal, flow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- queue policies -------------------------------------------------------------------------


@router.get("/queues/{queue_id}/policy", **documented(QueuePolicyOut))
async def get_queue_policy(queue_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    service.require_staff(ctx.principal)
    queues = await _queues(request, ctx)
    async with ctx.uow:
        return await content.get_queue_policy(ctx.uow, ctx.principal, queue_id, queues)


@router.put("/queues/{queue_id}/policy", **documented(QueuePolicyOut, 200, 409))
async def put_queue_policy(
    queue_id: str, body: QueuePolicyIn, request: Request, ctx: Ctx
) -> dict[str, Any]:
    service.require_admin(ctx.principal)
    queues = await _queues(request, ctx)
    async with ctx.uow:
        return await content.put_queue_policy(ctx.uow, ctx.principal, queue_id, body, queues)


# --- audio ----------------------------------------------------------------------------------


@router.get("/audio", **documented(list[AudioOut]))
async def list_audio(ctx: Ctx) -> list[dict[str, Any]]:
    async with ctx.uow:
        return await content.list_audio(ctx.uow, ctx.principal)


# The body is the WAV file itself, read from the stream (so it is never parsed as JSON).
WAV_BODY = {
    "requestBody": {
        "required": True,
        # audio/x-wav and the other WAV_TYPES are taken too.
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("audio/wav", "application/octet-stream")
        },
    }
}


@router.post("/audio", openapi_extra=WAV_BODY, **documented(AudioOut, 201, 409, 415))
async def upload_audio(request: Request, ctx: Ctx, name: AudioNameQuery) -> dict[str, Any]:
    """The WAV file as the raw request body (Content-Type audio/wav), its name in `?name=`."""
    service.require_admin(ctx.principal)
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind not in WAV_TYPES:
        raise UnsupportedMediaType(
            f"send the WAV file as the body with Content-Type audio/wav, not {kind or 'none'}"
        )
    limit = services_of(request).settings.voice_audio_max_bytes
    raw = await read_body(request, limit, f"audio files are limited to {limit} bytes")
    info = check_wav(raw)
    store = _store(request)
    written: list[uuid.UUID] = []
    try:
        async with ctx.uow:
            view, file_id = await content.add_audio(ctx.uow, ctx.principal, name, info, raw, store)
            written.append(file_id)
    except BaseException:
        # The row did not commit: its bytes must not stay behind.
        for file_id in written:
            store.remove(ctx.principal.tenant_id, file_id)
        raise
    return view


@router.get(
    "/audio/{name}",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def download_audio(name: AudioNamePath, request: Request, ctx: Ctx) -> Response:
    async with ctx.uow:
        row = await content.get_audio(ctx.uow, ctx.principal, name)
    path = _store(request).path(ctx.principal.tenant_id, row.id)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        # The row outlived its bytes (data directory lost or not shared between nodes).
        raise NotFound(f"audio file {name!r} is missing from the data directory") from None
    return Response(
        content=data,
        media_type="audio/wav",
        headers={"Content-Disposition": f'attachment; filename="{row.name}"'},
    )


@router.delete("/audio/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_audio(name: AudioNamePath, request: Request, ctx: Ctx) -> Response:
    async with ctx.uow:
        file_id = await content.delete_audio(ctx.uow, ctx.principal, name)
    # Only after the commit: a rolled-back delete must still have its file.
    _store(request).remove(ctx.principal.tenant_id, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
