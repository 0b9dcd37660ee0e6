"""HTTP endpoints of knowledge and scripts: thin, the rules live in the service."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from omnidesk.knowledge import service
from omnidesk.knowledge.schemas import ArticleIn, ArticleOut
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import errors

router = APIRouter(prefix="/knowledge", tags=["knowledge"])


@router.get("/articles", response_model=list[ArticleOut])
async def search_articles(
    ctx: Ctx,
    q: Annotated[str | None, Query(max_length=200, description="Words that must all occur")] = None,
    queue: Annotated[str | None, Query(max_length=64, description="For this queue")] = None,
    kind: Literal["article", "script"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = service.LIMIT,
) -> list[ArticleOut]:
    """Articles and scripts of the tenant (everyone reads them), searched and by queue."""
    async with ctx.uow:
        rows = await service.search(ctx.uow.session, q=q, queue=queue, kind=kind, limit=limit)
        return [service.out(r) for r in rows]


@router.get("/articles/{article_id}", response_model=ArticleOut, responses=errors(404))
async def get_article(article_id: uuid.UUID, ctx: Ctx) -> ArticleOut:
    async with ctx.uow:
        return service.out(await service.get(ctx.uow.session, article_id))


@router.post(
    "/articles",
    response_model=ArticleOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(403),
)
async def create_article(body: ArticleIn, ctx: Ctx) -> ArticleOut:
    """Supervisors and admins write articles and scripts."""
    async with ctx.uow:
        row = await service.create(ctx.uow, ctx.principal, body)
        out = service.out(row)
    return out


@router.put("/articles/{article_id}", response_model=ArticleOut, responses=errors(403, 404))
async def update_article(article_id: uuid.UUID, body: ArticleIn, ctx: Ctx) -> ArticleOut:
    async with ctx.uow:
        row = await service.update(ctx.uow, ctx.principal, article_id, body)
        out = service.out(row)
    return out


@router.delete(
    "/articles/{article_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404)
)
async def delete_article(article_id: uuid.UUID, ctx: Ctx) -> Response:
    async with ctx.uow:
        await service.delete(ctx.uow, ctx.principal, article_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
