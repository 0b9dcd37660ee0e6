"""Compiler: a syntax tree to nested Python closures (no eval, no exec, no code objects).

Each node becomes one closure; common shapes (a path compared with a literal, a skill level
compared with a number, membership in a literal list) get specialised closures with a fast path
for the usual Python types and a fall-back to the total functions in `values` for the rest.
Type errors that are certain at compile time (a skill level compared with a string, a bad
"HH:MM" literal next to local_time()) are reported here as RuleSyntaxError.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from omnidesk.core.routing.rules.context import EvaluationContext
from omnidesk.core.routing.rules.fastpaths import fused_compare, in_constant_list, path_getter
from omnidesk.core.routing.rules.functions import (
    DAYS,
    FULL_DAYS,
    FUNCTIONS,
    Operand,
    Type,
    ValueFn,
    error_at,
)
from omnidesk.core.routing.rules.nodes import (
    And,
    Between,
    Call,
    Compare,
    Expr,
    ListExpr,
    Literal,
    Not,
    Or,
    Path,
    SkillRef,
)
from omnidesk.core.routing.rules.values import (
    FAST_OPERATORS,
    FLIPPED,
    MEMBERSHIP,
    NULL,
    ORDERINGS,
    OTHER,
    MemberSet,
    TimeOfDay,
    between,
    comparable_for_between,
    equal,
    kind_of,
    membership_applies,
    not_equal,
    parse_time,
    skill_level,
    time_between,
)

Cond = Callable[[EvaluationContext], bool]
_SPECIAL = (Type.TIME, Type.WEEKDAY, Type.DATE)
_ORDERABLE = (Type.ANY, Type.NUMBER, Type.STRING, Type.TIME)
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _always(result: bool) -> Cond:
    return (lambda ctx: True) if result else (lambda ctx: False)


def _type_of_constant(value: object) -> Type:
    if value is None:
        return Type.NULL
    if isinstance(value, bool):
        return Type.BOOL
    if isinstance(value, (int, float)):
        return Type.NUMBER
    if isinstance(value, str):
        return Type.STRING
    if isinstance(value, TimeOfDay):
        return Type.TIME
    return Type.LIST


def _constant(node: Expr, value: object, type_: Type | None = None) -> Operand:
    return Operand(node, lambda ctx: value, type_ or _type_of_constant(value), True, value)


class Compiler:
    # -- conditions ------------------------------------------------------------------------
    def condition(self, node: Expr) -> Cond:
        if isinstance(node, And):
            return self._and([self.condition(op) for op in node.operands])
        if isinstance(node, Or):
            return self._or([self.condition(op) for op in node.operands])
        if isinstance(node, Not):
            inner = self.condition(node.operand)
            return lambda ctx: not inner(ctx)
        if isinstance(node, Compare):
            if node.op in FAST_OPERATORS:
                return self._compare(node)
            return self._membership(node)
        if isinstance(node, Between):
            return self._between(node)
        operand = self.value(node)
        if operand.type not in (Type.BOOL, Type.ANY):
            what = "a skill level" if isinstance(node, SkillRef) else operand.type.value
            raise error_at(
                node,
                f"{what} is not a condition; compare it with something "
                "(for example skills.billing >= 1 or contact.vip == true)",
            )
        if operand.const:
            return _always(operand.value is True)
        get = operand.fn
        return lambda ctx: get(ctx) is True

    @staticmethod
    def _and(parts: list[Cond]) -> Cond:
        if len(parts) == 2:
            a, b = parts
            return lambda ctx: a(ctx) and b(ctx)
        if len(parts) == 3:
            a, b, c = parts
            return lambda ctx: a(ctx) and b(ctx) and c(ctx)

        def all_of(ctx: EvaluationContext) -> bool:
            for part in parts:  # noqa: SIM110 - a plain loop is faster than all(generator)
                if not part(ctx):
                    return False
            return True

        return all_of

    @staticmethod
    def _or(parts: list[Cond]) -> Cond:
        if len(parts) == 2:
            a, b = parts
            return lambda ctx: a(ctx) or b(ctx)
        if len(parts) == 3:
            a, b, c = parts
            return lambda ctx: a(ctx) or b(ctx) or c(ctx)

        def any_of(ctx: EvaluationContext) -> bool:
            for part in parts:  # noqa: SIM110 - a plain loop is faster than any(generator)
                if part(ctx):
                    return True
            return False

        return any_of

    # -- values ----------------------------------------------------------------------------
    def value(self, node: Expr) -> Operand:
        if isinstance(node, Literal):
            return _constant(node, node.value)
        if isinstance(node, ListExpr):
            items = [self.value(item) for item in node.items]
            if all(item.const for item in items):
                return _constant(node, [item.value for item in items], Type.LIST)
            getters = tuple(item.fn for item in items)
            return Operand(node, lambda ctx: [get(ctx) for get in getters], Type.LIST)
        if isinstance(node, Path):
            return Operand(node, path_getter(node.root, node.segments), Type.ANY)
        if isinstance(node, SkillRef):
            name = node.name
            return Operand(
                node, lambda ctx: skill_level(ctx.agent, name), Type.NUMBER, False, None, True
            )
        if isinstance(node, Call):
            return self._call(node)
        return Operand(node, self.condition(node), Type.BOOL)

    def _call(self, node: Call) -> Operand:
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            import difflib  # only on the error path

            close = difflib.get_close_matches(node.name.lower(), sorted(FUNCTIONS), n=1)
            hint = f" (did you mean {close[0]}()?)" if close else ""
            known = ", ".join(f"{name}()" for name in sorted(FUNCTIONS))
            raise error_at(node, f"unknown function '{node.name}'{hint}; known: {known}")
        count = len(node.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            if spec.max_args is None:
                wanted = f"at least {spec.min_args} arguments"
            elif spec.min_args == spec.max_args:
                plural = "" if spec.min_args == 1 else "s"
                wanted = f"exactly {spec.min_args} argument{plural}"
            else:
                wanted = f"{spec.min_args} to {spec.max_args} arguments"
            raise error_at(
                node, f"{node.name}() takes {wanted}, got {count}; for example {spec.usage}"
            )
        args = tuple(self.value(arg) for arg in node.args)
        fn, result, always_number = spec.build(node, args)
        return Operand(node, fn, result, False, None, always_number)

    # -- literal coercion and static checks ------------------------------------------------
    @staticmethod
    def _convert(target: Type, node: Literal) -> object:
        text = str(node.value)
        if target is Type.TIME:
            seconds = parse_time(text)
            if seconds is None:
                raise error_at(
                    node, f"'{text}' is not a time of day; write \"HH:MM\" (00:00 to 24:00)"
                )
            return TimeOfDay(seconds)
        if target is Type.WEEKDAY:
            lowered = text.lower()
            if lowered in DAYS:
                return lowered
            if lowered in FULL_DAYS:
                return DAYS[FULL_DAYS.index(lowered)]
            raise error_at(
                node, f"'{text}' is not a weekday; use mon, tue, wed, thu, fri, sat or sun"
            )
        try:
            if _DATE_TEXT.fullmatch(text):
                date.fromisoformat(text)
                return text
        except ValueError:
            pass
        raise error_at(node, f"'{text}' is not a date; write \"YYYY-MM-DD\"")

    def _coerce(self, target: Type, operand: Operand) -> Operand:
        """String literals next to a time, weekday or date value become that kind, checked
        now rather than silently never matching at runtime."""
        if target not in _SPECIAL or not operand.const:
            return operand
        node = operand.node
        if isinstance(node, Literal) and isinstance(node.value, str):
            return _constant(node, self._convert(target, node), target)
        if isinstance(node, ListExpr) and isinstance(operand.value, list):
            values = [
                self._convert(target, item)
                if isinstance(item, Literal) and isinstance(item.value, str)
                else value
                for item, value in zip(node.items, operand.value, strict=True)
            ]
            return _constant(node, values, Type.LIST)
        return operand

    @staticmethod
    def _check_equality(node: Expr, a: Operand, b: Operand) -> None:
        ca, cb = a.type.category, b.type.category
        if Type.ANY in (ca, cb) or Type.NULL in (ca, cb) or ca is cb:
            return
        if {ca, cb} == {Type.TIME, Type.STRING}:
            return
        raise error_at(node, f"comparing {a.type.value} with {b.type.value} is always false")

    @staticmethod
    def _check_ordering(node: Expr, op: str, *operands: Operand) -> None:
        for operand in operands:
            if operand.type is Type.NULL:
                raise error_at(node, f"null cannot be used with {op}; only == null and != null")
            if operand.type.category not in _ORDERABLE:
                raise error_at(
                    node,
                    f"{op} compares numbers, strings or times of day, not {operand.type.value}",
                )
        known = {o.type.category for o in operands} - {Type.ANY}
        if Type.TIME in known:
            known.discard(Type.STRING)  # a string next to a time is read as "HH:MM"
        if len(known) > 1:
            described = " and ".join(o.type.value for o in operands)
            raise error_at(node, f"{op} on {described} is always false")

    # -- comparisons -----------------------------------------------------------------------
    def _compare(self, node: Compare) -> Cond:
        op = node.op
        left, right = self.value(node.left), self.value(node.right)
        left, right = self._coerce(right.type, left), self._coerce(left.type, right)
        if op in ("==", "!="):
            self._check_equality(node, left, right)
        else:
            self._check_ordering(node, op, left, right)
        generic = equal if op == "==" else not_equal if op == "!=" else ORDERINGS[op]
        if left.const and right.const:
            return _always(generic(left.value, right.value))
        if left.const:
            left, right, op = right, left, FLIPPED[op]
            generic = equal if op == "==" else not_equal if op == "!=" else ORDERINGS[op]
        get = left.fn
        if not right.const:
            other = right.fn
            return lambda ctx: generic(get(ctx), other(ctx))
        c = right.value
        if op in ("==", "!=") and (c is None or isinstance(c, bool)):
            if op == "==":
                return lambda ctx: get(ctx) is c
            if c is None:
                return lambda ctx: get(ctx) is not None
            flipped = not c  # "!= true" holds exactly for false, and the other way round
            return lambda ctx: get(ctx) is flipped

        fused = fused_compare(
            left.node, op, c, self._compare_constant(get, op, c, generic, left.always_number)
        )
        if fused is not None:
            return fused
        return self._compare_constant(get, op, c, generic, left.always_number)

    @staticmethod
    def _compare_constant(
        get: ValueFn,
        op: str,
        c: object,
        generic: Callable[[object, object], bool],
        always_number: bool,
    ) -> Cond:
        fast = FAST_OPERATORS[op]
        if type(c) is int or type(c) is float:
            if always_number:
                return lambda ctx: fast(get(ctx), c)

            def number(ctx: EvaluationContext) -> bool:
                v = get(ctx)
                t = type(v)
                if t is int or t is float:
                    return fast(v, c)
                return generic(v, c)

            return number
        if type(c) is str:

            def string(ctx: EvaluationContext) -> bool:
                v = get(ctx)
                return fast(v, c) if type(v) is str else generic(v, c)

            return string
        if type(c) is TimeOfDay:
            seconds = c.seconds

            def time_of_day(ctx: EvaluationContext) -> bool:
                v = get(ctx)
                return fast(v.seconds, seconds) if type(v) is TimeOfDay else generic(v, c)

            return time_of_day
        return lambda ctx: generic(get(ctx), c)

    def _membership(self, node: Compare) -> Cond:
        negated = node.op.startswith("NOT ")
        base = node.op[4:] if negated else node.op
        test = MEMBERSHIP[base]
        left, right = self.value(node.left), self.value(node.right)
        if base == "IN":
            right = self._coerce(left.type, right)
            if right.type.category not in (Type.ANY, Type.LIST):
                raise error_at(node, f"IN needs a list on its right, not {right.type.value}")
        else:
            left = self._coerce(right.type, left)
            allowed = (
                (Type.ANY, Type.LIST, Type.MAP)
                if base == "HAS"
                else (Type.ANY, Type.LIST, Type.STRING)
            )
            if left.type.category not in allowed:
                shape = "a list or mapping" if base == "HAS" else "a string or list"
                raise error_at(node, f"{base} needs {shape} on its left, not {left.type.value}")

        def decide(a: object, b: object) -> bool:
            if negated:
                return membership_applies(base, a, b) and not test(a, b)
            return test(a, b)

        if left.const and right.const:
            return _always(decide(left.value, right.value))
        get_left, get_right = left.fn, right.fn
        if base == "IN" and right.const and isinstance(right.value, list):
            members = MemberSet(right.value)
            if not negated:
                return in_constant_list(get_left, members)

            def not_in(ctx: EvaluationContext) -> bool:
                v = get_left(ctx)
                k = kind_of(v)
                return k != NULL and k != OTHER and v not in members

            return not_in
        if base == "HAS" and right.const and isinstance(right.value, str) and not negated:
            key = right.value

            def has_key(ctx: EvaluationContext) -> bool:
                v = get_left(ctx)
                if type(v) is dict:
                    return v.get(key) is not None
                return test(v, key)

            return has_key
        if base == "CONTAINS" and right.const and isinstance(right.value, str) and not negated:
            sub = right.value

            def contains_text(ctx: EvaluationContext) -> bool:
                v = get_left(ctx)
                return sub in v if type(v) is str else test(v, sub)

            return contains_text
        return lambda ctx: decide(get_left(ctx), get_right(ctx))

    def _between(self, node: Between) -> Cond:
        value = self.value(node.value)
        low, high = self.value(node.low), self.value(node.high)
        low, high = self._coerce(value.type, low), self._coerce(value.type, high)
        if low.type is Type.TIME or high.type is Type.TIME:
            value = self._coerce(Type.TIME, value)
        self._check_ordering(node, "BETWEEN", value, low, high)
        negated = node.negated

        def decide(v: object, lo: object, hi: object) -> bool:
            if negated:
                return comparable_for_between(v, lo, hi) and not between(v, lo, hi)
            return between(v, lo, hi)

        if value.const and low.const and high.const:
            return _always(decide(value.value, low.value, high.value))
        get = value.fn
        if low.const and high.const:
            lo, hi = low.value, high.value
            if type(lo) is TimeOfDay and type(hi) is TimeOfDay and not negated:
                start, end = lo.seconds, hi.seconds

                def in_hours(ctx: EvaluationContext) -> bool:
                    v = get(ctx)
                    if type(v) is TimeOfDay:
                        return time_between(v.seconds, start, end)
                    return between(v, lo, hi)

                return in_hours
            if type(lo) in (int, float) and type(hi) in (int, float) and not negated:
                a, b = lo, hi

                def in_range(ctx: EvaluationContext) -> bool:
                    v = get(ctx)
                    t = type(v)
                    if t is int or t is float:
                        return bool(a <= v <= b)  # type: ignore[operator]
                    return between(v, lo, hi)

                return in_range
            return lambda ctx: decide(get(ctx), lo, hi)
        get_low, get_high = low.fn, high.fn
        return lambda ctx: decide(get(ctx), get_low(ctx), get_high(ctx))


def compile_tree(tree: Expr) -> Cond:
    """The closure deciding whether a context matches the rule."""
    return Compiler().condition(tree)
