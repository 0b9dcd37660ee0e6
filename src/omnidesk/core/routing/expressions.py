"""The seam between the engine and the rule language (omnidesk.core.routing.rules).

The engine needs only `matches(ctx) -> bool` and `referenced_skills` from a compiled rule, and a
compiler `str -> rule` that raises an error with `line` and `column`. The compiler is injected,
so tests and the simulator can use plain Python predicates; the default is `compile_rule`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from omnidesk.core.routing.errors import InvalidRule
from omnidesk.core.routing.rules import EvaluationContext, RuleSyntaxError, compile_rule


class TargetExpression(Protocol):
    """What the engine needs from a compiled rule. Optional facts, read with `getattr` so that
    plain predicates work too: `uses_contact` (False lets a verdict stand for every contact at a
    step) and `uses_clock` (True: the verdict may change with time alone)."""

    @property
    def referenced_skills(self) -> frozenset[str]: ...

    def matches(self, ctx: EvaluationContext, /) -> bool: ...


RuleCompiler = Callable[[str], TargetExpression]


def make_context(
    contact: Mapping[str, Any], agent: Mapping[str, Any], now: datetime
) -> EvaluationContext:
    return EvaluationContext(contact, agent, now)


def default_compiler(text: str) -> TargetExpression:
    return compile_rule(text)


def uses_contact(rule: TargetExpression) -> bool:
    return bool(getattr(rule, "uses_contact", True))


def uses_clock(rule: TargetExpression) -> bool:
    return bool(getattr(rule, "uses_clock", True))


def compile_target(compiler: RuleCompiler, text: str, field: str) -> TargetExpression:
    """Compile a step's rule, turning the compiler's syntax error into a 422 `InvalidRule`."""
    try:
        return compiler(text)
    except RuleSyntaxError as exc:
        raise InvalidRule(exc.message, line=exc.line, column=exc.column, field=field) from exc
    except (ValueError, TypeError) as exc:
        # An injected compiler (tests, simulator) may raise its own error; keep what it says.
        line = getattr(exc, "line", 1)
        column = getattr(exc, "column", 1)
        raise InvalidRule(
            str(exc),
            line=line if isinstance(line, int) else 1,
            column=column if isinstance(column, int) else 1,
            field=field,
        ) from exc


class TrackedMapping(Mapping[str, Any]):
    """A read-only view that records whether a rule looked at it at all.

    Why: when a rule's verdict for an agent did not read the contact, the verdict is the same
    for every contact waiting at that step, so the engine evaluates the rule once per lane
    instead of once per waiting contact. Sound for any pure rule, with no hint from the rule.
    """

    __slots__ = ("_data", "touched")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data
        self.touched = False

    def __getitem__(self, key: str) -> Any:
        self.touched = True
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.touched = True
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        self.touched = True
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        self.touched = True
        return iter(self._data)

    def __len__(self) -> int:
        self.touched = True
        return len(self._data)
