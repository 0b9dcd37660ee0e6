"""The one error a scenario can raise: every problem found, each naming its field path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Issue = tuple[str, str]  # (field path such as "queues[2].steps[0].target", message)


class ScenarioError(ValueError):
    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: list[Issue] = list(issues)
        super().__init__("; ".join(f"{path}: {msg}" if path else msg for path, msg in self.issues))

    def lines(self) -> list[str]:
        return [f"{path}: {message}" if path else message for path, message in self.issues]


def path_text(loc: Sequence[Any]) -> str:
    """("queues", 2, "steps", 0, "target") -> "queues[2].steps[0].target"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def fail(path: str, message: str) -> ScenarioError:
    return ScenarioError([(path, message)])
