from __future__ import annotations

import random
from pathlib import Path

import pytest
from media_pcap import udp_payloads

from omnidesk.channels.voice.media.dtmf import (
    DtmfError,
    DtmfReceiver,
    TelephoneEvent,
    digit_code,
    dtmf_train,
)
from omnidesk.channels.voice.media.rtp import RtpPacket

PCAPS = Path("/usr/share/sip-tester")
NAMES = {str(d): str(d) for d in range(10)} | {"pound": "#", "star": "*"}


def test_payload_encode_decode() -> None:
    ev = TelephoneEvent(event=11, end=True, volume=10, duration=1280)
    assert ev.encode() == bytes([11, 0x80 | 10, 0x05, 0x00])
    assert TelephoneEvent.decode(ev.encode()) == ev
    assert ev.digit == "#"
    assert TelephoneEvent.decode(b"\x10\x0a\x00\xa0").digit is None  # event 16 (flash)
    with pytest.raises(DtmfError):
        TelephoneEvent.decode(b"\x01\x02")
    with pytest.raises(DtmfError):
        digit_code("x")


def test_sender_train_shape() -> None:
    train = list(dtmf_train("5", 100))
    evs = [TelephoneEvent.decode(p.payload) for p in train]
    assert [p.marker for p in train] == [True] + [False] * 7
    assert [e.duration for e in evs] == [160, 320, 480, 640, 800, 800, 800, 800]
    assert [e.end for e in evs] == [False] * 5 + [True] * 3
    assert {e.event for e in evs} == {5}


def _feed_all(rx: DtmfReceiver, packets: list[tuple[int, bytes]]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for ts, payload in packets:
        out += rx.feed(ts, payload)
    return out


def test_receiver_reports_each_digit_once() -> None:
    pkts = [(1000, p.payload) for p in dtmf_train("3", 160)]
    pkts += [(5000, p.payload) for p in dtmf_train("3", 80)]  # same digit again: new event
    assert _feed_all(DtmfReceiver(), pkts) == [("3", 160), ("3", 80)]


def test_receiver_survives_reordering_and_retransmits() -> None:
    pkts = [(1000, p.payload) for p in dtmf_train("9", 200)]
    rng = random.Random(7)
    for _ in range(20):
        shuffled = pkts[:]
        rng.shuffle(shuffled)
        shuffled += pkts[-3:]  # late retransmitted ends
        assert _feed_all(DtmfReceiver(), shuffled) == [("9", 200)]


def test_receiver_with_lost_end_packets() -> None:
    first = [(1000, p.payload) for p in dtmf_train("1", 100)][:4]  # no end packets
    second = [(3000, p.payload) for p in dtmf_train("2", 100)]
    rx = DtmfReceiver()
    assert _feed_all(rx, first + second) == [("1", 80), ("2", 100)]
    lone = DtmfReceiver()
    _feed_all(lone, first)
    assert lone.flush() == [("1", 80)] and lone.flush() == []


@pytest.mark.parametrize("name", sorted(NAMES))
def test_sipp_pcaps(name: str) -> None:
    path = PCAPS / f"dtmf_2833_{name}.pcap"
    if not path.exists():
        pytest.skip("sip-tester pcaps not installed")
    rx = DtmfReceiver()
    got: list[tuple[str, int]] = []
    packets = [RtpPacket.parse(p) for p in udp_payloads(path)]
    assert packets
    for pkt in packets:
        got += rx.feed(pkt.timestamp, pkt.payload)
    got += rx.flush()
    assert [d for d, _ in got] == [NAMES[name]]
    assert got[0][1] == 280  # 2240 samples at 8 kHz
