"""Knowledge use cases: everyone of the tenant reads and searches; supervisors and admins write.

Search is plain and portable (the same on SQLite and PostgreSQL): every word of the query must
occur in the title, the body, a step or a tag, case-insensitively; titles that match first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.knowledge.models import Article
from omnidesk.knowledge.schemas import ArticleIn, ArticleOut
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Forbidden, NotFound
from omnidesk.platform.uow import UnitOfWork

LIMIT = 50


def _require_editor(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise Forbidden("articles and scripts are edited by supervisors and admins")


def out(row: Article) -> ArticleOut:
    return ArticleOut(
        id=row.id,
        kind=row.kind,
        title=row.title,
        body=row.body,
        steps=list(row.steps),
        queue_ids=list(row.queue_ids),
        tags=list(row.tags),
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def search(
    session: AsyncSession,
    *,
    q: str | None = None,
    queue: str | None = None,
    kind: str | None = None,
    limit: int = LIMIT,
) -> Sequence[Article]:
    stmt = select(Article)
    if kind is not None:
        stmt = stmt.where(Article.kind == kind)
    words = [w for w in (q or "").lower().split() if w]
    text = func.lower(
        Article.title
        + " "
        + Article.body
        + " "
        + cast(Article.steps, String)
        + " "
        + cast(Article.tags, String)
    )
    for word in words:
        stmt = stmt.where(text.contains(word, autoescape=True))
    rows = list((await session.scalars(stmt.order_by(Article.title, Article.id))).all())
    if queue is not None:
        # For this queue, or for every queue (a JSON list: filtered here, portably).
        rows = [r for r in rows if not r.queue_ids or queue in r.queue_ids]
    if words:
        rows.sort(key=lambda r: not all(w in r.title.lower() for w in words))
    return rows[:limit]


async def get(session: AsyncSession, article_id: uuid.UUID) -> Article:
    row = await session.scalar(select(Article).where(Article.id == article_id))
    if row is None:
        raise NotFound(f"article {article_id} not found")
    return row


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


async def create(uow: UnitOfWork, by: Principal, data: ArticleIn) -> Article:
    _require_editor(by)
    now = utcnow()
    row = Article(
        id=uuid.uuid4(),
        kind=data.kind,
        title=data.title,
        body=data.body,
        steps=list(data.steps),
        queue_ids=_dedupe(data.queue_ids),
        tags=_dedupe(data.tags),
        created_at=now,
        updated_at=now,
        updated_by=by.user_id,
    )
    uow.session.add(row)
    await uow.session.flush()
    audit(uow, by, "knowledge.create", "article", row.id, title=row.title, kind=row.kind)
    return row


async def update(uow: UnitOfWork, by: Principal, article_id: uuid.UUID, data: ArticleIn) -> Article:
    _require_editor(by)
    row = await get(uow.session, article_id)
    row.kind = data.kind
    row.title = data.title
    row.body = data.body
    row.steps = list(data.steps)
    row.queue_ids = _dedupe(data.queue_ids)
    row.tags = _dedupe(data.tags)
    row.updated_at = utcnow()
    row.updated_by = by.user_id
    await uow.session.flush()
    audit(uow, by, "knowledge.update", "article", row.id, title=row.title)
    return row


async def delete(uow: UnitOfWork, by: Principal, article_id: uuid.UUID) -> None:
    _require_editor(by)
    row = await get(uow.session, article_id)
    await uow.session.delete(row)
    await uow.session.flush()
    audit(uow, by, "knowledge.delete", "article", article_id, title=row.title)
