"""A recording whose writer was killed is readable after the voice server starts again, and is
on record as partial (recovery.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
import wave
from pathlib import Path
from typing import Any

from sqlalchemy import select

from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.models import Recording as RecordingRow
from omnidesk.channels.voice.recovery import inspect_wav
from omnidesk.channels.voice.wiring import start_voice, stop_voice
from omnidesk.directory.models import User
from omnidesk.platform.database import SYSTEM
from spine_checks import all_events

SYNCED, UNSYNCED = 8000, 4000  # frames (1 s on disk with a current header, then 0.5 s more)

# The child records like the server does (Recorder: header first, sizes synced), then keeps
# appending audio past the last sync, as a writer does between two syncs, and waits to be killed.
CHILD = """
import sys, time
import numpy as np
from omnidesk.channels.voice.media.recorder import Recorder
path, synced, unsynced = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = np.arange(synced + unsynced) / 8000.0
pcm = (8000 * np.sin(2 * np.pi * 600 * t)).astype("<i2")
rec = Recorder(path, sources=[object()])
rec.append(pcm[:synced].tobytes())
rec.sync()
with open(path, "ab") as fh:
    fh.write(pcm[synced:].tobytes() + b"\\x01")  # and half of a frame being written
    fh.flush()
print("ready", flush=True)
time.sleep(60)
"""


def _record_and_kill(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(SYNCED), str(UNSYNCED)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


async def _restart_voice(settings: Any, app: Any) -> None:
    voice = await start_voice(settings, app.state.services, app.state.routing)
    await stop_voice(voice)


async def _tenant_of(app: Any, user_id: str) -> uuid.UUID:
    session = app.state.services.db.session(SYSTEM)
    try:
        found = await session.scalar(select(User.tenant_id).where(User.id == uuid.UUID(user_id)))
    finally:
        await session.close()
    assert found is not None
    return found


async def _recordings(app: Any) -> list[Any]:
    session = app.state.services.db.session(SYSTEM)
    try:
        return list((await session.scalars(select(RecordingRow))).all())
    finally:
        await session.close()


def test_killed_recording_is_repaired_and_partial(app, client, tenants, as_user, settings):  # type: ignore[no-untyped-def]
    tenant = client.portal.call(_tenant_of, app, tenants["demo"].ids["admin"])
    call_id = uuid.uuid4().hex
    path = settings.data_dir / "voice" / "recordings" / str(tenant) / f"{call_id}.wav"
    _record_and_kill(path)
    info = inspect_wav(path)
    assert info is not None and info.stale
    with wave.open(str(path)) as w:
        assert w.getnframes() == SYNCED  # readable, but the tail is not in the header

    voice_settings = settings.model_copy(
        update={"voice_enabled": True, "voice_sip_port": free_port(), "voice_rtp_port_min": 0}
    )
    client.portal.call(_restart_voice, voice_settings, app)

    with wave.open(str(path)) as w:
        assert w.getnframes() == SYNCED + UNSYNCED
        assert w.getframerate() == 8000 and w.getsampwidth() == 2
    [row] = client.portal.call(_recordings, app)
    assert row.state == "partial"
    assert row.contact_id == call_id
    assert row.tenant_id == tenant
    assert row.path == str(path.relative_to(settings.data_dir))
    assert abs((row.duration_s or 0) - (SYNCED + UNSYNCED) / 8000) < 1e-6
    events, _ = all_events(as_user("admin"))
    [saved] = [e for e in events if e["event"] == "voice.recording_saved"]
    assert saved["data"]["complete"] is False and saved["data"]["recording_id"] == str(row.id)

    # A second start finds nothing to do: the row stays, no duplicate.
    client.portal.call(_restart_voice, voice_settings, app)
    assert [r.id for r in client.portal.call(_recordings, app)] == [row.id]
