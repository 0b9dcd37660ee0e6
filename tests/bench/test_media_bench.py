"""The benchmark harness runs end to end (figures are printed, never asserted on speed)."""

from __future__ import annotations

import wave
from pathlib import Path

from omnidesk.bench import media as bench


def test_bench_small_run(tmp_path: Path) -> None:
    fig = bench.run(legs=20, seconds=1.5, warmup=0.5, out_dir=tmp_path, quiet=True)
    assert fig["legs"] == 20 and fig["calls"] == 10 and fig["recorded_calls"] == 5
    assert fig["far_audio_path_ok"] is True
    assert fig["far_rx_packets"] > 20 * 50  # every leg kept sending for the whole run
    assert fig["engine_rx_packets"] > 20 * 50
    assert fig["engine_send_interval_p50_ms"] is not None
    assert fig["far_rx_interval_p50_ms"] is not None
    files = sorted(tmp_path.glob("call-*.wav"))
    assert len(files) == 5
    with wave.open(str(files[0]), "rb") as w:
        assert w.getnframes() >= 8000 * 2  # warm-up + measured time, both parties
