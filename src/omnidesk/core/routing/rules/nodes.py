"""The syntax tree of a rule, and `to_source`, which prints a tree back as a canonical rule.

Positions take no part in equality, so two parses of differently spaced text compare equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    column: int


NO_POS = Pos(0, 0)


@dataclass(frozen=True, slots=True)
class Literal:
    value: bool | int | float | str | None
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Expr, ...]
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Segment:
    key: str | int
    dotted: bool  # written as ".name" (may join with its neighbours), not as ["key"] or [0]


@dataclass(frozen=True, slots=True)
class Path:
    root: str  # "contact" or "agent"
    segments: tuple[Segment, ...]
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class SkillRef:
    """`skills.NAME`, `skill.NAME` or `skills["NAME"]`: the agent's level in a skill, 0 if none."""

    name: str
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Compare:
    # == != < <= > >= IN "NOT IN" HAS "NOT HAS" CONTAINS "NOT CONTAINS"
    op: str
    left: Expr
    right: Expr
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Between:
    value: Expr
    low: Expr
    high: Expr
    negated: bool = False
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]
    pos: Pos = field(default=NO_POS, compare=False, kw_only=True)


Expr: TypeAlias = Literal | ListExpr | Path | SkillRef | Call | Compare | Between | Not | And | Or
VALUE_NODES = (Literal, ListExpr, Path, SkillRef, Call)

_PLAIN_SEGMENT = re.compile(r"\w+(?:-\w+)*")
_PLAIN_NAME = re.compile(r"\w+(?:-\w+)*(?:\.\w+(?:-\w+)*)*")


_QUOTE_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def quote(text: str) -> str:
    """A double-quoted string literal that the lexer reads back as `text`."""
    out = []
    for ch in text:
        if ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _literal(value: bool | int | float | str | None) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return quote(value)
    return repr(value)


def _value(node: Expr) -> str:
    if isinstance(node, VALUE_NODES):
        return to_source(node)
    return f"({to_source(node)})"


def _operand(node: Expr, parent: type[And] | type[Or]) -> str:
    # An OR inside an AND needs parentheses; an AND inside an OR does not. A nested group of
    # the same kind keeps its parentheses so that printing and parsing give back the same tree.
    if isinstance(node, Or) or (isinstance(node, And) and parent is And):
        return f"({to_source(node)})"
    return to_source(node)


def to_source(node: Expr) -> str:
    """Canonical text for a tree; parsing it gives back an equal tree."""
    if isinstance(node, Literal):
        return _literal(node.value)
    if isinstance(node, ListExpr):
        return "[" + ", ".join(_value(item) for item in node.items) + "]"
    if isinstance(node, Path):
        out = node.root
        for seg in node.segments:
            if isinstance(seg.key, int):
                out += f"[{seg.key}]"
            elif seg.dotted and _PLAIN_SEGMENT.fullmatch(seg.key):
                out += "." + seg.key
            else:
                out += f"[{quote(seg.key)}]"
        return out
    if isinstance(node, SkillRef):
        if _PLAIN_NAME.fullmatch(node.name):
            return "skills." + node.name
        return f"skills[{quote(node.name)}]"
    if isinstance(node, Call):
        return node.name + "(" + ", ".join(_value(arg) for arg in node.args) + ")"
    if isinstance(node, Compare):
        return f"{_value(node.left)} {node.op} {_value(node.right)}"
    if isinstance(node, Between):
        op = "NOT BETWEEN" if node.negated else "BETWEEN"
        return f"{_value(node.value)} {op} {_value(node.low)} AND {_value(node.high)}"
    if isinstance(node, Not):
        inner = node.operand
        if isinstance(inner, (And, Or)):
            return f"NOT ({to_source(inner)})"
        return f"NOT {to_source(inner)}"
    if isinstance(node, And):
        return " AND ".join(_operand(op, And) for op in node.operands)
    return " OR ".join(_operand(op, Or) for op in node.operands)
