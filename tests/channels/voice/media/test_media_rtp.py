from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnidesk.channels.voice.media.rtp import RtpError, RtpPacket, build_header


def test_plain_packet_round_trip() -> None:
    pkt = RtpPacket(0, 65535, 0xFFFFFFF0, 0xDEADBEEF, b"\xff" * 160, marker=True)
    data = pkt.build()
    assert data[:2] == b"\x80\x80" and len(data) == 172
    assert data == build_header(0, 65535, 0xFFFFFFF0, 0xDEADBEEF, True) + b"\xff" * 160
    assert RtpPacket.parse(data) == pkt


def test_csrc_extension_padding_round_trip() -> None:
    pkt = RtpPacket(
        8, 7, 1234, 42, b"abc", csrcs=[1, 2, 3], extension=(0xBEDE, b"\x10\x20\x30\x40"), padding=5
    )
    data = pkt.build()
    assert data[0] == 0x80 | 0x20 | 0x10 | 3
    assert data[-1] == 5 and len(data) == 12 + 12 + 8 + 3 + 5
    assert RtpPacket.parse(data) == pkt


@given(
    pt=st.integers(0, 127),
    seq=st.integers(0, 0xFFFF),
    ts=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=300),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15),
    padding=st.integers(0, 255),
)
def test_round_trip_property(
    pt: int,
    seq: int,
    ts: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrcs: list[int],
    padding: int,
) -> None:
    pkt = RtpPacket(pt, seq, ts, ssrc, payload, marker, csrcs, padding=padding)
    assert RtpPacket.parse(pkt.build()) == pkt


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x00\x00",  # short
        b"\x40" + b"\x00" * 11,  # version 1
        b"\x00" * 12,  # version 0
        b"\x83" + b"\x00" * 11 + b"\x00" * 4,  # says 3 CSRCs, has 1
        b"\x90" + b"\x00" * 11 + b"\x00\x00\x00\x05",  # extension longer than the packet
        b"\xa0" + b"\x00" * 11 + b"\x00\x00\x00",  # padding count 0
        b"\xa0" + b"\x00" * 11 + b"\x00\x00\x09",  # padding longer than the payload
    ],
)
def test_malformed_packets_raise(data: bytes) -> None:
    with pytest.raises(RtpError):
        RtpPacket.parse(data)


@given(st.binary(max_size=64))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(RtpError):
        RtpPacket.parse(data)
