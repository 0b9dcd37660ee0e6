"""API shapes of quality (schema names prefixed `Quality`: unique across the app)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from omnidesk.platform.fields import Name
from omnidesk.platform.schemas import Input

CriterionId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
CriterionKind = Literal["points", "yes_no"]
Answer = StrictInt | StrictStr


class QualityCriterion(Input):
    id: CriterionId
    text: Annotated[str, Field(min_length=1, max_length=500)]
    kind: CriterionKind = Field(
        description='points: answered 0 to max_points; yes_no: answered "yes" or "no". Either '
        'may be answered "na" (left out of the score).'
    )
    weight: Annotated[int, Field(ge=0, le=100)] = Field(
        default=1, description="The criterion's share of the score, relative to the others."
    )
    max_points: Annotated[int | None, Field(ge=1, le=100)] = Field(
        default=None, description="Points criteria only (and required there)."
    )
    auto_fail: StrictBool = Field(
        default=False,
        description='yes_no criteria only: answered "no", the whole evaluation scores 0.',
    )


class QualityScorecardIn(Input):
    name: Name
    description: Annotated[str | None, Field(max_length=2000)] = None
    enabled: StrictBool = Field(default=True, description="Disabled: no new evaluations.")
    criteria: Annotated[list[QualityCriterion], Field(min_length=1, max_length=50)]
    version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="On PUT: the version the change was made on (stale: 409)."
    )


class QualityScorecardOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    enabled: bool
    criteria: list[QualityCriterion]
    version: int
    created_at: datetime
    updated_at: datetime


class QualityEvaluationIn(Input):
    scorecard_id: uuid.UUID
    contact_id: Annotated[str, Field(min_length=1, max_length=128)]
    agent_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The agent graded: one who handled the contact."
    )
    answers: Annotated[dict[str, Answer], Field(max_length=50)] = Field(
        description='Criterion id → points (points criteria), "yes" or "no" (yes_no), or "na".'
    )
    comment: Annotated[str | None, Field(max_length=5000)] = None


class QualityEvaluationOut(BaseModel):
    id: uuid.UUID
    scorecard_id: uuid.UUID | None
    scorecard_name: str
    scorecard_version: int
    criteria: list[QualityCriterion] = Field(description="The criteria as they were graded.")
    contact_id: str
    channel: str
    queue_id: str | None
    agent_id: str
    evaluator_id: uuid.UUID
    answers: dict[str, Answer]
    comment: str | None
    score: float = Field(description="Percent (0-100), weighted; n/a criteria left out.")
    auto_failed: bool
    contact_ended_at: datetime
    created_at: datetime
    acknowledged_at: datetime | None
