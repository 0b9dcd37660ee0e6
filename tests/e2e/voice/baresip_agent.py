"""baresip as an agent's softphone in tests: a real SIP user agent that registers with digest
authentication, auto-answers, sends a sine tone and dumps what it hears to a WAV file.

Driven over its ctrl_tcp module (netstring-framed JSON). No audio hardware: the player is ALSA's
`null` device, and the `sndfile` filter writes the decoded (heard) audio of each call to
`dump/*-dec.wav` and what it sent to `*-enc.wav`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BARESIP = "/usr/bin/baresip"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A free port on 127.0.0.1; for SIP (the default) free for both UDP and TCP, since
    baresip listens on both."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = int(t.getsockname()[1])
            if kind == socket.SOCK_STREAM:
                return port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


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
    sip_port: int = field(default_factory=free_port)
    ctrl_port: int = field(default_factory=lambda: free_port(socket.SOCK_STREAM))
    events: list[dict[str, Any]] = field(default_factory=list)
    _proc: asyncio.subprocess.Process | None = None
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _pump: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _token: int = 0

    @property
    def dump_dir(self) -> Path:
        return self.workdir / "dump"

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dump_dir.mkdir(exist_ok=True)
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
                BARESIP, "-f", str(self.workdir), "-n", "127.0.0.1",
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
        seen = 0
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for event in self.events[seen:]:
                if match(event):
                    return event
            seen = len(self.events)
            self._changed.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(
                    f"baresip: no matching event; saw {self.events[-10:]}\n{self.log()[-3000:]}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

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

    async def stop(self) -> None:
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
