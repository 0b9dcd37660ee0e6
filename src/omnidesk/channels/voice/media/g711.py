"""G.711 μ-law and A-law, vectorised with lookup tables.

The tables are computed once from the segment/quantisation rules of ITU-T G.711 (the
sign-magnitude companding with 8 segments of 16 steps each); encode uses a 65536-entry table
indexed by the int16 sample reinterpreted as uint16, decode a 256-entry table.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
UInt8Array = npt.NDArray[np.uint8]

_ULAW_BIAS = 0x84  # 33 on G.711's 14-bit scale, shifted to the 16-bit scale
_ULAW_CLIP = 32635  # largest magnitude that still fits segment 7 after the bias


def _all_int16() -> npt.NDArray[np.int32]:
    # Index i of the encode table is the uint16 bit pattern of an int16 sample.
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _segment(values: npt.NDArray[np.int32], first_bit: int) -> npt.NDArray[np.int32]:
    # Segment = position of the highest set bit above `first_bit`, clamped to 0..7.
    seg = np.zeros(values.shape, dtype=np.int32)
    for s in range(1, 8):
        seg[values >= (1 << (first_bit + s))] = s
    return seg


@cache
def _ulaw_tables() -> tuple[UInt8Array, Int16Array]:
    x = _all_int16()
    sign = np.where(x < 0, 0x80, 0x00)
    mag = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    exp = _segment(mag, 7)
    mant = (mag >> (exp + 3)) & 0x0F
    encode = (~(sign | (exp << 4) | mant) & 0xFF).astype(np.uint8)

    code = np.arange(256, dtype=np.int32)
    inv = ~code & 0xFF
    d_exp = (inv >> 4) & 0x07
    d_mant = inv & 0x0F
    t = ((d_mant << 3) + _ULAW_BIAS) << d_exp
    decode = np.where(inv & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)
    return encode, decode


@cache
def _alaw_tables() -> tuple[UInt8Array, Int16Array]:
    x = _all_int16()
    # A-law quantises the 13-bit value; negatives use the one's complement so that the
    # intervals are symmetric around zero (-1..-8 and 0..7 both map to the first step).
    mag = np.where(x >= 0, x >> 3, (~x) >> 3)
    sign = np.where(x >= 0, 0x80, 0x00)
    seg = _segment(mag, 4)
    mant = np.where(seg == 0, mag >> 1, mag >> np.maximum(seg, 1)) & 0x0F
    encode = ((sign | (seg << 4) | mant) ^ 0x55).astype(np.uint8)

    code = np.arange(256, dtype=np.int32) ^ 0x55
    d_seg = (code >> 4) & 0x07
    d_mant = code & 0x0F
    t = np.where(
        d_seg == 0,
        (d_mant << 4) + 8,
        ((d_mant << 4) + 0x108) << np.maximum(d_seg - 1, 0),
    )
    decode = np.where(code & 0x80, t, -t).astype(np.int16)
    return encode, decode


def ulaw_encode(samples: npt.ArrayLike) -> UInt8Array:
    table = _ulaw_tables()[0]
    return table[np.asarray(samples, dtype=np.int16).view(np.uint16)]


def ulaw_decode(codes: npt.ArrayLike | bytes) -> Int16Array:
    table = _ulaw_tables()[1]
    return table[_as_codes(codes)]


def alaw_encode(samples: npt.ArrayLike) -> UInt8Array:
    table = _alaw_tables()[0]
    return table[np.asarray(samples, dtype=np.int16).view(np.uint16)]


def alaw_decode(codes: npt.ArrayLike | bytes) -> Int16Array:
    table = _alaw_tables()[1]
    return table[_as_codes(codes)]


def _as_codes(codes: npt.ArrayLike | bytes) -> UInt8Array:
    if isinstance(codes, bytes | bytearray | memoryview):
        return np.frombuffer(codes, dtype=np.uint8)
    return np.asarray(codes, dtype=np.uint8)


ENCODERS = {"PCMU": ulaw_encode, "PCMA": alaw_encode}
DECODERS = {"PCMU": ulaw_decode, "PCMA": alaw_decode}


def encode_table(codec: str) -> UInt8Array:
    return _ulaw_tables()[0] if codec == "PCMU" else _alaw_tables()[0]


def decode_table(codec: str) -> Int16Array:
    return _ulaw_tables()[1] if codec == "PCMU" else _alaw_tables()[1]


def silence_code(codec: str) -> int:
    return int(encode_table(codec)[0])
