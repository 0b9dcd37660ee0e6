"""Property tests: logical laws, totality of evaluation, robustness of the parser, the
printer/parser round trip, and soundness of the static skill analysis."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omnidesk.core.routing.rules import EvaluationContext, RuleSyntaxError, compile_rule
from omnidesk.core.routing.rules.errors import split_lines
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
    Segment,
    SkillRef,
    to_source,
)
from omnidesk.core.routing.rules.parser import parse

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- values and contexts ----------------------------------------------------------------------

KEYS = ["a", "b", "c", "tags", "lang.de"]
SKILLS = ["billing", "lang.de", "lang.en", "x"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True, places=2),
    st.sampled_from(["", "a", "b", "de", "08:00", "mon", "Europe/Berlin", "Nope/Zone"]),
    st.text(max_size=5),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=8,
)
mappings = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5)
skill_maps = st.one_of(
    st.dictionaries(st.sampled_from(SKILLS), st.one_of(st.integers(0, 5), json_values)),
    st.lists(st.sampled_from(SKILLS), max_size=3),
    json_values,
)
hours = st.dictionaries(
    st.sampled_from(["mon", "tue", "sat", "sunday"]),
    st.one_of(
        st.tuples(
            st.sampled_from(["00:00", "08:00", "22:00"]),
            st.sampled_from(["06:00", "17:00", "24:00"]),
        ).map(list),
        json_values,
    ),
)


@st.composite
def agents(draw: st.DrawFn) -> dict[str, Any]:
    agent = draw(mappings)
    agent["skills"] = draw(skill_maps)
    if draw(st.booleans()):
        agent["timezone"] = draw(st.sampled_from(["Europe/Berlin", "Asia/Tokyo", "bad", None]))
        agent["working_hours"] = draw(hours)
    return agent


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
contexts = st.builds(EvaluationContext, mappings, agents(), instants)

# -- rule trees -------------------------------------------------------------------------------

paths = st.builds(
    Path,
    st.sampled_from(["contact", "agent"]),
    st.lists(
        st.one_of(
            st.sampled_from(KEYS).map(lambda k: Segment(k, "." not in k)),
            st.integers(-2, 2).map(lambda i: Segment(i, False)),
        ),
        min_size=1,
        max_size=3,
    ).map(tuple),
)
skill_refs = st.sampled_from(SKILLS).map(SkillRef)
literal_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 6),
    st.floats(-10, 10, allow_nan=False).map(lambda f: round(f, 2)),
    st.sampled_from(["", "a", "de", "lang.de", "08:00", 'q"uote\\']),
)
literals = literal_values.map(Literal)
list_literals = st.lists(literals, max_size=4).map(lambda xs: ListExpr(tuple(xs)))
values = st.one_of(paths, literals, list_literals)
number_literals = st.integers(-2, 6).map(Literal)


EQUALITY_OPS = st.sampled_from(["==", "!="])
ORDER_OPS = st.sampled_from(["<", "<=", ">", ">="])
orderable_literals = st.one_of(
    number_literals, st.sampled_from(["", "a", "de", "08:00"]).map(Literal)
)


def comparisons() -> st.SearchStrategy[Expr]:
    """Comparisons that compile: the shapes the compiler rejects statically are left out."""
    membership = st.sampled_from(["HAS", "NOT HAS", "CONTAINS", "NOT CONTAINS"])
    return st.one_of(
        st.builds(Compare, EQUALITY_OPS, paths, st.one_of(paths, literals, list_literals)),
        st.builds(Compare, ORDER_OPS, paths, st.one_of(paths, orderable_literals)),
        st.builds(Compare, st.one_of(EQUALITY_OPS, ORDER_OPS), skill_refs, number_literals),
        st.builds(
            Compare,
            st.sampled_from(["IN", "NOT IN"]),
            st.one_of(paths, skill_refs, literals),
            st.one_of(paths, list_literals),
        ),
        st.builds(Compare, membership, paths, values),
        st.builds(
            Compare,
            st.sampled_from(["HAS", "NOT HAS"]),
            st.just(Path("agent", (Segment("skills", True),))),
            st.sampled_from(SKILLS).map(Literal),
        ),
        st.builds(Between, paths, number_literals, number_literals, st.booleans()),
        st.builds(Between, skill_refs, number_literals, number_literals, st.booleans()),
        paths,
        st.booleans().map(Literal),
        st.just(Call("within_working_hours", (Path("agent", ()),))),
        st.builds(
            Between,
            st.just(Call("local_time", (Path("agent", (Segment("timezone", True),)),))),
            st.sampled_from(["08:00", "22:00"]).map(Literal),
            st.sampled_from(["06:00", "18:00"]).map(Literal),
            st.booleans(),
        ),
        st.builds(
            Compare,
            st.sampled_from(["IN", "NOT IN"]),
            st.just(Call("weekday", (Literal("Europe/Berlin"),))),
            st.lists(st.sampled_from(["mon", "sat", "sun"]).map(Literal), max_size=3).map(
                lambda xs: ListExpr(tuple(xs))
            ),
        ),
    )


rules: st.SearchStrategy[Expr] = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=8,
)


def matches(tree: Expr | str, ctx: EvaluationContext) -> bool:
    source = tree if isinstance(tree, str) else to_source(tree)
    result = compile_rule(source).matches(ctx)
    assert type(result) is bool
    return result


# -- properties -------------------------------------------------------------------------------


@SETTINGS
@given(rules, contexts)
def test_evaluation_is_total(tree: Expr, ctx: EvaluationContext) -> None:
    matches(tree, ctx)


@SETTINGS
@given(rules, contexts)
def test_double_negation(tree: Expr, ctx: EvaluationContext) -> None:
    assert matches(Not(Not(tree)), ctx) == matches(tree, ctx)


@SETTINGS
@given(rules, rules, contexts)
def test_de_morgan(a: Expr, b: Expr, ctx: EvaluationContext) -> None:
    assert matches(Not(And((a, b))), ctx) == matches(Or((Not(a), Not(b))), ctx)
    assert matches(Not(Or((a, b))), ctx) == matches(And((Not(a), Not(b))), ctx)


@SETTINGS
@given(rules, rules, contexts)
def test_connectives_are_compositional(a: Expr, b: Expr, ctx: EvaluationContext) -> None:
    ra, rb = matches(a, ctx), matches(b, ctx)
    assert matches(And((a, b)), ctx) == (ra and rb)
    assert matches(Or((a, b)), ctx) == (ra or rb)
    assert matches(Not(a), ctx) == (not ra)


@SETTINGS
@given(
    paths,
    st.one_of(
        st.tuples(EQUALITY_OPS, st.one_of(literals, paths)),
        st.tuples(ORDER_OPS, st.one_of(orderable_literals, paths)),
    ),
    contexts,
)
def test_fast_paths_agree_with_the_general_route(
    path: Path, op_other: tuple[str, Expr], ctx: EvaluationContext
) -> None:
    op, other = op_other
    # coalesce(x, null) is x, but it is a function call, so it never takes a fused fast path.
    slow = Call("coalesce", (path, Literal(None)))
    assert matches(Compare(op, path, other), ctx) == matches(Compare(op, slow, other), ctx)


@SETTINGS
@given(
    st.sampled_from(SKILLS),
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    st.integers(-1, 6),
    contexts,
)
def test_skill_fast_path_agrees(name: str, op: str, level: int, ctx: EvaluationContext) -> None:
    fast = Compare(op, SkillRef(name), Literal(level))
    slow = Compare(
        op, Call("skill", (Call("coalesce", (Literal(name), Literal(None))),)), Literal(level)
    )
    assert matches(fast, ctx) == matches(slow, ctx)


@SETTINGS
@given(paths, st.one_of(literals, paths, list_literals), contexts)
def test_equality_and_inequality_exclude_each_other(
    path: Path, other: Expr, ctx: EvaluationContext
) -> None:
    eq = matches(Compare("==", path, other), ctx)
    ne = matches(Compare("!=", path, other), ctx)
    assert not (eq and ne)


@SETTINGS
@given(
    st.one_of(
        st.tuples(st.just("IN"), st.one_of(paths, list_literals)),
        st.tuples(st.sampled_from(["HAS", "CONTAINS"]), values),
    ),
    paths,
    contexts,
)
def test_negated_membership_implies_not_member(
    op_other: tuple[str, Expr], path: Path, ctx: EvaluationContext
) -> None:
    op, other = op_other
    if matches(Compare(f"NOT {op}", path, other), ctx):
        assert not matches(Compare(op, path, other), ctx)


@SETTINGS
@given(rules)
def test_print_parse_round_trip(tree: Expr) -> None:
    source = to_source(tree)
    parsed = parse(source)
    assert to_source(parsed) == source
    assert parsed == tree


@SETTINGS
@given(rules, agents(), instants)
def test_required_skills_are_sound(tree: Expr, agent: dict[str, Any], now: datetime) -> None:
    rule = compile_rule(to_source(tree))
    assert rule.required_skills <= rule.referenced_skills
    if rule.matches(EvaluationContext({}, agent, now)):
        skills = agent["skills"]
        for name in rule.required_skills:
            if isinstance(skills, dict):
                assert skills.get(name) is not None
            else:
                assert isinstance(skills, (list, tuple)) and name in skills


TOKENS = [
    "contact", "agent", "skills", "skill", ".a", ".lang", ".de", "[0]", '["k"]', "==", "!=",
    "<", "<=", ">", ">=", "AND", "OR", "NOT", "IN", "HAS", "CONTAINS", "BETWEEN", "true",
    "null", "1", "-2.5", '"x"', "'y'", "[", "]", "(", ")", ",", "local_time", '("UTC")',
    "within_working_hours", "lower", "weekday", '"08:00"', '"mon"', "\n", "#c\n", "=", "!",
    '"', "\\", ".", "é", "\t",
]  # fmt: skip


def _check_error(source: str, err: RuleSyntaxError) -> None:
    lines = split_lines(source)
    assert 1 <= err.line <= len(lines)
    assert 1 <= err.column <= len(lines[err.line - 1]) + 1
    assert err.message
    assert err.pointer().endswith("^")


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_token_soup_only_raises_rule_syntax_error(source: str) -> None:
    try:
        rule = compile_rule(source)
    except RuleSyntaxError as err:
        _check_error(source, err)
    else:
        now = datetime(2024, 3, 4, 10, tzinfo=UTC)
        assert isinstance(rule.matches(EvaluationContext({"a": 1}, {"a": [1]}, now)), bool)


@SETTINGS
@given(st.text(alphabet=string.printable + "éß😀\u2028\x00²٣", max_size=80))
def test_junk_only_raises_rule_syntax_error(source: str) -> None:
    try:
        compile_rule(source)
    except RuleSyntaxError as err:
        _check_error(source, err)


@SETTINGS
@given(rules, st.integers(0, 200), st.sampled_from(["", " ", "(", ")", "'", "AND", "[", "x"]))
def test_damaged_rules_only_raise_rule_syntax_error(tree: Expr, cut: int, junk: str) -> None:
    source = to_source(tree)
    damaged = source[:cut] + junk + source[cut + 1 :]
    assume(damaged != source)
    try:
        compile_rule(damaged)
    except RuleSyntaxError as err:
        _check_error(damaged, err)


@SETTINGS
@given(rules, contexts, st.integers(1, 3600))
def test_rules_without_clock_ignore_now(tree: Expr, ctx: EvaluationContext, seconds: int) -> None:
    rule = compile_rule(to_source(tree))
    later = EvaluationContext(ctx.contact, ctx.agent, ctx.now + timedelta(seconds=seconds))
    if not rule.uses_clock:
        assert rule.matches(ctx) == rule.matches(later)


def test_decimal_and_float_strategies_hit_odd_numbers() -> None:
    # A fixed sample of the awkward numbers, so they are exercised on every run.
    now = datetime(2024, 3, 4, 10, tzinfo=UTC)
    odd = [Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), float("nan"), -0.0, 10**30]
    for value in odd:
        ctx = EvaluationContext({"a": value, "b": [value]}, {"skills": {"x": value}}, now)
        for source in [
            "contact.a > 1",
            "contact.a IN [1, 2.5]",
            "contact.b HAS 1",
            "contact.a BETWEEN 0 AND 2",
            "skills.x >= 1",
            "contact.a == contact.a",
        ]:
            assert type(matches(source, ctx)) is bool
