"""The per-leg receive path without sockets: latch, SSRC, sequence, jitter buffer, stats."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.rtp import RtpPacket
from omnidesk.channels.voice.media.sdp import MediaParams

PEER = ("127.0.0.1", 5000)


@pytest.fixture
def leg() -> Iterator[Leg]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    engine = MediaEngine(port_range=None)
    engine._grow(1)
    leg = Leg(engine, sock, 0)
    leg.configure(MediaParams("127.0.0.1", 5000, 0, "PCMU", 101))
    yield leg
    sock.close()


def _pkt(seq: int, ssrc: int = 1, pt: int = 0) -> bytes:
    return RtpPacket(pt, seq & 0xFFFF, seq * 160, ssrc, bytes([seq & 0xFF]) * 160).build()


def _tag(payload: bytes | None) -> int | None:
    return None if payload is None else payload[0]


def test_in_order_with_prefetch(leg: Leg) -> None:
    leg.receive(_pkt(10), PEER, 0.0, 1)
    assert leg.playout() is None  # priming: one packet is not enough yet
    leg.receive(_pkt(11), PEER, 0.02, 2)
    assert [_tag(leg.playout()) for _ in range(3)] == [10, 11, None]
    assert leg.stats.underruns == 1


def test_reordering_loss_and_late_packets(leg: Leg) -> None:
    for seq in (1, 3, 2, 5, 6, 7):
        leg.receive(_pkt(seq), PEER, seq * 0.02, seq)
    assert [_tag(leg.playout()) for _ in range(7)] == [1, 2, 3, None, 5, 6, 7]
    leg.receive(_pkt(4), PEER, 0.2, 10)  # far too late: dropped, counted
    assert leg.stats.late == 1
    assert leg.stats.lost == 0  # it did arrive in the end
    leg.receive(_pkt(9), PEER, 0.2, 11)
    assert leg.stats.lost == 1  # 8 never came


def test_sequence_wraps(leg: Leg) -> None:
    for seq in (65534, 65535, 65536, 65537):
        leg.receive(_pkt(seq), PEER, 0.0, 1)
    assert [_tag(leg.playout()) for _ in range(4)] == [0xFE, 0xFF, 0x00, 0x01]
    assert leg.stats.lost == 0 and leg.stats.max_seq == 65537


def test_depth_is_bounded(leg: Leg) -> None:
    for seq in range(20):
        leg.receive(_pkt(seq), PEER, 0.0, 1)
    assert _tag(leg.playout()) == 20 - 8  # the oldest were dropped to cap the latency


def test_wrong_source_and_ssrc_are_stray_until_the_old_stream_stops(leg: Leg) -> None:
    leg.receive(_pkt(1), PEER, 0.0, 1)
    leg.receive(_pkt(2), ("127.0.0.1", 5001), 0.0, 1)
    leg.receive(_pkt(2, ssrc=2), PEER, 0.0, 2)
    leg.receive(_pkt(2, pt=96), PEER, 0.0, 2)
    assert leg.stats.stray == 3 and leg.stats.packets_received == 1
    leg.receive(_pkt(500, ssrc=2), PEER, 0.0, 20)  # quiet for long enough: a new stream
    assert leg.rx_ssrc == 2 and leg.stats.stray == 3


def test_jitter_estimate(leg: Leg) -> None:
    for seq in range(200):
        leg.receive(_pkt(seq), PEER, seq * 0.02, seq)
    assert leg.stats.jitter_ms < 0.01
    for seq in range(200, 400):
        wobble = 0.004 if seq % 2 else 0.0
        leg.receive(_pkt(seq), PEER, seq * 0.02 + wobble, seq)
    assert 3.0 < leg.stats.jitter_ms < 5.0  # |D| alternates 4 ms → J converges to 4 ms


def test_dtmf_without_end_packets_is_reported_after_a_timeout(leg: Leg) -> None:
    from omnidesk.channels.voice.media.dtmf import dtmf_train

    train = list(dtmf_train("4", 100))[:3]  # the end packets never arrive
    for k, p in enumerate(train):
        leg.receive(RtpPacket(101, k, 800, 1, p.payload).build(), PEER, 0.0, k)
    leg.expire_dtmf(10)
    assert leg.engine._dtmf_events == []
    leg.expire_dtmf(40)
    assert [(d, ms) for _, d, ms in leg.engine._dtmf_events] == [("4", 60)]


def test_symmetric_rtp_answers_the_source_address(leg: Leg) -> None:
    leg.symmetric = True
    leg.configure(MediaParams("10.0.0.9", 4000, 0, "PCMU", 101))
    assert leg.remote == ("10.0.0.9", 4000)
    leg.receive(_pkt(1), PEER, 0.0, 1)
    assert leg.remote == PEER
