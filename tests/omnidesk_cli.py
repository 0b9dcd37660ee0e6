"""Run the real `omnidesk` command in a subprocess, as a user or a script would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import omnidesk


def omnidesk_command(
    *args: str, env: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run `omnidesk ARGS` from this tree's sources (whatever is
    installed in the environment), with `env` on top of this process's."""
    src = str(Path(omnidesk.__file__).resolve().parents[1])
    path = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    return [sys.executable, "-m", "omnidesk.cli.main", *args], os.environ | (env or {}) | {
        "PYTHONPATH": path
    }


def run_omnidesk(
    *args: str, cwd: Path | None = None, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv, environment = omnidesk_command(*args, env=env)
    return subprocess.run(
        argv, capture_output=True, text=True, env=environment, cwd=cwd, timeout=timeout
    )
