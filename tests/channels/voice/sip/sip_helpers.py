"""Raw SIP clients for tests against a live SipEndpoint."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket

from omnidesk.channels.voice.sip.message import SipResponse, parse_message

_seq = itertools.count(1)


def request(
    method: str,
    *,
    port: int,
    local_port: int,
    transport: str = "UDP",
    uri: str | None = None,
    extra: str = "",
    body: bytes = b"",
    call_id: str | None = None,
    cseq: int = 1,
    to_tag: str | None = None,
    user: str = "bob",
    branch: str | None = None,
    max_forwards: int = 70,
) -> bytes:
    n = next(_seq)
    uri = uri or f"sip:{user}@127.0.0.1:{port}"
    to = f"<sip:{user}@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    head = (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:{local_port};branch={branch or f'z9hG4bKt{n}'}"
        ";rport\r\n"
        f"Max-Forwards: {max_forwards}\r\n"
        f"From: <sip:{user}@127.0.0.1>;tag=ft{n}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id or f'cid{n}'}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"Contact: <sip:{user}@127.0.0.1:{local_port}>\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class UdpClient:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, ("127.0.0.1", port))

    async def recv_raw(self, limit: float = 3.0) -> bytes:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.sock_recv(self.sock, 65536), limit)

    async def recv(self, limit: float = 3.0) -> SipResponse:
        data = await self.recv_raw(limit)
        msg = parse_message(data)
        assert isinstance(msg, SipResponse), msg
        return msg

    async def recv_final(self, limit: float = 3.0) -> SipResponse:
        while True:
            resp = await self.recv(limit)
            if resp.status >= 200:
                return resp

    async def nothing(self, wait: float = 0.3) -> bool:
        try:
            await self.recv(wait)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


class TcpClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.port = int(writer.get_extra_info("sockname")[1])

    @classmethod
    async def connect(cls, port: int) -> TcpClient:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        return cls(r, w)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, limit: float = 3.0) -> SipResponse:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), limit)
        clen = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                clen = int(line.split(b":")[1])
        body = await self.reader.readexactly(clen) if clen else b""
        msg = parse_message(head + body)
        assert isinstance(msg, SipResponse)
        return msg

    async def recv_final(self, limit: float = 3.0) -> SipResponse:
        while True:
            resp = await self.recv(limit)
            if resp.status >= 200:
                return resp

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
