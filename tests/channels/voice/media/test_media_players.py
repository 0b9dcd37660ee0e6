from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from omnidesk.channels.voice.media.analysis import dominant_tones, goertzel_power, tone
from omnidesk.channels.voice.media.players import (
    Playlist,
    SilenceSource,
    ToneSource,
    WavSource,
    load_wav,
)


def _write_wav(path: Path, rate: int, channels: int, width: int, seconds: float) -> None:
    t = np.arange(int(rate * seconds)) / rate
    sig = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    frames = np.repeat(sig[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        raw = np.round(frames * 127 + 128).astype(np.uint8).tobytes()
    else:
        raw = np.round(frames * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)


@pytest.mark.parametrize(
    ("rate", "channels", "width"), [(8000, 1, 2), (16000, 1, 2), (44100, 2, 2), (22050, 1, 1)]
)
def test_load_wav_any_format_to_8k_mono(
    tmp_path: Path, rate: int, channels: int, width: int
) -> None:
    path = tmp_path / "p.wav"
    _write_wav(path, rate, channels, width, 0.5)
    pcm = load_wav(path)
    assert pcm.dtype == np.int16 and abs(len(pcm) - 4000) <= 1
    assert dominant_tones(pcm, [600.0, 1000.0], 100)[1:-1] == [frozenset({1000.0})] * 3
    assert 14000 < np.abs(pcm[400:-400]).max() < 18000  # amplitude kept (0.5 FS)


def test_wav_source_plays_once_or_loops(tmp_path: Path) -> None:
    path = tmp_path / "p.wav"
    _write_wav(path, 8000, 1, 2, 0.05)  # 400 samples = 2.5 frames
    done: list[bool] = []
    once = WavSource(path, on_done=lambda: done.append(True))
    frames = [once.read() for _ in range(4)]
    assert once.done and frames[2][:80].any() and not frames[2][80:].any()
    assert not frames[3].any()
    assert once.take_notification() and not once.take_notification()
    once.notify()
    assert done == [True]
    looped = WavSource(path, loop=True)
    assert all(looped.read().any() for _ in range(10)) and not looped.done


def test_playlist_order_and_stop() -> None:
    pl = Playlist([ToneSource(600.0, duration_ms=40), ToneSource(1000.0, duration_ms=40)])
    out = np.concatenate([pl.read() for _ in range(4)])
    assert dominant_tones(out, [600.0, 1000.0], 40) == [frozenset({600.0}), frozenset({1000.0})]
    assert pl.done and not pl.interrupted
    pl.append(SilenceSource(duration_ms=20))
    assert not pl.done
    long = Playlist([ToneSource(600.0, duration_ms=5000)])
    long.read()
    long.stop()
    assert long.done and long.interrupted and not long.read().any()


def test_tone_source_is_phase_continuous() -> None:
    src = ToneSource(1000.0, -6.0)
    joined = np.concatenate([src.read() for _ in range(10)])
    assert np.array_equal(joined, tone(1000.0, 1600, -6.0))
    power = goertzel_power(joined, [1000.0, 1100.0], 200)
    assert power[0, 0] > 1000 * power[0, 1]


def test_espeak_prompt_loads_as_8k_speech(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    path = tmp_path / "prompt.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Welcome to Omnidesk"], check=True, timeout=30)
    with wave.open(str(path), "rb") as w:
        native = w.getnframes() / w.getframerate()
    pcm = load_wav(path)
    assert abs(len(pcm) / 8000 - native) < 0.01
    assert np.abs(pcm).max() > 3000  # speech, not silence
