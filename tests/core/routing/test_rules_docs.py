"""Every ```rule block in docs/routing-rules.md compiles and evaluates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnidesk.core.routing.rules import EvaluationContext, compile_rule

DOC = Path(__file__).resolve().parents[3] / "docs" / "routing-rules.md"
BLOCKS = re.findall(r"```rule\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_document_has_examples() -> None:
    assert len(BLOCKS) >= 25


@pytest.mark.parametrize("source", BLOCKS)
def test_documented_rule_compiles(source: str) -> None:
    rule = compile_rule(source)
    ctx = EvaluationContext({}, {}, datetime(2024, 3, 4, 10, tzinfo=UTC))
    assert isinstance(rule.matches(ctx), bool)
