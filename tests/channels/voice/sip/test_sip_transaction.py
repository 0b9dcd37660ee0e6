"""Transaction state machines on a virtual clock: retransmission counts and timeouts."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import pytest

from omnidesk.channels.voice.sip.message import (
    SipRequest,
    SipResponse,
    make_response,
    parse_message,
)
from omnidesk.channels.voice.sip.transaction import Timers, TransactionLayer
from omnidesk.channels.voice.sip.transport import Address

UDP = Address("udp", "127.0.0.1", 5999)
TCP = Address("tcp", "127.0.0.1", 5999)
TIMERS = Timers(t1=0.5, t2=4.0, t4=5.0)


class FakeHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualScheduler:
    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, FakeHandle, Callable[[], None]]] = []
        self._seq = itertools.count()

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeHandle:
        h = FakeHandle()
        heapq.heappush(self._heap, (self.now + delay, next(self._seq), h, callback))
        return h

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while self._heap and self._heap[0][0] <= end:
            when, _, h, cb = heapq.heappop(self._heap)
            self.now = when
            if not h.cancelled:
                cb()
        self.now = end


class Wire:
    def __init__(self) -> None:
        self.sent: list[tuple[float, SipRequest | SipResponse]] = []
        self.clock: VirtualScheduler | None = None

    def __call__(self, msg: SipRequest | SipResponse, dest: Address) -> None:
        self.sent.append((self.clock.now if self.clock else 0.0, msg))

    def requests(self, method: str) -> list[float]:
        return [t for t, m in self.sent if isinstance(m, SipRequest) and m.method == method]

    def responses(self, status: int) -> list[float]:
        return [t for t, m in self.sent if isinstance(m, SipResponse) and m.status == status]


@pytest.fixture
def env() -> tuple[TransactionLayer, VirtualScheduler, Wire]:
    sched = VirtualScheduler()
    wire = Wire()
    wire.clock = sched
    return TransactionLayer(wire, timers=TIMERS, scheduler=sched), sched, wire


def req(method: str, branch: str = "z9hG4bKabc") -> SipRequest:
    raw = (
        f"{method} sip:bob@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n"
        "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\n"
        f"Call-ID: txn-test\r\nCSeq: 1 {method}\r\n\r\n"
    ).encode()
    r = parse_message(raw)
    assert isinstance(r, SipRequest)
    return r


Env = tuple[TransactionLayer, VirtualScheduler, Wire]


async def test_invite_client_retransmits_with_timer_a_and_times_out_with_b(env: Env) -> None:
    layer, sched, wire = env
    txn = layer.start_client(req("INVITE"), UDP)
    sched.advance(40)
    # Timer A doubles from T1: 0, .5, 1.5, 3.5, 7.5, 15.5, 31.5 — then Timer B fires at 32.
    assert wire.requests("INVITE") == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert txn.final.done() and txn.final.result().status == 408
    assert txn.state == "terminated" and not layer.clients


async def test_invite_client_stops_retransmitting_on_provisional(env: Env) -> None:
    layer, sched, wire = env
    r = req("INVITE")
    txn = layer.start_client(r, UDP)
    sched.advance(0.6)
    layer.receive_response(make_response(r, 180, to_tag="t"))
    sched.advance(10)
    assert len(wire.requests("INVITE")) == 2
    assert txn.state == "proceeding"


async def test_invite_client_acks_non_2xx_and_reacks_retransmissions(env: Env) -> None:
    layer, sched, wire = env
    r = req("INVITE")
    txn = layer.start_client(r, UDP)
    busy = make_response(r, 486, to_tag="t")
    layer.receive_response(busy)
    assert txn.final.result().status == 486
    acks = [m for _, m in wire.sent if isinstance(m, SipRequest) and m.method == "ACK"]
    assert len(acks) == 1
    assert acks[0].branch == r.branch and acks[0].to.tag == "t"
    layer.receive_response(busy)  # the peer did not get our ACK
    assert len(wire.requests("ACK")) == 2
    sched.advance(32.1)  # Timer D
    assert txn.state == "terminated"


async def test_invite_client_over_tcp_never_retransmits(env: Env) -> None:
    layer, sched, wire = env
    txn = layer.start_client(req("INVITE"), TCP)
    sched.advance(40)
    assert len(wire.requests("INVITE")) == 1
    assert txn.final.result().status == 408


async def test_non_invite_client_timer_e_caps_at_t2(env: Env) -> None:
    layer, sched, wire = env
    txn = layer.start_client(req("OPTIONS"), UDP)
    sched.advance(40)
    times = wire.requests("OPTIONS")
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0]
    assert all(g == 4.0 for g in gaps[3:])
    assert times[-1] < 32
    assert txn.final.result().status == 408  # Timer F


async def test_non_invite_client_proceeding_uses_t2_then_completes(env: Env) -> None:
    layer, sched, wire = env
    r = req("BYE")
    txn = layer.start_client(r, UDP)
    layer.receive_response(make_response(r, 100))
    sched.advance(9)
    times = wire.requests("BYE")
    assert times == [0, 0.5, 4.5, 8.5]
    layer.receive_response(make_response(r, 200))
    assert txn.final.result().status == 200 and txn.state == "completed"
    sched.advance(5.1)  # Timer K = T4
    assert txn.state == "terminated"


async def test_invite_server_retransmits_final_until_ack(env: Env) -> None:
    layer, sched, wire = env
    r = req("INVITE")
    txn = layer.create_server(r, UDP)
    done: list[str] = []
    txn.on_done = done.append
    txn.respond(make_response(r, 100))
    layer.match_request(r).receive_request(r)  # type: ignore[union-attr]
    assert len(wire.responses(100)) == 2  # retransmitted INVITE answered with the last response
    txn.respond(make_response(r, 486, to_tag="x"))
    sched.advance(4)
    assert wire.responses(486) == [0, 0.5, 1.5, 3.5]  # Timer G
    ack = req("ACK")
    matched = layer.match_request(ack)
    assert matched is txn
    matched.receive_request(ack)
    assert done == ["acked"] and txn.state == "confirmed"
    sched.advance(10)
    assert len(wire.responses(486)) == 4
    assert txn.state == "terminated"  # Timer I


async def test_invite_server_timer_h_reports_missing_ack(env: Env) -> None:
    layer, sched, wire = env
    r = req("INVITE")
    txn = layer.create_server(r, UDP)
    done: list[str] = []
    txn.on_done = done.append
    txn.respond(make_response(r, 603, to_tag="x"))
    sched.advance(33)
    assert done == ["timeout"]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(wire.responses(603))]
    assert max(gaps) == 4.0  # Timer G capped at T2


async def test_invite_server_accepted_absorbs_retransmissions(env: Env) -> None:
    layer, sched, wire = env
    r = req("INVITE")
    txn = layer.create_server(r, UDP)
    txn.respond(make_response(r, 200, to_tag="x"))
    assert layer.match_request(r) is txn  # the retransmitted INVITE does not start a new call
    txn.receive_request(r)
    assert len(wire.responses(200)) == 1  # the 2xx is the TU's job to retransmit
    sched.advance(33)
    assert layer.match_request(r) is None


async def test_non_invite_server_resends_last_response_and_timer_j(env: Env) -> None:
    layer, sched, wire = env
    r = req("OPTIONS")
    txn = layer.create_server(r, UDP)
    txn.receive_request(r)
    assert wire.sent == []  # Trying: nothing to resend yet
    txn.respond(make_response(r, 200, to_tag="x"))
    txn.receive_request(r)
    assert len(wire.responses(200)) == 2
    sched.advance(32.1)
    assert txn.state == "terminated" and layer.match_request(r) is None


async def test_cancel_matches_its_invite_server_transaction(env: Env) -> None:
    layer, _, _ = env
    inv = req("INVITE", "z9hG4bKcancelme")
    txn = layer.create_server(inv, UDP)
    assert layer.invite_for_cancel(req("CANCEL", "z9hG4bKcancelme")) is txn
    assert layer.invite_for_cancel(req("CANCEL", "z9hG4bKother")) is None
    assert layer.match_request(req("CANCEL", "z9hG4bKcancelme")) is None
