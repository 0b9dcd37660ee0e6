"""sipp (Debian sip-tester) against our SIP endpoint, over loopback UDP and TCP."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.sip.auth import FailureLimiter, compute_ha1
from omnidesk.channels.voice.sip.dialog import IncomingCall
from omnidesk.channels.voice.sip.endpoint import SipEndpoint
from omnidesk.channels.voice.sip.message import SipUri
from omnidesk.channels.voice.sip.transaction import Timers
from omnidesk.channels.voice.sip.transport import Address

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).parent / "scenarios"
REALM = "omnidesk.test"
SDP = (
    b"v=0\r\no=omnidesk 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
)

pytestmark = pytest.mark.skipif(SIPP is None, reason="sipp not installed")


async def run_sipp(tmp: Path, scenario: str, *args: str, limit: float = 40) -> None:
    """Run sipp to completion; fail with its error log unless it exits 0."""
    err = tmp / f"{scenario}.err"
    cmd = [
        str(SIPP), "-sf", str(SCENARIOS / scenario), "-m", "1", "-i", "127.0.0.1",
        "-p", str(free_port()), "-mp", str(free_port()), "-nostdin", "-timeout", "30",
        "-timeout_error", "-trace_err", "-error_file", str(err), *args,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), limit)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = err.read_text(errors="replace") if err.exists() else ""
    assert proc.returncode == 0, (
        f"sipp {scenario} exit {proc.returncode}\n--- error log ---\n{log[-3000:]}"
        f"\n--- output ---\n{out.decode(errors='replace')[-1500:]}"
    )


async def _ha1(realm: str, user: str) -> str | None:
    return compute_ha1("alice", REALM, "secret") if user == "alice" else None


@pytest.fixture
async def endpoint() -> AsyncIterator[SipEndpoint]:
    ep = SipEndpoint(
        "127.0.0.1",
        0,
        0,
        domain=REALM,
        timers=Timers(t1=0.1, t2=0.8, t4=1.0),
        limiter=FailureLimiter(max_failures=2, window=60, lockout=60),
    )
    ep.authenticate = _ha1
    calls: list[IncomingCall] = []

    async def answer(call: IncomingCall) -> None:
        calls.append(call)
        await call.ringing()
        if call.request.uri.user == "ring":
            return  # left ringing for the CANCEL test
        await call.answer(SDP)

    ep.on_invite = answer
    ep.test_calls = calls  # type: ignore[attr-defined]
    await ep.start()
    try:
        yield ep
    finally:
        await ep.stop()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_call_answer_ack_bye(
    endpoint: SipEndpoint, tmp_path: Path, transport: str
) -> None:
    port = endpoint.udp_port if transport == "udp" else endpoint.tcp_port
    extra = ["-t", "t1"] if transport == "tcp" else []
    await run_sipp(tmp_path, "uac_call.xml", f"127.0.0.1:{port}", "-s", "agent", *extra)
    calls: list[IncomingCall] = endpoint.test_calls  # type: ignore[attr-defined]
    assert len(calls) == 1
    call = calls[0]
    await asyncio.wait_for(call.ended.wait(), 5)
    assert call.end_reason == "remote bye"
    assert call.remote_sdp is not None and b"m=audio" in call.remote_sdp
    assert call.source.transport == transport


async def test_sipp_cancel_gets_487(endpoint: SipEndpoint, tmp_path: Path) -> None:
    await run_sipp(tmp_path, "uac_cancel.xml", f"127.0.0.1:{endpoint.udp_port}", "-s", "ring")
    call = endpoint.test_calls[0]  # type: ignore[attr-defined]
    await asyncio.wait_for(call.ended.wait(), 5)
    assert call.end_reason == "cancelled"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_register_with_digest(
    endpoint: SipEndpoint, tmp_path: Path, transport: str
) -> None:
    port = endpoint.udp_port if transport == "udp" else endpoint.tcp_port
    extra = ["-t", "t1"] if transport == "tcp" else []
    await run_sipp(
        tmp_path, "uac_register.xml", f"127.0.0.1:{port}",
        "-inf", str(SCENARIOS / "users.csv"), "-au", "alice", "-ap", "secret", *extra,
    )  # fmt: skip
    bindings = endpoint.registrar.lookup(f"sip:alice@{REALM}")
    assert len(bindings) == 1
    assert bindings[0].source.transport == transport


async def test_sipp_register_wrong_password_then_403(endpoint: SipEndpoint, tmp_path: Path) -> None:
    await run_sipp(
        tmp_path, "uac_register_bad.xml", f"127.0.0.1:{endpoint.udp_port}",
        "-inf", str(SCENARIOS / "users.csv"), "-au", "alice", "-ap", "wrong",
    )  # fmt: skip
    assert endpoint.registrar.lookup(f"sip:alice@{REALM}") == []
    assert endpoint.limiter.is_locked("127.0.0.1", "alice")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_options(endpoint: SipEndpoint, tmp_path: Path, transport: str) -> None:
    port = endpoint.udp_port if transport == "udp" else endpoint.tcp_port
    extra = ["-t", "t1"] if transport == "tcp" else []
    await run_sipp(tmp_path, "uac_options.xml", f"127.0.0.1:{port}", *extra)


async def test_outbound_invite_to_sipp_uas(endpoint: SipEndpoint, tmp_path: Path) -> None:
    port = free_port()
    err = tmp_path / "uas.err"
    cmd = [
        str(SIPP), "-sf", str(SCENARIOS / "uas_answer.xml"), "-m", "1", "-i", "127.0.0.1",
        "-p", str(port), "-mp", str(free_port()), "-nostdin", "-timeout", "30",
        "-timeout_error", "-trace_err", "-error_file", str(err),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        await asyncio.sleep(0.5)  # let sipp bind; INVITE retransmissions cover a slow start
        out = await endpoint.invite(
            SipUri(user="agent", host="127.0.0.1", port=port),
            Address("udp", "127.0.0.1", port),
            SDP,
            from_uri=SipUri(user="omnidesk", host=REALM),
        )
        answer = await asyncio.wait_for(out.wait_answer(), 10)
        assert b"PCMA/8000" in answer
        ringing = await asyncio.wait_for(out.progress.get(), 1)
        assert ringing.status == 180
        assert out.state == "confirmed"
        await asyncio.sleep(0.2)
        await asyncio.wait_for(out.bye(), 10)
        assert out.state == "ended"
        await asyncio.wait_for(proc.communicate(), 20)
        log = err.read_text(errors="replace") if err.exists() else ""
        assert proc.returncode == 0, f"sipp uas exit {proc.returncode}\n{log[-3000:]}"
    finally:
        if proc.returncode is None:
            proc.kill()
            with contextlib.suppress(Exception):
                await proc.wait()
