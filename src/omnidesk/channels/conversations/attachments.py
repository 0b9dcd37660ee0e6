"""Attachment files in the data directory, and the tenant's limits on them.

Files live at `data_dir/channels/attachments/<tenant>/<attachment id>`; the row says what they
are. A name is never taken from the outside for a path. Writes go to a temporary name first and
are renamed into place, so a crash never leaves half a file under a row's name.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"[^\w.\- ()]+")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    types: tuple[str, ...]

    def refusal(self, content_type: str, size: int) -> str | None:
        """Why a file is refused, or None."""
        if size > self.max_bytes:
            return f"{size} bytes is over the limit of {self.max_bytes}"
        if not self.allows(content_type):
            return f"type {content_type or 'unknown'} is not allowed"
        return None

    def allows(self, content_type: str) -> bool:
        kind = content_type.split(";")[0].strip().lower()
        major = kind.split("/")[0]
        return any(t == kind or t == f"{major}/*" for t in self.types)


def safe_filename(name: str | None, fallback: str = "attachment") -> str:
    cleaned = _NAME.sub("_", (name or "").strip()).strip(". ")[:200]
    return cleaned or fallback


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class AttachmentFiles:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "channels" / "attachments"

    def path(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> Path:
        return self.root / str(tenant_id) / str(attachment_id)

    def write(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID, data: bytes) -> Path:
        target = self.path(tenant_id, attachment_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
        return target

    def remove(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> None:
        self.path(tenant_id, attachment_id).unlink(missing_ok=True)
