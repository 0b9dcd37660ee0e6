"""Media benchmark: N legs pairwise bridged, loopback far ends sending real 20 ms RTP packets.

The far ends run in a child process (`python -m omnidesk.bench.media --peer`) so
the engine's CPU figure is its own; they send G.711 tones on their own clock and measure the
interval between packets as they arrive (kernel receive timestamps) and the loss. Half of the
calls are recorded. `run()` prints and returns the figures; `omnidesk bench media` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import select
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from omnidesk.channels.voice.media.analysis import dominant_tones, tone
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.g711 import ulaw_decode, ulaw_encode
from omnidesk.channels.voice.media.recorder import Recorder
from omnidesk.channels.voice.media.sdp import MediaParams

_SO_TIMESTAMPNS = 35
CALLER_HZ, AGENT_HZ = 600.0, 1000.0


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _pct(values: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if len(values) else None


def run(
    legs: int = 400,
    seconds: float = 10.0,
    *,
    record_fraction: float = 0.5,
    warmup: float = 1.5,
    out_dir: str | Path | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    legs += legs % 2
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-") as tmp:
        figures = asyncio.run(_run(legs, seconds, record_fraction, warmup, Path(out_dir or tmp)))
    if not quiet:
        _print(figures)
    return figures


async def _run(
    n: int, seconds: float, record_fraction: float, warmup: float, out_dir: Path
) -> dict[str, Any]:
    engine = MediaEngine(port_range=None)
    await engine.start()
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnidesk.bench.media",
        "--peer",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        legs = [await engine.open_leg() for _ in range(n)]
        assert peer.stdin is not None and peer.stdout is not None
        cfg = {"targets": [leg.local_port for leg in legs], "seconds": seconds, "warmup": warmup}
        peer.stdin.write(json.dumps(cfg).encode() + b"\n")
        await peer.stdin.drain()
        line = await peer.stdout.readline()
        ports = json.loads(line)["ports"]
        for leg, port in zip(legs, ports, strict=True):
            leg.configure(MediaParams("127.0.0.1", port, 0, "PCMU", 101))
        recorders = []
        calls = n // 2
        for c in range(calls):
            a, b = legs[2 * c], legs[2 * c + 1]
            engine.bridge(a, b)
            if c < round(calls * record_fraction):
                rec = Recorder(out_dir / f"call-{c}.wav", sources=[a, b])
                engine.attach_recorder(rec)
                recorders.append(rec)
        await asyncio.sleep(warmup)
        engine.reset_send_stats()
        late0, skip0, ticks0 = (
            engine.stats.late_ticks,
            engine.stats.skipped_ticks,
            engine.stats.ticks,
        )
        received0 = sum(leg.stats.packets_received for leg in legs)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100.0
        rss = _rss_mb()
        received = sum(leg.stats.packets_received for leg in legs) - received0
        ticks = engine.stats.ticks - ticks0
        late = engine.stats.late_ticks - late0
        skipped = engine.stats.skipped_ticks - skip0
        send_p50, send_p99 = engine.send_interval_ms(0.50), engine.send_interval_ms(0.99)
        tick_p50, tick_p99 = engine.stats.tick_ms(0.50), engine.stats.tick_ms(0.99)
        far = json.loads(await peer.stdout.readline())
        for rec in recorders:
            await engine.detach_recorder(rec)
        recorded_mb = sum(r.path.stat().st_size for r in recorders) / 1e6
        figures: dict[str, Any] = {
            "legs": n,
            "calls": calls,
            "recorded_calls": len(recorders),
            "seconds": seconds,
            "engine_send_interval_p50_ms": _round(send_p50),
            "engine_send_interval_p99_ms": _round(send_p99),
            "tick_p50_ms": _round(tick_p50),
            "tick_p99_ms": _round(tick_p99),
            "ticks": ticks,
            "late_ticks": late,
            "skipped_ticks": skipped,
            "engine_rx_packets": received,
            "engine_rx_lost": sum(leg.stats.lost for leg in legs),
            "engine_rx_jitter_ms_mean": round(
                float(np.mean([leg.stats.jitter_ms for leg in legs])), 3
            ),
            "engine_cpu_percent": round(cpu, 1),
            "engine_rss_mb": round(rss, 1),
            "recorded_mb": round(recorded_mb, 2),
            **{f"far_{k}": v for k, v in far.items()},
        }
        return figures
    finally:
        if peer.returncode is None:
            peer.kill()
        await peer.wait()
        await engine.stop()


def _print(fig: dict[str, Any]) -> None:
    print(
        f"voice media bench: {fig['legs']} legs ({fig['calls']} calls, "
        f"{fig['recorded_calls']} recorded), {fig['seconds']} s"
    )
    for key, value in fig.items():
        if key not in ("legs", "calls", "recorded_calls", "seconds"):
            print(f"  {key:32} {value}")


# -- the far ends (child process) ------------------------------------------------------------


def _tones(cfg: dict[str, Any], n: int) -> tuple[list[float], dict[int, float]]:
    """What each far end says, and what the first ones must hear: by default the two ends of
    a bridged pair (`bench webrtc` gives its callers one tone and the browsers' to expect)."""
    send_hz = cfg.get("tone_hz") or [CALLER_HZ if i % 2 == 0 else AGENT_HZ for i in range(n)]
    wanted = cfg.get("expect_hz") or {0: AGENT_HZ, 1: CALLER_HZ}
    return send_hz, {int(i): float(hz) for i, hz in wanted.items()}


def _peer() -> None:
    cfg = json.loads(sys.stdin.readline())
    targets: list[int] = cfg["targets"]
    seconds, warmup = float(cfg["seconds"]), float(cfg["warmup"])
    n = len(targets)
    socks = []
    for _ in targets:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        socks.append(s)
    print(json.dumps({"ports": [s.getsockname()[1] for s in socks]}), flush=True)
    ep = select.epoll()
    index = {}
    for i, s in enumerate(socks):
        ep.register(s.fileno(), select.EPOLLIN)
        index[s.fileno()] = i
    send_hz, expect = _tones(cfg, n)
    payloads = [ulaw_encode(tone(send_hz[i], 160, -12.0)).tobytes() for i in range(n)]
    ssrc = [random.getrandbits(32) for _ in range(n)]
    hdr = struct.Struct("!BBHII")
    ts_unpack = struct.Struct("qq").unpack_from
    cmsg = socket.CMSG_SPACE(16)
    last = [0.0] * n
    first_seq: list[int | None] = [None] * n
    max_seq = [0] * n
    count = [0] * n
    intervals: list[float] = []
    sample: dict[int, list[bytes]] = {i: [] for i in expect if i < n}
    cpu0 = time.process_time()
    start = time.monotonic()
    measure_from = start + warmup
    end = measure_from + seconds
    k = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = start + k * 0.020
        if now >= due:
            for i, s in enumerate(socks):
                pkt = hdr.pack(0x80, 0, k & 0xFFFF, (k * 160) & 0xFFFFFFFF, ssrc[i]) + payloads[i]
                with contextlib.suppress(OSError):
                    s.sendto(pkt, ("127.0.0.1", targets[i]))
            k += 1
            continue
        for fd, _ in ep.poll(due - now):
            i = index[fd]
            try:
                data, anc, _, _ = socks[i].recvmsg(2048, cmsg)
            except BlockingIOError:
                continue
            arrival = time.time()
            for _lvl, _kind, raw in anc:
                sec, nsec = ts_unpack(raw)
                arrival = sec + nsec * 1e-9
            if time.monotonic() < measure_from or len(data) < 12:
                continue
            seq = hdr.unpack_from(data)[2]
            if first_seq[i] is None:
                first_seq[i] = max_seq[i] = seq
            else:
                # Sequence numbers may wrap: extend relative to the highest seen.
                delta = (seq - max_seq[i]) & 0xFFFF
                if delta < 0x8000:
                    max_seq[i] += delta
            count[i] += 1
            if last[i]:
                intervals.append((arrival - last[i]) * 1000.0)
            last[i] = arrival
            if i in sample and len(sample[i]) < 100:
                sample[i].append(data[12:])
    cpu = (time.process_time() - cpu0) / (time.monotonic() - start) * 100.0
    expected = sum(m - f + 1 for f, m in zip(first_seq, max_seq, strict=True) if f is not None)
    iv = np.asarray(intervals)
    heard_ok = True
    for i, want in expect.items():
        if i not in sample:
            continue
        pcm = ulaw_decode(b"".join(sample[i]))
        wins = dominant_tones(pcm, [CALLER_HZ, AGENT_HZ], 200)
        heard_ok &= bool(wins) and all(w == {want} for w in wins[1:])
    print(
        json.dumps(
            {
                "rx_packets": int(sum(count)),
                "rx_lost": int(max(0, expected - sum(count))),
                "rx_interval_p50_ms": _pct(iv, 50),
                "rx_interval_p99_ms": _pct(iv, 99),
                "rx_interval_max_ms": _pct(iv, 100),
                "peer_cpu_percent": round(cpu, 1),
                "audio_path_ok": heard_ok,
            }
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    """The far ends' child process only; people run `omnidesk bench media`."""
    parser = argparse.ArgumentParser(description="The far ends of `omnidesk bench media`.")
    parser.add_argument("--peer", action="store_true", required=True)
    parser.parse_args(argv)
    _peer()


if __name__ == "__main__":
    main()
