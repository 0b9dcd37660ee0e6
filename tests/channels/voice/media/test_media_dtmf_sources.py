"""Where telephone-events may come from (Leg.receive): key presses from the latched host are
accepted from another port or in a stream of their own (another SSRC), but audio from another
port, or from a foreign SSRC while the latched stream is live, stays stray."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from omnidesk.channels.voice.media.dtmf import dtmf_train
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.rtp import RtpPacket
from omnidesk.channels.voice.media.sdp import MediaParams

PEER = ("127.0.0.1", 5000)
OTHER_PORT = ("127.0.0.1", 5002)
OTHER_HOST = ("127.0.0.2", 5000)


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


def _audio(seq: int, ssrc: int = 1) -> bytes:
    return RtpPacket(0, seq & 0xFFFF, seq * 160, ssrc, b"\x7f" * 160).build()


def _digit(leg: Leg, digit: str, addr: tuple[str, int], *, ssrc: int, tick: int) -> int:
    """One key press's telephone-event train, the latched audio stream going on beside it (as
    a phone sends both); returns the tick after it."""
    for i, packet in enumerate(dtmf_train(digit)):
        raw = RtpPacket(101, 1000 + i, 80_000, ssrc, packet.payload, marker=packet.marker).build()
        leg.receive(raw, addr, tick * 0.02, tick)
        leg.receive(_audio(tick), PEER, tick * 0.02, tick)
        tick += 1
    return tick


def _digits(leg: Leg) -> list[str]:
    return [d for (who, d, _ms) in leg.engine._dtmf_events if who is leg]


def _live_audio(leg: Leg, ticks: range) -> None:
    for t in ticks:
        leg.receive(_audio(t), PEER, t * 0.02, t)


def test_events_from_the_latched_host_on_another_port_are_digits(leg: Leg) -> None:
    _live_audio(leg, range(1, 4))
    _digit(leg, "5", OTHER_PORT, ssrc=1, tick=4)
    assert _digits(leg) == ["5"]
    assert leg.stats.stray == 0
    assert leg.source_addr == PEER  # the latch did not move to the DTMF socket


def test_events_in_a_stream_of_their_own_are_digits(leg: Leg) -> None:
    _live_audio(leg, range(1, 4))
    _digit(leg, "7", PEER, ssrc=99, tick=4)  # the audio stream is still live
    assert _digits(leg) == ["7"]
    assert leg.rx_ssrc == 1 and leg.stats.stray == 0


def test_events_from_another_host_are_stray(leg: Leg) -> None:
    _live_audio(leg, range(1, 4))
    _digit(leg, "9", OTHER_HOST, ssrc=1, tick=4)
    assert _digits(leg) == []
    assert leg.stats.stray > 0


def test_audio_from_another_port_is_stray(leg: Leg) -> None:
    _live_audio(leg, range(1, 4))
    before = leg.stats.packets_received
    for t in range(4, 8):
        leg.receive(_audio(t), OTHER_PORT, t * 0.02, t)
    assert leg.stats.stray == 4
    assert leg.stats.packets_received == before
    assert leg.source_addr == PEER


def test_audio_in_a_foreign_ssrc_is_stray_while_the_stream_is_live(leg: Leg) -> None:
    _live_audio(leg, range(1, 4))
    for t in range(4, 7):
        leg.receive(_audio(t, ssrc=42), PEER, t * 0.02, t)
    assert leg.stats.stray == 3 and leg.rx_ssrc == 1
