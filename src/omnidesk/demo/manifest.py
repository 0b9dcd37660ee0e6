"""What `omnidesk demo` made, kept for `omnidesk demo traffic`: the demo tenant's number and
SIP domain, and the generated passwords of its users and softphones.

A file in the data directory (`<data_dir>/demo/demo.json`), readable only by its owner — the
data directory already holds the install's secret key file. It holds the demo tenant's
passwords only (no other tenant's), so the traffic generator can log its simulated agents in;
delete it to forget them (the users keep working; `omnidesk reset-password` changes one).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from omnidesk.demo.center import CUSTOMERS_PORT, DemoCenter


@dataclass(frozen=True)
class Manifest:
    tenant: str
    number: str
    sip_domain: str
    customers_port: int
    passwords: dict[str, str]  # username: password
    roles: dict[str, str]  # username: role
    sip: dict[str, dict[str, str]]  # username: {"username", "password"}

    @classmethod
    def of(cls, center: DemoCenter) -> Manifest:
        return cls(
            tenant=center.tenant,
            number=center.number,
            sip_domain=center.sip_domain,
            customers_port=CUSTOMERS_PORT,
            passwords={login.username: login.password for login in center.logins},
            roles={login.username: login.role for login in center.logins},
            sip={
                s.user: {"username": s.username, "password": s.password} for s in center.sip_logins
            },
        )

    def agents(self) -> list[str]:
        """The agents with a softphone login, in name order."""
        return sorted(u for u, role in self.roles.items() if role == "agent" and u in self.sip)


def manifest_path(data_dir: Path) -> Path:
    return data_dir / "demo" / "demo.json"


def write_manifest(path: Path, manifest: Manifest) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 (not chmod-ed after): the passwords are never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(manifest), out, indent=2)


class ManifestError(Exception):
    """The manifest is missing or unreadable; the message says what to do."""


def read_manifest(path: Path) -> Manifest:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except FileNotFoundError:
        raise ManifestError(
            f"{path} not found: run `omnidesk demo` first (with the same data_dir), or pass "
            "--manifest"
        ) from None
    except (OSError, ValueError, TypeError) as exc:
        raise ManifestError(f"{path} is not a demo manifest: {exc}") from None
