"""The demo tenant's own audio files, made here rather than shipped as binaries: a short
welcome jingle and a soft hold-music loop (8 kHz mono 16-bit PCM, what the voice engine plays
without resampling). Spoken prompts are not files: the flow's `{say}` prompts are rendered by
the voice engine's espeak-ng renderer when first played, in the caller's language."""

from __future__ import annotations

import io
import wave

import numpy as np

RATE = 8000
# Note frequencies (Hz): an A-major arpeggio and its neighbours, gentle on a phone line.
A3, CS4, E4, FS4, A4, B4, CS5, E5 = 220.0, 277.18, 329.63, 369.99, 440.0, 493.88, 554.37, 659.25


def _note(hz: float, seconds: float, level: float = 0.22) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    # A soft attack and a long decay (a struck bell, not a beep), with a quiet octave above.
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-3.0 * t / seconds)
    tone = np.sin(2 * np.pi * hz * t) + 0.25 * np.sin(4 * np.pi * hz * t)
    return np.asarray(level * envelope * tone / 1.25)


def _wav(samples: np.ndarray) -> bytes:
    pcm = np.clip(samples, -1.0, 1.0)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((pcm * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def welcome_jingle() -> bytes:
    """Three rising notes, about 1.2 s."""
    return _wav(np.concatenate([_note(A4, 0.3), _note(CS5, 0.3), _note(E5, 0.6)]))


def hold_music() -> bytes:
    """A slow arpeggio over two chords, 12.8 s, made to loop."""
    bars = [(A3, CS4, E4, A4), (FS4, A4, CS5, B4)] * 2
    notes = [_note(hz, 0.4, level=0.18) for bar in bars for hz in (*bar, *bar[::-1])]
    return _wav(np.concatenate(notes))
