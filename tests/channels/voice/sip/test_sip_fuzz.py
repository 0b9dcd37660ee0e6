"""Fuzz a live endpoint with random bytes and mutated valid messages over UDP and TCP.

The endpoint must answer garbage with 400 or nothing, never raise out of a handler, and keep
answering OPTIONS. It runs on its own event loop in a thread so hypothesis can drive it from
plain synchronous tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnidesk.channels.voice.sip.dialog import IncomingCall
from omnidesk.channels.voice.sip.endpoint import SipEndpoint
from omnidesk.channels.voice.sip.message import SipParseError, SipResponse, parse_message
from omnidesk.channels.voice.sip.transaction import Timers


class LiveEndpoint:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ep = SipEndpoint(timers=Timers(t1=0.01, t2=0.08, t4=0.1))

        async def reject(call: IncomingCall) -> None:
            await call.reject(486)

        self.ep.on_invite = reject
        self._run(self.ep.start())
        assert self.ep.udp_port and self.ep.tcp_port
        self.udp_port: int = self.ep.udp_port
        self.tcp_port: int = self.ep.tcp_port

    def _run(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)  # type: ignore[arg-type]

    def close(self) -> None:
        self._run(self.ep.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[LiveEndpoint]:
    ep = LiveEndpoint()
    yield ep
    ep.close()


@pytest.fixture
def client() -> Iterator[socket.socket]:
    # Fresh per test function; examples below open their own so that a late retransmission
    # answering an earlier example is never mistaken for an answer to the current one.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


def udp_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def template(method: str, port: int, local_port: int, transport: str = "UDP") -> bytes:
    body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" if method == "INVITE" else b""
    return (
        f"{method} sip:bob@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:{local_port};branch=z9hG4bKfz;rport\r\n"
        "Max-Forwards: 70\r\n"
        'From: "Fuzz" <sip:fuzz@127.0.0.1>;tag=ff\r\n'
        f"To: <sip:bob@127.0.0.1>{';tag=tt' if method == 'BYE' else ''}\r\n"
        "Call-ID: fuzz-call\r\n"
        f"CSeq: 3 {method}\r\n"
        f"Contact: <sip:fuzz@127.0.0.1:{local_port}>\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 2))):  # more survive parsing: handlers get fuzzed too
        if not data:
            break
        kind = draw(st.sampled_from(["flip", "delete", "insert", "dup_line", "truncate"]))
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        elif kind == "insert":
            chunk = draw(st.sampled_from([b";", b":", b"<", b">", b'"', b"\r\n", b" ", b",",
                                          b"%", b"\x00", b"=", b"@", b"\r\n "]))  # fmt: skip
            data[pos:pos] = chunk * draw(st.integers(1, 3))
        elif kind == "dup_line":
            lines = bytes(data).split(b"\r\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            data = bytearray(b"\r\n".join(lines))
        else:
            del data[pos:]
    return bytes(data)


def drain(sock: socket.socket, wait: float = 0.03) -> list[bytes]:
    out: list[bytes] = []
    sock.settimeout(wait)
    with contextlib.suppress(TimeoutError, OSError):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break  # the stream peer closed
            out.append(chunk)
    return out


def check_answers(answers: list[bytes], sent_parses: bool) -> None:
    for raw in answers:
        if not sent_parses:
            assert raw.startswith(b"SIP/2.0 400 "), raw[:80]
        else:
            assert raw.startswith(b"SIP/2.0 "), raw[:80]


def parses(data: bytes) -> bool:
    try:
        parse_message(data)
    except SipParseError:
        return False
    return True


def options_still_answered(live: LiveEndpoint, sock: socket.socket) -> None:
    port = int(sock.getsockname()[1])
    drain(sock)
    sock.sendto(template("OPTIONS", live.udp_port, port).replace(b"z9hG4bKfz", b"z9hG4bKok"),
                ("127.0.0.1", live.udp_port))  # fmt: skip
    sock.settimeout(3)
    msg = parse_message(sock.recv(65536))
    assert isinstance(msg, SipResponse) and msg.status == 200


_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(data=st.binary(min_size=1, max_size=600))
def test_random_bytes_over_udp(live: LiveEndpoint, data: bytes) -> None:
    with udp_socket() as sock:
        sock.sendto(data, ("127.0.0.1", live.udp_port))
        check_answers(drain(sock, 0.01), parses(data))


@settings(_SETTINGS, max_examples=250)
@given(data=st.data(), method=st.sampled_from(["INVITE", "REGISTER", "OPTIONS", "BYE", "INFO"]))
def test_mutated_messages_over_udp(live: LiveEndpoint, data: st.DataObject, method: str) -> None:
    with udp_socket() as sock:
        base = template(method, live.udp_port, int(sock.getsockname()[1]))
        msg = data.draw(mutated(base))
        sock.sendto(msg, ("127.0.0.1", live.udp_port))
        check_answers(drain(sock), parses(msg))


@settings(_SETTINGS, max_examples=60)
@given(data=st.data(), method=st.sampled_from(["INVITE", "OPTIONS", "REGISTER"]))
def test_mutated_messages_over_tcp(live: LiveEndpoint, data: st.DataObject, method: str) -> None:
    with socket.create_connection(("127.0.0.1", live.tcp_port), timeout=3) as s:
        local = int(s.getsockname()[1])
        msg = data.draw(mutated(template(method, live.tcp_port, local, "TCP")))
        if data.draw(st.booleans()):
            msg += data.draw(st.binary(max_size=200))
        s.sendall(msg)
        answers = drain(s, 0.03)
    # On a stream we only know each answer begins a SIP response (or the peer closed).
    for raw in answers:
        assert raw.startswith(b"SIP/2.0 "), raw[:80]


def test_endpoint_survived_the_fuzzing(live: LiveEndpoint, client: socket.socket) -> None:
    options_still_answered(live, client)
    with socket.create_connection(("127.0.0.1", live.tcp_port), timeout=3) as s:
        local = int(s.getsockname()[1])
        s.sendall(b"\r\n\r\n" + template("OPTIONS", live.tcp_port, local, "TCP"))
        s.settimeout(3)
        assert s.recv(65536).startswith(b"SIP/2.0 200 ")
    assert live.ep.stats["parse_errors"] > 0
    assert live.ep.stats["requests_in"] > 20  # some mutants parsed and reached the handlers
    assert live.ep.stats["handler_errors"] == 0
