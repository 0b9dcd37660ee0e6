"""Engine over loopback: who hears whom, proved by tones (caller 600, agent 1000, sup 1500 Hz)."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
from media_helpers import FarEnd, listen_for, media_engine, open_pair  # noqa: F401 - fixture

from omnidesk.channels.voice.media.analysis import dominant_tones
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.players import Playlist, ToneSource

CALLER, AGENT, SUP = 600.0, 1000.0, 1500.0


async def test_bridge_each_side_hears_only_the_other(engine: MediaEngine) -> None:
    a, b = FarEnd(CALLER), FarEnd(AGENT)
    la, lb = await open_pair(engine, a), await open_pair(engine, b)
    try:
        assert la.local_port % 2 == 0 and lb.local_port % 2 == 0
        engine.bridge(la, lb)
        await listen_for([a, b], 1.2)
        assert a.heard() == {AGENT}
        assert b.heard() == {CALLER}
        # Steady stream: seq consecutive, timestamps +160, one SSRC, marker only on the first.
        pkts = sorted(a.packets, key=lambda p: p.sequence)
        assert len({p.ssrc for p in pkts}) == 1
        assert all(q.sequence - p.sequence == 1 for p, q in itertools.pairwise(pkts))
        assert all(q.timestamp - p.timestamp == 160 for p, q in itertools.pairwise(pkts))
        assert la.stats.packets_received > 30 and la.stats.stray == 0
        assert la.send_interval_ms(0.5) is not None
    finally:
        await a.close()
        await b.close()


async def test_first_packet_carries_marker(engine: MediaEngine) -> None:
    a = FarEnd(None)
    await open_pair(engine, a)
    try:
        await asyncio.sleep(0.2)
        assert a.packets and a.packets[0].marker
        assert not any(p.marker for p in a.packets[1:])
    finally:
        await a.close()


async def test_three_way_conference(engine: MediaEngine) -> None:
    fars = [FarEnd(CALLER), FarEnd(AGENT), FarEnd(SUP)]
    legs = [await open_pair(engine, f) for f in fars]
    try:
        engine.conference(legs)
        await listen_for(fars, 1.2)
        assert fars[0].heard() == {AGENT, SUP}
        assert fars[1].heard() == {CALLER, SUP}
        assert fars[2].heard() == {CALLER, AGENT}
    finally:
        for f in fars:
            await f.close()


async def test_listen_whisper_barge(engine: MediaEngine) -> None:
    caller, agent, sup = FarEnd(CALLER), FarEnd(AGENT), FarEnd(SUP)
    lc, la, ls = [await open_pair(engine, f) for f in (caller, agent, sup)]
    try:
        engine.bridge(lc, la)
        expected = {
            "listen": ({AGENT}, {CALLER}, {CALLER, AGENT}),
            "whisper": ({AGENT}, {CALLER, SUP}, {CALLER, AGENT}),
            "barge": ({AGENT, SUP}, {CALLER, SUP}, {CALLER, AGENT}),
        }
        for mode in ("listen", "whisper", "barge", "listen"):
            engine.monitor(ls, lc, la, mode)
            await asyncio.sleep(0.2)  # let the previous mode's audio drain
            await listen_for([caller, agent, sup], 1.0)
            got = (caller.heard(), agent.heard(), sup.heard())
            assert got == expected[mode], mode
    finally:
        for f in (caller, agent, sup):
            await f.close()


async def test_music_on_hold_replaces_the_other_party(engine: MediaEngine) -> None:
    caller, agent = FarEnd(CALLER), FarEnd(AGENT)
    lc, la = await open_pair(engine, caller), await open_pair(engine, agent)
    music = ToneSource(SUP, -12.0)
    try:
        engine.bridge(lc, la)
        await asyncio.sleep(0.2)
        restore = engine.hold(lc, music)
        await asyncio.sleep(0.2)
        await listen_for([caller, agent], 1.0)
        assert caller.heard() == {SUP}
        assert agent.heard() == set()  # nobody hears the held party
        engine.resume(lc, restore)
        await asyncio.sleep(0.2)
        await listen_for([caller, agent], 1.0)
        assert caller.heard() == {AGENT}
        assert agent.heard() == {CALLER}
    finally:
        await caller.close()
        await agent.close()


async def test_playlist_completion_and_digit_interrupt(engine: MediaEngine) -> None:
    caller = FarEnd(None)
    lc = await open_pair(engine, caller)
    try:
        done = asyncio.Event()
        pl = Playlist(
            [ToneSource(CALLER, duration_ms=200), ToneSource(AGENT, duration_ms=200)],
            on_done=done.set,
        )
        engine.connect(lc, pl)
        await asyncio.wait_for(done.wait(), 3)
        assert not pl.interrupted
        await asyncio.sleep(0.1)
        # The prompts were heard in order: 600 Hz, then 1000 Hz, then silence.
        wins = [w for w in dominant_tones(caller.audio(), (CALLER, AGENT), 100) if w]
        assert wins[0] == {CALLER} and wins[-1] == {AGENT}
        assert {CALLER} in wins and {AGENT} in wins and len(wins) <= 5

        stopped = asyncio.Event()
        digits: list[str] = []
        lc.on_dtmf = lambda d, ms: digits.append(d)
        long = Playlist([ToneSource(SUP, duration_ms=10_000)], stopped.set, interrupt_on_digit=True)
        engine.disconnect(lc, pl)
        engine.connect(lc, long)
        await asyncio.sleep(0.1)
        for pkt in _train("5"):
            caller.send_raw(pkt[0], 101, marker=pkt[1], ts=8000)
        await asyncio.wait_for(stopped.wait(), 2)
        assert long.interrupted and digits == ["5"]
    finally:
        await caller.close()


def _train(digit: str) -> list[tuple[bytes, bool]]:
    from omnidesk.channels.voice.media.dtmf import dtmf_train

    return [(p.payload, p.marker) for p in dtmf_train(digit, 100)]


async def test_rfc4733_send_to_receive_between_two_legs(engine: MediaEngine) -> None:
    # Leg A sends digits to a far end that relays raw RTP into leg B: B reports each once.
    relay, sink = FarEnd(None), FarEnd(None)
    la = await open_pair(engine, relay)
    lb = await open_pair(engine, sink)
    got: list[tuple[str, int]] = []
    lb.on_dtmf = lambda d, ms: got.append((d, ms))

    def forward(data: bytes, addr: tuple[str, int]) -> None:
        assert relay.transport is not None
        relay.transport.sendto(data, ("127.0.0.1", lb.local_port))

    relay.datagram_received = forward  # type: ignore[method-assign]
    try:
        la.send_dtmf("1", 120)
        la.send_dtmf("#", 200)
        la.send_dtmf("9")
        await asyncio.sleep(1.5)
        assert [d for d, _ in got] == ["1", "#", "9"]
        assert [ms for _, ms in got] == [120, 200, 160]
    finally:
        await relay.close()
        await sink.close()


async def test_dtmf_train_on_the_wire(engine: MediaEngine) -> None:
    far = FarEnd(None)
    leg = await open_pair(engine, far)
    try:
        leg.send_dtmf("7", 100)
        await asyncio.sleep(0.5)
        ev = [p for p in far.packets if p.payload_type == 101]
        assert len(ev) == 5 + 3
        assert len({p.timestamp for p in ev}) == 1
        assert [p.marker for p in ev] == [True] + [False] * 7
        durations = [int.from_bytes(p.payload[2:4], "big") for p in ev]
        assert durations == [160, 320, 480, 640, 800, 800, 800, 800]
        assert [bool(p.payload[1] & 0x80) for p in ev] == [False] * 5 + [True] * 3
        assert far.digits == [("7", 100)]
        seqs = sorted(p.sequence for p in far.packets)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # one sequence space
    finally:
        await far.close()


async def test_stray_packets_are_ignored_and_counted(engine: MediaEngine) -> None:
    a, b = FarEnd(CALLER), FarEnd(AGENT)
    la, lb = await open_pair(engine, a), await open_pair(engine, b)
    intruder = FarEnd(None)
    intruder.ssrc = a.ssrc  # spoofs the caller's stream from another address
    await intruder.open()
    intruder.start_sending(la.local_port)
    try:
        engine.bridge(la, lb)
        await asyncio.sleep(0.3)
        assert a.transport is not None and intruder.transport is not None
        before = la.stats.stray
        a.transport.sendto(b"\x00" * 5, ("127.0.0.1", la.local_port))  # too short
        a.transport.sendto(b"\x40" + b"\x00" * 30, ("127.0.0.1", la.local_port))  # version 1
        a.send_raw(b"\x00" * 160, pt=96)  # unknown payload type
        a.transport.sendto(  # another SSRC while the stream is live
            b"\x80\x00\x00\x01" + b"\x00" * 4 + b"\x12\x34\x56\x78" + b"\xff" * 160,
            ("127.0.0.1", la.local_port),
        )
        a.transport.sendto(
            b"\xa0" + b"\x00" * 11 + b"\x00" * 3 + b"\xff", ("127.0.0.1", la.local_port)
        )
        for _ in range(3):
            intruder.send_frame(np.zeros(160, dtype=np.int16))
        await listen_for([a, b], 1.0)
        assert la.stats.stray - before == 8
        assert b.heard() == {CALLER}  # the intruder's silence did not replace the caller
        assert a.heard() == {AGENT}
    finally:
        for f in (a, b, intruder):
            await f.close()


async def test_pcma_leg_bridged_to_pcmu_leg(engine: MediaEngine) -> None:
    a, b = FarEnd(CALLER, codec="PCMA"), FarEnd(AGENT, codec="PCMU")
    la, lb = await open_pair(engine, a), await open_pair(engine, b)
    try:
        engine.bridge(la, lb)
        await listen_for([a, b], 1.0)
        assert {p.payload_type for p in a.packets} == {8}
        assert a.heard() == {AGENT} and b.heard() == {CALLER}
    finally:
        await a.close()
        await b.close()


async def test_closed_leg_leaves_the_graph(engine: MediaEngine) -> None:
    fars = [FarEnd(CALLER), FarEnd(AGENT), FarEnd(SUP)]
    legs = [await open_pair(engine, f) for f in fars]
    try:
        engine.conference(legs)
        await asyncio.sleep(0.2)
        await engine.close_leg(legs[2])
        await asyncio.sleep(0.2)
        await listen_for(fars[:2], 1.0)
        assert fars[0].heard() == {AGENT} and fars[1].heard() == {CALLER}
        assert len(engine.legs) == 2
    finally:
        for f in fars:
            await f.close()


async def test_engine_restarts_after_stop() -> None:
    eng = MediaEngine(port_range=None)
    fars = [FarEnd(None), FarEnd(None)]
    try:
        for far in fars:
            await eng.start()
            leg = await open_pair(eng, far)
            await asyncio.sleep(0.1)
            assert leg.stats.packets_sent > 0 and far.packets
            await eng.stop()
            assert eng.legs == []
    finally:
        for far in fars:
            await far.close()
        await eng.stop()
