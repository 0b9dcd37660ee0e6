"""The four RFC 3261 §17 transaction state machines (with the RFC 6026 Accepted states).

Timers run on an injected scheduler so tests can drive them on a virtual clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from omnidesk.channels.voice.sip.message import (
    Headers,
    SipRequest,
    SipResponse,
    make_response,
)
from omnidesk.channels.voice.sip.transport import Address
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Timers:
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def b(self) -> float:  # also F, H, J, L, M: 64*T1
        return 64 * self.t1


class Handle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle: ...


class LoopScheduler:
    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle:
        return asyncio.get_running_loop().call_later(delay, callback)


Sender = Callable[[SipRequest | SipResponse, Address], None]


def server_key(request: SipRequest) -> tuple[str, ...]:
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith("z9hG4bK"):
        return (branch, f"{via.host}:{via.port}", method)
    # RFC 2543 peers: fall back on dialog identifiers (§17.2.3, simplified).
    return (request.call_id, request.from_.tag or "", str(request.cseq[0]), str(via), method)


def client_key(branch: str, method: str) -> tuple[str, str]:
    return (branch, "INVITE" if method == "ACK" else method)


class _Txn:
    def __init__(self, layer: TransactionLayer, dest: Address) -> None:
        self.layer = layer
        self.dest = dest
        self.state = "init"
        self._handles: dict[str, Handle] = {}
        self.reliable = dest.transport != "udp"

    def _timer(self, name: str, delay: float, fn: Callable[[], None]) -> None:
        self._cancel(name)
        self._handles[name] = self.layer.scheduler.call_later(delay, fn)

    def _cancel(self, name: str) -> None:
        h = self._handles.pop(name, None)
        if h is not None:
            h.cancel()

    def _terminate(self) -> None:
        self.state = "terminated"
        for h in self._handles.values():
            h.cancel()
        self._handles.clear()
        self.layer._remove(self)


class ClientTransaction(_Txn):
    """INVITE (Timers A, B, D) or non-INVITE (Timers E, F, K) client transaction."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, dest: Address) -> None:
        super().__init__(layer, dest)
        self.request = request
        self.is_invite = request.method == "INVITE"
        self.key = client_key(request.branch, request.method)
        self.final: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self.on_provisional: Callable[[SipResponse], None] | None = None
        # 2xx retransmissions reaching an INVITE client transaction in Accepted state.
        self.on_2xx: Callable[[SipResponse], None] | None = None
        self.sends = 0
        self._interval = layer.timers.t1

    def start(self) -> None:
        t = self.layer.timers
        self.state = "calling" if self.is_invite else "trying"
        self._send()
        if not self.reliable:
            self._timer("retransmit", t.t1, self._retransmit)
        self._timer("timeout", t.b, self._timeout)

    def _send(self) -> None:
        self.sends += 1
        self.layer.send(self.request, self.dest)

    def _retransmit(self) -> None:
        if self.state not in ("calling", "trying", "proceeding"):
            return
        if self.is_invite and self.state == "proceeding":
            return  # Timer A stops once a provisional response arrives
        self._send()
        t = self.layer.timers
        if self.is_invite:
            self._interval *= 2
        elif self.state == "proceeding":
            self._interval = t.t2
        else:
            self._interval = min(self._interval * 2, t.t2)
        self._timer("retransmit", self._interval, self._retransmit)

    def _timeout(self) -> None:
        if self.state in ("calling", "trying", "proceeding"):
            self._resolve(self._synthetic(408, "Request Timeout"))
            self._terminate()
        elif self.state == "accepted":
            self._terminate()

    def transport_error(self) -> None:
        if self.state in ("calling", "trying", "proceeding"):
            self._resolve(self._synthetic(503, "Service Unavailable (transport error)"))
            self._terminate()

    def _synthetic(self, status: int, reason: str) -> SipResponse:
        return make_response(self.request, status, reason)

    def _resolve(self, response: SipResponse) -> None:
        if not self.final.done():
            self.final.set_result(response)

    def receive(self, response: SipResponse) -> None:
        t = self.layer.timers
        status = response.status
        if self.state in ("calling", "trying", "proceeding"):
            if status < 200:
                self.state = "proceeding"
                if not self.is_invite and not self.reliable:
                    self._interval = t.t2
                if self.on_provisional is not None:
                    self.on_provisional(response)
                return
            self._cancel("retransmit")
            self._resolve(response)
            if self.is_invite and status < 300:
                # RFC 6026: stay to hand 2xx retransmissions to the TU (which re-ACKs).
                self.state = "accepted"
                self._timer("timeout", t.b, self._timeout)
            elif self.is_invite:
                self.state = "completed"
                self._send_ack(response)
                self._timer("timeout", 0 if self.reliable else t.b, self._terminate)
            else:
                self.state = "completed"
                self._cancel("timeout")
                self._timer("timeout", 0 if self.reliable else t.t4, self._terminate)
        elif self.state == "accepted" and 200 <= status < 300:
            if self.on_2xx is not None:
                self.on_2xx(response)
        elif self.state == "completed" and self.is_invite and status >= 300:
            self._send_ack(response)  # our ACK was lost: the final response came again

    def _send_ack(self, response: SipResponse) -> None:
        # §17.1.1.3: ACK for a non-2xx is part of the transaction (same branch and Request-URI).
        req = self.request
        h = Headers()
        h.add("Via", req.headers.get_all("via")[0])
        for route in req.headers.get_all("route"):
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", req.headers.get("from") or "")
        h.add("To", response.headers.get("to") or "")
        h.add("Call-ID", req.call_id)
        h.add("CSeq", f"{req.cseq[0]} ACK")
        self.layer.send(SipRequest("ACK", req.uri, h), self.dest)


class ServerTransaction(_Txn):
    """INVITE (Timers G, H, I, L) or non-INVITE (Timer J) server transaction."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, source: Address) -> None:
        super().__init__(layer, source)
        self.request = request
        self.is_invite = request.method == "INVITE"
        self.key = server_key(request)
        self.state = "proceeding" if self.is_invite else "trying"
        self.last_response: SipResponse | None = None
        self.sends = 0
        self._interval = layer.timers.t1
        # Called once with "acked", "timeout" (Timer H: ACK never came) or "terminated".
        self.on_done: Callable[[str], None] | None = None
        self.cancelled = False

    @property
    def final_sent(self) -> bool:
        return self.last_response is not None and self.last_response.status >= 200

    def respond(self, response: SipResponse) -> None:
        t = self.layer.timers
        if self.state in ("completed", "confirmed", "accepted", "terminated"):
            log.debug("sip.txn.late_response", status=response.status, state=self.state)
            return
        self.last_response = response
        self._send(response)
        status = response.status
        if status < 200:
            if not self.is_invite:
                self.state = "proceeding"
            return
        if self.is_invite and status < 300:
            # RFC 6026 Accepted: absorb INVITE retransmissions; the TU retransmits the 2xx.
            self.state = "accepted"
            self._timer("timeout", t.b, self._terminate)
        elif self.is_invite:
            self.state = "completed"
            if not self.reliable:
                self._timer("retransmit", t.t1, self._retransmit)
            self._timer("timeout", t.b, self._timer_h)
        else:
            self.state = "completed"
            self._timer("timeout", 0 if self.reliable else t.b, self._terminate)

    def _send(self, response: SipResponse) -> None:
        self.sends += 1
        self.layer.send(response, self.dest)

    def _retransmit(self) -> None:
        if self.state != "completed" or self.last_response is None:
            return
        self._send(self.last_response)
        self._interval = min(self._interval * 2, self.layer.timers.t2)
        self._timer("retransmit", self._interval, self._retransmit)

    def _timer_h(self) -> None:
        if self.state == "completed":
            self._done("timeout")
            self._terminate()

    def _done(self, why: str) -> None:
        cb, self.on_done = self.on_done, None
        if cb is not None:
            cb(why)

    def receive_request(self, request: SipRequest) -> None:
        if request.method == "ACK":
            if self.state == "completed":
                self.state = "confirmed"
                self._cancel("retransmit")
                self._cancel("timeout")
                self._done("acked")
                self._timer(
                    "timeout", 0 if self.reliable else self.layer.timers.t4, self._terminate
                )
            return
        # A retransmitted request: resend whatever we last answered.
        if self.last_response is not None and self.state in ("proceeding", "completed"):
            self._send(self.last_response)

    def _terminate(self) -> None:
        self._done("terminated")
        super()._terminate()


class TransactionLayer:
    def __init__(
        self,
        send: Sender,
        *,
        timers: Timers | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.send = send
        self.timers = timers or Timers()
        self.scheduler: Scheduler = scheduler or LoopScheduler()
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self.servers: dict[tuple[str, ...], ServerTransaction] = {}

    def _remove(self, txn: _Txn) -> None:
        if isinstance(txn, ClientTransaction):
            if self.clients.get(txn.key) is txn:
                del self.clients[txn.key]
        elif isinstance(txn, ServerTransaction) and self.servers.get(txn.key) is txn:
            del self.servers[txn.key]

    def start_client(self, request: SipRequest, dest: Address) -> ClientTransaction:
        txn = ClientTransaction(self, request, dest)
        self.clients[txn.key] = txn
        txn.start()
        return txn

    def match_response(self, response: SipResponse) -> ClientTransaction | None:
        branch = response.top_via.branch or ""
        return self.clients.get(client_key(branch, response.cseq[1]))

    def receive_response(self, response: SipResponse) -> bool:
        """True when a client transaction took the response."""
        txn = self.match_response(response)
        if txn is None:
            return False
        txn.receive(response)
        return True

    def match_request(self, request: SipRequest) -> ServerTransaction | None:
        return self.servers.get(server_key(request))

    def invite_for_cancel(self, cancel: SipRequest) -> ServerTransaction | None:
        key = server_key(cancel)
        return self.servers.get((*key[:-1], "INVITE"))

    def create_server(self, request: SipRequest, source: Address) -> ServerTransaction:
        txn = ServerTransaction(self, request, source)
        self.servers[txn.key] = txn
        return txn

    def close(self) -> None:
        for txn in [*self.clients.values(), *self.servers.values()]:
            for h in txn._handles.values():
                h.cancel()
            txn._handles.clear()
            if isinstance(txn, ClientTransaction) and not txn.final.done():
                txn.final.cancel()
        self.clients.clear()
        self.servers.clear()
