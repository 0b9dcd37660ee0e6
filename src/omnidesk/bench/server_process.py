"""The server under test for `omnidesk bench server`: a fresh database, the `omnidesk` CLI to
set it up, `omnidesk serve` in a child process, and that process's CPU and memory from /proc.

Only the CLI and the public HTTP API are used, never the server's internals, so the benchmark
measures what a deployment runs and keeps working while those internals move.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families

# Password hashing is only on the setup path (logins), not on the measured one; at the default
# argon2 cost, 1,000 logins would take minutes of the server's CPU before the run starts.
CHEAP_ARGON2 = {
    "OMNIDESK_ARGON2_TIME_COST": "1",
    "OMNIDESK_ARGON2_MEMORY_KIB": "8",
    "OMNIDESK_ARGON2_PARALLELISM": "1",
}
READY_TIMEOUT_S = 120.0


def _cli(*args: str, env: dict[str, str]) -> None:
    """Run an `omnidesk` command with this interpreter (and so this tree's sources)."""
    done = subprocess.run(
        [sys.executable, "-m", "omnidesk.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"omnidesk {args[0]} failed: {done.stderr[-2000:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def backend_of(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@contextlib.contextmanager
def fresh_database(database_url: str | None, tmp: Path) -> Iterator[str]:
    """The URL of an empty database for the run: a SQLite file in `tmp` when no URL is given;
    for a PostgreSQL URL, a throwaway database on that server (dropped afterwards); any other
    URL as given (`omnidesk` migrates it)."""
    if database_url is None:
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    if backend_of(database_url) != "postgresql":
        yield database_url
        return
    import psycopg
    from sqlalchemy.engine import make_url

    given = make_url(database_url)
    name = f"omnidesk_bench_{secrets.token_hex(4)}"
    admin_dsn = given.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield given.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Admin:
    tenant: str
    username: str
    password: str


def create_tenant_and_admin(database_url: str) -> Admin:
    """`omnidesk create-tenant` and `create-user --role admin` (both migrate the database)."""
    admin = Admin(f"bench{secrets.token_hex(3)}", "benchadmin", secrets.token_urlsafe(18))
    env = {**os.environ, **CHEAP_ARGON2, "OMNIDESK_PASSWORD": admin.password}
    url = ["--database-url", database_url]
    _cli("create-tenant", "--slug", admin.tenant, "--name", "Bench", *url, env=env)
    _cli("create-user", "--tenant", admin.tenant, "--username", admin.username, "--role",
         "admin", *url, env=env)  # fmt: skip
    return admin


class ServerProcess:
    """`omnidesk serve` in its own process, its log in a file (shown when it fails)."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, **CHEAP_ARGON2, "OMNIDESK_LOG_FORMAT": "json"}
        command = [sys.executable, "-m", "omnidesk.cli.main", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--database-url", self.database_url]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(
            f"the server was not ready in {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (its threads included)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name (which may hold spaces) start after the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def runqueue_wait_seconds(pid: int) -> float:
    """Seconds the process's threads have spent ready to run but waiting for a core (the
    scheduler's run-queue time): what other processes on a busy machine take from it."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = round(int(value.split()[0]) / 1024.0, 1)
    return {"rss_mb": found.get("VmRSS", 0.0), "peak_rss_mb": found.get("VmHWM", 0.0)}


def raise_open_files_limit() -> None:
    """1,000 sockets plus as many HTTP connections, in this process and the server (which
    inherits the limit): lift the soft limit to the hard one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="omnidesk-bench-server-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


COUNTED = {"omnidesk_db_statements": "db_statements", "omnidesk_auth_lookups": "auth_lookups"}


async def server_counters(http: httpx.AsyncClient) -> dict[str, dict[str, float]]:
    """The server's own counts of database statements (by kind) and of credentials resolved
    (principal cache hit or miss), from its /metrics."""
    response = await http.get("/metrics")
    response.raise_for_status()
    found: dict[str, dict[str, float]] = {name: {} for name in COUNTED.values()}
    for family in text_string_to_metric_families(response.text):
        name = COUNTED.get(family.name)
        if name is None:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                label = next(iter(sample.labels.values()))
                found[name][label] = sample.value
    return found


def counters_since(
    after: dict[str, dict[str, float]], before: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    return {
        name: {k: v - before[name].get(k, 0.0) for k, v in sorted(counts.items())}
        for name, counts in after.items()
    }
