from __future__ import annotations

import numpy as np
import pytest

from omnidesk.channels.voice.media.g711 import (
    alaw_decode,
    alaw_encode,
    ulaw_decode,
    ulaw_encode,
)

ALL = np.arange(-32768, 32768).astype(np.int16)


def test_ulaw_known_code_words() -> None:
    # G.711 Table 2a: 0xFF and 0x7F are +0 and -0; 0x80/0x00 the extremes (±8031 on the
    # 14-bit scale = ±32124 on 16 bits); code words are sent inverted.
    assert ulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00])).tolist() == [0, 0, 32124, -32124]
    assert ulaw_encode([0]).tolist() == [0xFF]
    assert ulaw_encode([32767, -32768]).tolist() == [0x80, 0x00]
    # Segment edges on the 16-bit scale: first step of segment 1 decodes to 132 (=33·4, bias).
    assert ulaw_decode(bytes([0xEF])).tolist() == [132]
    assert ulaw_decode(bytes([0xFE])).tolist() == [8]


def test_alaw_known_code_words() -> None:
    # G.711 Table 1a: even bits inverted (XOR 0x55); 0xD5/0x55 are the smallest ±steps.
    assert alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A])).tolist() == [8, -8, 32256, -32256]
    assert alaw_encode([0, -1, 7, -8]).tolist() == [0xD5, 0x55, 0xD5, 0x55]
    assert alaw_encode([32767, -32768]).tolist() == [0xAA, 0x2A]
    # Segment 1 starts at 256 on 16 bits (32 on 13 bits) with a step of 16.
    assert alaw_decode(alaw_encode([256, 271])).tolist() == [264, 264]


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_round_trip_error_is_within_half_a_step(law: str) -> None:
    enc, dec = (ulaw_encode, ulaw_decode) if law == "ulaw" else (alaw_encode, alaw_decode)
    out = dec(enc(ALL)).astype(np.int64)
    x = ALL.astype(np.int64)
    err = np.abs(out - x)
    limit = 32124 if law == "ulaw" else 32256
    inside = np.abs(x) <= limit
    # Half the segment's step is |x|/32 at most (16 steps per octave), 4 or 8 in segment 0.
    bound = np.maximum(4 if law == "ulaw" else 8, (np.abs(x) + 132) / 32 + 1)
    assert np.all(err[inside] <= bound[inside])
    assert np.all(out[~inside] == np.sign(x[~inside]) * limit)  # clipping at full scale
    # Monotonic, all 256 code words used, and decode∘encode∘decode is the identity.
    assert np.all(np.diff(out) >= 0)
    assert len(np.unique(enc(ALL))) == 256
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(dec(enc(dec(codes))), dec(codes))


def test_tables_accept_bytes_and_arrays() -> None:
    pcm = np.array([1000, -1000, 0], dtype=np.int16)
    assert np.array_equal(ulaw_decode(ulaw_encode(pcm).tobytes()), ulaw_decode(ulaw_encode(pcm)))
    assert ulaw_encode(pcm).dtype == np.uint8 and ulaw_decode(b"\xff").dtype == np.int16
