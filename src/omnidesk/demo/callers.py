"""The demo traffic's sipp processes: the callers, and the customers who answer when called.

Callers dial the demo number through the demo's trunk for local callers, at a steady rate.
Each one speaks (espeak-ng through the voice engine's prompt renderer: the agent hears a
person, not a tone), keys a menu choice by SIP INFO, and twelve seconds later a second key:
`*` asks for a callback while still waiting, `#` ends a voicemail message, `0` does nothing.
The choices come from a RANDOM sipp injection file, weighted like a small business line, each
with the number the call comes from: one of the demo's sample customers (customers.py: the
CRM finds them, their card comes with the offer) or a caller never seen before.
A caller waits `PATIENCE_S` for Omnidesk to hang up, then hangs up itself: an abandon if
nobody answered. The customers answer the calls Omnidesk places through the trunk (callbacks)
and echo what they hear.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnidesk.bench import sipp
from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.ivr.prompts import PromptRenderer
from omnidesk.demo.customers import CALLER_NUMBERS

PATIENCE_S = 60
SECOND_KEY_AFTER_MS = 12_000
# (menu key, second key): repeated for weight. 1 support, 2 sales, 3 a message (# ends it).
CHOICES = [("1", "0")] * 9 + [("2", "0")] * 6 + [("1", "*"), ("2", "*")] + [("3", "#")] * 2
# Who calls: the sample customers, and as many fictional numbers nobody knows yet.
CALLERS = CALLER_NUMBERS + tuple(f"+1202555016{n}" for n in range(len(CALLER_NUMBERS)))
LINES = (
    "Hello, I have a question about my last order.",
    "Yes, the order number is four five six seven.",
    "I see. And when will it arrive?",
    "Thank you, that helps a lot.",
)


@dataclass
class SippProcess:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    @classmethod
    async def start(cls, name: str, args: list[str], workdir: Path) -> SippProcess:
        log = workdir / f"{name}.log"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            process = await asyncio.create_subprocess_exec(
                sipp.SIPP, *args, "-nostdin", cwd=workdir,
                stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.STDOUT,
            )  # fmt: skip
        finally:
            os.close(fd)
        return cls(name, process, log)

    def running(self) -> bool:
        return self.process.returncode is None

    def soft_stop(self) -> None:
        """No new calls; sipp exits once its calls have ended (its SIGUSR1)."""
        if self.running():
            self.process.send_signal(signal.SIGUSR1)

    async def stop(self, within: float = 5.0) -> None:
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


async def caller_audio(workdir: Path) -> Path:
    """The callers' voice as a μ-law WAV for sipp (a tone if espeak-ng is missing)."""
    target = workdir / "caller.ulaw.wav"
    if shutil.which("espeak-ng") is None:
        return await asyncio.to_thread(sipp.tone_wav, target, 600, 60)
    renderer = PromptRenderer(workdir / "prompt-cache")
    pause = np.zeros(8000, dtype=np.int16)  # one second
    parts = []
    for line in LINES:
        parts += [await renderer.say(line, "en"), pause, pause]
    pcm = workdir / "caller.pcm.wav"
    with wave.open(str(pcm), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(np.concatenate(parts).astype("<i2").tobytes())
    command = [sipp.SOX, str(pcm), "-e", "u-law", str(target)]
    await asyncio.to_thread(subprocess.run, command, check=True)
    return target


def _injection(workdir: Path) -> Path:
    path = workdir / "choices.csv"
    rows = [
        f"{menu};{then};{CALLERS[n % len(CALLERS)]};\n" for n, (menu, then) in enumerate(CHOICES)
    ]
    path.write_text("RANDOM\n" + "".join(rows))
    return path


async def start_callers(
    workdir: Path, target: str, number: str, calls_per_minute: float
) -> SippProcess:
    audio = await caller_audio(workdir)
    scenario = sipp.caller_scenario(
        audio.name,
        digits=["[field0]", "[field1]"],
        dtmf="info",
        before_digit_ms=6000,  # after the greeting, into the menu prompt (it may be cut short)
        digit_gap_ms=SECOND_KEY_AFTER_MS,
        stay_ms=PATIENCE_S * 1000,
        caller="[field2]",
        patient=True,
    )
    (workdir / "callers.xml").write_text(scenario)
    # `rate` calls every `period` ms: whole calls per period, any calls per minute.
    period_ms = max(1, round(60_000 / calls_per_minute))
    args = [target, "-sf", "callers.xml", "-s", number.lstrip("+"),
            "-inf", _injection(workdir).name, "-r", "1", "-rp", str(period_ms),
            "-l", "200", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
            "-timeout_error"]  # fmt: skip
    return await SippProcess.start("callers", args, workdir)


async def start_customers(workdir: Path, port: int) -> SippProcess:
    """Answer every call Omnidesk places through the demo trunk, echoing its audio."""
    (workdir / "customers.xml").write_text(sipp.ANSWER_SCENARIO)
    args = ["-sf", "customers.xml", "-i", "127.0.0.1", "-p", str(port),
            "-mp", str(free_port()), "-rtp_echo"]  # fmt: skip
    return await SippProcess.start("customers", args, workdir)
