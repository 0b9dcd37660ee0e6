"""The routing rule language: parse once, compile to closures, evaluate without raising.

    rule = compile_rule('skills.lang.de >= 4 AND contact.priority > 2')
    rule.matches(EvaluationContext(contact=..., agent=..., now=...))

See docs/routing-rules.md for the language.
"""

from omnidesk.core.routing.rules.context import EvaluationContext
from omnidesk.core.routing.rules.errors import RuleSyntaxError
from omnidesk.core.routing.rules.lexer import MAX_RULE_LENGTH
from omnidesk.core.routing.rules.parser import MAX_DEPTH
from omnidesk.core.routing.rules.rule import Rule, compile_rule
from omnidesk.core.routing.rules.values import TimeOfDay

__all__ = [
    "MAX_DEPTH",
    "MAX_RULE_LENGTH",
    "EvaluationContext",
    "Rule",
    "RuleSyntaxError",
    "TimeOfDay",
    "compile_rule",
]
