"""Tone analysis: Goertzel power per window, which candidate tones are present, tone generator."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

RATE = 8000


def tone(
    freqs: float | Sequence[float],
    n_samples: int,
    level_dbfs: float = -12.0,
    rate: int = RATE,
    start: int = 0,
) -> npt.NDArray[np.int16]:
    """Sum of sines, each at `level_dbfs` peak; `start` continues the phase of an earlier call."""
    fs = [float(freqs)] if isinstance(freqs, int | float) else [float(f) for f in freqs]
    amp = 32767.0 * 10 ** (level_dbfs / 20.0)
    t = (np.arange(n_samples) + start) / rate
    out = np.zeros(n_samples)
    for f in fs:
        out += amp * np.sin(2 * np.pi * f * t)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def _windows(samples: npt.ArrayLike, window_ms: int, rate: int) -> npt.NDArray[np.float64]:
    x = np.asarray(samples, dtype=np.float64)
    n = int(rate * window_ms / 1000)
    count = len(x) // n
    return x[: count * n].reshape(count, n)


def goertzel_power(
    samples: npt.ArrayLike,
    freqs: Sequence[float],
    window_ms: int = 200,
    rate: int = RATE,
) -> npt.NDArray[np.float64]:
    """|X(f)|² per (window, freq), via the Goertzel recurrence run over all windows at once."""
    w = _windows(samples, window_ms, rate)
    out = np.zeros((w.shape[0], len(freqs)))
    if w.shape[0] == 0:
        return out
    for j, f in enumerate(freqs):
        coeff = 2.0 * np.cos(2.0 * np.pi * f / rate)
        # s[n] = x[n] + coeff*s[n-1] - s[n-2]
        s = lfilter([1.0], [1.0, -coeff, 1.0], w, axis=1)
        s1, s2 = s[:, -1], s[:, -2]
        out[:, j] = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return out


def tone_fractions(
    samples: npt.ArrayLike,
    freqs: Sequence[float],
    window_ms: int = 200,
    rate: int = RATE,
) -> npt.NDArray[np.float64]:
    """Share of each window's energy at each frequency (1.0 for a pure bin-centred tone)."""
    w = _windows(samples, window_ms, rate)
    power = goertzel_power(samples, freqs, window_ms, rate)
    energy = np.sum(w * w, axis=1)
    n = w.shape[1] if w.size else 1
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = 2.0 * power / (n * energy[:, None])
    out: npt.NDArray[np.float64] = np.nan_to_num(frac)
    return out


def dominant_tones(
    samples: npt.ArrayLike,
    candidates: Iterable[float],
    window_ms: int = 200,
    *,
    min_fraction: float = 0.08,
    min_rms: float = 100.0,
    rate: int = RATE,
) -> list[frozenset[float]]:
    """Which candidate tones are present in each window (empty set for silence)."""
    cands = list(candidates)
    w = _windows(samples, window_ms, rate)
    if w.shape[0] == 0:
        return []
    frac = tone_fractions(samples, cands, window_ms, rate)
    rms = np.sqrt(np.mean(w * w, axis=1))
    return [
        frozenset(f for f, x in zip(cands, row, strict=True) if x >= min_fraction)
        if r >= min_rms
        else frozenset()
        for row, r in zip(frac, rms, strict=True)
    ]


def rms_dbfs(samples: npt.ArrayLike) -> float:
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return -np.inf
    r = float(np.sqrt(np.mean(x * x)))
    return 20 * np.log10(r / 32768) if r > 0 else -np.inf
