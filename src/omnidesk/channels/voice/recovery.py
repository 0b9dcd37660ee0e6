"""Recordings left behind by a crash, made readable and accounted for at server start.

A recording is `data_dir/voice/recordings/<tenant id>/<call id>.wav` (the call id is also the
routing contact's id). The recorder keeps the WAV header's sizes current about once a second,
so a killed server leaves a file whose header may lag behind the audio appended after the last
sync (or, killed mid-write, a half frame). At start, before any call can record, every WAV is
checked: stale sizes are repaired (`repair_wav`), and a file with no `voice_recordings` row
(the call never finished) gets one in state "partial"; a repaired file that already had a row
is marked "partial" too. Each file made partial is announced as `voice.recording_saved` with
complete=False so the contact's timeline shows that audio exists.

Callbacks still in line are taken back too (`recover_callbacks`, see callbacks.py): routing
keeps their contacts across the restart, the voice layer's memory of them is rebuilt from the
asking call's `callback` step. That runs in the background once SIP is up, as routing's own
restore does: a slow or unreachable database must not keep phones from registering, and it is
retried until it succeeds (the server's stop cancels it).
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, union

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.callbacks import (
    CALLBACK_STEP,
    Callback,
    CallbackDesk,
    asking_call_id,
)
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.media.recorder import RATE, repair_wav
from omnidesk.channels.voice.models import Number, Trunk
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.eventlog import EventRecord
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.api import ContactStatus, RoutingReads

log = get_logger(__name__)

CALLBACK_RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class Recovered:
    tenant_id: uuid.UUID
    call_id: str
    path: Path
    repaired: bool
    seconds: float
    recording_id: str


@dataclass(frozen=True)
class _Wav:
    stale: bool
    frames: int
    block: int


def inspect_wav(path: Path) -> _Wav | None:
    """Whether the header's sizes match the file (None: not a WAV we can read)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            riff_size = struct.unpack_from("<I", head, 4)[0]
            block, pos = 2, 12
            while pos + 8 <= size:
                fh.seek(pos)
                cid, clen = struct.unpack("<4sI", fh.read(8))
                if cid == b"fmt ":
                    fmt = fh.read(16)
                    if len(fmt) == 16:
                        block = struct.unpack_from("<H", fmt, 12)[0] or 2
                elif cid == b"data":
                    on_disk = size - pos - 8
                    stale = clen != on_disk or riff_size != size - 8 or on_disk % block != 0
                    return _Wav(stale=stale, frames=min(clen, on_disk) // block, block=block)
                pos += 8 + clen + (clen & 1)
    except OSError:
        return None
    return None


def _scan(root: Path) -> list[tuple[uuid.UUID, Path, _Wav]]:
    found: list[tuple[uuid.UUID, Path, _Wav]] = []
    if not root.is_dir():
        return found
    for tenant_dir in sorted(root.iterdir()):
        try:
            tenant_id = uuid.UUID(tenant_dir.name)
        except ValueError:
            continue
        for path in sorted(tenant_dir.glob("*.wav")):
            info = inspect_wav(path)
            if info is None:
                log.warning("voice.recording_unreadable", path=str(path))
                continue
            found.append((tenant_id, path, info))
    return found


def _repair(path: Path, info: _Wav) -> tuple[int, str, float]:
    frames = repair_wav(path) if info.stale else info.frames
    return frames, hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


async def recover_recordings(ctx: VoiceContext) -> list[Recovered]:
    """Repair and account for the recordings a crash left; returns what was made partial."""
    root = ctx.data_dir / "voice" / "recordings"
    found = await asyncio.to_thread(_scan, root)
    out: list[Recovered] = []
    for tenant_id, path, info in found:
        rel = str(path.relative_to(ctx.data_dir))
        try:
            out_one = await _recover_one(ctx, tenant_id, path, rel, info)
        except Exception:
            # One bad file or tenant must not keep the voice server from starting.
            log.exception("voice.recording_recovery_failed", path=rel)
            continue
        if out_one is not None:
            out.append(out_one)
    if out:
        log.info("voice.recordings_recovered", count=len(out))
    return out


async def _recover_one(
    ctx: VoiceContext, tenant_id: uuid.UUID, path: Path, rel: str, info: _Wav
) -> Recovered | None:
    uow = UnitOfWork(ctx.db.session(tenant_id), ctx.bus, tenant_id=tenant_id)
    async with uow:
        row = (
            await uow.session.scalars(
                select(RecordingRow).where(
                    RecordingRow.tenant_id == tenant_id, RecordingRow.path == rel
                )
            )
        ).first()
        if row is not None and not info.stale:
            return None  # finished normally, or already recovered by an earlier start
        frames, sha, mtime = await asyncio.to_thread(_repair, path, info)
        seconds = frames / RATE
        call_id = path.stem
        if row is None:
            ended = datetime.fromtimestamp(mtime, tz=UTC)
            row = RecordingRow(
                tenant_id=tenant_id,
                contact_id=call_id,
                path=rel,
                started_at=ended - timedelta(seconds=seconds),
                ended_at=ended,
            )
            uow.session.add(row)
        row.state = "partial"
        row.duration_s = seconds
        row.sha256 = sha
        await uow.session.flush()
        uow.record(
            ev.RecordingSaved(
                call_id=call_id,
                recording_id=str(row.id),
                contact_id=row.contact_id,
                seconds=seconds,
                sha256=sha,
                complete=False,
            ),
            Audience(),
        )
        log.warning("voice.recording_partial", path=rel, repaired=info.stale, seconds=seconds)
        return Recovered(tenant_id, call_id, path, info.stale, seconds, str(row.id))


# --- callbacks ---------------------------------------------------------------------------------


async def recover_callbacks(ctx: VoiceContext, desk: CallbackDesk) -> list[Callback]:
    """Put the callbacks routing still holds back in the desk's `pending`; returns them.
    Retries (every CALLBACK_RETRY_SECONDS) whatever failed, until all tenants are done."""
    while True:
        try:
            todo = await _voice_tenants(ctx)
            break
        except Exception:
            log.warning("voice.callback_recovery_retry", exc_info=True)
            await asyncio.sleep(CALLBACK_RETRY_SECONDS)
    out: list[Callback] = []
    while todo:
        failed: list[uuid.UUID] = []
        for tenant_id in todo:
            try:
                out += await _recover_tenant(ctx, desk, tenant_id)
            except Exception:
                # One tenant's trouble must not hold back the others' callbacks.
                log.warning("voice.callback_recovery_retry", tenant=str(tenant_id), exc_info=True)
                failed.append(tenant_id)
        if failed:
            await asyncio.sleep(CALLBACK_RETRY_SECONDS)
        todo = failed
    if out:
        log.info("voice.callbacks_recovered", count=len(out))
    return out


async def _voice_tenants(ctx: VoiceContext) -> list[uuid.UUID]:
    """Tenants that can have callbacks: a number to be called on or a trunk to call out."""
    session = ctx.db.session(SYSTEM)
    try:
        found = await session.scalars(
            union(select(Number.tenant_id), select(Trunk.tenant_id))  # union: distinct
        )
        return sorted(found.all())
    finally:
        await session.close()


async def _recover_tenant(
    ctx: VoiceContext, desk: CallbackDesk, tenant_id: uuid.UUID
) -> list[Callback]:
    # First a look under routing's lock (only in memory), then the event log without it (the
    # lock holds up every routing command of the tenant), then the lock again to take them
    # back as they are by then.
    def unclaimed(reads: RoutingReads) -> list[str]:
        return [
            cid
            for cid in reads.contact_ids()
            if asking_call_id(cid) is not None
            and cid not in desk.pending
            and cid not in ctx.by_contact  # connected by this server already
        ]

    candidates = await ctx.routing.read(tenant_id, unclaimed)
    found: dict[str, Callback] = {}
    for cid in candidates:
        cb = await _callback_on_record(ctx, tenant_id, cid)
        if cb is not None:
            found[cid] = cb
    return await ctx.routing.read(
        tenant_id, lambda reads: _take_back(desk, candidates, found, reads)
    )


def _take_back(
    desk: CallbackDesk, candidates: list[str], found: dict[str, Callback], reads: RoutingReads
) -> list[Callback]:
    """Under routing's lock: each candidate as routing holds it now, back in the desk (so no
    routing event of it can come between its status read here and its restore)."""
    out: list[Callback] = []
    for cid in candidates:
        status = reads.contact(cid)
        if status is None:
            continue  # ended meanwhile
        if status.state == "active":
            # The agent was on it (or being dialled through) when the server died: that
            # call is gone like any other a restart drops; the agent wraps it up.
            log.warning("voice.callback_dropped_by_restart", callback=cid, agent=status.agent_id)
            continue
        cb = found.get(cid)
        if cb is None:
            log.error("voice.callback_unrecoverable", callback=cid, state=status.state)
            continue
        _log_restored(cb, status, desk.restore(cb, status))
        out.append(cb)
    return out


def _log_restored(cb: Callback, status: ContactStatus, outcome: str) -> None:
    if outcome == "known":
        return
    log.warning(
        "voice.callback_recovered",
        callback=cb.id,
        call=cb.call_id,
        queue=cb.queue_id,
        number=cb.number,
        routing_state=status.state,
        now=outcome,
    )


async def _callback_on_record(
    ctx: VoiceContext, tenant_id: uuid.UUID, contact_id: str
) -> Callback | None:
    """The callback as its asking call's `callback` step recorded it (None: no such step)."""
    call_id = asking_call_id(contact_id)
    if call_id is None:
        return None
    session = ctx.db.session(tenant_id)
    try:
        # ix_events_subject: a few rows of one call, newest first (a later ask wins).
        rows = await session.execute(
            select(EventRecord.payload, EventRecord.occurred_at)
            .where(
                EventRecord.tenant_id == tenant_id,
                EventRecord.subject_type == "call",
                EventRecord.subject_id == call_id,
                EventRecord.type == "voice.call_state_changed",
            )
            .order_by(EventRecord.seq.desc())
        )
        for payload, occurred_at in rows.all():
            detail = payload.get("detail") or {}
            if payload.get("state") != CALLBACK_STEP or detail.get("callback_id") != contact_id:
                continue
            if not detail.get("number") or not detail.get("queue"):
                return None  # not a step this code wrote
            return Callback(
                id=contact_id,
                tenant_id=tenant_id,
                queue_id=str(detail["queue"]),
                number=str(detail["number"]),
                call_id=call_id,
                attributes=dict(detail.get("attributes") or {}),
                created_at=occurred_at,
            )
    finally:
        await session.close()
    return None
