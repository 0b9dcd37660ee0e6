"""`compile_rule` and the compiled `Rule`."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from omnidesk.core.routing.rules.analysis import analyse
from omnidesk.core.routing.rules.compiler import Cond, compile_tree
from omnidesk.core.routing.rules.context import EvaluationContext
from omnidesk.core.routing.rules.errors import RuleSyntaxError
from omnidesk.core.routing.rules.functions import FUNCTION_NAMES
from omnidesk.core.routing.rules.nodes import Expr, to_source
from omnidesk.core.routing.rules.parser import parse


class Rule:
    """A compiled routing rule. Immutable, thread-safe, and cheap to evaluate: `matches` never
    raises for any context (missing keys are null, type mismatches are false)."""

    __slots__ = ("_facts", "_source", "_tree", "matches")

    # `matches(ctx) -> bool` is the compiled closure itself, stored on the instance rather than
    # wrapped in a method: one call less on the routing hot path.
    matches: Callable[[EvaluationContext], bool]

    def __init__(self, source: str, tree: Expr, matches: Cond) -> None:
        self._source = source
        self._tree = tree
        self.matches = matches
        self._facts = analyse(tree)

    @property
    def source(self) -> str:
        return self._source

    @property
    def tree(self) -> Expr:
        return self._tree

    @property
    def canonical(self) -> str:
        """The rule re-printed in one canonical form (comments and spacing dropped)."""
        return to_source(self._tree)

    @property
    def referenced_skills(self) -> frozenset[str]:
        """Skill names the rule tests (skills.X, skill("X"), agent.skills.X, agent.skills HAS
        "X"). Names computed at runtime, as in skill(contact.needed_skill), are not included."""
        return self._facts.referenced_skills

    @property
    def required_skills(self) -> frozenset[str]:
        """Skills every agent the rule matches has (a subset of referenced_skills): an index of
        agents by skill may start from these. Empty when the rule can match agents without
        any particular skill (for example skills.x < 3, or NOT ...)."""
        return self._facts.required_skills

    @property
    def uses_clock(self) -> bool:
        """Whether the result can change with `now` alone (local_time, weekday, ...)."""
        return self._facts.uses_clock

    @property
    def uses_contact(self) -> bool:
        return self._facts.uses_contact

    @property
    def uses_agent(self) -> bool:
        return self._facts.uses_agent

    def __repr__(self) -> str:
        return f"Rule({self._source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and other._source == self._source

    def __hash__(self) -> int:
        return hash(self._source)

    def __reduce__(self) -> tuple[object, ...]:
        return (compile_rule, (self._source,))


def compile_uncached(source: str) -> Rule:
    """compile_rule without the cache (for benchmarks and tests of the compiler itself)."""
    tree = parse(source, FUNCTION_NAMES)
    try:
        matches = compile_tree(tree)
    except RuleSyntaxError as exc:
        exc.source = source
        raise
    return Rule(source, tree, matches)


def compile_rule(source: str) -> Rule:
    """Parse and compile a rule. Raises RuleSyntaxError (message, line, column, pointer())."""
    if not isinstance(source, str):
        raise TypeError(f"a rule is a string, not {type(source).__name__}")
    return _compile(source)


_compile = lru_cache(maxsize=1024)(compile_uncached)
