"""A real Omnidesk as the getting-started guide runs it: `omnidesk demo` on an empty database,
then `omnidesk serve` with voice on, in subprocesses on free ports, with the demo's manifest
and an admin client for checks. Shared by the guide's test and the demo traffic test."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx2

from omnidesk.bench.voice_testbed import free_port
from omnidesk_cli import omnidesk_command, run_omnidesk


class DemoServer:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.http_port = free_port()
        self.sip_port = free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.data_dir = tmp / "var"
        # What `make run` reads from its environment, pointed at this test's files and ports.
        self.env = {
            "OMNIDESK_DATABASE_URL": f"sqlite:///{tmp / 'omnidesk.db'}",
            "OMNIDESK_DATA_DIR": str(self.data_dir),
            "OMNIDESK_PORT": str(self.http_port),
            "OMNIDESK_VOICE_ENABLED": "true",
            "OMNIDESK_VOICE_SIP_PORT": str(self.sip_port),
            "OMNIDESK_VOICE_RTP_PORT_MIN": "0",  # any free port: runs side by side
            "OMNIDESK_LOG_FORMAT": "json",
            "OMNIDESK_ARGON2_TIME_COST": "1",
            "OMNIDESK_ARGON2_MEMORY_KIB": "8",
            "OMNIDESK_ARGON2_PARALLELISM": "1",
        }
        self.log = tmp / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def demo(self) -> str:
        """`omnidesk demo`; returns what it printed."""
        done = run_omnidesk("demo", env=self.env, cwd=self.tmp)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    @property
    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.data_dir / "demo" / "demo.json").read_text())
        return data

    def start(self) -> None:
        argv, env = omnidesk_command("serve", env=self.env)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv, env=env, cwd=self.tmp, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not become ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def login(self, username: str) -> httpx2.Client:
        """A client logged in as a demo user (the password `omnidesk demo` kept)."""
        client = httpx2.Client(base_url=self.base, timeout=30)
        password = self.manifest["passwords"][username]
        r = client.post(
            "/api/v1/auth/login",
            json={"tenant": "demo", "username": username, "password": password},
        )
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return client

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
