"""docs/getting-started.md, done as the guide tells a person: an empty database, `omnidesk demo`,
the server with voice on, baresip registered as agent1 with the guide's config and accounts
files (examples/voice/baresip/, only the ports it listens on moved to free ones), agent1
available, the shipped test call (examples/voice/test-call.xml) placed with sipp, talk, hang
up on the phone — and then audio both ways proven by tones, as the guide checks it: what the
phone heard is the caller's 600 Hz, and the call's recording (found in the call history)
holds the caller's 600 Hz on the left and the phone's 1000 Hz, which the caller was sent, on
the right."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from demo_server import DemoServer

from omnidesk.bench.baresip import BaresipAgent, signalling_ports
from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.media.analysis import goertzel_power

ROOT = Path(__file__).resolve().parents[2]
PHONE = ROOT / "examples" / "voice" / "baresip"
TEST_CALL = ROOT / "examples" / "voice" / "test-call.xml"
CALLER_HZ, PHONE_HZ = 600, 1000
TOOLS = ("sipp", "sox", "baresip", "espeak-ng")
pytestmark = [
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}"
    ),
    pytest.mark.slow,
]


def _printed_sip_password(printed: str, user: str) -> str:
    """agent1's SIP password as a person reads it off `omnidesk demo`'s softphone table."""
    for line in printed.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 3 and cells[0] == user and cells[1] == user:
            return cells[2]
    raise AssertionError(f"no softphone login of {user} in:\n{printed}")


def _phone(tmp: Path, server: DemoServer, password: str) -> BaresipAgent:
    """baresip with the guide's files: the accounts line filled in as the guide says (the SIP
    password; the server's SIP port where the guide says 5060), the config as shipped but for
    the two local ports it listens on, which must be free here."""
    sip_port, ctrl_port = signalling_ports()
    config = (PHONE / "config").read_text()
    config = config.replace("127.0.0.1:5062", f"127.0.0.1:{sip_port}")
    config = config.replace("127.0.0.1:4444", f"127.0.0.1:{ctrl_port}")
    accounts = (PHONE / "accounts").read_text().replace("AGENT1_SIP_PASSWORD", password)
    accounts = accounts.replace("127.0.0.1:5060", f"127.0.0.1:{server.sip_port}")
    return BaresipAgent(
        tmp / "omnidesk-phone", "agent1", password, "demo.omnidesk.test", server.sip_port,
        sip_port=sip_port, ctrl_port=ctrl_port, config_text=config, accounts_text=accounts,
    )  # fmt: skip


def _sox_frequency(path: Path, *effects: str) -> float:
    """The guide's check: `sox FILE -n [effects] stat`, its "Rough frequency" line."""
    done = subprocess.run(
        ["sox", str(path), "-n", *effects, "stat"], capture_output=True, text=True, check=True
    )
    found = re.search(r"Rough\s+frequency:\s+(\d+)", done.stderr)
    assert found, done.stderr
    return float(found.group(1))


def _share(samples: np.ndarray, hz: float, other: float) -> float:
    powers = goertzel_power(samples.astype(np.float64), [hz, other]).sum(axis=0)
    return float(powers[0] / (powers.sum() or 1.0))


def _wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        return data.reshape(-1, w.getnchannels())


async def _history_when_written(client: Any, within: float = 30.0) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        items: list[dict[str, Any]] = client.get(
            "/api/v1/voice/call-history", params={"limit": 1}
        ).json()["items"]
        if items or asyncio.get_running_loop().time() > deadline:
            return items
        await asyncio.sleep(0.2)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DemoServer]:
    running = DemoServer(tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.timeout(240)
async def test_the_guide_from_make_run_to_a_first_call(tmp_path: Path, server: DemoServer) -> None:
    printed = server.demo()  # step 1: the demo center, its logins printed
    server.start()  # OMNIDESK_VOICE_ENABLED=true: the server with voice
    phone = _phone(tmp_path, server, _printed_sip_password(printed, "agent1"))
    sipp: asyncio.subprocess.Process | None = None
    try:
        # Step 2: the softphone registers ("200 OK … [1 binding]" on its screen).
        await phone.start()
        await phone.registered()
        # Step 3: agent1 logs in and goes available.
        agent1 = server.login("agent1")
        me = agent1.get("/api/v1/auth/me").json()["id"]
        r = agent1.post(f"/api/v1/routing/agents/{me}/state", json={"state": "available"})
        assert r.status_code == 200 and r.json()["state"] == "available", r.text
        # Step 4: the test call, from a folder holding the caller's tone.
        call_dir = tmp_path / "omnidesk-call"
        call_dir.mkdir()
        await asyncio.to_thread(
            subprocess.run,
            ["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "caller-600hz.wav",
             "synth", "120", "sine", "600", "vol", "0.3"],
            cwd=call_dir, check=True,
        )  # fmt: skip
        # The guide's command, on this server's SIP port; -p/-mp/-nostdin keep parallel
        # test runs apart and sipp off the terminal.
        sipp = await asyncio.create_subprocess_exec(
            "sipp", f"127.0.0.1:{server.sip_port}", "-sf", str(TEST_CALL), "-s", "12025550100",
            "-m", "1", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
            "-nostdin", "-timeout", "120", "-timeout_error",
            cwd=call_dir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        # The phone rings and answers by itself; the two talk; the agent hangs up (b).
        try:
            await phone.wait_event("CALL_ESTABLISHED", within=60)
        except TimeoutError:
            raise AssertionError(server.server_log()) from None
        await asyncio.sleep(12)
        await phone.command("hangup")
        await phone.wait_event("CALL_CLOSED")
        out, _ = await asyncio.wait_for(sipp.communicate(), 30)
        assert sipp.returncode == 0, out.decode(errors="replace")[-3000:]
    finally:
        if sipp is not None and sipp.returncode is None:
            sipp.kill()
            await sipp.wait()
        await phone.stop(unregister=True)

    # Step 5a: what the phone heard (dump/*-dec.wav) is the caller's tone, after the notice.
    [heard] = sorted((tmp_path / "omnidesk-phone" / "dump").glob("*-dec.wav"))
    assert abs(_sox_frequency(heard, "trim", "8") - CALLER_HZ) < 60
    tail = _wav(heard)[:, 0][-4 * 8000 :]
    assert _share(tail, CALLER_HZ, PHONE_HZ) > 0.9

    # Step 5b: the call in the history, answered by agent1 from support, and its recording:
    # the caller on the left, the phone — what the caller was sent — on the right.
    # The call's record is written by voice's event writer after the hang-up, a moment later on
    # a loaded machine: wait for it rather than read once.
    [call] = await _history_when_written(agent1)
    assert (call["outcome"], call["queue_id"], call["agent_id"]) == ("answered", "support", me)
    assert call["ivr_path"][:3] == ["welcome", "check_hours", "menu"]
    [recording_id] = call["recording_ids"]
    audio = agent1.get(f"/api/v1/voice/recordings/{recording_id}/audio")
    assert audio.status_code == 200
    recording = tmp_path / "call.wav"
    recording.write_bytes(audio.content)
    assert abs(_sox_frequency(recording, "remix", "1") - CALLER_HZ) < 60
    assert abs(_sox_frequency(recording, "remix", "2") - PHONE_HZ) < 100
    stereo = _wav(recording)
    assert stereo.shape[1] == 2
    assert _share(stereo[:, 0], CALLER_HZ, PHONE_HZ) > 0.9
    assert _share(stereo[:, 1], PHONE_HZ, CALLER_HZ) > 0.9
