"""The ports the test softphones get stay out of the way of everything else: below the kernel's
ephemeral range (where `free_port` probes ports for the server and sipp), signalling and RTP
in blocks of their own, never handed out twice in a run."""

from __future__ import annotations

from pathlib import Path

from omnidesk.bench.baresip import RTP_PORTS, SIGNALLING_PORTS, BaresipAgent, _ephemeral_start
from omnidesk.bench.voice_testbed import free_port


def test_softphone_ports_are_apart_from_ephemeral_ports(tmp_path: Path) -> None:
    phones = [BaresipAgent(tmp_path / f"a{i}", f"a{i}", "pw", "d.example", 5060) for i in range(6)]
    taken = [p for phone in phones for p in (phone.sip_port, phone.sip_port + 1, phone.ctrl_port)]
    assert len(set(taken)) == len(taken)  # made before any started, yet all distinct
    assert all(port in SIGNALLING_PORTS for port in taken)
    assert not set(SIGNALLING_PORTS) & set(RTP_PORTS)
    assert max(RTP_PORTS) < min(SIGNALLING_PORTS) and max(SIGNALLING_PORTS) < _ephemeral_start()
    assert all(free_port() >= _ephemeral_start() for _ in range(20))

    phones[0].write_config()
    config = (tmp_path / "a0" / "config").read_text().splitlines()
    assert f"rtp_ports {RTP_PORTS.start}-{RTP_PORTS.stop - 1}" in config
    assert f"sip_listen 127.0.0.1:{phones[0].sip_port}" in config
