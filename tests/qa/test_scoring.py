"""The evaluation score (quality/scoring.py): weights, points, "na" left out of the
denominator, auto-fail, rounding, and the answers' checks."""

from __future__ import annotations

import pytest

from omnidesk.platform.errors import Invalid
from omnidesk.qa.scoring import check_answers, score

CARD = [
    {"id": "greeting", "kind": "yes_no", "weight": 1, "max_points": None, "auto_fail": False},
    {"id": "solution", "kind": "points", "weight": 3, "max_points": 5, "auto_fail": False},
    {"id": "tone", "kind": "points", "weight": 2, "max_points": 4, "auto_fail": False},
    {"id": "privacy", "kind": "yes_no", "weight": 0, "max_points": None, "auto_fail": True},
]


def _score(**answers: object) -> tuple[float, bool]:
    check_answers(CARD, answers)
    found = score(CARD, answers)
    return found.percent, found.auto_failed


def test_weights_points_and_na() -> None:
    # (1·1 + 3·4/5 + 2·3/4) / (1 + 3 + 2) = 4.9 / 6 = 81.666… → 81.67
    assert _score(greeting="yes", solution=4, tone=3, privacy="yes") == (81.67, False)
    # tone n/a: (0 + 3·5/5) / (1 + 3) = 75 %; the weight-0 gate adds nothing either way.
    assert _score(greeting="no", solution=5, tone="na", privacy="na") == (75.0, False)
    assert _score(greeting="yes", solution=5, tone=4, privacy="yes") == (100.0, False)
    assert _score(greeting="no", solution=0, tone=0, privacy="yes") == (0.0, False)


def test_an_auto_fail_no_scores_zero() -> None:
    assert _score(greeting="yes", solution=5, tone=4, privacy="no") == (0.0, True)


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"greeting": "yes", "solution": 6, "tone": 1, "privacy": "yes"}, "answers.solution"),
        ({"greeting": "yes", "solution": -1, "tone": 1, "privacy": "yes"}, "answers.solution"),
        ({"greeting": "maybe", "solution": 1, "tone": 1, "privacy": "yes"}, "answers.greeting"),
        ({"greeting": 1, "solution": 1, "tone": 1, "privacy": "yes"}, "answers.greeting"),
        ({"greeting": "yes", "solution": True, "tone": 1, "privacy": "yes"}, "answers.solution"),
        ({"greeting": "yes", "solution": 1, "privacy": "yes"}, "answers.tone"),
        ({"greeting": "yes", "solution": 1, "tone": 1, "privacy": "yes", "x": 1}, "answers.x"),
    ],
)
def test_bad_answers_name_their_criterion(answers: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_answers(CARD, answers)
    assert caught.value.extra["field"] == field


def test_nothing_weighted_left_is_refused() -> None:
    answers = {"greeting": "na", "solution": "na", "tone": "na", "privacy": "yes"}
    check_answers(CARD, answers)
    with pytest.raises(Invalid):
        score(CARD, answers)
