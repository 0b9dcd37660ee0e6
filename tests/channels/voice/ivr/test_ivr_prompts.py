from __future__ import annotations

import asyncio
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.io import wavfile

from omnidesk.channels.voice.ivr.actions import Say, Wav
from omnidesk.channels.voice.ivr.languages import UnknownLanguage, espeak_voice, known_voices
from omnidesk.channels.voice.ivr.prompts import (
    SAMPLE_RATE,
    PromptNotFound,
    PromptRenderer,
    SpeechFailed,
    to_pcm8k,
)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing")


def dominant_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.fft.rfftfreq(len(pcm), 1 / SAMPLE_RATE)[int(np.argmax(spectrum))])


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


@needs_espeak
async def test_say_renders_speech_at_8khz_and_hits_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = PromptRenderer(tmp_path / "cache", tmp_path / "audio")
    text = "You are caller number three. The estimated wait is about two minutes."
    pcm = await renderer.say(text, "en")
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    seconds = len(pcm) / SAMPLE_RATE
    assert 2.0 < seconds < 10.0  # ~13 words
    assert rms(pcm) > 500  # speech, not silence
    assert renderer.synthesized == 1
    (cached,) = (tmp_path / "cache").rglob("*.wav")
    with wave.open(str(cached)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)

    async def no_subprocess(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_subprocess)
    again = await PromptRenderer(tmp_path / "cache").say(f"  {text} ", "en-US")
    assert np.array_equal(again, pcm)


@needs_espeak
async def test_language_picks_the_voice_and_changes_the_audio(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path)
    english = await renderer.render(Say("Guten Tag", "en"))
    german = await renderer.render(Say("Guten Tag", "de"))
    assert renderer.synthesized == 2 and not np.array_equal(english, german)
    # A text starting with a dash is spoken, not taken for an option.
    assert len(await renderer.say("-v xx --help", "en")) > SAMPLE_RATE // 2


@needs_espeak
def test_every_mapped_voice_exists_in_the_installed_engine() -> None:
    listing = subprocess.run(
        ["espeak-ng", "--voices"], capture_output=True, text=True, check=True
    ).stdout
    installed = {line.split()[1] for line in listing.splitlines()[1:] if line.split()}
    assert known_voices() <= installed


def test_language_mapping() -> None:
    assert espeak_voice("en") == "en-us"
    assert espeak_voice("en-GB") == "en-gb"
    assert espeak_voice("de-AT") == "de"
    assert espeak_voice("pt_BR") == "pt-br"
    with pytest.raises(UnknownLanguage, match="'tlh'"):
        espeak_voice("tlh")


def write_tone(path: Path, rate: int, dtype: str, channels: int = 1, hz: float = 440) -> None:
    t = np.arange(rate) / rate  # one second
    wave_ = 0.5 * np.sin(2 * np.pi * hz * t)
    data: np.ndarray
    if dtype == "uint8":
        data = np.round(wave_ * 127 + 128).astype(np.uint8)
    elif dtype == "int16":
        data = np.round(wave_ * 32767).astype(np.int16)
    elif dtype == "int32":
        data = np.round(wave_ * 2**31 * 0.99).astype(np.int32)
    else:
        data = wave_.astype(np.float32)
    if channels == 2:
        data = np.stack([data, data], axis=1)
    wavfile.write(path, rate, data)


@pytest.mark.parametrize(
    ("rate", "dtype", "channels"),
    [(8000, "int16", 1), (44100, "int16", 2), (48000, "float32", 1), (22050, "uint8", 1),
     (16000, "int32", 2)],
)  # fmt: skip
async def test_wav_prompts_are_normalized(
    tmp_path: Path, rate: int, dtype: str, channels: int
) -> None:
    write_tone(tmp_path / "tone.wav", rate, dtype, channels)
    renderer = PromptRenderer(tmp_path / "cache", tmp_path)
    pcm = await renderer.render(Wav("tone"))
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert abs(len(pcm) - SAMPLE_RATE) <= 1
    assert dominant_hz(pcm) == pytest.approx(440, abs=2)
    assert rms(pcm) == pytest.approx(0.5 * 32767 / np.sqrt(2), rel=0.05)


async def test_render_all_concatenates(tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav", 8000, "int16")
    renderer = PromptRenderer(tmp_path, tmp_path)
    pcm = await renderer.render_all([Wav("a"), Wav("a.wav"), Say("", "en")])
    assert len(pcm) == 2 * SAMPLE_RATE
    assert len(await renderer.render_all([])) == 0


async def test_missing_or_unsafe_wav_is_a_clear_error(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path, tmp_path)
    with pytest.raises(PromptNotFound, match="'welcome' not found"):
        await renderer.render(Wav("welcome"))
    with pytest.raises(PromptNotFound, match="plain file name"):
        await renderer.render(Wav("../secret"))
    with pytest.raises(PromptNotFound, match="no audio folder"):
        await PromptRenderer(tmp_path).render(Wav("x"))
    (tmp_path / "junk.wav").write_bytes(b"not a wav at all")
    with pytest.raises(Exception, match=r"junk\.wav"):
        await renderer.render(Wav("junk"))


async def test_missing_engine_is_a_clear_error(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path, espeak=str(tmp_path / "no-such-espeak"))
    with pytest.raises(SpeechFailed, match="cannot run"):
        await renderer.say("hello", "en")


def test_to_pcm8k_clips_and_keeps_silence_empty() -> None:
    assert to_pcm8k(16000, np.zeros(0, dtype=np.int16)).size == 0
    loud = to_pcm8k(8000, np.array([2.0, -2.0], dtype=np.float32))
    assert loud.tolist() == [32767, -32768]
    same = np.array([-32768, -1, 0, 1, 32767], dtype=np.int16)
    assert np.array_equal(to_pcm8k(8000, same), same)
