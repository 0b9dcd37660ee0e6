"""Shared set-up of the end-to-end call tests: a tenant with voice configured through the API,
sipp as the caller from a trunk, baresip as the agent's softphone."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np

from omnidesk.channels.voice.media.analysis import goertzel_power

SIPP = shutil.which("sipp")
SOX = shutil.which("sox")
DOMAIN = "calls.demo.example"
DID = "+493012345678"
CALLER_HZ = 600
AGENT_HZ = 1000

QUEUE = {
    "id": "support",
    "channels": ["voice"],
    "name": "Support",
    "steps": [{"target": None}],
    "offer_timeout_seconds": 20,
    "wrap_up_seconds": 5,
}


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = int(t.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def menu_flow(*, announce: int | None = None) -> dict[str, Any]:
    return {
        "id": "main",
        "language": "en",
        "timezone": "UTC",
        "start": "menu",
        "nodes": {
            "menu": {
                "type": "menu",
                "prompt": {"say": "Welcome. For support press one."},
                "options": {"1": "support", "2": "bye"},
                "timeout_s": 8,
                "retries": 1,
                "on_failure": "bye",
            },
            "support": {
                "type": "queue",
                "queue": "support",
                **({"announce_every_s": announce} if announce else {}),
            },
            "bye": {"type": "hangup", "prompt": {"say": "Goodbye."}},
        },
    }


def configure(admin: Any, ids: dict[str, Any], *, record: str = "always", flow: Any = None) -> None:
    def ok(response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    ok(admin.put("/api/v1/voice/settings", json={"sip_domain": DOMAIN}))
    ok(
        admin.post(
            "/api/v1/voice/trunks", json={"name": "carrier", "allowed_addresses": ["127.0.0.1/32"]}
        ),
        201,
    )
    created = ok(
        admin.post("/api/v1/voice/flows", json={"name": "main", "definition": flow or menu_flow()}),
        201,
    )
    ok(admin.post("/api/v1/voice/numbers", json={"number": DID, "flow_id": created["id"]}), 201)
    ok(admin.post("/api/v1/routing/queues", json=QUEUE), 201)
    ok(admin.put("/api/v1/voice/queues/support/policy", json={"record": record}))
    ok(
        admin.put(
            f"/api/v1/routing/agents/{ids['agent1']}",
            json={"skills": {}, "queues": {"support": 1}, "capacity": {"voice": 1}},
        )
    )
    ok(
        admin.put(
            f"/api/v1/voice/agents/{ids['agent1']}/sip",
            json={"username": "agent1", "password": "s3cret-pass"},
        )
    )


def tone_wav(path: Path, hz: int, seconds: int = 30) -> Path:
    """A μ-law WAV for sipp's rtp_stream (it sends the file's bytes as PCMU payloads)."""
    subprocess.run(
        [str(SOX), "-n", "-r", "8000", "-c", "1", "-e", "u-law", str(path),
         "synth", str(seconds), "sine", str(hz), "vol", "0.3"],
        check=True,
    )  # fmt: skip
    return path


CALLER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [rtpstream_audio_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <nop><action><exec rtp_stream="{tone},-1,0"/></action></nop>
  <pause milliseconds="{before_digit_ms}"/>
  {digit}
  <recv request="BYE" timeout="{stay_ms}"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"""

INFO_DIGIT = """<send retrans="500"><![CDATA[
INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 INFO
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal={digit}
Duration=160
]]></send>
  <recv response="200"/>"""

PCAP_DIGIT = (
    '<nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_{digit}.pcap"/>'
    "</action></nop>"
)


def caller_scenario(
    tmp: Path, *, digit: str, how: str, before_digit_ms: int = 1500, stay_ms: int = 60000
) -> Path:
    tone = tone_wav(tmp / "caller.wav", CALLER_HZ)
    step = (INFO_DIGIT if how == "info" else PCAP_DIGIT).replace("{digit}", digit)
    text = (
        CALLER_SCENARIO.replace("{tone}", str(tone))
        .replace("{before_digit_ms}", str(before_digit_ms))
        .replace("{stay_ms}", str(stay_ms))
        .replace("{digit}", step)
    )
    path = tmp / "caller.xml"
    path.write_text(text)
    return path


async def start_sipp(tmp: Path, scenario: Path, sip_port: int) -> asyncio.subprocess.Process:
    cmd = [
        str(SIPP), f"127.0.0.1:{sip_port}", "-sf", str(scenario), "-s", DID.lstrip("+"),
        "-m", "1", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
        "-nostdin", "-timeout", "90", "-timeout_error", "-trace_err",
        "-error_file", str(tmp / "sipp.err"),
    ]  # fmt: skip
    return await asyncio.create_subprocess_exec(
        *cmd, cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


async def finish_sipp(proc: asyncio.subprocess.Process, tmp: Path, within: float = 60) -> None:
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    err = tmp / "sipp.err"
    detail = err.read_text(errors="replace") if err.exists() else ""
    assert proc.returncode == 0, (
        f"sipp exit {proc.returncode}\n{out.decode(errors='replace')[-3000:]}\n{detail}"
    )


def tone_share(samples: np.ndarray, hz: float, others: tuple[float, ...]) -> float:
    """How much of the energy at the candidate tones is at `hz` (0..1)."""
    freqs = [hz, *others]
    powers = goertzel_power(samples.astype(np.float64), freqs).sum(axis=0)
    total = float(powers.sum()) or 1.0
    return float(powers[0]) / total


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        channels = w.getnchannels()
    return (data.reshape(-1, channels) if channels > 1 else data), channels
