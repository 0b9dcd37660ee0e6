"""Evaluation semantics of the routing rule language: every operator, null/missing values,
type mismatches, paths, skills and the non-time functions. Table-driven, no mocks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from omnidesk.core.routing.rules import EvaluationContext, RuleSyntaxError, compile_rule

NOW = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)

CONTACT: dict[str, Any] = {
    "priority": 3,
    "language": "de",
    "channel": "chat",
    "score": 2.5,
    "amount": Decimal("10.50"),
    "vip": True,
    "flag": False,
    "needed": "billing",
    "tags": ["vip", "billing", 3],
    "name": "Anna Müller",
    "email": "Anna@Example.com",
    "attributes": {
        "tier": "gold",
        "lang.de": "yes",
        "nested": {"x": 1},
        "order id": 42,
        "empty": None,
    },
}
AGENT: dict[str, Any] = {
    "team": "core",
    "languages": ["de", "en"],
    "skills": {
        "lang.de": 4,
        "lang.en": 2,
        "billing": 3,
        "follow-the-sun": 1,
        "zero": 0,
        "bool": True,
        "text": "high",
        "half": 2.5,
        "dec": Decimal("3"),
    },
}


def ev(source: str, contact: dict[str, Any] | None = None, agent: Any = None) -> bool:
    ctx = EvaluationContext(
        CONTACT if contact is None else contact, AGENT if agent is None else agent, NOW
    )
    return compile_rule(source).matches(ctx)


EQUALITY = [
    ("contact.priority == 3", True),
    ("contact.priority == 3.0", True),
    ('contact.priority == "3"', False),
    ('contact.language == "de"', True),
    ('contact.language == "DE"', False),
    ("contact.language == 'de'", True),
    ("contact.vip == true", True),
    ("contact.vip == TRUE", True),
    ("contact.vip == 1", False),
    ("contact.flag == false", True),
    ("contact.flag == 0", False),
    ("contact.missing == null", True),
    ("contact.attributes.empty == null", True),
    ("contact.language == null", False),
    ('contact.tags == ["vip", "billing", 3]', True),
    ('contact.tags == ["vip", "billing", "3"]', False),
    ("contact.amount == 10.5", True),
    ("contact.score == 2.5", True),
    ("contact.missing == contact.also_missing", True),
    ("contact.priority == contact.score", False),
    ("3 == contact.priority", True),
    ("contact.attributes.nested == contact.attributes.nested", True),
]

INEQUALITY = [
    ("contact.priority != 4", True),
    ("contact.priority != 3", False),
    ('contact.priority != "x"', False),  # a type mismatch is false for != too
    ('contact.missing != "de"', False),  # null compares with nothing but null
    ("contact.missing != null", False),
    ("contact.language != null", True),
    ("contact.vip != false", True),
    ("contact.vip != true", False),
    ("contact.priority != true", False),
    ('contact.language != "en"', True),
    ('contact.tags != ["x"]', True),
    ("contact.priority != contact.score", True),
    ("contact.priority != contact.language", False),
]

ORDERING = [
    ("contact.priority > 2", True),
    ("contact.priority >= 3", True),
    ("contact.priority < 3", False),
    ("contact.priority <= 3", True),
    ("contact.priority > 3", False),
    ("contact.score < 3", True),
    ("contact.score > 2.49", True),
    ("contact.amount > 10", True),
    ("contact.amount < 10.51", True),
    ('contact.language < "en"', True),
    ('contact.language >= "de"', True),
    ("contact.language > 5", False),
    ("contact.missing > 0", False),
    ("contact.missing < 0", False),
    ("contact.missing <= 0", False),
    ("contact.vip > 0", False),  # booleans are not numbers
    ("contact.tags > 1", False),
    ("contact.attributes > 1", False),
    ("2 < contact.priority", True),
    ("4 <= contact.priority", False),
    ("contact.priority > contact.score", True),
    ("contact.language >= contact.priority", False),
    ("contact.priority > -1", True),
    ("contact.priority>-1", True),
    ("contact.priority < 1e3", True),
]

MEMBERSHIP = [
    ('contact.language IN ["de", "fr"]', True),
    ('contact.language IN ["fr"]', False),
    ("contact.language IN []", False),
    ("contact.priority IN [1, 2, 3]", True),
    ("contact.priority IN [1.0, 3.0]", True),
    ('contact.priority IN ["3"]', False),
    ("contact.vip IN [1]", False),
    ("contact.vip IN [true]", True),
    ("contact.flag IN [0, null]", False),
    ('contact.missing IN ["de"]', False),
    ("contact.missing IN [null]", True),
    ("contact.language IN agent.languages", True),
    ("contact.channel IN agent.languages", False),
    ("contact.language IN contact.language", False),
    ('contact.tags IN [["vip", "billing", 3]]', True),
    ("contact.priority IN [contact.score, 3]", True),
    ('contact.language NOT IN ["fr"]', True),
    ('contact.language NOT IN ["de"]', False),
    ('contact.missing NOT IN ["de"]', False),
    ('NOT contact.missing IN ["de"]', True),
    ("contact.language NOT IN contact.language", False),
    ("contact.priority not in [1, 2]", True),
    ('contact.tags HAS "vip"', True),
    ('contact.tags HAS "gold"', False),
    ("contact.tags HAS 3", True),
    ("contact.tags HAS 3.0", True),
    ('contact.tags HAS "3"', False),
    ('agent.skills HAS "lang.de"', True),
    ('agent.skills HAS "nope"', False),
    ('agent.skills HAS "zero"', True),
    ('contact.language HAS "d"', False),
    ('contact.missing HAS "x"', False),
    ('contact.attributes HAS "empty"', False),
    ('contact.attributes HAS "order id"', True),
    ("contact.attributes HAS 1", False),
    ('contact.tags NOT HAS "gold"', True),
    ('contact.tags NOT HAS "vip"', False),
    ('contact.missing NOT HAS "x"', False),
    ('agent.skills NOT HAS "cooking"', True),
    ('contact.name CONTAINS "Müller"', True),
    ('contact.name CONTAINS "müller"', False),
    ('lower(contact.name) CONTAINS "müller"', True),
    ('contact.tags CONTAINS "billing"', True),
    ('contact.tags CONTAINS "bill"', False),
    ("contact.priority CONTAINS 3", False),
    ('contact.name CONTAINS ""', True),
    ('contact.name NOT CONTAINS "Bob"', True),
    ('contact.name NOT CONTAINS "Anna"', False),
    ('contact.missing NOT CONTAINS "Bob"', False),
    ("contact.name CONTAINS contact.missing", False),
    ("contact.name CONTAINS 3", False),
    ("contact.email contains contact.language", False),
    ('contact.name Contains "Anna"', True),
]

BETWEEN = [
    ("contact.priority BETWEEN 1 AND 3", True),
    ("contact.priority BETWEEN 3 AND 3", True),
    ("contact.priority BETWEEN 4 AND 5", False),
    ("contact.priority BETWEEN 3 AND 1", False),
    ("contact.score BETWEEN 2 AND 3", True),
    ("contact.amount BETWEEN 10 AND 11", True),
    ('contact.language BETWEEN "a" AND "e"', True),
    ('contact.priority BETWEEN "a" AND "z"', False),
    ("contact.missing BETWEEN 1 AND 3", False),
    ("contact.missing NOT BETWEEN 1 AND 3", False),
    ("contact.priority NOT BETWEEN 4 AND 5", True),
    ("contact.priority NOT BETWEEN 1 AND 5", False),
    ("contact.score BETWEEN contact.priority AND 5", False),
    ("contact.priority BETWEEN contact.score AND contact.missing", False),
    ("contact.priority between 1 and 3 and contact.vip", True),
    ("skills.billing BETWEEN 2 AND 4", True),
]

LOGIC = [
    ("true", True),
    ("false", False),
    ("true AND false", False),
    ("true OR false", True),
    ("NOT false", True),
    ("not true or true", True),
    ("NOT true AND false", False),
    ("NOT (true AND false)", True),
    ("true OR true AND false", True),  # AND binds tighter than OR
    ("(true OR true) AND false", False),
    ("false AND false OR true", True),
    ("false AND (false OR true)", False),
    ('NOT contact.language == "fr"', True),  # NOT applies to the whole comparison
    ("NOT NOT contact.vip", True),
    ('contact.language in ["de"] and NOT contact.vip == false', True),
    ("true and true and true and true", True),
    ("false or false or false or true", True),
    ("true and true and false and true", False),
    ("(contact.priority > 2) == true", True),
    ("(contact.priority > 5) == contact.flag", True),
    ("contact.vip", True),
    ("contact.flag", False),
    ("contact.priority", False),  # a value used as a condition must be exactly true
    ("contact.missing", False),
    ("NOT contact.missing", True),
    ("NOT contact.priority > 5", True),
    ("NOT contact.missing > 5", True),  # two-valued: the comparison is false, NOT makes it true
]

PATHS = [
    ('contact.attributes.tier == "gold"', True),
    ('contact.attributes.lang.de == "yes"', True),  # falls back to the key "lang.de"
    ('contact.attributes["lang.de"] == "yes"', True),
    ("contact.attributes['order id'] == 42", True),
    ('contact["attributes"]["tier"] == "gold"', True),
    ('contact.tags[0] == "vip"', True),
    ("contact.tags[-1] == 3", True),
    ("contact.tags[9] == null", True),
    ("contact.tags.0 == null", True),  # a list is indexed with [0], not .0
    ("contact.attributes.nested.x == 1", True),
    ("contact.attributes.nested.y == null", True),
    ("contact.language.x == null", True),  # a step into a string is missing
    ("contact.priority[0] == null", True),
    ("agent == null", False),
    ('agent.team == "core"', True),
    ("agent.skills.lang.de == 4", True),
    ("agent.skills.none == null", True),
    ("agent.skills.follow-the-sun == 1", True),
    ('contact.attributes.tier == "gold" AND contact.attributes.nested.x >= 1', True),
]

SKILLS = [
    ("skills.lang.de >= 4", True),
    ("skills.lang.de > 4", False),
    ("skill.lang.de == 4", True),
    ('skills["lang.de"] == 4', True),
    ('skill("lang.de") == 4', True),
    ("skills.lang.en >= 4", False),
    ("skills.follow-the-sun == 1", True),
    ("skills.none == 0", True),  # a skill the agent lacks is level 0
    ("skills.none >= 1", False),
    ("skills.none < 3", True),
    ("skills.zero == 0", True),
    ("skills.bool == 1", True),  # true counts as level 1
    ("skills.text == 0", True),  # a level that is not a number counts as 0
    ("skills.half > 2", True),
    ("skills.dec == 3", True),
    ("skill(contact.needed) >= 3", True),
    ("skill(contact.missing) == 0", True),
    ("skills.lang.de >= 4 AND contact.priority > 2", True),
    ("skills.lang.de >= 3 OR skills.lang.en >= 4", True),
    ("skills.lang.de IN [4, 5]", True),
    ("skills.lang.de NOT IN [4, 5]", False),
    ("4 <= skills.lang.de", True),
]

FUNCTIONS = [
    ('lower(contact.email) == "anna@example.com"', True),
    ('upper(contact.language) == "DE"', True),
    ("lower(contact.priority) == null", True),
    ("len(contact.tags) == 3", True),
    ("len(contact.name) > 3", True),
    ("len(contact.attributes) == 5", True),
    ("len(contact.priority) == null", True),
    ("coalesce(contact.missing, contact.priority) == 3", True),
    ("coalesce(contact.missing, 5) > 4", True),
    ("coalesce(contact.missing, null) == null", True),
    ('coalesce(contact.missing, contact.language, "en") == "de"', True),
]


@pytest.mark.parametrize(
    ("source", "expected"),
    EQUALITY + INEQUALITY + ORDERING + MEMBERSHIP + BETWEEN + LOGIC + PATHS + SKILLS + FUNCTIONS,
)
def test_evaluation(source: str, expected: bool) -> None:
    assert ev(source) is expected


@pytest.mark.parametrize(
    ("skills", "source", "expected"),
    [
        (["billing", "lang.de"], "skills.billing == 1", True),
        (["billing"], "skills.lang.de == 0", True),
        (["billing"], 'agent.skills HAS "billing"', True),
        (None, "skills.billing == 0", True),
        ("billing", "skills.billing == 0", True),
        ({"billing": None}, 'agent.skills HAS "billing"', False),
        ({"billing": Decimal("sNaN")}, "skills.billing >= 0", False),
        ({"billing": float("nan")}, "skills.billing >= 0", False),
    ],
)
def test_skill_shapes(skills: object, source: str, expected: bool) -> None:
    assert ev(source, agent={"skills": skills}) is expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -1.5,
        "text",
        [],
        [None, [1, [2]]],
        {},
        {"k": {"k": {}}},
        Decimal("NaN"),
        Decimal("sNaN"),
        float("nan"),
        float("inf"),
        10**100,
        object(),
        b"bytes",
        frozenset({1, "a"}),
        (1, 2),
    ],
    ids=repr,
)
def test_odd_values_never_raise(value: object) -> None:
    contact = {"x": value, "attributes": {"x": value}, "tags": [value, value]}
    agent = {"skills": {"s": value}, "timezone": value, "working_hours": value, "x": value}
    rules = [
        "contact.x == 1",
        "contact.x != 1",
        'contact.x == "a"',
        "contact.x > 1",
        'contact.x <= "a"',
        "contact.x == contact.attributes.x",
        "contact.x != contact.attributes.x",
        "contact.x < contact.attributes.x",
        "contact.x IN [1, 'a', null, true, [1]]",
        "contact.x NOT IN [1, 2]",
        "contact.x IN contact.tags",
        "contact.tags HAS contact.x",
        "contact.x HAS 'a'",
        "contact.x CONTAINS 'a'",
        "contact.x NOT CONTAINS contact.x",
        "contact.x BETWEEN 1 AND 2",
        "contact.x NOT BETWEEN contact.x AND contact.x",
        "contact.x.y[0] == null",
        "skills.s >= 1",
        "skill(contact.x) >= 1",
        "within_working_hours(agent)",
        'local_time(agent.timezone) > "08:00"',
        "weekday(contact.x) == 'mon'",
        "len(contact.x) > 0 OR lower(contact.x) == 'a' OR coalesce(contact.x, 1) == 1",
        "contact.x",
    ]
    for source in rules:
        result = ev(source, contact=contact, agent=agent)
        assert isinstance(result, bool), source


def test_non_mapping_roots_never_raise() -> None:
    rule = compile_rule('contact.a.b == 1 OR skills.x > 0 OR agent.team == "a"')
    for root in (None, 1, "text", [1, 2], object()):
        assert rule.matches(EvaluationContext(root, root, NOW)) is False  # type: ignore[arg-type]


def test_cyclic_data_never_raises() -> None:
    loop: list[object] = []
    loop.append(loop)
    rule = compile_rule("contact.a == contact.b OR contact.a IN [[1]]")
    assert rule.matches(EvaluationContext({"a": loop, "b": loop}, {}, NOW)) is False


def test_enum_and_mapping_subclasses_behave_like_their_base() -> None:
    from collections import OrderedDict
    from enum import IntEnum, StrEnum

    class Channel(StrEnum):
        CHAT = "chat"

    class Level(IntEnum):
        HIGH = 4

    contact = OrderedDict(channel=Channel.CHAT, attributes=OrderedDict(level=Level.HIGH))
    agent = {"skills": OrderedDict({"lang.de": Level.HIGH})}
    assert ev('contact.channel == "chat"', contact=contact, agent=agent)
    assert ev('contact.channel IN ["chat"]', contact=contact, agent=agent)
    assert ev("contact.attributes.level >= 4", contact=contact, agent=agent)
    assert ev("skills.lang.de == 4", contact=contact, agent=agent)


STATIC_ERRORS = [
    ('skills.x == "high"', "is always false", 1, 10),
    ("skills.x", "a skill level is not a condition", 1, 1),
    ('"de"', "a string is not a condition", 1, 1),
    ("42", "a number is not a condition", 1, 1),
    ("null", "null is not a condition", 1, 1),
    ("[true]", "a list is not a condition", 1, 1),
    ('local_time("UTC")', "a time of day is not a condition", 1, 1),
    ("lower(contact.x) == 1", "comparing a string with a number is always false", 1, 18),
    ('1 == "1"', "is always false", 1, 3),
    ("contact.x > null", "null cannot be used with >", 1, 11),
    ("contact.x > true", "compares numbers, strings or times of day", 1, 11),
    ("contact.x > [1]", "compares numbers, strings or times of day", 1, 11),
    ('contact.x IN "abc"', "IN needs a list", 1, 11),
    ('"abc" HAS "a"', "HAS needs a list or mapping", 1, 7),
    ("5 CONTAINS 1", "CONTAINS needs a string or list", 1, 3),
    ("skills.x HAS 1", "HAS needs a list or mapping", 1, 10),
    ('contact.x BETWEEN 1 AND "z"', "always false", 1, 11),
    ("contact.x BETWEEN null AND 1", "null cannot be used with BETWEEN", 1, 11),
    ('weekday("UTC") == 1', "always false", 1, 16),
    ('weekday("UTC") == "funday"', "'funday' is not a weekday", 1, 19),
    ('weekday("UTC") IN ["mon", "Caturday"]', "'Caturday' is not a weekday", 1, 27),
    ('local_date("UTC") == "2024-13-01"', "not a date", 1, 22),
    ('local_date("UTC") == "24-1-1"', "not a date", 1, 22),
    ('local_time("UTC") > "8am"', "'8am' is not a time of day", 1, 21),
    ('local_time("UTC") BETWEEN "08:00" AND "25:00"', "'25:00' is not a time of day", 1, 39),
    ('local_time("UTC") < "24:01"', "not a time of day", 1, 21),
    ('local_time("UTC") < "12:60"', "not a time of day", 1, 21),
    ('local_time("UTC") > 8', "always false", 1, 19),
    ("foo(1)", "unknown function 'foo'", 1, 1),
    ('Lower(contact.x) == "a"', "did you mean lower()?", 1, 1),
    ('loca_time("UTC") > "08:00"', "did you mean local_time()?", 1, 1),
    ("local_time() > '08:00'", "takes exactly 1 argument, got 0", 1, 1),
    ("local_time('UTC', 'UTC') > '08:00'", "takes exactly 1 argument, got 2", 1, 1),
    ("coalesce(contact.x) == 1", "takes at least 2 arguments, got 1", 1, 1),
    ("skill(1) > 1", "skill() takes a skill name", 1, 7),
    ('skill("") > 1', "skill() takes a skill name", 1, 7),
    ('local_time("Mars/Olympus") > "08:00"', "unknown time zone 'Mars/Olympus'", 1, 12),
    ('local_time("Europe/Berln") > "08:00"', "did you mean 'Europe/Berlin'?", 1, 12),
    ('local_time("localtime") > "08:00"', "unknown time zone", 1, 12),
    ('local_time("../etc/passwd") > "08:00"', "unknown time zone", 1, 12),
    ("local_time(5) > '08:00'", "takes a time zone name", 1, 12),
    ('within_working_hours("x")', "within_working_hours() takes agent", 1, 22),
    ("within_working_hours()", "takes exactly 1 argument", 1, 1),
    ("contact.a == 1 AND\n  skills.x == 'a'", "always false", 2, 12),
]


@pytest.mark.parametrize(("source", "message", "line", "column"), STATIC_ERRORS)
def test_static_errors(source: str, message: str, line: int, column: int) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(source)
    err = caught.value
    assert message in err.message
    assert (err.line, err.column) == (line, column), err
    assert err.source == source


def test_constant_rules_fold() -> None:
    assert ev("1 == 1") and ev('"a" < "b"') and ev("[1, 2] HAS 2") and ev('"abc" CONTAINS "b"')
    assert not ev("1 > 2") and ev("2 BETWEEN 1 AND 3") and ev("null == null")
    assert ev("3 IN [1, 2, 3]") and not ev("3 NOT IN [1, 2, 3]")
