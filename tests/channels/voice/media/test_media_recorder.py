from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest
from media_helpers import FarEnd, media_engine, open_pair  # noqa: F401 - fixture

from omnidesk.channels.voice.media.analysis import dominant_tones, tone
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.recorder import Heard, Recorder, repair_wav

CALLER, AGENT, CARD = 600.0, 1000.0, 1500.0


def _read(path: Path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        return w.getparams(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def test_standalone_mono_and_stereo(tmp_path: Path) -> None:
    mono = Recorder(tmp_path / "m.wav", sources=["a", "b"])
    stereo = Recorder(tmp_path / "s.wav", sources=["a", "b"], stereo=True)
    a, b = tone(CALLER, 160), tone(AGENT, 160)
    for _ in range(50):
        mono.feed([a, b])
        stereo.feed([a, b])
    mono.pause()
    mono.feed([a, b])
    mono.close()
    stereo.close()
    params, data = _read(tmp_path / "m.wav")
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 8000)
    assert params.nframes == 51 * 160
    assert dominant_tones(data[:8000], [CALLER, AGENT], 1000) == [frozenset({CALLER, AGENT})]
    assert not data[-160:].any()  # paused: silence, not the audio
    params, data = _read(tmp_path / "s.wav")
    assert params.nchannels == 2 and params.nframes == 50 * 160
    assert dominant_tones(data[0::2], [CALLER, AGENT], 1000) == [frozenset({CALLER})]
    assert dominant_tones(data[1::2], [CALLER, AGENT], 1000) == [frozenset({AGENT})]
    with pytest.raises(ValueError):
        Recorder(tmp_path / "x.wav", sources=["a"], stereo=True)


def test_header_is_valid_after_every_sync(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r.wav", sources=["a"])
    assert _read(tmp_path / "r.wav")[0].nframes == 0  # readable from the first byte on
    rec.feed([tone(CALLER, 160)])
    rec.sync()
    assert _read(tmp_path / "r.wav")[0].nframes == 160
    rec.close()


_CHILD = textwrap.dedent(
    """
    import sys, time
    from omnidesk.channels.voice.media.analysis import tone
    from omnidesk.channels.voice.media.recorder import Recorder
    rec = Recorder(sys.argv[1], sources=["a"])
    k = 0
    while True:
        rec.feed([tone(600.0, 160, start=160 * k)])
        k += 1
        if k % 10 == 0:
            rec.sync()
        if k == 55:  # data written after the last sync (plus half a sample), as a kill leaves it
            rec._fh.seek(0, 2)
            rec._fh.write(rec.take_pending() + b"\\x01")
            rec._fh.flush()
        if k == 62:
            print("ready", flush=True)
        time.sleep(0.001)
    """
)


def test_killed_writer_leaves_a_repairable_file(tmp_path: Path) -> None:
    path = tmp_path / "crash.wav"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[4] / "src"))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    size = path.stat().st_size
    stale = _read(path)[0].nframes
    assert stale > 0  # readable even before repair (sizes of the last sync)
    frames = repair_wav(path)
    params, data = _read(path)
    assert params.nframes == frames == (size - 44) // 2 >= stale
    assert path.stat().st_size == 44 + 2 * frames  # the half-written sample was cut off
    assert dominant_tones(data[:8000], [600.0], 500)[0] == {600.0}


def test_repair_rejects_non_wav(tmp_path: Path) -> None:
    p = tmp_path / "x.wav"
    p.write_bytes(b"nope" * 20)
    with pytest.raises(ValueError):
        repair_wav(p)


async def test_engine_recording_holds_both_parties_and_pause_cuts_the_card(
    engine: MediaEngine, tmp_path: Path
) -> None:
    caller, agent = FarEnd(CALLER), FarEnd(AGENT)
    lc, la = await open_pair(engine, caller), await open_pair(engine, agent)
    try:
        engine.bridge(lc, la)
        mono = Recorder(tmp_path / "call.wav", sources=[lc, la])
        stereo = Recorder(tmp_path / "call2.wav", sources=[lc, la], stereo=True)
        heard = Recorder(tmp_path / "heard.wav", sources=[Heard(la)])
        for rec in (mono, stereo, heard):
            engine.attach_recorder(rec)
        await asyncio.sleep(1.0)
        # The caller keys a card number in-band while recording is paused.
        mono.pause()
        caller.freq = CARD
        await asyncio.sleep(1.0)
        caller.freq = CALLER
        mono.resume()
        await asyncio.sleep(1.0)
        for rec in (mono, stereo, heard):
            await engine.detach_recorder(rec)
    finally:
        await caller.close()
        await agent.close()
    _, data = _read(tmp_path / "call.wav")
    wins = dominant_tones(data, [CALLER, AGENT, CARD], 200)
    assert 13 <= len(wins) <= 16  # ~3 s of audio at 8 kHz
    assert not any(CARD in w for w in wins)  # paused segment never reached the file
    assert sum(w == {CALLER, AGENT} for w in wins) >= 8
    assert sum(w == frozenset() for w in wins) >= 3  # pause = silence
    _, data = _read(tmp_path / "call2.wav")
    left = dominant_tones(data[0::2], [CALLER, AGENT, CARD], 200)
    right = dominant_tones(data[1::2], [CALLER, AGENT, CARD], 200)
    assert sum(w == {CARD} for w in left) >= 3  # stereo was not paused
    assert all(AGENT not in w for w in left) and all(w <= {AGENT} for w in right)
    _, data = _read(tmp_path / "heard.wav")
    assert sum(w == {CALLER} for w in dominant_tones(data, [CALLER, AGENT], 200)) >= 8
