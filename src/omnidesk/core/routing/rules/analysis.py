"""Static facts about a rule that let the engine index agents instead of scanning them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from omnidesk.core.routing.rules.functions import CLOCK_FUNCTIONS
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
    FLIPPED,
    ORDERINGS,
    MemberSet,
    between,
    comparable_for_between,
    equal,
    not_equal,
)


@dataclass(frozen=True, slots=True)
class Facts:
    referenced_skills: frozenset[str]
    required_skills: frozenset[str]
    uses_clock: bool
    uses_contact: bool
    uses_agent: bool


def children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, (And, Or)):
        return node.operands
    if isinstance(node, Not):
        return (node.operand,)
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, Between):
        return (node.value, node.low, node.high)
    if isinstance(node, ListExpr):
        return node.items
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Expr) -> Iterator[Expr]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def _skill_level_name(node: Expr) -> str | None:
    """The skill name when the node is a skill level with a literal name."""
    if isinstance(node, SkillRef):
        return node.name
    if (
        isinstance(node, Call)
        and node.name == "skill"
        and len(node.args) == 1
        and isinstance(node.args[0], Literal)
        and isinstance(node.args[0].value, str)
        and node.args[0].value
    ):
        return node.args[0].value
    return None


def _is_agent_skills(node: Expr) -> bool:
    return (
        isinstance(node, Path)
        and node.root == "agent"
        and len(node.segments) == 1
        and node.segments[0].key == "skills"
    )


def _literal_str(node: Expr) -> str | None:
    if isinstance(node, Literal) and isinstance(node.value, str):
        return node.value
    return None


def _skill_in_path(node: Path) -> str | None:
    """agent.skills.lang.de or agent.skills["lang.de"]: the raw value of a skill entry."""
    segs = node.segments
    if node.root != "agent" or len(segs) < 2 or segs[0].key != "skills":
        return None
    rest = segs[1:]
    if all(seg.dotted for seg in rest):
        return ".".join(str(seg.key) for seg in rest)
    if len(rest) == 1 and isinstance(rest[0].key, str):
        return rest[0].key
    return None


def referenced_skills(tree: Expr) -> frozenset[str]:
    names: set[str] = set()
    for node in walk(tree):
        name = _skill_level_name(node)
        if name is None and isinstance(node, Path):
            name = _skill_in_path(node)
        if name is None and isinstance(node, Compare):
            if node.op.endswith(("HAS", "CONTAINS")) and _is_agent_skills(node.left):
                name = _literal_str(node.right)
            elif node.op.endswith("IN") and _is_agent_skills(node.right):
                name = _literal_str(node.left)
        if name:
            names.add(name)
    return frozenset(names)


def _literal_values(node: Expr) -> tuple[bool, object]:
    if isinstance(node, Literal):
        return True, node.value
    if isinstance(node, ListExpr) and all(isinstance(item, Literal) for item in node.items):
        return True, [item.value for item in node.items if isinstance(item, Literal)]
    return False, None


def _fails_without(node: Compare | Between) -> str | None:
    """The skill a comparison needs: it is false for an agent lacking the skill (level 0)."""
    if isinstance(node, Between):
        name = _skill_level_name(node.value)
        low_ok, low = _literal_values(node.low)
        high_ok, high = _literal_values(node.high)
        if name is None or not (low_ok and high_ok):
            return None
        holds = between(0, low, high)
        if node.negated:
            holds = comparable_for_between(0, low, high) and not holds
        return None if holds else name
    op, left, right = node.op, node.left, node.right
    if op in FLIPPED and _skill_level_name(left) is None:
        left, right, op = right, left, FLIPPED[op]
    name = _skill_level_name(left)
    if name is not None:
        known, value = _literal_values(right)
        if not known:
            return None
        if op == "==":
            holds = equal(0, value)
        elif op == "!=":
            holds = not_equal(0, value)
        elif op in ORDERINGS:
            holds = ORDERINGS[op](0, value)
        elif op in ("IN", "NOT IN") and isinstance(value, list):
            holds = (0 in MemberSet(value)) != (op == "NOT IN")
        else:
            return None
        return None if holds else name
    # Membership of the name itself in agent.skills (a key with a value, or a list item).
    if op == "HAS" and _is_agent_skills(node.left):
        return _literal_str(node.right)
    if op == "IN" and _is_agent_skills(node.right):
        return _literal_str(node.left)
    return None


def required_skills(node: Expr) -> frozenset[str]:
    """Skills every matching agent has: a key of agent.skills with a non-null value (so a
    nonzero level) or an item of it when it is a list. Sound, not complete: NOT and anything
    unrecognised contribute nothing."""
    if isinstance(node, And):
        out: frozenset[str] = frozenset()
        for operand in node.operands:
            out |= required_skills(operand)
        return out
    if isinstance(node, Or):
        sets = [required_skills(operand) for operand in node.operands]
        return frozenset.intersection(*sets)
    if isinstance(node, (Compare, Between)):
        name = _fails_without(node)
        return frozenset() if name is None else frozenset({name})
    return frozenset()


def analyse(tree: Expr) -> Facts:
    nodes = list(walk(tree))
    return Facts(
        referenced_skills=referenced_skills(tree),
        required_skills=required_skills(tree),
        uses_clock=any(isinstance(n, Call) and n.name in CLOCK_FUNCTIONS for n in nodes),
        uses_contact=any(isinstance(n, Path) and n.root == "contact" for n in nodes),
        uses_agent=any(
            (isinstance(n, Path) and n.root == "agent")
            or isinstance(n, SkillRef)
            or (isinstance(n, Call) and n.name == "skill")
            for n in nodes
        ),
    )
