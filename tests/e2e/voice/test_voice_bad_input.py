"""Bad input at the SIP level of the voice server (a tenant configured through the API):
an INVITE from an address no trunk allows gets 403, to an unknown number 404, with only an
unsupported codec 488, with malformed SDP 400; a REGISTER to an unknown domain 404; a softphone
with the wrong password 401 until the failure limiter trips, then 403 (sipp). No call is left
behind by any of them."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

from voice_call_helpers import DID, DOMAIN, configure, needs, voice_settings_fixture

from omnidesk.bench.voice_testbed import free_port

pytestmark = needs("sipp")
settings = voice_settings_fixture()

SCENARIOS = Path(__file__).parent / "scenarios"

GOOD_SDP = (
    "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
)
G729_SDP = (
    "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
)
BROKEN_SDP = "v=0\r\nthis is not sdp at all\r\nm=audio banana RTP/AVP\r\n"


def _request(method: str, uri: str, port: int, src: tuple[str, int], to: str, body: str) -> bytes:
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP {src[0]}:{src[1]};branch={branch};rport",
        f"From: <sip:+15551230000@{src[0]}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <{to}>",
        f"Call-ID: {uuid.uuid4().hex}@{src[0]}",
        f"CSeq: 1 {method}",
        f"Contact: <sip:caller@{src[0]}:{src[1]}>",
        "Max-Forwards: 70",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _final_status(
    method: str, uri: str, to: str, port: int, *, body: str = "", host: str = "127.0.0.1"
) -> tuple[int, str]:
    """Send one request over UDP from `host`; the first final response's status and reason."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(5.0)
        sock.sendto(_request(method, uri, port, sock.getsockname(), to, body), ("127.0.0.1", port))
        while True:
            data = sock.recv(65535).decode(errors="replace")
            status_line = data.split("\r\n", 1)[0]
            _, code, reason = status_line.split(" ", 2)
            if int(code) >= 200:
                return int(code), reason


def _invite(port: int, number: str, body: str, host: str = "127.0.0.1") -> tuple[int, str]:
    uri = f"sip:{number}@127.0.0.1:{port}"
    return _final_status("INVITE", uri, uri, port, body=body, host=host)


def test_bad_invites_and_registers(app, client, tenants, as_user, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    configure(as_user("admin"), tenants["demo"].ids)
    voice = app.state.voice
    port = settings.voice_sip_port
    number = DID.lstrip("+")

    # From an address outside every trunk's allowlist (127.0.0.2 is loopback too on Linux).
    assert _invite(port, number, GOOD_SDP, host="127.0.0.2")[0] == 403
    assert _invite(port, "4930999999", GOOD_SDP)[0] == 404  # nobody's number
    assert _invite(port, number, G729_SDP)[0] == 488  # G.729 only: no common codec
    code, reason = _invite(port, number, BROKEN_SDP)
    assert code == 400 and "SDP" in reason
    assert not voice.calls  # none of them became a call
    assert not voice.media.legs  # nor kept a media port open

    # A phone registering in a domain no tenant has.
    uri = "sip:nowhere.example"
    assert _final_status("REGISTER", uri, "sip:agent1@nowhere.example", port)[0] == 404

    # The wrong password: challenged until the limiter trips, then refused.
    client.portal.call(_sipp_wrong_password, tmp_path, port)
    assert voice.sip.registrar.lookup(f"sip:agent1@{DOMAIN}") == []
    assert voice.sip.limiter.is_locked("127.0.0.1", "agent1")


async def _sipp_wrong_password(tmp: Path, port: int) -> None:
    err = tmp / "register.err"
    cmd = [
        "sipp", f"127.0.0.1:{port}", "-sf", str(SCENARIOS / "voice_register_wrong_password.xml"),
        "-inf", str(SCENARIOS / "voice_agents.csv"), "-au", "agent1", "-ap", "not-the-password",
        "-m", "1", "-i", "127.0.0.1", "-p", str(free_port()), "-nostdin", "-timeout", "30",
        "-timeout_error", "-trace_err", "-error_file", str(err),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 40)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    detail = err.read_text(errors="replace") if err.exists() else ""
    assert proc.returncode == 0, f"{out.decode(errors='replace')[-2000:]}\n{detail}"
