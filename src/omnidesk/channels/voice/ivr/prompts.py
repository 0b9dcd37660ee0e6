"""Prompt audio: `{say}` spoken by espeak-ng, `{wav}` from the tenant's audio folder, both as
8 kHz mono int16 numpy arrays (the media engine's G.711 rate).

    renderer = PromptRenderer(cache_dir, audio_dir)
    pcm = await renderer.render_all(play_action.prompts)    # np.ndarray, dtype int16, 8 kHz

Spoken prompts are cached on disk as normalized 8 kHz WAVs named by a hash of (engine version,
voice, text), so a prompt is synthesised once per engine version and a restart reuses them.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import wave
from collections.abc import Iterable
from math import gcd
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from scipy.io import wavfile
from scipy.signal import resample_poly

from omnidesk.channels.voice.ivr.actions import Prompt, Wav
from omnidesk.channels.voice.ivr.languages import espeak_voice
from omnidesk.channels.voice.ivr.speech import (
    queue_announcement,
    say_digits,
    say_duration,
    say_number,
)

__all__ = [
    "SAMPLE_RATE",
    "PromptError",
    "PromptNotFound",
    "PromptRenderer",
    "SpeechFailed",
    "queue_announcement",
    "say_digits",
    "say_duration",
    "say_number",
    "to_pcm8k",
]

SAMPLE_RATE = 8000
Pcm = npt.NDArray[np.int16]


class PromptError(Exception):
    """A prompt that cannot be rendered or loaded."""


class PromptNotFound(PromptError):
    """A named WAV prompt the tenant has not uploaded."""


class SpeechFailed(PromptError):
    """espeak-ng could not speak the text (missing voice, bad language code)."""


def to_pcm8k(rate: int, data: npt.NDArray[Any]) -> Pcm:
    """Any PCM or float WAV content (as scipy reads it) → 8 kHz mono int16."""
    samples = np.asarray(data)
    if samples.dtype == np.uint8:
        floats = (samples.astype(np.float64) - 128.0) / 128.0
    elif samples.dtype == np.int16:
        floats = samples.astype(np.float64) / 32768.0
    elif samples.dtype == np.int32:
        floats = samples.astype(np.float64) / 2147483648.0
    elif np.issubdtype(samples.dtype, np.floating):
        floats = samples.astype(np.float64)
    else:
        raise PromptError(f"unsupported sample format {samples.dtype}")
    if floats.ndim == 2:
        floats = floats.mean(axis=1)
    if rate != SAMPLE_RATE and floats.size:
        divisor = gcd(SAMPLE_RATE, rate)
        floats = np.asarray(resample_poly(floats, SAMPLE_RATE // divisor, rate // divisor))
    # The same scale both ways, so an 8 kHz int16 file (a cached prompt) comes back unchanged.
    return np.clip(np.round(floats * 32768.0), -32768, 32767).astype(np.int16)


def _write_wav(path: Path, pcm: Pcm) -> None:
    # Written beside the target and renamed: a crash never leaves a half-written cache entry.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(pcm.astype("<i2").tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_wav(path: Path) -> Pcm:
    try:
        rate, data = wavfile.read(path)
    except (ValueError, EOFError) as exc:
        raise PromptError(f"{path.name} is not a readable WAV file: {exc}") from None
    return to_pcm8k(int(rate), data)


class PromptRenderer:
    # Engine versions per executable, asked once per process.
    _versions: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        cache_dir: Path | str,
        audio_dir: Path | str | None = None,
        *,
        espeak: str = "espeak-ng",
        timeout_s: float = 30.0,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.audio_dir = Path(audio_dir) if audio_dir is not None else None
        self.espeak = espeak
        self.timeout_s = timeout_s
        self.synthesized = 0  # subprocess runs that made audio (tests, metrics)
        self._locks: dict[str, asyncio.Lock] = {}

    async def render(self, prompt: Prompt) -> Pcm:
        if isinstance(prompt, Wav):
            return await asyncio.to_thread(self.load_wav, prompt.name)
        return await self.say(prompt.text, prompt.language)

    async def render_all(self, prompts: Iterable[Prompt]) -> Pcm:
        parts = [await self.render(p) for p in prompts]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def wav_path(self, name: str) -> Path:
        if self.audio_dir is None:
            raise PromptNotFound(f"no audio folder for wav prompt {name!r}")
        if "/" in name or "\\" in name or name.startswith("."):
            raise PromptNotFound(f"wav prompt {name!r} must be a plain file name")
        file_name = name if name.lower().endswith(".wav") else f"{name}.wav"
        return self.audio_dir / file_name

    def load_wav(self, name: str) -> Pcm:
        path = self.wav_path(name)
        if not path.is_file():
            raise PromptNotFound(f"wav prompt {name!r} not found: {path}")
        return _read_wav(path)

    async def engine_version(self) -> str:
        if self.espeak not in self._versions:
            out = await self._exec(self.espeak, "--version")
            self._versions[self.espeak] = out.decode(errors="replace").split("Data at")[0].strip()
        return self._versions[self.espeak]

    async def cache_path(self, text: str, language: str) -> Path:
        voice = espeak_voice(language)
        version = await self.engine_version()
        digest = hashlib.sha256(f"{version}\0{voice}\0{text}".encode()).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.wav"

    async def say(self, text: str, language: str) -> Pcm:
        text = " ".join(text.split())
        if not text:
            return np.zeros(0, dtype=np.int16)
        path = await self.cache_path(text, language)
        # One synthesis per prompt even when many calls ask for it at once.
        lock = self._locks.setdefault(path.name, asyncio.Lock())
        try:
            async with lock:
                if path.is_file():
                    return await asyncio.to_thread(_read_wav, path)
                path.parent.mkdir(parents=True, exist_ok=True)
                pcm = await self._synthesize(text, espeak_voice(language), path.parent)
                await asyncio.to_thread(_write_wav, path, pcm)
                return pcm
        finally:
            # Whoever comes later finds the file; the lock only matters while it is written.
            self._locks.pop(path.name, None)

    async def _synthesize(self, text: str, voice: str, workdir: Path) -> Pcm:
        fd, raw = tempfile.mkstemp(dir=workdir, suffix=".raw.wav")
        os.close(fd)
        try:
            # Text goes in on stdin: as an argument, text starting with "-" would be an option.
            await self._exec(self.espeak, "-b", "1", "-v", voice, "-w", raw, stdin=text.encode())
            self.synthesized += 1
            pcm = await asyncio.to_thread(_read_wav, Path(raw))
        finally:
            await asyncio.to_thread(Path(raw).unlink, missing_ok=True)
        if not pcm.size:
            raise SpeechFailed(f"{self.espeak} produced no audio for {text[:40]!r}")
        return pcm

    async def _exec(self, *argv: str, stdin: bytes | None = None) -> bytes:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SpeechFailed(f"cannot run {argv[0]}: {exc}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), self.timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SpeechFailed(f"{argv[0]} took longer than {self.timeout_s} s") from None
        if proc.returncode != 0:
            message = err.decode(errors="replace").strip()
            raise SpeechFailed(f"{argv[0]} failed ({proc.returncode}): {message}")
        return out
