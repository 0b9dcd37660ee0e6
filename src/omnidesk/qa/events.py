"""Events of quality. Payloads carry ids and the score, never the evaluator's comment.

Audience: the graded agent and the supervisors of their teams (routing's agent audience);
scorecard changes: admins only."""

from __future__ import annotations

import uuid
from datetime import datetime

from omnidesk.platform.events import DomainEvent, event_type


@event_type("quality.evaluation_created", subject="quality_evaluation")
class EvaluationCreated(DomainEvent):
    evaluation_id: uuid.UUID
    scorecard_id: uuid.UUID
    scorecard_version: int
    contact_id: str
    agent_id: str
    score: float
    auto_failed: bool
    contact_ended_at: datetime

    def subject_id(self) -> str:
        return str(self.evaluation_id)


@event_type("quality.evaluation_acknowledged", subject="quality_evaluation")
class EvaluationAcknowledged(DomainEvent):
    evaluation_id: uuid.UUID
    agent_id: str

    def subject_id(self) -> str:
        return str(self.evaluation_id)


@event_type("quality.scorecard_changed", subject="quality_scorecard")
class ScorecardChanged(DomainEvent):
    scorecard_id: uuid.UUID
    version: int
    change: str  # created | updated | deleted

    def subject_id(self) -> str:
        return str(self.scorecard_id)
