"""The score of an evaluation (docs/kpis.md, "Quality score"): pure, no I/O.

score = 100 * sum(weight * fraction) / sum(weight), over the criteria not answered "na" (a
points criterion's fraction is points / max points, a yes/no one's 1 for yes and 0 for no),
rounded to 2 decimals once, at the end (fractions are exact until then; halves to even). An
auto-fail criterion answered "no" makes the score 0 whatever the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from omnidesk.platform.errors import Invalid

NA = "na"


@dataclass(frozen=True)
class Score:
    percent: float
    auto_failed: bool


def check_answers(criteria: Sequence[Mapping[str, Any]], given: Mapping[str, Any]) -> None:
    """Every criterion answered once, each answer fitting its criterion (Invalid naming
    `answers.<criterion id>`)."""
    known = {c["id"] for c in criteria}
    for key in given:
        if key not in known:
            raise Invalid(f"the scorecard has no criterion {key!r}", field=f"answers.{key}")
    for criterion in criteria:
        field = f"answers.{criterion['id']}"
        value = given.get(criterion["id"])
        if value is None:
            raise Invalid('every criterion needs an answer (or "na")', field=field)
        if value == NA:
            continue
        if criterion["kind"] == "yes_no":
            if value not in ("yes", "no"):
                raise Invalid('a yes/no criterion is answered "yes", "no" or "na"', field=field)
            continue
        high = criterion["max_points"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise Invalid(f'points from 0 to {high}, or "na"', field=field)


def score(criteria: Sequence[Mapping[str, Any]], given: Mapping[str, Any]) -> Score:
    """The score of checked answers; Invalid when nothing is left to score (all "na")."""
    earned = Fraction(0)
    possible = 0
    failed = False
    for criterion in criteria:
        value = given[criterion["id"]]
        if value == NA:
            continue
        weight = int(criterion["weight"])
        if criterion["kind"] == "yes_no":
            part = Fraction(1 if value == "yes" else 0)
            failed = failed or (bool(criterion.get("auto_fail")) and value == "no")
        else:
            part = Fraction(int(value), int(criterion["max_points"]))
        earned += weight * part
        possible += weight
    if failed:
        return Score(0.0, True)
    if possible == 0:
        raise Invalid('nothing to score: every weighted criterion is "na"', field="answers")
    return Score(float(round(earned * 100 / possible, 2)), False)
