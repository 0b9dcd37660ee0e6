"""The public interface the routing engine uses: compile_rule, Rule, EvaluationContext,
RuleSyntaxError, and the static facts (skills, clock, contact/agent use)."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

import omnidesk.core.routing.rules as rules
from omnidesk.core.routing.rules import EvaluationContext, Rule, RuleSyntaxError, compile_rule

NOW = datetime(2024, 3, 4, 10, tzinfo=UTC)


def test_the_documented_example() -> None:
    rule: Rule = compile_rule("skills.lang.de >= 4 AND contact.priority > 2")
    assert rule.source == "skills.lang.de >= 4 AND contact.priority > 2"
    assert rule.referenced_skills == frozenset({"lang.de"})
    agent = {"skills": {"lang.de": 4}}
    assert rule.matches(EvaluationContext(contact={"priority": 3}, agent=agent, now=NOW))
    assert not rule.matches(EvaluationContext(contact={"priority": 2}, agent=agent, now=NOW))
    assert not rule.matches(EvaluationContext(contact={}, agent={}, now=NOW))


def test_exports() -> None:
    assert set(rules.__all__) >= {"compile_rule", "Rule", "RuleSyntaxError", "EvaluationContext"}


def test_syntax_error_shape() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule("contact.a ==\n  == 1")
    err = caught.value
    assert isinstance(err, ValueError)
    assert (err.message, err.line, err.column) == ("expected a value, found '=='", 2, 3)
    assert err.args == (err.message, 2, 3)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.message, clone.line, clone.column, clone.source) == (
        err.message, 2, 3, err.source,
    )  # fmt: skip
    assert repr(err) == "RuleSyntaxError(\"expected a value, found '=='\", line=2, column=3)"


def test_compile_rule_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        compile_rule(None)  # type: ignore[arg-type]


def test_rules_are_values() -> None:
    a, b = compile_rule("contact.a == 1"), compile_rule("contact.a == 1")
    assert a == b and hash(a) == hash(b)
    assert a != compile_rule("contact.a == 2")
    assert repr(a) == "Rule('contact.a == 1')"
    clone = pickle.loads(pickle.dumps(a))
    assert clone == a and clone.matches(EvaluationContext({"a": 1}, {}, NOW))


def test_the_context_is_a_frozen_dataclass() -> None:
    ctx = EvaluationContext({"a": 1}, {"b": 2}, NOW)
    assert dataclasses.is_dataclass(ctx)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.now = NOW  # type: ignore[misc]
    moved = dataclasses.replace(ctx, agent={"b": 3})
    assert moved.agent == {"b": 3} and moved.contact == {"a": 1} and moved.now == NOW
    assert ctx == EvaluationContext({"a": 1}, {"b": 2}, NOW)
    with pytest.raises(ValueError):
        EvaluationContext({}, {}, datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        EvaluationContext({}, {}, None)  # type: ignore[arg-type]


SKILL_FACTS = [
    ("skills.lang.de >= 4", {"lang.de"}, {"lang.de"}),
    ("skill.lang.de > 0", {"lang.de"}, {"lang.de"}),
    ('skill("lang.de") == 2', {"lang.de"}, {"lang.de"}),
    ('skills["a b"] >= 1', {"a b"}, {"a b"}),
    ("4 <= skills.x", {"x"}, {"x"}),
    ("skills.x != 0", {"x"}, {"x"}),
    ("skills.x >= 0", {"x"}, set()),
    ("skills.x < 3", {"x"}, set()),
    ("skills.x == 0", {"x"}, set()),
    ("skills.x IN [1, 2]", {"x"}, {"x"}),
    ("skills.x IN [0, 1]", {"x"}, set()),
    ("skills.x NOT IN [0]", {"x"}, {"x"}),
    ("skills.x BETWEEN 1 AND 5", {"x"}, {"x"}),
    ("skills.x BETWEEN 0 AND 5", {"x"}, set()),
    ("skills.x NOT BETWEEN 0 AND 2", {"x"}, {"x"}),
    ('agent.skills HAS "x"', {"x"}, {"x"}),
    ('agent.skills NOT HAS "x"', {"x"}, set()),
    ('"x" IN agent.skills', {"x"}, {"x"}),
    ("agent.skills.lang.de >= 2", {"lang.de"}, set()),
    ('agent.skills["lang.de"] >= 2', {"lang.de"}, set()),
    ("skills.a >= 1 AND skills.b >= 1", {"a", "b"}, {"a", "b"}),
    ("skills.a >= 1 OR skills.b >= 1", {"a", "b"}, set()),
    ("skills.a >= 1 AND (skills.b >= 1 OR skills.a >= 3)", {"a", "b"}, {"a"}),
    ("(skills.a >= 1 AND skills.b >= 1) OR (skills.a >= 2 AND skills.c >= 1)",
     {"a", "b", "c"}, {"a"}),
    ("NOT skills.a >= 1", {"a"}, set()),
    ("NOT NOT skills.a >= 1", {"a"}, set()),  # sound, not complete
    ("skill(contact.needed) >= 3", set(), set()),
    ('contact.language == "de"', set(), set()),
]  # fmt: skip


@pytest.mark.parametrize(("source", "referenced", "required"), SKILL_FACTS)
def test_skill_facts(source: str, referenced: set[str], required: set[str]) -> None:
    rule = compile_rule(source)
    assert rule.referenced_skills == referenced
    assert rule.required_skills == required


@pytest.mark.parametrize(
    ("source", "clock", "contact", "agent"),
    [
        ("true", False, False, False),
        ("contact.a == 1", False, True, False),
        ("skills.x >= 1", False, False, True),
        ('skill("x") >= 1', False, False, True),
        ("agent.team == contact.team", False, True, True),
        ('local_time("UTC") > "08:00"', True, False, False),
        ('weekday("UTC") == "mon"', True, False, False),
        ('local_date("UTC") == "2024-01-01"', True, False, False),
        ("within_working_hours(agent)", True, False, True),
    ],
)
def test_dependency_facts(source: str, clock: bool, contact: bool, agent: bool) -> None:
    rule = compile_rule(source)
    assert (rule.uses_clock, rule.uses_contact, rule.uses_agent) == (clock, contact, agent)


def test_compiled_rules_are_cached_and_shared() -> None:
    assert compile_rule("contact.cached == 1") is compile_rule("contact.cached == 1")


def test_one_rule_many_agents() -> None:
    rule = compile_rule(
        'contact.channel IN ["chat", "email"] AND skills.lang.de >= 3 AND agent.team != "trainees"'
    )
    contact = {"channel": "chat"}
    pool: dict[str, dict[str, object]] = {
        "ana": {"team": "core", "skills": {"lang.de": 5}},
        "ben": {"team": "trainees", "skills": {"lang.de": 5}},
        "cem": {"team": "core", "skills": {"lang.de": 2}},
        "dora": {"skills": {"lang.de": 3}},  # no team: != is false for a missing value
    }
    eligible = sorted(
        n for n, a in pool.items() if rule.matches(EvaluationContext(contact, a, NOW))
    )
    assert eligible == ["ana"]
