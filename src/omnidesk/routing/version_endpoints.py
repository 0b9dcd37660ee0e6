"""A queue's history over HTTP: its versions with who and when, one version's definition, and
a restore that saves an earlier version's definition as a new version (admin console)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from omnidesk.core.routing import AddQueue, InvalidDefinition, QueueDef, UpdateQueue
from omnidesk.directory.service import require_admin
from omnidesk.platform.audit import audit
from omnidesk.platform.errors import Invalid, NotFound
from omnidesk.platform.http import Ctx
from omnidesk.platform.openapi import documented as _doc
from omnidesk.routing import versions
from omnidesk.routing.endpoints import VersionConflict, _committed, _run, _saved
from omnidesk.routing.host import RoutingHost
from omnidesk.routing.schemas import (
    DeletedQueue,
    QueueRestoreIn,
    QueueSaved,
    QueueVersion,
    QueueVersionDetail,
)

router = APIRouter(prefix="/routing", tags=["routing"])


class NotRestorable(Invalid):
    """The version's definition is not valid any more (e.g. it overflows to a removed queue)."""

    code = "version_not_restorable"


async def _history(ctx: Ctx, queue_id: str) -> list[versions.QueueVersion]:
    # Looked up before the role check: another tenant's queue is a 404 for everyone, as
    # for every id route (tests/platform/test_isolation.py).
    async with ctx.uow:
        history = await versions.queue_history(ctx.uow.session, queue_id)
    if not history:
        raise NotFound(f"queue {queue_id!r} not found")
    require_admin(ctx.principal)
    return history


async def _views(ctx: Ctx, entries: list[versions.QueueVersion]) -> list[dict[str, Any]]:
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    async with ctx.uow:
        names = await versions.actor_names(ctx.uow.session, ids)
    views = []
    for e in entries:
        username, name = names.get(e.actor_id, (None, None)) if e.actor_id else (None, None)
        views.append(
            {
                "version": e.version,
                "action": e.action,
                "restored_from": e.restored_from,
                "at": e.at,
                "actor": {"user_id": e.actor_id, "username": username, "name": name},
            }
        )
    return views


def _version(history: list[versions.QueueVersion], queue_id: str, n: int) -> versions.QueueVersion:
    for entry in history:
        if entry.version == n and entry.definition is not None:
            return entry
    raise NotFound(f"queue {queue_id!r} has no version {n}", field="version")


@router.get("/deleted-queues", **_doc(list[DeletedQueue], 200, 403))
async def list_deleted_queues(request: Request, ctx: Ctx) -> list[dict[str, Any]]:
    """Queues that were deleted and not added again, with their last version (restore it with
    POST /routing/queues/{id}/versions/{version}/restore). Admins only."""
    require_admin(ctx.principal)
    async with _committed(request, ctx) as host:
        live = set(host.directory.queues)
    async with ctx.uow:
        removed = await versions.removed_queue_ids(ctx.uow.session)
        histories = [
            await versions.queue_history(ctx.uow.session, queue_id)
            for queue_id in sorted(removed - live)
        ]
    found = []
    for history in histories:
        last = next((e for e in reversed(history) if e.definition is not None), None)
        if last is None or last.definition is None or history[-1].action != "deleted":
            continue  # re-added since the routing state was read: not deleted any more
        (view,) = await _views(ctx, [history[-1]])
        found.append(
            {
                "id": last.definition["id"],
                "name": last.definition.get("name") or "",
                "version": last.version,
                "deleted_at": history[-1].at,
                "actor": view["actor"],
            }
        )
    return found


@router.get("/queues/{queue_id}/versions", **_doc(list[QueueVersion], 200, 403))
async def list_queue_versions(queue_id: str, ctx: Ctx) -> list[dict[str, Any]]:
    """Every saved version of the queue, oldest first, and its deletions (a deleted queue's
    history stays readable). Admins only."""
    return await _views(ctx, await _history(ctx, queue_id))


@router.get("/queues/{queue_id}/versions/{version}", **_doc(QueueVersionDetail, 200, 403))
async def get_queue_version(queue_id: str, version: int, ctx: Ctx) -> dict[str, Any]:
    """One version's whole definition (to compare two versions, or before a restore)."""
    entry = _version(await _history(ctx, queue_id), queue_id, version)
    (view,) = await _views(ctx, [entry])
    return {**view, "definition": entry.definition}


@router.post(
    "/queues/{queue_id}/versions/{version}/restore", **_doc(QueueSaved, 200, 403, 404, 409, 422)
)
async def restore_queue_version(
    queue_id: str, version: int, request: Request, ctx: Ctx, body: QueueRestoreIn
) -> dict[str, Any]:
    """Save version `version`'s definition as the queue's new version: history is never
    rewritten. Checked like an edit: on the caller's current `version` (else 409
    `version_conflict`), against today's queues (an overflow to a removed queue: 422
    `version_not_restorable`), and waiting contacts stay in the queue in their place (a
    restore that drops a channel they wait on is refused, 409 `queue_in_use`). A deleted
    queue is added again from the version (its versions go on counting), named by its last
    version in `version`."""
    history = await _history(ctx, queue_id)
    entry = _version(history, queue_id, version)
    assert entry.definition is not None
    try:
        queue = QueueDef.from_dict({**entry.definition, "id": queue_id})
    except InvalidDefinition as exc:
        raise NotRestorable(_why(version, exc), **exc.details) from None
    expected = body.version
    saved: dict[str, Any] = {}
    deleted = history[-1].action == "deleted"
    if deleted and expected != history[-1].version:
        raise VersionConflict(
            f"queue {queue_id!r} was deleted at version {history[-1].version}, this restore "
            f"was asked on version {expected}: reload the history and try again",
            field="version",
            version=history[-1].version,
        )

    def current(host: RoutingHost) -> None:
        # Under routing's lock, on the state the restore applies to (as for an edit). A
        # deleted queue is named by its last version (checked above); one added again since
        # the history was read is a conflict.
        actual = host.directory.queue_versions.get(queue_id)
        exists = queue_id in host.directory.queues
        if exists == deleted or (exists and actual != expected):
            raise VersionConflict(
                f"queue {queue_id!r} was changed by someone else (version {actual}, this "
                f"restore was asked on version {expected}): reload the history and try again",
                field="version",
                version=actual,
            )

    try:
        await _run(
            request,
            ctx,
            AddQueue(queue) if deleted else UpdateQueue(queue),
            check=current,
            after=lambda host: saved.update(_saved(host, queue_id)),
        )
    except InvalidDefinition as exc:
        raise NotRestorable(_why(version, exc), **exc.details) from None
    # Written only now, after routing committed the new version and outside its lock: a
    # database session must never be held open across a routing call (the two would wait on
    # each other). Should the process stop in between, the version exists and shows as an
    # ordinary update: only the "restored from" mark is lost, never a version.
    async with ctx.uow:
        audit(
            ctx.uow,
            ctx.principal,
            versions.RESTORED,
            "queue",
            queue_id,
            version=saved["version"],
            restored_from=version,
        )
    return saved


def _why(version: int, exc: InvalidDefinition) -> str:
    return f"version {version} cannot be restored as it is today: {exc.message}"
