"""Every voice setting is documented: the server's settings in README's settings table and
docs/voice.md, the tenant's voice settings and a queue's voice policy in docs/voice.md."""

from __future__ import annotations

import re
from pathlib import Path

from omnidesk.channels.voice.schemas import QueuePolicyIn, VoiceSettingsIn
from omnidesk.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()
VOICE = (ROOT / "docs" / "voice.md").read_text()


def _table_names(text: str) -> set[str]:
    """The `names` in the first cell of each table row."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return names


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_every_server_voice_setting_is_in_the_readme_and_the_voice_guide() -> None:
    voice = {name for name in Settings.model_fields if name.startswith("voice_")}
    assert voice - _table_names(README) == set()
    assert voice - _table_names(_section(VOICE, "Turning it on")) == set()


def test_every_tenant_setting_and_policy_field_is_in_the_voice_guide() -> None:
    tenant = _table_names(_section(VOICE, "Tenant voice settings"))
    assert set(VoiceSettingsIn.model_fields) - tenant == set()
    policy = _table_names(_section(VOICE, "Queue voice policy"))
    assert set(QueuePolicyIn.model_fields) - policy == set()
