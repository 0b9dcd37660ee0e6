"""Voice configuration use cases, part two: IVR flows (versioned), queue voice policies and
audio files. Same rules as config_service (never commits; audited; events recorded)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, select

from omnidesk.channels.voice import repository as repo
from omnidesk.channels.voice.audio import AudioStore, WavInfo, audio_file_name
from omnidesk.channels.voice.config_service import (
    check_audio,
    flush_unique,
    require_admin,
    require_staff,
)
from omnidesk.channels.voice.events import AudioChanged, FlowChanged, QueuePolicyChanged
from omnidesk.channels.voice.ivr.flow import Flow as IvrFlow
from omnidesk.channels.voice.ivr.flow import validate_flow
from omnidesk.channels.voice.models import AudioFile, Flow, FlowVersion, QueuePolicy
from omnidesk.channels.voice.schemas import FlowIn, FlowUpdateIn, QueuePolicyIn
from omnidesk.directory.models import User
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.errors import Conflict, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork, still_at_version

DEFAULT_POLICY = QueuePolicyIn()


# --- flows ----------------------------------------------------------------------------------


def _issue(path: str, message: str) -> dict[str, Any]:
    """One refusal of a flow: its path, and apart the node it is in and the field inside that
    node ("nodes.sales.options.7" → node "sales", field "options.7"; None outside the nodes),
    so that an editor shows it on the node without parsing paths."""
    parts = path.split(".")
    node = field = None
    if len(parts) >= 3 and parts[:2] == ["definition", "nodes"]:
        node = parts[2]
        field = ".".join(parts[3:]) or None
    return {"path": path, "message": message, "node": node, "field": field}


def check_flow(definition: dict[str, Any]) -> IvrFlow:
    """The definition as the IVR will run it, or 422 naming the path of every issue."""
    result = validate_flow(definition)
    if isinstance(result, IvrFlow):
        return result
    issues = [_issue(f"definition.{i.path}" if i.path else "definition", i.message) for i in result]
    detail = "; ".join(f"{i['path']}: {i['message']}" for i in issues)
    raise Invalid(detail, field="definition", issues=issues)


def _audio_file(name: str) -> str:
    # As the IVR's prompt player resolves it (lookups.audio_path): {wav: hold-music} plays
    # hold-music.wav.
    return audio_file_name(name)


def flow_audio(flow: IvrFlow, definition: dict[str, Any]) -> list[tuple[str, str]]:
    """(path in the request, audio file name) for every prompt file and hold music the flow
    plays. `definition` is the raw JSON, to name paths as the admin wrote them: a single
    `{wav: x}` prompt has no list index."""
    used: list[tuple[str, str]] = []
    raw_nodes = definition.get("nodes") or {}
    for node_id, node in flow.nodes.items():
        base = f"definition.nodes.{node_id}"
        raw = raw_nodes.get(node_id) or {}
        for field, prompts in node.prompt_fields():
            listed = isinstance(raw.get(field), list)
            for index, item in enumerate(prompts):
                if item.wav is not None:
                    where = f"{base}.{field}.{index}.wav" if listed else f"{base}.{field}.wav"
                    used.append((where, _audio_file(item.wav)))
        moh = getattr(node, "moh", None)
        if isinstance(moh, str):
            used.append((f"{base}.moh", _audio_file(moh)))
    return used


def _audio_in_stored(definition: dict[str, Any]) -> set[str]:
    flow = validate_flow(definition)
    if isinstance(flow, IvrFlow):
        return {name for _, name in flow_audio(flow, definition)}
    # A stored definition the current schema no longer reads: every wav/moh string anywhere
    # counts, so that a file it might play is never deleted from under it.
    found: set[str] = set()
    todo: list[Any] = [definition]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("wav", "moh") and isinstance(item, str):
                    found.add(_audio_file(item))
                else:
                    todo.append(item)
        elif isinstance(value, list):
            todo.extend(value)
    return found


async def _check_flow_audio(uow: UnitOfWork, flow: IvrFlow, definition: dict[str, Any]) -> None:
    used = flow_audio(flow, definition)
    if not used:
        return
    names = {name for _, name in used}
    stmt = select(AudioFile.name).where(AudioFile.name.in_(names))
    present = set((await uow.session.scalars(stmt)).all())
    issues = [
        _issue(where, f"no audio file {name!r} (upload it to /api/v1/voice/audio)")
        for where, name in used
        if name not in present
    ]
    if issues:
        detail = "; ".join(f"{i['path']}: {i['message']}" for i in issues)
        raise Invalid(detail, field="definition", issues=issues)


async def _flows_using_audio(uow: UnitOfWork, name: str) -> list[str]:
    """Names of the flows whose version in use plays `name` (old versions do not count: no
    call starts on them)."""
    stmt = select(Flow.name, FlowVersion.definition).join(
        FlowVersion, (FlowVersion.flow_id == Flow.id) & (FlowVersion.version == Flow.version)
    )
    rows = (await uow.session.execute(stmt.order_by(Flow.name))).all()
    return [flow_name for flow_name, definition in rows if name in _audio_in_stored(definition)]


async def _names(uow: UnitOfWork, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Who saved each version, as the History shows them (users that still exist)."""
    if not ids:
        return {}
    users = await uow.session.scalars(select(User).where(User.id.in_(ids)))
    return {u.id: u.display_name or u.username for u in users}


async def _flow_view(uow: UnitOfWork, row: Flow) -> dict[str, Any]:
    versions = await repo.flow_versions(uow.session, row.id)
    current = next(v for v in versions if v.version == row.version)
    names = await _names(uow, {v.created_by for v in versions if v.created_by})
    return {
        "id": str(row.id),
        "name": row.name,
        "version": row.version,
        "definition": current.definition,
        "versions": [
            {
                "version": v.version,
                "created_at": v.created_at.isoformat(),
                "created_by": str(v.created_by) if v.created_by else None,
                "created_by_name": names.get(v.created_by) if v.created_by else None,
            }
            for v in versions
        ],
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def _flow_summary(row: Flow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "version": row.version,
        "updated_at": row.updated_at.isoformat(),
    }


async def list_flows(uow: UnitOfWork, by: Principal) -> list[dict[str, Any]]:
    require_staff(by)
    return [_flow_summary(f) for f in await repo.list_flows(uow.session)]


async def get_flow(uow: UnitOfWork, by: Principal, flow_id: uuid.UUID) -> dict[str, Any]:
    require_staff(by)
    return await _flow_view(uow, await repo.get_flow(uow.session, flow_id))


async def get_flow_version(
    uow: UnitOfWork, by: Principal, flow_id: uuid.UUID, version: int
) -> dict[str, Any]:
    require_staff(by)
    flow = await repo.get_flow(uow.session, flow_id)
    row = await repo.flow_version(uow.session, flow.id, version)
    return {
        "id": str(flow.id),
        "name": flow.name,
        "version": row.version,
        "current": row.version == flow.version,
        "definition": row.definition,
        "created_at": row.created_at.isoformat(),
    }


async def create_flow(uow: UnitOfWork, by: Principal, data: FlowIn) -> dict[str, Any]:
    require_admin(by)
    definition = data.definition
    await _check_flow_audio(uow, check_flow(definition), definition)
    if await repo.flow_by_name(uow.session, data.name) is not None:
        raise Conflict(f"a flow named {data.name!r} exists", field="name")
    row = Flow(id=uuid.uuid4(), name=data.name, version=1, updated_by=by.user_id)
    uow.session.add(row)
    await flush_unique(uow, f"a flow named {data.name!r} exists", "name")
    uow.session.add(
        FlowVersion(flow_id=row.id, version=1, definition=definition, created_by=by.user_id)
    )
    await uow.session.flush()
    uow.record(FlowChanged(id=str(row.id), action="created", version=1, data=_flow_summary(row)))
    audit(uow, by, "voice.flow.create", "voice_flow", row.id, name=row.name, version=1)
    return await _flow_view(uow, row)


async def update_flow(
    uow: UnitOfWork, by: Principal, flow_id: uuid.UUID, data: FlowUpdateIn
) -> dict[str, Any]:
    """A changed definition becomes a new version (the old ones are kept); the same definition
    again only renames, so retrying a request does not pile up versions. Saved only on the
    version the admin edited (`data.version`, else 409 `version_conflict`): two admins editing
    one flow, the later save is refused instead of silently replacing the other's."""
    require_admin(by)
    row = await repo.get_flow(uow.session, flow_id)
    await _claim(uow, row, data.version, "this edit was made on")
    definition = data.definition
    await _check_flow_audio(uow, check_flow(definition), definition)
    other = await repo.flow_by_name(uow.session, data.name)
    if other is not None and other.id != row.id:
        raise Conflict(f"a flow named {data.name!r} exists", field="name")
    current = await repo.flow_version(uow.session, row.id, row.version)
    if current.definition != definition:
        row.version += 1
        uow.session.add(
            FlowVersion(
                flow_id=row.id, version=row.version, definition=definition, created_by=by.user_id
            )
        )
    row.name = data.name
    row.updated_by = by.user_id
    await flush_unique(uow, f"a flow named {data.name!r} exists", "name")
    uow.record(
        FlowChanged(id=str(row.id), action="updated", version=row.version, data=_flow_summary(row))
    )
    audit(uow, by, "voice.flow.update", "voice_flow", row.id, name=row.name, version=row.version)
    return await _flow_view(uow, row)


class FlowVersionConflict(Conflict):
    code = "version_conflict"


def _conflict(row: Flow, actual: int, expected: int, asked: str) -> FlowVersionConflict:
    return FlowVersionConflict(
        f"flow {row.name!r} was changed by someone else (version {actual}, {asked} version "
        f"{expected}): reload it and try again",
        field="version",
        version=actual,
    )


async def _claim(uow: UnitOfWork, row: Flow, expected: int, asked: str) -> None:
    """Go on only if the flow is still at version `expected`, and hold it until the commit
    (`still_at_version`)."""
    if row.version != expected or not await still_at_version(uow, row, expected):
        raise _conflict(row, row.version, expected, asked)


async def restore_flow_version(
    uow: UnitOfWork, by: Principal, flow_id: uuid.UUID, version: int, expected: int
) -> dict[str, Any]:
    """Version `version`'s definition as the flow's new version (history is never rewritten),
    on the version the admin saw (`expected`, else 409 `version_conflict`). Checked as a save
    is: a definition the IVR's schema no longer reads, or whose audio was deleted since, is
    refused (422) naming each path."""
    require_admin(by)
    row = await repo.get_flow(uow.session, flow_id)
    await _claim(uow, row, expected, "this restore was asked on")
    old = await repo.flow_version(uow.session, row.id, version)
    definition = dict(old.definition)
    await _check_flow_audio(uow, check_flow(definition), definition)
    row.version += 1
    row.updated_by = by.user_id
    uow.session.add(
        FlowVersion(
            flow_id=row.id, version=row.version, definition=definition, created_by=by.user_id
        )
    )
    # Two restores on the same version: the second's version number is taken (unique key).
    await flush_unique(uow, f"flow {row.name!r} was changed by someone else", "version")
    uow.record(
        FlowChanged(id=str(row.id), action="updated", version=row.version, data=_flow_summary(row))
    )
    audit(
        uow,
        by,
        "voice.flow.restore",
        "voice_flow",
        row.id,
        name=row.name,
        version=row.version,
        restored_from=version,
    )
    return await _flow_view(uow, row)


async def delete_flow(uow: UnitOfWork, by: Principal, flow_id: uuid.UUID) -> None:
    require_admin(by)
    row = await repo.get_flow(uow.session, flow_id)
    used = await repo.numbers_using(uow.session, flow_id=row.id)
    if used:
        raise Conflict(f"flow {row.name!r} is used by number(s) {', '.join(used)}", numbers=used)
    await uow.session.execute(delete(FlowVersion).where(FlowVersion.flow_id == row.id))
    await uow.session.delete(row)
    await uow.session.flush()
    uow.record(FlowChanged(id=str(row.id), action="deleted", version=row.version))
    audit(uow, by, "voice.flow.delete", "voice_flow", row.id, name=row.name)


# --- queue policies -------------------------------------------------------------------------


def policy_view(queue_id: str, row: QueuePolicy | None) -> dict[str, Any]:
    if row is None:
        defaults = DEFAULT_POLICY.model_dump(exclude={"version", "max_wait_s"})
        return {"queue_id": queue_id, **defaults, "configured": False, "version": 0}
    return {
        "queue_id": queue_id,
        "record": row.record,
        "consent_prompt": row.consent_prompt,
        "announce_every_s": row.announce_every_s,
        "moh": row.moh,
        "voicemail_queue": row.voicemail_queue,
        "configured": True,
        "version": row.version,
    }


def _require_queue(queue_id: str, queues: Collection[str]) -> None:
    if queue_id not in queues:
        raise NotFound(f"queue {queue_id!r} not found")


async def get_queue_policy(
    uow: UnitOfWork, by: Principal, queue_id: str, queues: Collection[str]
) -> dict[str, Any]:
    """`queues`: the routing queue ids of the tenant (the queues live in the routing engine)."""
    require_staff(by)
    _require_queue(queue_id, queues)
    return policy_view(queue_id, await repo.queue_policy(uow.session, queue_id))


async def put_queue_policy(
    uow: UnitOfWork, by: Principal, queue_id: str, data: QueuePolicyIn, queues: Collection[str]
) -> dict[str, Any]:
    require_admin(by)
    _require_queue(queue_id, queues)
    if data.voicemail_queue is not None and data.voicemail_queue not in queues:
        raise Invalid(
            f"voicemail_queue: queue {data.voicemail_queue!r} not found", field="voicemail_queue"
        )
    await check_audio(uow, data.moh, "moh")
    row = await repo.queue_policy(uow.session, queue_id)
    fields = data.model_dump(exclude={"version", "max_wait_s"})
    if row is None:
        _check_policy_version(queue_id, 0, data.version)
        row = QueuePolicy(queue_id=queue_id, **fields)
        uow.session.add(row)
    else:
        await _claim_policy(uow, row, data.version)
        for name, value in fields.items():
            setattr(row, name, value)
        row.version += 1
    row.updated_by = by.user_id
    try:
        await flush_unique(uow, f"queue {queue_id!r} was given a policy meanwhile", "queue_id")
    except Conflict:
        # Two first saves at once: the loser's view (version 0) is stale like any other.
        if data.version is None:
            raise
        raise _policy_conflict(queue_id, None, data.version) from None
    view = policy_view(queue_id, row)
    uow.record(QueuePolicyChanged(id=queue_id, action="updated", data=view))
    audit(uow, by, "voice.queue_policy.set", "queue", queue_id, **fields, version=row.version)
    return view


class PolicyVersionConflict(Conflict):
    code = "version_conflict"


def _policy_conflict(queue_id: str, actual: int | None, expected: int) -> PolicyVersionConflict:
    now = "" if actual is None else f"version {actual}, "
    return PolicyVersionConflict(
        f"the voice policy of queue {queue_id!r} was changed by someone else ({now}this save was "
        f"made on version {expected}): reload it and try again",
        field="version",
        version=actual,
    )


def _check_policy_version(queue_id: str, actual: int, expected: int | None) -> None:
    if expected is not None and expected != actual:
        raise _policy_conflict(queue_id, actual, expected)


async def _claim_policy(uow: UnitOfWork, row: QueuePolicy, expected: int | None) -> None:
    """Go on only if the policy is still at the version the admin edited; as _claim does for
    flows, a conditional UPDATE holds the row so that of two saves of one version on
    PostgreSQL the second waits for the first's commit and then matches nothing (409)."""
    _check_policy_version(row.queue_id, row.version, expected)
    if expected is not None and not await still_at_version(uow, row, expected):
        raise _policy_conflict(row.queue_id, row.version, expected)


# --- audio files ----------------------------------------------------------------------------


def audio_view(row: AudioFile) -> dict[str, Any]:
    return {
        "name": row.name,
        "size": row.size,
        "sha256": row.sha256,
        "sample_rate": row.sample_rate,
        "channels": row.channels,
        "sample_width": row.sample_width,
        "duration_s": round(row.duration_s, 3),
        "created_at": row.created_at.isoformat(),
    }


async def list_audio(uow: UnitOfWork, by: Principal) -> list[dict[str, Any]]:
    require_staff(by)
    return [audio_view(a) for a in await repo.list_audio(uow.session)]


async def get_audio(uow: UnitOfWork, by: Principal, name: str) -> AudioFile:
    require_staff(by)
    row = await repo.audio_by_name(uow.session, name)
    if row is None:
        raise NotFound(f"audio file {name!r} not found")
    return row


async def add_audio(
    uow: UnitOfWork, by: Principal, name: str, info: WavInfo, data: bytes, store: AudioStore
) -> tuple[dict[str, Any], uuid.UUID]:
    """Writes the file before the row; the caller removes it again if the commit fails."""
    require_admin(by)
    if await repo.audio_by_name(uow.session, name) is not None:
        raise Conflict(f"audio file {name!r} exists (delete it first)", field="name")
    row = AudioFile(
        id=uuid.uuid4(),
        name=name,
        size=info.size,
        sha256=info.sha256,
        sample_rate=info.sample_rate,
        channels=info.channels,
        sample_width=info.sample_width,
        duration_s=info.duration_s,
        created_by=by.user_id,
    )
    uow.session.add(row)
    await flush_unique(uow, f"audio file {name!r} exists", "name")
    store.write(by.tenant_id, row.id, data)
    view = audio_view(row)
    uow.record(AudioChanged(id=name, action="created", data=view))
    audit(uow, by, "voice.audio.add", "voice_audio", name, size=info.size, sha256=info.sha256)
    return view, row.id


async def delete_audio(uow: UnitOfWork, by: Principal, name: str) -> uuid.UUID:
    """Returns the file id, whose bytes the caller removes after the commit."""
    require_admin(by)
    row = await get_audio(uow, by, name)
    users = [f"queue {q!r}" for q in await repo.queues_using_audio(uow.session, name)]
    users += [f"flow {f!r}" for f in await _flows_using_audio(uow, name)]
    settings = await repo.settings(uow.session)
    if settings is not None:
        prompt = settings.options.get("recording_consent_prompt") or {}
        if name in (settings.options.get("default_moh"), prompt.get("audio")):
            users.append("the tenant's voice settings")
    if users:
        raise Conflict(f"audio file {name!r} is used by {', '.join(users)}", used_by=users)
    await uow.session.delete(row)
    await uow.session.flush()
    uow.record(AudioChanged(id=name, action="deleted"))
    audit(uow, by, "voice.audio.delete", "voice_audio", name, sha256=row.sha256)
    return row.id
