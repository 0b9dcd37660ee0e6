"""baresip as an agent's softphone for the end-to-end tests and `omnidesk demo traffic`: a real
SIP user agent that registers with digest authentication, answers (by itself, or when told),
sends a sine tone and dumps what it hears to a WAV file.

Driven over its ctrl_tcp module (netstring-framed JSON). No audio hardware: the player is ALSA's
`null` device, and the `sndfile` filter writes the decoded (heard) audio of each call to
`dump/*-dec.wav` and what it sent to `*-enc.wav`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import socket
import subprocess
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BARESIP = "/usr/bin/baresip"


def _ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (bind to port 0, outgoing connections)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Why baresip gets ports of its own: it binds its SIP port P for UDP and TCP, P+1 for TLS and
# its control port, and for each call an RTP/RTCP pair at random in `rtp_ports` (1024-49152
# unless told). Probing ports from the kernel's ephemeral range (as `free_port` does for the
# server and sipp) and handing them to baresip raced with everything else the kernel hands out
# there meanwhile — P+1 in particular is odd, the kind Linux gives outgoing connections — and
# baresip's RTP could take a port probed for sipp or the server. So baresip works below the
# ephemeral range, which the kernel never hands out by itself: its signalling ports come from
# one block, its RTP from another, and `free_port` (ephemeral) can never hit either.
_TOP = _ephemeral_start()
SIGNALLING_PORTS = range(_TOP - 8192, _TOP)
RTP_PORTS = range(_TOP - 16384, _TOP - 8192)
assert RTP_PORTS.start >= 1024, f"ephemeral range starts too low ({_TOP}) for baresip's ports"
_STEP = 4  # P: SIP (UDP, TCP), P+1: SIP over TLS, P+2: the control socket
# Each process walks the block from a random place, so that two test runs side by side start
# apart, and a run never hands out the same ports twice (agents made before any starts).
_next_block = itertools.count(random.randrange(len(SIGNALLING_PORTS) // _STEP))


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def signalling_ports() -> tuple[int, int]:
    """(SIP port, control port) for one baresip, from SIGNALLING_PORTS, free now."""
    blocks = len(SIGNALLING_PORTS) // _STEP
    for _ in range(blocks):
        sip = SIGNALLING_PORTS.start + (next(_next_block) % blocks) * _STEP
        wanted = [(sip, socket.SOCK_DGRAM), (sip, socket.SOCK_STREAM)]
        wanted += [(sip + 1, socket.SOCK_STREAM), (sip + 2, socket.SOCK_STREAM)]
        if all(_bindable(port, kind) for port, kind in wanted):
            return sip, sip + 2
    raise RuntimeError(f"no free ports for baresip in {SIGNALLING_PORTS}")


@dataclass
class BaresipAgent:
    workdir: Path
    user: str
    password: str
    domain: str
    registrar_port: int
    tone_hz: int = 1000
    transport: str = "udp"
    answer: str = "auto"  # auto | manual
    regint: int = 600
    sip_port: int = 0  # 0: from signalling_ports(), with ctrl_port
    ctrl_port: int = 0
    # A config and accounts file of one's own (e.g. docs/getting-started.md's) instead of the
    # generated ones; `ctrl_port` must then be its ctrl_tcp_listen port. Relative paths in
    # it are the workdir's: baresip runs there.
    config_text: str | None = None
    accounts_text: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    _proc: asyncio.subprocess.Process | None = None
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _pump: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _token: int = 0

    def __post_init__(self) -> None:
        if not (self.sip_port and self.ctrl_port):
            self.sip_port, self.ctrl_port = signalling_ports()

    @property
    def dump_dir(self) -> Path:
        return self.workdir / "dump"

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dump_dir.mkdir(exist_ok=True)
        if self.config_text is not None and self.accounts_text is not None:
            (self.workdir / "config").write_text(self.config_text)
            (self.workdir / "accounts").write_text(self.accounts_text)
            return
        (self.workdir / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen 127.0.0.1:{self.sip_port}",
                    "module_path /usr/lib/baresip/modules",
                    "module alsa.so",
                    "module g711.so",
                    "module ausine.so",
                    "module sndfile.so",
                    "module ctrl_tcp.so",
                    f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
                    f"rtp_ports {RTP_PORTS.start}-{RTP_PORTS.stop - 1}",
                    "module_app account.so",
                    "module_app menu.so",
                    "audio_player alsa,null",
                    f"audio_source ausine,{self.tone_hz}",
                    "audio_alert alsa,null",
                    "ausrc_srate 48000",
                    "ausrc_channels 2",
                    f"snd_path {self.dump_dir}",
                    "",
                ]
            )
        )
        outbound = f"sip:127.0.0.1:{self.registrar_port};transport={self.transport}"
        (self.workdir / "accounts").write_text(
            f"<sip:{self.user}@{self.domain}>;auth_pass={self.password};"
            f'outbound="{outbound}";regint={self.regint};answermode={self.answer}\n'
        )

    async def start(self) -> None:
        self.write_config()
        log_fd = os.open(self.workdir / "baresip.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                BARESIP, "-f", str(self.workdir), "-n", "127.0.0.1", cwd=self.workdir,
                stdin=subprocess.DEVNULL, stdout=log_fd, stderr=subprocess.STDOUT,
            )  # fmt: skip
        finally:
            os.close(log_fd)
        deadline = time.monotonic() + 10
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port
                )
                break
            except OSError:
                if time.monotonic() > deadline or self._proc.returncode is not None:
                    raise RuntimeError(f"baresip did not start: {self.log()[-2000:]}") from None
                await asyncio.sleep(0.1)
        self._pump = asyncio.create_task(self._read_events())

    async def _read_events(self) -> None:
        assert self._reader is not None
        buf = b""
        while True:
            chunk = await self._reader.read(65536)
            if not chunk:
                return
            buf += chunk
            while b":" in buf:
                head, _, rest = buf.partition(b":")
                size = int(head)
                if len(rest) < size + 1:
                    break
                payload, buf = rest[:size], rest[size + 1 :]
                message = json.loads(payload)
                self.events.append(message)
                self._changed.set()

    async def command(self, command: str, params: str = "") -> dict[str, Any]:
        assert self._writer is not None
        self._token += 1
        token = str(self._token)
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._writer.write(str(len(body)).encode() + b":" + body + b",")
        await self._writer.drain()
        return await self.wait_for(lambda e: e.get("response") and e.get("token") == token)

    async def wait_for(self, match: Any, within: float = 15.0) -> dict[str, Any]:
        return self.events[await self.find(match, within=within)]

    async def find(self, match: Any, *, start: int = 0, within: float | None = 15.0) -> int:
        """The index of the first event from `start` on that `match`es, once there is one
        (None: wait as long as it takes)."""
        seen = start
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while True:
            for index in range(seen, len(self.events)):
                if match(self.events[index]):
                    return index
            seen = len(self.events)
            self._changed.clear()
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                raise TimeoutError(
                    f"baresip: no matching event; saw {self.events[-10:]}\n{self.log()[-3000:]}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def registered(self, within: float = 20.0) -> None:
        """Wait until the account's registration is OK. Asked (`reginfo`), not awaited as an
        event: the phone may register before its control socket is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            info = str((await self.command("reginfo")).get("data", ""))
            if re.search(r"\bOK\b", re.sub(r"\x1b\[[0-9;]*m", "", info)):
                return
            if loop.time() > deadline:
                raise TimeoutError(f"baresip did not register: {info!r}\n{self.log()[-2000:]}")
            await asyncio.sleep(0.2)

    async def wait_event(self, kind: str, within: float = 15.0) -> dict[str, Any]:
        return await self.wait_for(lambda e: e.get("type") == kind, within)

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.get("type") == kind)

    def log(self) -> str:
        path = self.workdir / "baresip.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def heard(self) -> list[np.ndarray]:
        """The decoded audio of each call so far (what the agent heard), oldest first."""
        out = []
        for path in sorted(self.dump_dir.glob("*-dec.wav")):
            with wave.open(str(path)) as w:
                out.append(np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16))
        return out

    async def stop(self, *, unregister: bool = False) -> None:
        """End baresip. `unregister`: quit as a user would, so the registrar drops the
        binding (a registrar keeps a killed phone's binding until it expires, and may ring
        it); otherwise terminate at once, as the tests do."""
        if unregister and self._writer is not None and self._proc is not None:
            body = json.dumps({"command": "quit", "params": "", "token": "quit"}).encode()
            with contextlib.suppress(OSError):
                self._writer.write(str(len(body)).encode() + b":" + body + b",")
                await self._writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), 5)
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._writer is not None:
            self._writer.close()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 5)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
