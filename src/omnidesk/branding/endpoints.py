"""Branding over HTTP (thin: the rules are in service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from omnidesk.branding import service
from omnidesk.branding.images import LOGO_TYPES
from omnidesk.branding.schemas import BrandingIn, BrandingOut
from omnidesk.platform.http import Ctx, read_body
from omnidesk.platform.openapi import documented, errors

router = APIRouter(prefix="/branding", tags=["branding"])
VersionQuery = Annotated[
    int, Query(ge=1, description="The branding's version the edit was made on")
]
BINARY = {"schema": {"type": "string", "format": "binary"}}
# The body is the image itself. Its declared type is not trusted: the bytes tell (service).
LOGO_BODY = {
    "requestBody": {
        "required": True,
        "content": {kind: BINARY for kind in (*LOGO_TYPES, "application/octet-stream")},
    }
}


@router.get("", **documented(BrandingOut))
async def get_branding(ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.get_branding(ctx.uow, ctx.principal)


@router.put("", **documented(BrandingOut, 200, 409))
async def put_branding(body: BrandingIn, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.put_branding(ctx.uow, ctx.principal, body)


@router.put("/logo", openapi_extra=LOGO_BODY, **documented(BrandingOut, 200, 409, 413, 415))
async def put_logo(request: Request, version: VersionQuery, ctx: Ctx) -> dict[str, Any]:
    """The PNG, JPEG or WebP image as the raw request body (at most 256 KB), on `?version=`."""
    service.require_admin(ctx.principal)
    limit = service.LOGO_MAX_BYTES
    data = await read_body(request, limit, f"a logo may be at most {limit // 1024} KB", "logo")
    async with ctx.uow:
        return await service.set_logo(ctx.uow, ctx.principal, data, version)


@router.delete("/logo", **documented(BrandingOut, 200, 409))
async def delete_logo(version: VersionQuery, ctx: Ctx) -> dict[str, Any]:
    async with ctx.uow:
        return await service.remove_logo(ctx.uow, ctx.principal, version)


@router.get(
    "/logo",
    response_class=Response,
    responses={
        200: {
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in LOGO_TYPES
            }
        },
        304: {"description": "The copy the client holds (If-None-Match) is current"},
        **errors(404),
    },
)
async def get_logo(request: Request, ctx: Ctx) -> Response:
    async with ctx.uow:
        data, kind, digest = await service.get_logo(ctx.uow, ctx.principal)
    etag = f'"{digest[:32]}"'
    headers = {
        "ETag": etag,
        # Private: the logo is behind the tenant's sign-in. Revalidated each time, so a changed
        # logo shows at once (the URL's ?v= changes too).
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=kind, headers=headers)
