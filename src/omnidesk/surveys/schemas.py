"""API shapes of surveys (schema names prefixed `Survey`: unique across the app)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from omnidesk.platform.fields import Id, Name
from omnidesk.platform.schemas import Input

# `resolved`: "was it resolved?", answered no (0) or yes (1): survey-based FCR.
QuestionKind = Literal["csat", "nps", "ces", "resolved", "text"]
SurveyChannel = Literal["chat", "email", "messaging", "voice"]
QuestionId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
# The scale of each scored kind (inclusive); text has none.
SCALES: dict[str, tuple[int, int]] = {
    "csat": (1, 5),
    "nps": (0, 10),
    "ces": (1, 7),
    "resolved": (0, 1),
}


class SurveyQuestionIn(Input):
    id: QuestionId
    kind: QuestionKind
    text: Annotated[str, Field(min_length=1, max_length=500)]
    required: StrictBool = False


class SurveyIn(Input):
    name: Name
    enabled: StrictBool = True
    channels: Annotated[list[SurveyChannel], Field(min_length=1, max_length=4)]
    queue_ids: Annotated[list[Id], Field(max_length=100)] = Field(
        default_factory=list, description="The queues it is for; empty: every queue."
    )
    questions: Annotated[list[SurveyQuestionIn], Field(min_length=1, max_length=20)]
    intro: Annotated[str | None, Field(max_length=1000)] = Field(
        default=None, description="The invitation's words; none: built-in, translated."
    )
    expires_after_days: Annotated[int, Field(ge=1, le=365)] = 7


class SurveyQuestionOut(BaseModel):
    id: str
    kind: QuestionKind
    text: str
    required: bool


class SurveyOut(BaseModel):
    id: uuid.UUID
    name: str
    enabled: bool
    channels: list[str]
    queue_ids: list[str]
    questions: list[SurveyQuestionOut]
    intro: str | None
    expires_after_days: int
    created_at: datetime
    updated_at: datetime


class SurveyResponseIn(Input):
    answers: Annotated[dict[str, StrictInt | StrictStr], Field(max_length=20)] = Field(
        description="Question id → a score (csat 1-5, nps 0-10, ces 1-7, resolved 0 = no or "
        "1 = yes) or text."
    )


class SurveyResponseOut(BaseModel):
    answered: bool
    answers: int


class SurveyFormQuestion(BaseModel):
    id: str
    kind: QuestionKind
    text: str
    required: bool
    min: int | None
    max: int | None


class SurveyFormOut(BaseModel):
    """What a customer's client needs to show the survey itself (the widget)."""

    survey: str
    intro: str | None
    language: str
    questions: list[SurveyFormQuestion]
    expires_at: datetime | None


class SurveyCsat(BaseModel):
    answers: int
    satisfied: int = Field(description="answers of 4 or 5")
    score: float = Field(description="satisfied / answers x 100; 0 without answers")


class SurveyNps(BaseModel):
    answers: int
    promoters: int = Field(description="answers of 9 or 10")
    passives: int
    detractors: int = Field(description="answers of 0 to 6")
    score: float = Field(description="% promoters - % detractors; 0 without answers")


class SurveyCes(BaseModel):
    answers: int
    mean: float = Field(description="mean of 1-7 answers; 0 without answers")


class SurveyFcr(BaseModel):
    answers: int
    resolved: int = Field(description="answers of yes (1) to a `resolved` question")
    score: float = Field(description="resolved / answers x 100; 0 without answers")


class SurveyText(BaseModel):
    send_id: uuid.UUID
    question_id: str
    text: str
    answered_at: datetime
    agent_id: str | None
    queue_id: str | None
    channel: str


class SurveyResultsRow(BaseModel):
    key: str | None = Field(description="the agent, queue or channel of this row")
    sent: int
    not_sent: int
    answered: int
    csat: SurveyCsat
    nps: SurveyNps
    ces: SurveyCes
    fcr: SurveyFcr = Field(description="survey-based first-contact resolution")


class SurveyResultsOut(BaseModel):
    start: datetime
    end: datetime
    total: SurveyResultsRow
    group_by: Literal["agent", "queue", "channel"] | None
    rows: list[SurveyResultsRow]
    not_sent_reasons: dict[str, int]
    texts: list[SurveyText]


class SurveySendOut(BaseModel):
    id: uuid.UUID
    survey_id: uuid.UUID | None
    contact_id: str
    channel: str
    queue_id: str | None
    agent_id: str | None
    customer_id: uuid.UUID | None
    status: str
    reason: str | None
    detail: str | None
    ended_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None
