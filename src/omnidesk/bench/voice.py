"""`omnidesk bench voice`: N concurrent recorded calls through the whole voice server.

Everything is real and on loopback: the app (SQLite in a temporary directory) runs with its
voice server in this process; a tenant is configured through the HTTP API (domain, trunk
127.0.0.1, a number whose flow goes straight to a queue recorded "always", N agents with SIP
logins, all available). One sipp instance registers the N agents' softphones with digest
authentication from port P and exits; a second sipp, in UAS mode on that same port P, then
answers every INVITE the server sends to those bindings and echoes the audio back. A third
sipp calls the number N times (-l N) with a 600 Hz PCMU stream. Each call is routed, rings an
agent "softphone", is bridged and recorded in stereo.

Figures (measured in the steady window, once all N calls are connected and recording, on the
server's side): the RTP send interval p50/p99 over all legs (`MediaEngine.send_interval_ms`),
loss on the received streams, CPU % (of one core) and RSS of this process, and the number of
concurrent recorded calls reached.
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from omnidesk.bench import sipp as scenarios
from omnidesk.bench import voice_testbed as testbed
from omnidesk.bench.sipp import SIPP
from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.call_control import control

DOMAIN = "bench.voice.example"
DID = "+493000000001"
PASSWORD = "bench-s3cret-pass"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sipp(args: list[str], cwd: Path, log: str) -> subprocess.Popen[bytes]:
    out = open(cwd / log, "wb")  # noqa: SIM115 - closed with the process below
    try:
        return subprocess.Popen(
            [SIPP, *args, "-nostdin", "-i", "127.0.0.1"],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    finally:
        out.close()


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Admin:
    """The bench tenant's admin over the in-process client (explicit session cookie and CSRF
    header on every request, as a browser would send them)."""

    def __init__(self, client: Any, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def post(self, url: str, *, json: Any) -> Any:
        return self.client.post(url, json=json, headers=self.headers)

    def put(self, url: str, *, json: Any) -> Any:
        return self.client.put(url, json=json, headers=self.headers)


def _configure(admin: _Admin, calls: int) -> list[str]:
    """The tenant: `calls` agents, each with a SIP login and available, behind one queue."""
    agents = []
    for i in range(calls):
        name = f"bench{i:04d}"
        user = testbed.ok(
            admin.post(
                "/api/v1/users",
                json={"username": name, "display_name": f"Bench {i}", "role": "agent",
                      "password": PASSWORD + "-login"},
            ),
            201,
        )  # fmt: skip
        agents.append(testbed.SipAgent(user["id"], name, PASSWORD, available=True))
    bed = testbed.VoiceTenant(
        domain=DOMAIN,
        number=DID,
        flow=testbed.queue_flow("bench", "bench"),
        queue=testbed.routing_queue("bench", "Bench", offer_timeout_seconds=30, wrap_up_seconds=0),
        record="always",
        trunk=testbed.LOOPBACK_TRUNK | {"name": "bench"},
        agents=agents,
    )
    testbed.configure(admin, bed)
    return [agent.username for agent in agents]


def run(calls: int = 200, seconds: float = 10.0, *, rate: float = 8.0) -> dict[str, Any]:
    """Run the benchmark; returns the figures (see the module docstring)."""
    # Imported here: the app is not needed for `omnidesk --help`.
    from fastapi.testclient import TestClient

    from omnidesk.app import create_app
    from omnidesk.directory.demo import load_demo
    from omnidesk.platform import migrate
    from omnidesk.platform.settings import load_settings

    if shutil.which(SIPP) is None or shutil.which("sox") is None:
        raise RuntimeError("bench voice needs sipp and sox on PATH")
    tmp = Path(tempfile.mkdtemp(prefix="omnidesk-bench-voice-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
        migrate.upgrade(db_url)
        settings = load_settings(
            None,
            database_url=db_url,
            data_dir=tmp / "data",
            auto_migrate=False,
            argon2_time_cost=1,
            argon2_memory_kib=8,
            argon2_parallelism=1,
            **testbed.voice_settings(voice_ring_timeout_seconds=20.0),
        )
        app = create_app(settings)
        with TestClient(app) as client:
            voice = app.state.voice
            portal = client.portal
            assert portal is not None  # set while the client is open
            logins = portal.call(load_demo, app.state.services.db, "bench")
            admin_password = next(x.password for x in logins if x.username == "admin")
            r = client.post(
                "/api/v1/auth/login",
                json={"tenant": "bench", "username": "admin", "password": admin_password},
            )
            testbed.ok(r)
            headers = {
                "cookie": f"omnidesk_session={r.cookies['omnidesk_session']}",
                "X-CSRF-Token": r.json()["csrf_token"],
            }
            client.cookies.clear()
            t_setup = time.monotonic()
            usernames = _configure(_Admin(client, headers), calls)
            sip_port = settings.voice_sip_port

            # The agents' phones register from the port the answering sipp will listen on.
            phones_port, phones_media = free_port(), free_port()
            # One sipp per phone: sipp's digest credentials (-au/-ap) are one per instance.
            (tmp / "register.xml").write_text(scenarios.register_scenario(DOMAIN))
            for name in usernames:
                reg = _sipp(
                    [f"127.0.0.1:{sip_port}", "-sf", "register.xml", "-s", name, "-au", name,
                     "-ap", PASSWORD, "-m", "1", "-p", str(phones_port), "-timeout", "20",
                     "-timeout_error"],
                    tmp, "register.log",
                )  # fmt: skip
                procs.append(reg)
                if reg.wait(30) != 0:
                    log_text = (tmp / "register.log").read_text(errors="replace")
                    raise RuntimeError(f"sipp REGISTER of {name} failed: {log_text[-2000:]}")
                procs.remove(reg)
            (tmp / "agents.xml").write_text(scenarios.ANSWER_SCENARIO)
            phones = ["-sf", "agents.xml", "-p", str(phones_port), "-mp", str(phones_media),
                      "-rtp_echo", "-aa"]  # fmt: skip
            procs.append(_sipp(phones, tmp, "agents.log"))
            tone = tmp / "caller.ulaw.wav"
            # The callers stay until the server hangs up on them, after the measured window.
            ramp = calls / rate
            hold_s = ramp + 30.0 + seconds + 30.0
            subprocess.run(
                ["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", str(tone),
                 "synth", str(int(hold_s + 5)), "sine", "600", "vol", "0.3"],
                check=True,
            )  # fmt: skip
            callers_xml = scenarios.caller_scenario(
                tone, before_digit_ms=0, stay_ms=int(hold_s * 1000), caller="+15550000[call_number]"
            )
            (tmp / "callers.xml").write_text(callers_xml)
            setup_s = time.monotonic() - t_setup
            callers = _sipp(
                [f"127.0.0.1:{sip_port}", "-sf", "callers.xml", "-s", DID.lstrip("+"),
                 "-m", str(calls), "-l", str(calls), "-r", str(rate), "-p", str(free_port()),
                 "-mp", str(free_port()), "-timeout", str(int(hold_s + 60)), "-timeout_error"],
                tmp, "callers.log",
            )  # fmt: skip
            procs.append(callers)

            # Read in the server's own event loop: its dicts change under a foreign thread.
            async def count() -> int:
                return sum(1 for c in voice.calls.values() if c.state == "connected" and c.recorder)

            async def leg_stats() -> dict[int, tuple[int, int]]:
                return {
                    id(leg): (leg.stats.lost, leg.stats.packets_received)
                    for leg in voice.media.legs
                }

            async def reset() -> None:
                voice.media.reset_send_stats()

            async def hang_up_all() -> None:
                for call in list(voice.calls.values()):
                    with contextlib.suppress(Exception):
                        await control(call, lambda c: voice.hang_up(c, "bench over"))

            def recorded() -> int:
                return int(portal.call(count))

            peak = 0
            deadline = time.monotonic() + ramp + 30.0
            while time.monotonic() < deadline and callers.poll() is None:
                peak = max(peak, recorded())
                if peak >= calls:
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # let the last bridges settle before measuring
            portal.call(reset)
            cpu0, wall0 = _cpu_s(), time.monotonic()
            legs0 = portal.call(leg_stats)
            low = calls
            while time.monotonic() - wall0 < seconds:
                now = recorded()
                peak, low = max(peak, now), min(low, now)
                time.sleep(0.2)
            cpu_pct = 100.0 * (_cpu_s() - cpu0) / (time.monotonic() - wall0)
            rss = _rss_mb()
            lost = received = 0
            for key, (l1, r1) in portal.call(leg_stats).items():
                l0, r0 = legs0.get(key, (0, 0))
                lost += max(0, l1 - l0)
                received += r1 - r0
            p50 = voice.media.send_interval_ms(0.50)
            p99 = voice.media.send_interval_ms(0.99)
            portal.call(hang_up_all)
            callers_rc = callers.wait(60)
            ended = time.monotonic() + 30
            while voice.calls and time.monotonic() < ended:
                time.sleep(0.2)
        return {
            "calls": calls,
            "seconds": seconds,
            "rate": rate,
            "concurrent_recorded_peak": peak,
            "concurrent_recorded_min": low,
            "send_interval_ms": {"p50": _r(p50), "p99": _r(p99)},
            "packets_received": received,
            "packets_lost": lost,
            "loss_pct": round(100.0 * lost / (lost + received), 3) if lost + received else 0.0,
            "cpu_pct": round(cpu_pct, 1),
            "rss_mb": round(rss, 1),
            "setup_s": round(setup_s, 1),
            "callers_exit": callers_rc,
            "target": {"calls": 200, "p99_ms": 30.0},
        }
    finally:
        for proc in procs:
            _stop(proc)
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)
