"""Crash-safe WAV recording (8 kHz 16-bit, mono or stereo).

The header is written first with the sizes of what is on disk, data is appended, and every
`sync()` (the engine calls it about once a second, off the event loop) rewrites the RIFF and
data sizes and fsyncs. A killed writer therefore leaves a valid WAV holding everything up to the
last sync; `repair_wav` recovers the tail written after it.

Pause writes silence rather than cutting: the file keeps the call's timeline (QA can line it up
with the event log) and the paused audio — e.g. card digits spoken or keyed in-band — is never
written.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from omnidesk.channels.voice.media.leg import Leg

RATE = 8000
_HEADER_SIZE = 44


def _header(channels: int, data_bytes: int) -> bytes:
    block = 2 * channels
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, RATE, RATE * block, block, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


class Heard:
    """A recorder source: what `leg` hears (the mix sent to it) rather than what it says."""

    def __init__(self, leg: Leg) -> None:
        self.leg = leg


RecordSource = Any  # Leg | Heard; typed loosely to keep recorder free of an engine import cycle


class Recorder:
    def __init__(
        self,
        path: str | Path,
        sources: Sequence[RecordSource],
        *,
        stereo: bool = False,
    ) -> None:
        if stereo and len(sources) != 2:
            raise ValueError("a stereo recording takes exactly two sources (left, right)")
        if not sources:
            raise ValueError("a recording needs at least one source")
        self.path = Path(path)
        self.sources = list(sources)
        self.channels = 2 if stereo else 1
        self.paused = False
        self.closed = False
        self._pending = bytearray()
        self._lock = threading.Lock()  # sync() runs in a writer thread
        self._data_bytes = 0
        self._fh = open(self.path, "wb")  # noqa: SIM115 - kept open for the call's duration
        self._fh.write(_header(self.channels, 0))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def feed(self, frames: Sequence[npt.NDArray[np.int16]]) -> None:
        """Append one tick: one frame per source (mixed to mono or interleaved to stereo)."""
        if self.closed:
            return
        n = len(frames[0])
        if self.paused:
            self._pending += bytes(2 * n * self.channels)
            return
        if self.channels == 2:
            out = np.empty(2 * n, dtype="<i2")
            out[0::2] = frames[0]
            out[1::2] = frames[1]
        elif len(frames) == 1:
            out = frames[0].astype("<i2", copy=False)
        else:
            acc = np.sum(np.stack(frames).astype(np.int32), axis=0)
            out = np.clip(acc, -32768, 32767).astype("<i2")
        self._pending += out.tobytes()

    def append(self, pcm: bytes) -> None:
        """Append one tick already mixed/interleaved as little-endian int16 bytes."""
        if not self.closed:
            self._pending += bytes(len(pcm)) if self.paused else pcm

    def take_pending(self) -> bytes:
        data = bytes(self._pending)
        self._pending.clear()
        return data

    def sync(self, data: bytes | None = None) -> None:
        """Write `data` (or what is pending), update the sizes, fsync."""
        if data is None:
            data = self.take_pending()
        with self._lock:
            if self._fh.closed:
                return
            if data:
                self._fh.seek(0, os.SEEK_END)
                self._fh.write(data)
                self._data_bytes += len(data)
            self._fh.seek(4)
            self._fh.write(struct.pack("<I", 36 + self._data_bytes))
            self._fh.seek(40)
            self._fh.write(struct.pack("<I", self._data_bytes))
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self, data: bytes | None = None) -> None:
        self.closed = True
        self.sync(data)
        with self._lock:
            self._fh.close()

    @property
    def frames_written(self) -> int:
        return self._data_bytes // (2 * self.channels)


def repair_wav(path: str | Path) -> int:
    """Fix the RIFF/data sizes of a WAV left by a killed writer; returns its frame count."""
    p = Path(path)
    with open(p, "r+b") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{p} is not a RIFF/WAVE file")
        size = p.stat().st_size
        block = 2
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            cid, clen = struct.unpack("<4sI", fh.read(8))
            if cid == b"fmt ":
                fmt = fh.read(16)
                block = struct.unpack_from("<H", fmt, 12)[0] or 2
            if cid == b"data":
                data_bytes = (size - pos - 8) // block * block
                fh.truncate(pos + 8 + data_bytes)  # drop a half-written last frame
                fh.seek(pos + 4)
                fh.write(struct.pack("<I", data_bytes))
                fh.seek(4)
                fh.write(struct.pack("<I", pos + data_bytes))
                fh.flush()
                os.fsync(fh.fileno())
                return data_bytes // block
            pos += 8 + clen + (clen & 1)
        raise ValueError(f"{p} has no data chunk")
