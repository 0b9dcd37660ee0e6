"""Parsing: tokens, precedence, the canonical printer, syntax errors with line and column,
and the length and nesting limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnidesk.core.routing.rules import (
    MAX_DEPTH,
    MAX_RULE_LENGTH,
    EvaluationContext,
    RuleSyntaxError,
    compile_rule,
)
from omnidesk.core.routing.rules.lexer import T, tokenize
from omnidesk.core.routing.rules.nodes import (
    And,
    Between,
    Call,
    Compare,
    ListExpr,
    Literal,
    Not,
    Or,
    Path,
    Segment,
    SkillRef,
    to_source,
)
from omnidesk.core.routing.rules.parser import parse


def p(name: str, *keys: str | int) -> Path:
    return Path(name, tuple(Segment(k, isinstance(k, str)) for k in keys))


A, B, C, D = (p("contact", k) for k in "abcd")


def test_tokens_and_positions() -> None:
    toks = tokenize('skills.lang.de >= 4\n  AND contact.name == "x\\"y"')
    kinds = [t.kind for t in toks]
    assert kinds == [
        T.NAME, T.SEGMENT, T.SEGMENT, T.OP, T.NUMBER,
        T.KEYWORD, T.NAME, T.SEGMENT, T.OP, T.STRING, T.EOF,
    ]  # fmt: skip
    assert [(t.line, t.column) for t in toks][4:7] == [(1, 19), (2, 3), (2, 7)]
    assert toks[9].value == 'x"y'
    assert toks[5].value == "AND"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("-7", -7),
        ("2.5", 2.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("1.5E-2", 0.015),
        ("'it\\'s'", "it's"),
        ('"a\\\\b"', "a\\b"),
        ('"tab\\there"', "tab\there"),
        ('"\\n\\r\\0"', "\n\r\0"),
        ('"caf\\u00e9"', "café"),
        ("'\"'", '"'),
        ('"\'"', "'"),
        ('"Grüße 😀"', "Grüße 😀"),
    ],
)
def test_literal_tokens(text: str, value: object) -> None:
    tok = tokenize(text)[0]
    assert tok.value == value and type(tok.value) is type(value)


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("contact.a", A),
        ("contact.a.b", p("contact", "a", "b")),
        (
            'contact["a b"][0].c',
            Path("contact", (Segment("a b", False), Segment(0, False), Segment("c", True))),
        ),
        ("agent", Path("agent", ())),
        ("skills.lang.de >= 4", Compare(">=", SkillRef("lang.de"), Literal(4))),
        ("skill.lang.de >= 4", Compare(">=", SkillRef("lang.de"), Literal(4))),
        ('skills["lang.de"] >= 4', Compare(">=", SkillRef("lang.de"), Literal(4))),
        ("skills.follow-the-sun == 1", Compare("==", SkillRef("follow-the-sun"), Literal(1))),
        ('skill("x") > 1', Compare(">", Call("skill", (Literal("x"),)), Literal(1))),
        (
            "contact.a IN [1, 'x', null, true]",
            Compare("IN", A, ListExpr((Literal(1), Literal("x"), Literal(None), Literal(True)))),
        ),
        ("contact.a IN [1, 2,]", Compare("IN", A, ListExpr((Literal(1), Literal(2))))),
        ("contact.a IN []", Compare("IN", A, ListExpr(()))),
        ("contact.a not in [1]", Compare("NOT IN", A, ListExpr((Literal(1),)))),
        ('contact.a NOT HAS "x"', Compare("NOT HAS", A, Literal("x"))),
        ('contact.a NOT CONTAINS "x"', Compare("NOT CONTAINS", A, Literal("x"))),
        ("contact.a BETWEEN 1 AND 2", Between(A, Literal(1), Literal(2))),
        ("contact.a NOT BETWEEN 1 AND 2", Between(A, Literal(1), Literal(2), True)),
        ("within_working_hours(agent)", Call("within_working_hours", (Path("agent", ()),))),
        ("f()", Call("f", ())),
        ("# a comment\ncontact.a # another\n", A),
    ],
)
def test_parse_shapes(source: str, tree: object) -> None:
    assert parse(source) == tree


PRECEDENCE = [
    ("contact.a OR contact.b AND contact.c", Or((A, And((B, C))))),
    ("contact.a AND contact.b OR contact.c AND contact.d", Or((And((A, B)), And((C, D))))),
    ("NOT contact.a AND contact.b", And((Not(A), B))),
    ("NOT contact.a OR contact.b", Or((Not(A), B))),
    ("NOT contact.a == 1", Not(Compare("==", A, Literal(1)))),
    ("NOT NOT contact.a", Not(Not(A))),
    ("contact.a AND NOT contact.b", And((A, Not(B)))),
    ("(contact.a OR contact.b) AND contact.c", And((Or((A, B)), C))),
    ("contact.a AND (contact.b AND contact.c)", And((A, And((B, C))))),
    ("contact.a AND contact.b AND contact.c", And((A, B, C))),
    ("contact.a BETWEEN 1 AND 2 AND contact.b", And((Between(A, Literal(1), Literal(2)), B))),
    ("NOT contact.a IN [1] OR contact.b", Or((Not(Compare("IN", A, ListExpr((Literal(1),)))), B))),
    ("(contact.a > 1) == true", Compare("==", Compare(">", A, Literal(1)), Literal(True))),
    ("contact.a or contact.b and not contact.c", Or((A, And((B, Not(C)))))),
]


@pytest.mark.parametrize(("source", "tree"), PRECEDENCE)
def test_precedence(source: str, tree: object) -> None:
    parsed = parse(source)
    assert parsed == tree
    assert parse(to_source(parsed)) == parsed


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("contact.a or (contact.b AND contact.c)", "contact.a OR contact.b AND contact.c"),
        ("(contact.a OR contact.b) and contact.c", "(contact.a OR contact.b) AND contact.c"),
        ("not (contact.a and contact.b)", "NOT (contact.a AND contact.b)"),
        ("contact.a OR (contact.b OR contact.c)", "contact.a OR (contact.b OR contact.c)"),
        ("skills['lang.de']>=4", "skills.lang.de >= 4"),
        ('skills["a b"] >= 4', 'skills["a b"] >= 4'),
        ("contact['x'] == 'it\\'s'", 'contact["x"] == "it\'s"'),
        ('contact.a == "line\\nbreak\\u0001"', 'contact.a == "line\\nbreak\\u0001"'),
        ("contact.a IN [1,2.5,'x']", 'contact.a IN [1, 2.5, "x"]'),
        ("contact.tags[0] == 1", "contact.tags[0] == 1"),
        ("  contact.a  # note\n", "contact.a"),
    ],
)
def test_canonical_printing(source: str, canonical: str) -> None:
    assert compile_rule(source).canonical == canonical
    assert parse(canonical) == parse(source)


SYNTAX_ERRORS = [
    ("", "the rule is empty", 1, 1),
    ("   \n  ", "the rule is empty", 2, 3),
    ("# only a comment", "the rule is empty", 1, 17),
    ("contact.x ==", "unexpected end of the rule; expected a value", 1, 13),
    ("contact.x == 'abc", "unterminated string", 1, 14),
    ('contact.x == "abc\ndef"', "unterminated string", 1, 14),
    ('contact.x == "a\\qb"', "unknown escape '\\q'", 1, 16),
    ('contact.x == "\\u12"', "four hex digits", 1, 15),
    ('contact.x == "\\ud800"', "surrogate", 1, 15),
    ("contact.x = 1", "use '==' to test equality", 1, 11),
    ("contact.x <> 1", "use '!='", 1, 11),
    ("contact.x == 1 && contact.y == 2", "use AND", 1, 16),
    ("contact.x == 1 || contact.y == 2", "use OR", 1, 16),
    ("!contact.x", "use NOT", 1, 1),
    ("contact.x == 1 AND", "unexpected end of the rule", 1, 19),
    ("(contact.x == 1", "expected ')' to close the '(' at line 1, column 1", 1, 16),
    ("contact.x == 1)", "unmatched ')'", 1, 15),
    ("()", "empty parentheses", 1, 2),
    ("contact.x == 1 contact.y == 2", "expected AND or OR before 'contact'", 1, 16),
    ('contact.x "de"', "expected an operator", 1, 11),
    ("contact.x NOT 1", "expected IN, HAS, CONTAINS or BETWEEN after NOT", 1, 15),
    ("contact.x BETWEEN 1 OR 2", "expected AND after the lower bound of BETWEEN", 1, 21),
    ("contact.x == 1.2.3", "malformed number", 1, 14),
    ("contact.x == 4abc", "malformed number", 1, 14),
    ("contact.x == 1.", "malformed number", 1, 14),
    ("contact.x IN [1, 2", "expected ',' or ']' in the list opened at line 1, column 14", 1, 19),
    ("contact.x IN [1 2]", "expected ',' or ']'", 1, 17),
    ("contact.x IN [,]", "expected a value, found ','", 1, 15),
    ("contact..x == 1", "a '.' must be followed by a name", 1, 8),
    ("contact. x == 1", "a '.' must be followed by a name", 1, 8),
    ("contact .x == 1", "a path cannot contain spaces", 1, 9),
    ("contact.x @ 1", "unexpected character '@'", 1, 11),
    ("contact.x == 1 ;", "unexpected character ';'", 1, 16),
    ("skills == 1", "write skills.NAME", 1, 1),
    ("skills[1] == 1", "write skills.NAME", 1, 1),
    ('skills[""] == 1', "a skill name cannot be empty", 1, 1),
    ("skills.a[0] == 1", "write skills.NAME", 1, 1),
    ("contact.tags[x] == 1", "expected a quoted key or an integer index", 1, 14),
    ("contact.tags[1.5] == 1", "expected a quoted key or an integer index", 1, 14),
    ("contact.tags[1 == 1", "expected ']'", 1, 16),
    ("contct.x == 1", "unknown name 'contct' (did you mean 'contact'?)", 1, 1),
    ("Contact.x == 1", "did you mean 'contact'?", 1, 1),
    ("local_time == 1", "did you mean 'local_time(...)'?", 1, 1),
    ("priority > 2", "unknown name 'priority'", 1, 1),
    ("contact.a < contact.b < 3", "comparisons cannot be chained", 1, 23),
    ("contact.a == 1 IN [1]", "comparisons cannot be chained", 1, 16),
    ("contact.x == AND", "expected a value, found 'AND'", 1, 14),
    ("AND contact.x", "expected a value, found 'AND'", 1, 1),
    ("contact.x IN [1] NOT", "expected AND, OR or the end of the rule, found 'NOT'", 1, 18),
    ("lower(contact.x contact.y) == 'a'", "expected ',' or ')' in the call of lower()", 1, 17),
    ("contact.x == 1e999", "number out of range", 1, 14),
    ("contact.x == " + "9" * 5000, "number too long", 1, 14),
    ('"x".y == 1', "only contact and agent have fields", 1, 4),
    ("contact.x == 1\r\nAND ?", "unexpected character '?'", 2, 5),
    ("contact.x == 1\rAND ?", "unexpected character '?'", 2, 5),
    ("\tcontact.x ?", "unexpected character '?'", 1, 12),
    ("contact.x == \x01", "unexpected character '\\x01'", 1, 14),
    (
        'contact.language == "de"\nAND (skills.x >= 2\n     OR skills.y >= )',
        "expected a value, found ')'",
        3,
        21,
    ),
    (
        "contact.priority > 2 AND\n  (weekday('Europe/Berlin') IN ['mon', 'tue']\n"
        "   OR contact.vip == true\n  AND",
        "unexpected end of the rule",
        4,
        6,
    ),
]


@pytest.mark.parametrize(("source", "message", "line", "column"), SYNTAX_ERRORS)
def test_syntax_errors(source: str, message: str, line: int, column: int) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(source)
    err = caught.value
    assert message in err.message, err.message
    assert (err.line, err.column) == (line, column), str(err)
    assert err.source == source


def test_pointer_shows_the_line_and_a_caret() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule('contact.language == "de"\nAND (skills.x >= 2\n     OR skills.y >= )')
    err = caught.value
    assert err.pointer() == "     OR skills.y >= )\n                    ^"
    assert str(err) == "expected a value, found ')' (line 3, column 21)"
    assert err.as_dict() == {
        "message": "expected a value, found ')'",
        "line": 3,
        "column": 21,
        "pointer": err.pointer(),
    }


def test_pointer_keeps_tabs_and_points_past_the_end() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule("\tcontact.x ?")
    assert caught.value.pointer() == "\tcontact.x ?\n\t          ^"
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule("contact.x ==")
    assert caught.value.pointer() == "contact.x ==\n            ^"
    assert RuleSyntaxError("m", 1, 1).pointer() == ""


def test_rule_length_limit() -> None:
    longest = "true" + " " * (MAX_RULE_LENGTH - 4)
    assert compile_rule(longest).matches(
        EvaluationContext({}, {}, datetime(2024, 1, 1, tzinfo=UTC))
    )
    source = ("true OR\n" * (MAX_RULE_LENGTH // 8 + 1)) + "true"
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(source)
    err = caught.value
    assert "too long" in err.message and f"at most {MAX_RULE_LENGTH}" in err.message
    assert (err.line, err.column) == (MAX_RULE_LENGTH // 8 + 1, 1)


def test_nesting_limit() -> None:
    compile_rule("NOT " * MAX_DEPTH + "true")
    compile_rule("(" * MAX_DEPTH + "true" + ")" * MAX_DEPTH)
    compile_rule("contact.a IN " + "[" * MAX_DEPTH + "]" * MAX_DEPTH)
    for source, column in [
        ("NOT " * (MAX_DEPTH + 1) + "true", 4 * MAX_DEPTH + 1),
        ("(" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1),
        ("contact.a IN " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), 14 + MAX_DEPTH),
        ("lower(" * (MAX_DEPTH + 1) + "contact.a" + ")" * (MAX_DEPTH + 1) + " == 'a'", None),
    ]:
        with pytest.raises(RuleSyntaxError) as caught:
            compile_rule(source)
        assert "nests too deeply" in caught.value.message
        if column is not None:
            assert caught.value.column == column


def test_long_flat_rules_do_not_recurse() -> None:
    clauses = " OR ".join(f"contact.a == {i}" for i in range(400))
    rule = compile_rule(clauses)
    assert len(rule.source) < MAX_RULE_LENGTH
    assert isinstance(rule.tree, Or) and len(rule.tree.operands) == 400
