"""Players: sources of 8 kHz mono int16 audio the mixer pulls one 20 ms frame at a time."""

from __future__ import annotations

import wave
from collections import deque
from collections.abc import Callable, Iterable
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from omnidesk.channels.voice.media.analysis import tone

RATE = 8000
FRAME = 160
Frame = npt.NDArray[np.int16]


class Player:
    """Base class. `read()` returns the next frame; finished players return silence."""

    def __init__(self, on_done: Callable[[], None] | None = None) -> None:
        self.on_done = on_done
        self.done = False
        self.interrupted = False
        self._notified = False

    def read(self) -> Frame:
        raise NotImplementedError

    def stop(self) -> None:
        """Interrupt (e.g. a digit was pressed); the completion callback still fires once."""
        if not self.done:
            self.interrupted = True
            self.done = True

    def _finish(self) -> None:
        self.done = True

    def take_notification(self) -> bool:
        # The engine calls this after each tick, so callbacks never run mid-mix.
        if self.done and not self._notified:
            self._notified = True
            return True
        return False

    def notify(self) -> None:
        if self.on_done is not None:
            self.on_done()


class SilenceSource(Player):
    def __init__(self, duration_ms: int | None = None, on_done: Callable[[], None] | None = None):
        super().__init__(on_done)
        self._left = None if duration_ms is None else max(0, duration_ms // 20)

    def read(self) -> Frame:
        if self._left is not None and not self.done:
            self._left -= 1
            if self._left <= 0:
                self._finish()
        return np.zeros(FRAME, dtype=np.int16)


class ToneSource(Player):
    """A continuous sine (or several summed), optionally for a limited time."""

    def __init__(
        self,
        freq_hz: float | tuple[float, ...],
        level_dbfs: float = -12.0,
        duration_ms: int | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(on_done)
        self.freq_hz = freq_hz
        self.level_dbfs = level_dbfs
        self._pos = 0
        self._left = None if duration_ms is None else max(1, duration_ms // 20)

    def read(self) -> Frame:
        if self.done:
            return np.zeros(FRAME, dtype=np.int16)
        frame = tone(self.freq_hz, FRAME, self.level_dbfs, start=self._pos)
        self._pos = (self._pos + FRAME) % (RATE * 1000)  # keeps the phase exact for whole Hz
        if self._left is not None:
            self._left -= 1
            if self._left <= 0:
                self._finish()
        return frame


def load_wav(path: str | Path) -> Frame:
    """Any PCM 8/16-bit WAV, any rate and channel count → 8 kHz mono int16."""
    with wave.open(str(path), "rb") as w:
        width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    else:
        raise ValueError(f"unsupported WAV sample width: {width * 8} bits")
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    if rate != RATE:
        g = gcd(RATE, rate)
        data = resample_poly(data, RATE // g, rate // g)
    return np.clip(np.round(data), -32768, 32767).astype(np.int16)


class BufferSource(Player):
    """Plays samples already in memory (e.g. a prompt cache shared between calls)."""

    def __init__(
        self,
        samples: Frame,
        loop: bool = False,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(on_done)
        self.samples = np.asarray(samples, dtype=np.int16)
        self.loop = loop
        self._pos = 0

    def read(self) -> Frame:
        out = np.zeros(FRAME, dtype=np.int16)
        if self.done or self.samples.size == 0:
            if not self.done:
                self._finish()
            return out
        filled = 0
        while filled < FRAME:
            chunk = self.samples[self._pos : self._pos + FRAME - filled]
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            self._pos += len(chunk)
            if self._pos >= len(self.samples):
                if not self.loop:
                    self._finish()
                    break
                self._pos = 0
        return out


class WavSource(BufferSource):
    def __init__(
        self,
        path: str | Path,
        loop: bool = False,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(load_wav(path), loop=loop, on_done=on_done)
        self.path = Path(path)


class Playlist(Player):
    """Sources played one after another; `on_done` fires once when all finished or stopped.

    `interrupt_on_digit` lets the engine stop it when the listening leg presses a key
    (barge-in for IVR prompts).
    """

    def __init__(
        self,
        sources: Iterable[Player] = (),
        on_done: Callable[[], None] | None = None,
        interrupt_on_digit: bool = False,
    ) -> None:
        super().__init__(on_done)
        self._queue: deque[Player] = deque(sources)
        self.interrupt_on_digit = interrupt_on_digit

    def append(self, source: Player) -> None:
        self._queue.append(source)
        if self.done and not self.interrupted:
            # An exhausted playlist comes back to life when fed again.
            self.done = False
            self._notified = False

    def read(self) -> Frame:
        while self._queue and not self.done:
            head = self._queue[0]
            if head.done:
                self._queue.popleft()
                continue
            frame = head.read()
            if head.done:
                self._queue.popleft()
                if not self._queue:
                    self._finish()
            return frame
        if not self._queue:
            self._finish()
        return np.zeros(FRAME, dtype=np.int16)

    def stop(self) -> None:
        for p in self._queue:
            p.stop()
        self._queue.clear()
        super().stop()
