"""Shared set-up of the end-to-end call tests: the voice server's settings, a tenant with voice
configured through the API (omnidesk.bench.voice_testbed, which `omnidesk bench voice`
uses too), sipp as the caller from a trunk (omnidesk.bench.sipp's scenarios), baresip as the
agent's softphone (omnidesk.bench.baresip), and the polling, database and clean-up helpers
every test module needs."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from omnidesk.bench import sipp
from omnidesk.bench.baresip import BaresipAgent
from omnidesk.bench.sipp import tone_wav
from omnidesk.bench.voice_testbed import (
    LOOPBACK_TRUNK,
    SipAgent,
    VoiceTenant,
    free_port,
    routing_queue,
    voice_settings,
)
from omnidesk.bench.voice_testbed import configure as setup_tenant
from omnidesk.channels.voice.media.analysis import goertzel_power
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.settings import Settings

SIPP = shutil.which("sipp")
SOX = shutil.which("sox")
DOMAIN = "calls.demo.example"
DID = "+493012345678"
CALLER_HZ = 600
AGENT_HZ = 1000

QUEUE = routing_queue("support", "Support", offer_timeout_seconds=20, wrap_up_seconds=5)
AGENT1 = ("agent1", "s3cret-pass")  # agent1's SIP login (see `configure`): username, password

# A call test needs real peers: sipp as the caller, baresip as the softphones, sox for tones.
PEERS = ("sipp", "baresip", "sox")


def needs(*tools: str) -> list[pytest.MarkDecorator]:
    """The module marks of a call test: skipped without the peer tools, and slow."""
    missing = [tool for tool in tools if not shutil.which(tool)]
    return [
        pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(tools)} (make install)"),
        pytest.mark.slow,
    ]


def voice_settings_fixture(**extra: Any) -> Any:
    """A `settings` fixture for a test module: the suite's settings with the voice server on
    (a free SIP port) plus `extra`. Assign it as `settings = voice_settings_fixture()`."""

    @pytest.fixture(name="settings")
    def fixture(settings: Settings) -> Settings:
        return settings.model_copy(update=voice_settings(**extra))

    return fixture


async def wait_until(predicate: Any, within: float = 20.0, what: str = "") -> Any:
    """Poll `predicate` every 0.1 s until it returns something truthy, which is returned."""
    deadline = asyncio.get_running_loop().time() + within
    while not (found := predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return found


async def registered(voice: Any, user: str) -> None:
    """Wait until `user`'s softphone is registered in the tenant's domain (it may register
    before its control socket is up, so this asks the registrar, not baresip)."""
    aor = f"sip:{user}@{DOMAIN}"
    await wait_until(lambda: voice.sip.registrar.lookup(aor), what=f"{aor} REGISTER")


def make_available(as_user: Any, ids: dict[str, Any], who: str) -> None:
    """`who` goes available themselves (from their desktop, not by the admin)."""
    r = as_user(who).post(f"/api/v1/routing/agents/{ids[who]}/state", json={"state": "available"})
    assert r.status_code == 200, r.text


def db_rows(client: Any, app: Any, model: Any) -> list[Any]:
    """Every row of `model` in the app's database (all tenants), read in the app's loop."""

    async def read() -> list[Any]:
        session = app.state.services.db.session(SYSTEM)
        try:
            return list((await session.scalars(select(model))).all())
        finally:
            await session.close()

    rows: list[Any] = client.portal.call(read)
    return rows


async def kill(*procs: asyncio.subprocess.Process | None) -> None:
    """Kill whichever of `procs` still runs (after a failure; a passing test finished them)."""
    for proc in procs:
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def ivr_menu(prompt: str, options: dict[str, str], nodes: dict[str, Any]) -> dict[str, Any]:
    """The flow "main": a menu saying `prompt` whose `options` lead to `nodes`; no key (twice)
    leads to the node "bye"."""
    menu = {
        "type": "menu",
        "prompt": {"say": prompt},
        "options": options,
        "timeout_s": 8,
        "retries": 1,
        "on_failure": "bye",
    }
    return {
        "id": "main",
        "language": "en",
        "timezone": "UTC",
        "start": "menu",
        "nodes": {"menu": menu, **nodes},
    }


def menu_flow(*, announce: int | None = None) -> dict[str, Any]:
    support: dict[str, Any] = {"type": "queue", "queue": "support"}
    if announce:
        support["announce_every_s"] = announce
    return ivr_menu(
        "Welcome. For support press one.",
        {"1": "support", "2": "bye"},
        {"support": support, "bye": {"type": "hangup", "prompt": {"say": "Goodbye."}}},
    )


def configure(
    admin: Any,
    ids: dict[str, Any],
    *,
    record: str = "always",
    flow: Any = None,
    trunk: dict[str, Any] | None = None,
    agents: tuple[SipAgent, ...] = (),
) -> None:
    """The demo tenant ready for calls to DID: the menu flow (or `flow`), the support queue
    recorded as `record`, agent1 serving it with a SIP login, and `agents` besides."""
    bed = VoiceTenant(
        domain=DOMAIN,
        number=DID,
        flow=flow or menu_flow(),
        queue=QUEUE,
        record=record,
        trunk=trunk or dict(LOOPBACK_TRUNK),
        agents=(SipAgent(ids["agent1"], *AGENT1), *agents),
    )
    setup_tenant(admin, bed)


def agent1_phone(tmp: Path, sip_port: int, **kw: Any) -> BaresipAgent:
    """agent1's baresip softphone (in `tmp`/agent1), registering with the server's `sip_port`
    with the login `configure` gave agent1; `kw` as BaresipAgent's (tone_hz AGENT_HZ unless
    told)."""
    return BaresipAgent(tmp / "agent1", *AGENT1, DOMAIN, sip_port, **({"tone_hz": AGENT_HZ} | kw))


def caller_scenario(
    tmp: Path, *, digit: str, how: str, before_digit_ms: int = 1500, stay_ms: int = 60000
) -> Path:
    """The usual test caller (600 Hz, keys `digit` by INFO or by an RFC 4733 pcap) in
    `tmp`/caller.xml (omnidesk.bench.sipp, which the benchmark and the demo use too)."""
    tone = tone_wav(tmp / "caller.wav", CALLER_HZ)
    text = sipp.caller_scenario(
        tone,
        digits=[digit] if digit else [],
        dtmf="info" if how == "info" else "rfc4733",
        before_digit_ms=before_digit_ms,
        stay_ms=stay_ms,
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
