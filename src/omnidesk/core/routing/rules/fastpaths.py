"""Fused closures for the shapes most rules are made of.

`skills.X >= 4`, `contact.priority > 2`, `agent.team == "core"`, `contact.channel IN [...]`:
each becomes one closure that looks the value up in plain dicts and compares it inline, instead
of a getter closure called by a comparison closure. Anything off the fast path (a value that is
not a plain int/float/str, a mapping that is not a dict, a missing key) falls back to the general
closure, so the fused versions never decide differently, only sooner.
"""

from __future__ import annotations

from collections.abc import Callable

from omnidesk.core.routing.rules.context import EvaluationContext
from omnidesk.core.routing.rules.nodes import Expr, Path, Segment, SkillRef
from omnidesk.core.routing.rules.values import (
    FAST_OPERATORS,
    MemberSet,
    plan_path,
    resolve,
    skill_level,
)

Cond = Callable[[EvaluationContext], bool]
ValueFn = Callable[[EvaluationContext], object]
_MISSING = object()


def path_getter(root: str, segments: tuple[Segment, ...]) -> ValueFn:
    keys = tuple(seg.key for seg in segments)
    steps = plan_path(keys, tuple(seg.dotted for seg in segments))
    on_contact = root == "contact"
    if not keys:
        return (lambda ctx: ctx.contact) if on_contact else (lambda ctx: ctx.agent)
    if not all(type(key) is str for key in keys):
        if on_contact:
            return lambda ctx: resolve(ctx.contact, steps)
        return lambda ctx: resolve(ctx.agent, steps)

    if len(keys) == 1:
        key = keys[0]

        def get_one(ctx: EvaluationContext) -> object:
            value = ctx.contact if on_contact else ctx.agent
            if type(value) is dict:
                return value.get(key)  # one segment: no dotted alternatives to try
            return resolve(value, steps)

        return get_one

    def get(ctx: EvaluationContext) -> object:
        # Plain dicts all the way down; anything else takes the general route.
        value: object = ctx.contact if on_contact else ctx.agent
        for key in keys:
            if type(value) is not dict:
                break
            value = value.get(key, _MISSING)
            if value is _MISSING:
                break
        else:
            return value
        return resolve(ctx.contact if on_contact else ctx.agent, steps)

    return get


def _skill_compare(name: str, op: str, c: int | float) -> Cond:
    fast = FAST_OPERATORS[op]

    def compare(ctx: EvaluationContext) -> bool:
        agent = ctx.agent
        if type(agent) is dict:
            skills = agent.get("skills")
            if type(skills) is dict:
                level = skills.get(name, 0)
                t = type(level)
                if t is int or t is float:
                    return fast(level, c)
        return fast(skill_level(agent, name), c)

    return compare


def _path_compare(node: Path, op: str, c: int | float | str, fallback: Cond) -> Cond | None:
    keys = [seg.key for seg in node.segments]
    if not 1 <= len(keys) <= 2 or not all(type(key) is str for key in keys):
        return None
    fast = FAST_OPERATORS[op]
    on_contact = node.root == "contact"
    numeric = type(c) is not str
    wanted: type = str if type(c) is str else int
    k0 = keys[0]
    if len(keys) == 1:

        def compare1(ctx: EvaluationContext) -> bool:
            v: object = ctx.contact if on_contact else ctx.agent
            if type(v) is dict:
                v = v.get(k0)
                t = type(v)
                if t is wanted or (numeric and t is float):
                    return fast(v, c)
            return fallback(ctx)

        return compare1
    k1 = keys[1]

    def compare2(ctx: EvaluationContext) -> bool:
        v: object = ctx.contact if on_contact else ctx.agent
        if type(v) is dict:
            v = v.get(k0)
            if type(v) is dict:
                v = v.get(k1)
                t = type(v)
                if t is wanted or (numeric and t is float):
                    return fast(v, c)
        return fallback(ctx)

    return compare2


def fused_compare(left: Expr, op: str, c: object, fallback: Cond) -> Cond | None:
    """A single closure for `left op c`, or None when the shape is not a common one."""
    if type(c) is not int and type(c) is not float and type(c) is not str:
        return None
    assert isinstance(c, (int, float, str))
    if isinstance(left, SkillRef) and not isinstance(c, str):
        return _skill_compare(left.name, op, c)
    if isinstance(left, Path):
        return _path_compare(left, op, c, fallback)
    return None


def in_constant_list(get: ValueFn, members: MemberSet) -> Cond:
    strs, nums = members.strs, members.nums
    if members.times:  # strings may also match a time of day; take the general route
        return lambda ctx: get(ctx) in members

    def member(ctx: EvaluationContext) -> bool:
        v = get(ctx)
        t = type(v)
        if t is str:
            return v in strs
        if t is int or t is float:
            return v in nums
        return v in members

    return member
