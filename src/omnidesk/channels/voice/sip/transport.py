"""UDP and TCP transports for SIP (RFC 3261 §18, RFC 3581 rport)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from omnidesk.channels.voice.sip.message import MAX_MESSAGE_SIZE, SipRequest, SipResponse, Via
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)

TransportName = Literal["udp", "tcp"]


@dataclass(frozen=True)
class Address:
    transport: TransportName
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport}:{self.host}:{self.port}"


# (raw datagram or framed stream message, where it came from)
RawHandler = Callable[[bytes, Address], None]


def stamp_via(request: SipRequest, source: Address) -> None:
    """Record where a request really came from in its top Via (RFC 3261 §18.2.1, RFC 3581 §4)."""
    vias = request.headers.get_all("via")
    if not vias:
        return
    top = Via.parse(vias[0])
    if top.host != source.host:
        top.params["received"] = source.host
    if "rport" in top.params:
        top.params["received"] = source.host
        top.params["rport"] = str(source.port)
    request.headers.remove("via")
    request.headers.add("Via", str(top))
    for v in vias[1:]:
        request.headers.add("Via", v)


def response_address(response: SipResponse, source: Address | None) -> Address:
    """Where to send a response: the request's connection (TCP) or the Via's address (UDP)."""
    via = response.top_via
    transport: TransportName = "tcp" if via.transport in ("TCP", "TLS") else "udp"
    if transport == "tcp" and source is not None:
        return source
    host = via.received or via.host
    port = via.rport or via.port or 5060
    return Address(transport, host, port)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        host, port = str(addr[0]), int(str(addr[1]))
        if not data.strip(b"\r\n\x00 "):
            return  # keepalive ping
        self.owner.dispatch(data, Address("udp", host, port))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a peer that went away: not our failure.
        log.debug("sip.udp.error", error=str(exc))


class _TcpConnection:
    def __init__(
        self, owner: SipTransport, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.owner = owner
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.address = Address("tcp", str(peer[0]), int(peer[1]))
        self.task: asyncio.Task[Any] | None = None

    async def run(self) -> None:
        buf = b""
        try:
            while True:
                chunk = await self.reader.read(65536)
                if not chunk:
                    return
                buf += chunk
                while True:
                    frame, buf, bad = _frame(buf, self.owner.max_size)
                    if bad:
                        log.info("sip.tcp.framing_error", peer=str(self.address), reason=bad)
                        self.owner.stats["parse_errors"] += 1
                        return
                    if frame is None:
                        break
                    self.owner.dispatch(frame, self.address)
        except (ConnectionError, OSError):
            return
        finally:
            self.owner.forget(self)
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    def send(self, data: bytes) -> None:
        self.writer.write(data)


_CLEN = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$", re.I | re.M)


def _frame(buf: bytes, cap: int) -> tuple[bytes | None, bytes, str | None]:
    """Cut one message off a stream buffer: (message or None, rest, error reason or None)."""
    stripped = buf.lstrip(b"\r\n")  # CRLF keepalives between messages (RFC 5626 §3.5.1)
    end = stripped.find(b"\r\n\r\n")
    if end < 0:
        if len(stripped) > cap:
            return None, b"", "header section too large"
        return None, stripped, None
    head = stripped[:end]
    m = _CLEN.search(head)
    if m is None:
        # Stream transports need Content-Length to frame (RFC 3261 §18.3).
        return None, b"", "missing Content-Length on stream"
    clen = int(m.group(1))
    total = end + 4 + clen
    if total > cap:
        return None, b"", "message too large"
    if len(stripped) < total:
        return None, stripped, None
    return stripped[:total], stripped[total:], None


class SipTransport:
    def __init__(
        self,
        host: str = "127.0.0.1",
        udp_port: int | None = 0,
        tcp_port: int | None = 0,
        *,
        on_raw: RawHandler,
        max_size: int = MAX_MESSAGE_SIZE,
    ) -> None:
        self.host = host
        self._want_udp = udp_port
        self._want_tcp = tcp_port
        self.on_raw = on_raw
        self.max_size = max_size
        self.udp_port: int | None = None
        self.tcp_port: int | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.base_events.Server | None = None
        self._conns: dict[Address, _TcpConnection] = {}
        self.stats: dict[str, int] = {"bytes_in": 0, "bytes_out": 0, "parse_errors": 0}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._want_udp is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self._want_udp)
            )
            self._udp = transport
            self.udp_port = int(transport.get_extra_info("sockname")[1])
        if self._want_tcp is not None:
            self._tcp_server = await asyncio.start_server(
                self._accept, self.host, self._want_tcp, limit=self.max_size * 2
            )
            self.tcp_port = int(self._tcp_server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp_server is not None:
            self._tcp_server.close()
        for conn in list(self._conns.values()):
            conn.writer.close()
            if conn.task is not None:
                conn.task.cancel()
        tasks = [c.task for c in self._conns.values() if c.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._conns.clear()
        if self._tcp_server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp_server.wait_closed(), 1.0)

    def local_address(self, transport: TransportName) -> Address:
        port = self.udp_port if transport == "udp" else self.tcp_port
        if port is None:
            raise RuntimeError(f"{transport} transport not started")
        return Address(transport, self.host, port)

    def dispatch(self, data: bytes, source: Address) -> None:
        self.stats["bytes_in"] += len(data)
        self.on_raw(data, source)

    def forget(self, conn: _TcpConnection) -> None:
        if self._conns.get(conn.address) is conn:
            del self._conns[conn.address]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _TcpConnection(self, reader, writer)
        self._conns[conn.address] = conn
        conn.task = asyncio.current_task()
        await conn.run()

    def send_udp(self, data: bytes, dest: Address) -> None:
        if self._udp is None:
            raise RuntimeError("udp transport not started")
        self.stats["bytes_out"] += len(data)
        self._udp.sendto(data, (dest.host, dest.port))

    async def send(self, data: bytes, dest: Address) -> None:
        if dest.transport == "udp":
            self.send_udp(data, dest)
            return
        self.stats["bytes_out"] += len(data)
        conn = self._conns.get(dest)
        if conn is None:
            reader, writer = await asyncio.open_connection(
                dest.host, dest.port, limit=self.max_size * 2
            )
            conn = _TcpConnection(self, reader, writer)
            # Key by the requested address so later sends reuse this connection.
            conn.address = dest
            self._conns[dest] = conn
            conn.task = asyncio.create_task(conn.run())
        conn.send(data)
        with contextlib.suppress(ConnectionError):
            await conn.writer.drain()
