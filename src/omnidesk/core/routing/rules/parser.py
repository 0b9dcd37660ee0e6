"""Recursive-descent parser: tokens to a syntax tree.

Grammar (keywords are case-insensitive; `#` starts a comment that runs to the end of the line):

    rule       = or_expr EOF
    or_expr    = and_expr { OR and_expr }
    and_expr   = not_expr { AND not_expr }
    not_expr   = NOT not_expr | predicate
    predicate  = value [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) value
                       | [ NOT ] ( IN | HAS | CONTAINS ) value
                       | [ NOT ] BETWEEN value AND value ]
    value      = NUMBER | STRING | TRUE | FALSE | NULL | list | path | skill | call
               | "(" or_expr ")"
    list       = "[" [ value { "," value } [ "," ] ] "]"
    path       = ( "contact" | "agent" ) { "." SEGMENT | "[" ( STRING | INTEGER ) "]" }
    skill      = ( "skills" | "skill" ) ( "." SEGMENT { "." SEGMENT } | "[" STRING "]" )
    call       = NAME "(" [ value { "," value } ] ")"

So NOT binds looser than a comparison (`NOT a == b` is `NOT (a == b)`, as in SQL) and tighter
than AND, and AND binds tighter than OR. Comparisons do not chain (`a < b < c` is an error).
"""

from __future__ import annotations

import difflib

from omnidesk.core.routing.rules.errors import RuleSyntaxError
from omnidesk.core.routing.rules.lexer import T, Token, tokenize
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
    Pos,
    Segment,
    SkillRef,
)

MAX_DEPTH = 64
MAX_PATH_SEGMENTS = 32
PATH_ROOTS = ("contact", "agent")
SKILL_ROOTS = ("skills", "skill")
_MEMBERSHIP = ("IN", "HAS", "CONTAINS")
_LITERAL_KEYWORDS: dict[str, bool | None] = {"TRUE": True, "FALSE": False, "NULL": None}
_VALUE_START = (T.NUMBER, T.STRING, T.NAME, T.LBRACKET, T.LPAREN)
_OPERATORS_HINT = "==, !=, <, <=, >, >=, IN, HAS, CONTAINS or BETWEEN"


def pos(tok: Token) -> Pos:
    return Pos(tok.line, tok.column)


class Parser:
    def __init__(self, source: str, function_names: frozenset[str] = frozenset()) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0
        self.function_names = function_names
        self.last_was_bare_value = False

    # -- helpers ---------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def kind(self) -> T:
        return self.tokens[self.i].kind

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is not T.EOF:
            self.i += 1
        return tok

    def at_keyword(self, *words: str, tok: Token | None = None) -> bool:
        tok = self.tok if tok is None else tok
        return tok.kind is T.KEYWORD and tok.value in words

    def error(self, message: str, tok: Token | None = None) -> RuleSyntaxError:
        tok = self.tok if tok is None else tok
        return RuleSyntaxError(message, tok.line, tok.column, self.source)

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"the rule nests too deeply (more than {MAX_DEPTH} levels of parentheses, "
                "NOT, lists or function calls)",
                tok,
            )

    def leave(self) -> None:
        self.depth -= 1

    def unexpected_after_expression(self, expected: str) -> RuleSyntaxError:
        tok = self.tok
        if self.last_was_bare_value and (
            tok.kind in _VALUE_START or self.at_keyword("TRUE", "FALSE", "NULL")
        ):
            return self.error(f"expected an operator ({_OPERATORS_HINT}) before {tok.describe()}")
        if tok.kind is T.SEGMENT:
            return self.error(f"unexpected {tok.describe()}: only contact and agent have fields")
        if tok.kind in _VALUE_START:
            return self.error(f"expected AND or OR before {tok.describe()}")
        return self.error(f"expected {expected}, found {tok.describe()}")

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Expr:
        if self.kind() is T.EOF:
            raise self.error("the rule is empty")
        expr = self.or_expr()
        if self.kind() is T.RPAREN:
            raise self.error("unmatched ')'")
        if self.kind() is not T.EOF:
            raise self.unexpected_after_expression("AND, OR or the end of the rule")
        return expr

    def or_expr(self) -> Expr:
        first = self.and_expr()
        if not self.at_keyword("OR"):
            return first
        operands = [first]
        at = pos(self.tok)
        while self.at_keyword("OR"):
            self.advance()
            operands.append(self.and_expr())
        return Or(tuple(operands), pos=at)

    def and_expr(self) -> Expr:
        first = self.not_expr()
        if not self.at_keyword("AND"):
            return first
        operands = [first]
        at = pos(self.tok)
        while self.at_keyword("AND"):
            self.advance()
            operands.append(self.not_expr())
        return And(tuple(operands), pos=at)

    def not_expr(self) -> Expr:
        if not self.at_keyword("NOT"):
            return self.predicate()
        tok = self.advance()
        self.enter(tok)
        operand = self.not_expr()
        self.leave()
        return Not(operand, pos=pos(tok))

    def predicate(self) -> Expr:
        left = self.value()
        tok = self.tok
        node: Expr
        if tok.kind is T.OP or self.at_keyword(*_MEMBERSHIP):
            self.advance()
            node = Compare(str(tok.value), left, self.value(), pos=pos(tok))
        elif self.at_keyword("BETWEEN"):
            node = self.between(left, tok, negated=False)
        elif self.at_keyword("NOT"):
            after = self.peek()
            if self.at_keyword("BETWEEN", tok=after):
                self.advance()
                node = self.between(left, tok, negated=True)
            elif self.at_keyword(*_MEMBERSHIP, tok=after):
                self.advance()
                self.advance()
                node = Compare(f"NOT {after.value}", left, self.value(), pos=pos(tok))
            else:
                raise self.error("expected IN, HAS, CONTAINS or BETWEEN after NOT", after)
        else:
            self.last_was_bare_value = True
            return left
        self.last_was_bare_value = False
        if self.kind() is T.OP or self.at_keyword(*_MEMBERSHIP, "BETWEEN"):
            raise self.error("comparisons cannot be chained; join them with AND")
        return node

    def between(self, left: Expr, at: Token, negated: bool) -> Between:
        self.advance()  # BETWEEN
        low = self.value()
        if not self.at_keyword("AND"):
            raise self.error(
                f"expected AND after the lower bound of BETWEEN, found {self.tok.describe()}"
            )
        self.advance()
        high = self.value()
        return Between(left, low, high, negated, pos=pos(at))

    def value(self) -> Expr:
        tok = self.tok
        if tok.kind is T.NUMBER or tok.kind is T.STRING:
            self.advance()
            assert isinstance(tok.value, (int, float, str))
            return Literal(tok.value, pos=pos(tok))
        if self.at_keyword(*_LITERAL_KEYWORDS):
            self.advance()
            return Literal(_LITERAL_KEYWORDS[str(tok.value)], pos=pos(tok))
        if tok.kind is T.LBRACKET:
            return self.list_expr()
        if tok.kind is T.LPAREN:
            self.advance()
            self.enter(tok)
            inner = self.or_expr()
            if self.kind() is not T.RPAREN:
                raise self.unexpected_after_expression(
                    f"')' to close the '(' at line {tok.line}, column {tok.column}"
                )
            self.advance()
            self.leave()
            self.last_was_bare_value = False
            return inner
        if tok.kind is T.NAME:
            return self.name_expr()
        if tok.kind is T.EOF:
            raise self.error("unexpected end of the rule; expected a value")
        if tok.kind is T.RPAREN and self.tokens[self.i - 1].kind is T.LPAREN:
            raise self.error("empty parentheses")
        raise self.error(f"expected a value, found {tok.describe()}")

    def list_expr(self) -> ListExpr:
        open_tok = self.advance()
        self.enter(open_tok)
        items: list[Expr] = []
        while self.kind() is not T.RBRACKET:
            items.append(self.value())
            if self.kind() is T.COMMA:
                self.advance()
            elif self.kind() is not T.RBRACKET:
                raise self.error(
                    f"expected ',' or ']' in the list opened at line {open_tok.line}, "
                    f"column {open_tok.column}, found {self.tok.describe()}"
                )
        self.advance()
        self.leave()
        return ListExpr(tuple(items), pos=pos(open_tok))

    def name_expr(self) -> Expr:
        tok = self.advance()
        name = str(tok.value)
        if self.kind() is T.LPAREN:
            return self.call(tok)
        if name in PATH_ROOTS:
            return Path(name, self.segments(tok), pos=pos(tok))
        if name in SKILL_ROOTS:
            return self.skill(tok)
        lowered = name.lower()
        if lowered in self.function_names:
            hint = [f"{lowered}(...)"]
        else:
            choices = [*PATH_ROOTS, *SKILL_ROOTS, *sorted(self.function_names)]
            hint = difflib.get_close_matches(lowered, choices, n=1, cutoff=0.6)
            hint = [f"{h}(...)" if h in self.function_names else h for h in hint]
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise self.error(
            f"unknown name '{name}'{suggestion}; a value is contact.…, agent.…, skills.…, "
            "a function call, a literal or a list",
            tok,
        )

    def segments(self, root: Token) -> tuple[Segment, ...]:
        segs: list[Segment] = []
        end = root.end
        while True:
            tok = self.tok
            if tok.kind is T.SEGMENT and tok.offset != end:
                raise self.error("a path cannot contain spaces", tok)
            if tok.offset != end:
                break
            if tok.kind is T.SEGMENT:
                self.advance()
                segs.append(Segment(str(tok.value), True))
                end = tok.end
            elif tok.kind is T.LBRACKET:
                self.advance()
                key = self.tok
                if key.kind is T.STRING:
                    segs.append(Segment(str(key.value), False))
                elif key.kind is T.NUMBER and isinstance(key.value, int):
                    segs.append(Segment(key.value, False))
                else:
                    raise self.error("expected a quoted key or an integer index inside [ ]", key)
                self.advance()
                if self.kind() is not T.RBRACKET:
                    raise self.error(f"expected ']', found {self.tok.describe()}")
                end = self.advance().end
            else:
                break
            if len(segs) > MAX_PATH_SEGMENTS:
                raise self.error(f"a path can have at most {MAX_PATH_SEGMENTS} parts", tok)
        return tuple(segs)

    def skill(self, root: Token) -> SkillRef:
        name = str(root.value)
        usage = f'write {name}.NAME or skill("NAME") to test a skill level'
        segs = self.segments(root)
        if not segs:
            raise self.error(usage, root)
        if all(seg.dotted for seg in segs):
            return SkillRef(".".join(str(seg.key) for seg in segs), pos=pos(root))
        if len(segs) == 1 and isinstance(segs[0].key, str):
            if not segs[0].key:
                raise self.error("a skill name cannot be empty", root)
            return SkillRef(segs[0].key, pos=pos(root))
        raise self.error(usage, root)

    def call(self, name_tok: Token) -> Call:
        open_tok = self.advance()
        self.enter(open_tok)
        args: list[Expr] = []
        if self.kind() is not T.RPAREN:
            while True:
                args.append(self.value())
                if self.kind() is T.COMMA:
                    self.advance()
                    continue
                if self.kind() is T.RPAREN:
                    break
                raise self.error(
                    f"expected ',' or ')' in the call of {name_tok.value}(), "
                    f"found {self.tok.describe()}"
                )
        self.advance()
        self.leave()
        self.last_was_bare_value = False
        return Call(str(name_tok.value), tuple(args), pos=pos(name_tok))


def parse(source: str, function_names: frozenset[str] = frozenset()) -> Expr:
    """Parse a rule into its syntax tree; raises RuleSyntaxError with line and column."""
    return Parser(source, function_names).parse()
