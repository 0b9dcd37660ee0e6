"""The browser phone through a real TURN server (Debian's coturn; ADR 0030, "ICE servers"):
with voice_ice_servers set, the server's aiortc gathers a relay candidate (and a STUN
server-reflexive one), and a call whose both ends offer only their relay candidates still
carries audio both ways, so every packet went through coturn."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from test_voice_webrtc import BROWSER_HZ, CALLER_HZ, browser_offer, share

from omnidesk.channels.voice.ice import IceSource, TurnRest
from omnidesk.channels.voice.media.analysis import tone
from omnidesk.channels.voice.media.engine import MediaEngine
from omnidesk.channels.voice.media.g711 import ulaw_decode, ulaw_encode
from omnidesk.channels.voice.media.rtp import build_header
from omnidesk.channels.voice.media.sdp import SessionDescription, accept_answer, make_offer
from omnidesk.channels.voice.webrtc import BrowserPhones
from omnidesk.channels.voice.wiring import ice_servers
from omnidesk.platform.settings import load_settings

pytestmark = pytest.mark.skipif(
    shutil.which("turnserver") is None,
    reason="turnserver (Debian package coturn) is not installed: `make system-deps` installs it",
)


def _free_port() -> int:
    # A port free on both UDP and TCP (coturn listens on both).
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port


@contextlib.contextmanager
def coturn(tmp: Path, secret: str | None = None) -> Iterator[int]:
    """coturn on 127.0.0.1 (a free port), long-term credentials u/p in realm omnidesk — or,
    with `secret`, the TURN REST API's short-lived ones (`--use-auth-secret`); its port.
    (Also the desk's TURN test: tests/e2e/desk/test_desk_browser_phone_turn.py.)"""
    port = _free_port()
    auth = (
        ["--use-auth-secret", f"--static-auth-secret={secret}"]
        if secret
        else ["--lt-cred-mech", "--user", "u:p"]
    )
    proc = subprocess.Popen(
        ["turnserver", "-n", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1",
         "--listening-port", str(port), *auth, "--realm", "omnidesk",
         "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--fingerprint",
         "--min-port", "49152", "--max-port", "65535", "--log-file", str(tmp / "turn.log"),
         "--simple-log", "--pidfile", str(tmp / "turnserver.pid")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_listening(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[int]:
    with coturn(tmp_path) as port:
        yield port


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, "turnserver exited at start"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("turnserver did not listen within 10 s")


def _servers(monkeypatch: pytest.MonkeyPatch, port: int) -> list[RTCIceServer]:
    """The servers as an operator configures them (OMNIDESK_VOICE_ICE_SERVERS)."""
    monkeypatch.setenv(
        "OMNIDESK_VOICE_ICE_SERVERS",
        f'[{{"urls": "stun:127.0.0.1:{port}"}}, {{"urls": ["turn:127.0.0.1:{port}"], '
        '"username": "u", "credential": "p"}]',
    )
    return ice_servers(load_settings())


def _only_relay(sdp: str) -> str:
    return "".join(
        line + "\r\n"
        for line in sdp.splitlines()
        if not line.startswith("a=candidate:") or " typ relay" in line
    )


def _candidates(sdp: str, kind: str) -> list[str]:
    return [ln for ln in sdp.splitlines() if ln.startswith("a=candidate:") and f"typ {kind}" in ln]


async def test_a_call_through_turn_carries_audio_both_ways(
    turn: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers = _servers(monkeypatch, turn)
    await _call_through_turn(servers, list(servers), stun=True)


async def _call_through_turn(
    browser_servers: list[RTCIceServer], sources: list[IceSource], *, stun: bool = False
) -> None:
    """A call whose two sides offer only relay candidates carries audio both ways (the
    browser's peer connection with `browser_servers`, the server's with `sources`)."""
    servers = browser_servers
    engine = MediaEngine(host="127.0.0.1", port_range=None)
    await engine.start()
    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(("127.0.0.1", 0))
    caller.setblocking(False)
    # The desk's RTCPeerConnection, built from the same servers the API hands it.
    browser = RTCPeerConnection(RTCConfiguration(iceServers=servers))
    phones = BrowserPhones("127.0.0.1")
    phones.ice_servers = sources
    heard_by_browser: list[np.ndarray] = []
    listeners: list[asyncio.Task[None]] = []
    try:
        caller_leg = await engine.open_leg()
        caller_offer = make_offer(local_ip="127.0.0.1", local_port=caller_leg.local_port)
        caller_leg.configure(
            accept_answer(
                caller_offer,
                SessionDescription.parse(
                    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                    f"m=audio {caller.getsockname()[1]} RTP/AVP 0\r\na=sendrecv\r\n"
                ),
            )
        )
        agent_leg = await engine.open_leg()
        offer = make_offer(local_ip="127.0.0.1", local_port=agent_leg.local_port, dtmf_pt=None)
        ring = phones.invite(
            phones.register(uuid.uuid4(), uuid.uuid4()), "o-1", offer.build().encode()
        )
        browser.on(
            "track",
            lambda track: listeners.append(asyncio.ensure_future(_listen(track, heard_by_browser))),
        )

        sdp = await browser_offer(browser)
        assert _candidates(sdp, "relay"), "the browser side gathered no relay candidate"
        answer = await ring.answer_browser(_only_relay(sdp))
        # The server's own aiortc went through coturn: a relay candidate on coturn's address,
        # and (with a STUN server) STUN's answer (server reflexive: the address coturn saw).
        relay = _candidates(answer, "relay")
        assert relay and " 127.0.0.1 " in relay[0], answer
        assert _candidates(answer, "srflx") or not stun, answer
        # Only relay candidates on both sides: the media can only flow through coturn.
        await browser.setRemoteDescription(RTCSessionDescription(_only_relay(answer), "answer"))
        agent_leg.configure(
            accept_answer(offer, SessionDescription.parse(await ring.wait_answer()))
        )
        engine.bridge(caller_leg, agent_leg)
        heard_by_caller = await _caller_talks(caller, caller_leg.local_port)

        assert ring.state == "confirmed"
        caller_heard = ulaw_decode(bytes(heard_by_caller))
        assert caller_heard.size > 8000, "the caller heard nothing of the browser"
        assert share(caller_heard[caller_heard.size // 2 :], BROWSER_HZ, CALLER_HZ) > 0.9
        browser_heard = np.concatenate(heard_by_browser) if heard_by_browser else np.zeros(0)
        assert browser_heard.size > 8000, "the browser heard nothing of the caller"
        assert share(browser_heard[browser_heard.size // 2 :], CALLER_HZ, BROWSER_HZ) > 0.9
    finally:
        for task in listeners:
            task.cancel()
        await browser.close()
        await phones.close()
        await engine.stop()
        caller.close()


SECRET = "a-shared-secret"


@pytest.fixture
def turn_rest(tmp_path: Path) -> Iterator[int]:
    with coturn(tmp_path, secret=SECRET) as port:
        yield port


def _rest_servers(monkeypatch: pytest.MonkeyPatch, port: int) -> list[IceSource]:
    monkeypatch.setenv(
        "OMNIDESK_VOICE_ICE_SERVERS",
        f'[{{"urls": ["turn:127.0.0.1:{port}"], "secret": "{SECRET}", "ttl_seconds": 600}}]',
    )
    return ice_servers(load_settings())


async def test_short_lived_turn_credentials_relay_a_call(
    turn_rest: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """coturn with `use-auth-secret`: the browser's freshly minted credential (as the API
    hands it) and the server's own both allocate relays, and the call's audio crosses them."""
    sources = _rest_servers(monkeypatch, turn_rest)
    assert isinstance(sources[0], TurnRest)
    user = str(uuid.uuid4())
    minted = sources[0].mint(user)
    assert minted.username is not None and minted.username.endswith(f":{user}")
    await _call_through_turn([minted], sources)


async def test_an_expired_turn_credential_is_refused(
    turn_rest: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A credential whose time has passed (or minted with another secret) gets no relay from
    coturn, while a fresh one from the same secret does."""
    import time

    (source,) = _rest_servers(monkeypatch, turn_rest)
    assert isinstance(source, TurnRest)
    expired = source.mint_until("agent", int(time.time()) - 60)
    wrong = TurnRest(source.urls, "not-the-secret", 600).mint("agent")
    fresh = source.mint("agent")
    assert not _candidates(await _gathered(expired), "relay"), "coturn relayed an expired one"
    assert not _candidates(await _gathered(wrong), "relay"), "coturn relayed a wrong secret"
    relay = _candidates(await _gathered(fresh), "relay")
    assert relay and " 127.0.0.1 " in relay[0]


async def _gathered(server: RTCIceServer) -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[server]))
    try:
        return await browser_offer(pc)
    finally:
        await pc.close()


async def _listen(track: object, into: list[np.ndarray]) -> None:
    from av import AudioResampler

    resampler = AudioResampler(format="s16", layout="mono", rate=8000)
    while True:
        frame = await track.recv()  # type: ignore[attr-defined]
        for out in resampler.resample(frame):
            into.append(out.to_ndarray().reshape(-1))


async def _caller_talks(sock: socket.socket, port: int) -> bytearray:
    """4 s of the caller's tone in real time to its leg; what the caller got back meanwhile."""
    loop = asyncio.get_running_loop()
    samples = ulaw_encode(tone(CALLER_HZ, 8000 * 4, -12.0)).tobytes()
    heard = bytearray()
    seq, ts, t0 = 1, 0, loop.time()
    for k in range(200):
        sock.sendto(
            build_header(0, seq, ts, 1234) + samples[k * 160 : (k + 1) * 160], ("127.0.0.1", port)
        )
        seq, ts = seq + 1, ts + 160
        await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.02 - loop.time()))
        while True:
            try:
                heard += sock.recv(2048)[12:]
            except BlockingIOError:
                break
    return heard
