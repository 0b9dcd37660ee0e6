"""Tenant audio files (prompts, hold music): PCM WAV checks and where the bytes live.

Files are stored as `<data_dir>/voice/audio/<tenant_id>/<row id>.wav`, not under the name the
tenant chose: a name can be deleted and uploaded again while a call still plays the old file,
and two uploads racing for one name must not overwrite each other's bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import uuid
import wave
from dataclasses import dataclass
from pathlib import Path

from omnidesk.platform.errors import Invalid

SAMPLE_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)


def audio_file_name(name: str) -> str:
    """The audio file a flow's `{wav: name}` or `moh: name` plays: names may leave out
    ".wav" (`{wav: hold-music}` plays hold-music.wav); stored names always end in it."""
    return name if name.lower().endswith(".wav") else f"{name}.wav"


@dataclass(frozen=True)
class WavInfo:
    size: int
    sha256: str
    sample_rate: int
    channels: int
    sample_width: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def check_wav(data: bytes) -> WavInfo:
    """A complete, uncompressed PCM WAV the media engine can play, or 422 saying why not."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise Invalid("the body is not a WAV file (no RIFF/WAVE header)", field="body")
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            params = wav.getparams()
            frames = wav.readframes(params.nframes)
    except (wave.Error, EOFError) as exc:
        # wave refuses anything but PCM (format 1) with "unknown format: N".
        raise Invalid(f"the WAV file cannot be read as PCM: {exc}", field="body") from None
    if params.comptype != "NONE":
        raise Invalid("the WAV file is compressed; upload uncompressed PCM", field="body")
    if params.sampwidth not in (1, 2):
        raise Invalid(
            f"the WAV file has {8 * params.sampwidth}-bit samples; use 8- or 16-bit PCM",
            field="body",
        )
    if params.nchannels not in (1, 2):
        raise Invalid(f"the WAV file has {params.nchannels} channels; use 1 or 2", field="body")
    if params.framerate not in SAMPLE_RATES:
        raise Invalid(
            f"the WAV file's sample rate {params.framerate} Hz is not one of {SAMPLE_RATES}",
            field="body",
        )
    if params.nframes == 0:
        raise Invalid("the WAV file holds no audio", field="body")
    if len(frames) != params.nframes * params.sampwidth * params.nchannels:
        # A writer killed mid-file leaves a header that promises more than there is.
        raise Invalid(
            "the WAV file is truncated (fewer samples than its header says)", field="body"
        )
    return WavInfo(
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        sample_rate=params.framerate,
        channels=params.nchannels,
        sample_width=params.sampwidth,
        frames=params.nframes,
    )


class AudioStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "voice" / "audio"

    def path(self, tenant_id: uuid.UUID, file_id: uuid.UUID) -> Path:
        return self.root / str(tenant_id) / f"{file_id}.wav"

    def write(self, tenant_id: uuid.UUID, file_id: uuid.UUID, data: bytes) -> Path:
        """Atomically: a reader sees the whole file or none (never a half-written prompt)."""
        target = self.path(tenant_id, file_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(".part")
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
        return target

    def remove(self, tenant_id: uuid.UUID, file_id: uuid.UUID) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(tenant_id, file_id).unlink()
