"""Events of surveys. Payloads carry ids, channels, reasons and scores' counts, never the
customer's free text or address: the append-only log keeps nothing personal to erase.

Audience: the agent who handled the contact sees their own survey's events; admins see all.
"""

from __future__ import annotations

import uuid

from omnidesk.platform.events import DomainEvent, event_type


class _SendEvent(DomainEvent):
    send_id: uuid.UUID
    contact_id: str
    channel: str
    queue_id: str | None
    agent_id: str | None

    def subject_id(self) -> str:
        return str(self.send_id)


@event_type("survey.sent", subject="survey_send")
class SurveySent(_SendEvent):
    survey_id: uuid.UUID


@event_type("survey.not_sent", subject="survey_send")
class SurveyNotSent(_SendEvent):
    """`reason`: no_survey, opted_out, customer_erased, no_address, window_closed,
    send_failed (docs/surveys.md)."""

    survey_id: uuid.UUID | None
    reason: str


@event_type("survey.answered", subject="survey_send")
class SurveyAnswered(_SendEvent):
    survey_id: uuid.UUID | None
    # "kind:question id" → score (e.g. "csat:overall": 4): what a KPI rollup needs; never
    # the text.
    scores: dict[str, int]


@event_type("survey.definition_changed", subject="survey")
class SurveyDefinitionChanged(DomainEvent):
    survey_id: uuid.UUID
    change: str  # created | updated | deleted

    def subject_id(self) -> str:
        return str(self.survey_id)
