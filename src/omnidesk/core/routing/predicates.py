"""Plain Python predicates as step targets, for tests and what-if simulations.

    compiler = PredicateCompiler({"german": PythonRule(lambda ctx: ctx.agent["skills"].get(
        "lang.de", 0) >= 3, skills={"lang.de"}, uses_contact=False, uses_clock=False)})
    engine = Engine(compiler=compiler)   # a step's target "german" now names that predicate

Names the mapping does not know are compiled by the rule language (`compile_rule`), so real
rules and predicates can be mixed. `uses_contact` / `uses_clock` default to True: the engine
then makes no assumption and evaluates the predicate per contact and at every tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from omnidesk.core.routing.expressions import TargetExpression, default_compiler


class PythonRule:
    __slots__ = ("_fn", "referenced_skills", "uses_clock", "uses_contact")

    def __init__(
        self,
        fn: Callable[[Any], bool],
        *,
        skills: Iterable[str] = (),
        uses_contact: bool = True,
        uses_clock: bool = True,
    ) -> None:
        self._fn = fn
        self.referenced_skills = frozenset(skills)
        self.uses_contact = uses_contact
        self.uses_clock = uses_clock

    def matches(self, ctx: Any, /) -> bool:
        return bool(self._fn(ctx))


class PredicateCompiler:
    def __init__(self, predicates: Mapping[str, TargetExpression]) -> None:
        self._predicates = dict(predicates)

    def __call__(self, text: str) -> TargetExpression:
        predicate = self._predicates.get(text)
        return predicate if predicate is not None else default_compiler(text)
