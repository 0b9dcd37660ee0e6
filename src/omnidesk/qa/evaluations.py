"""Evaluations: a supervisor grades one agent's work on one ended contact with a scorecard.

Who may do what (the caller's visible agents come from routing, `agents_visible_to`, asked by
the endpoint before its unit of work): admins grade and read every agent's; supervisors the
agents of the teams they supervise (another agent is 404, as in the reports); an agent reads
and acknowledges only their own. Nobody grades themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select

from omnidesk.crm.models import Interaction
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Forbidden, Invalid, NotFound
from omnidesk.platform.events import Audience
from omnidesk.platform.uow import UnitOfWork
from omnidesk.qa import scorecards, scoring
from omnidesk.qa.events import EvaluationAcknowledged, EvaluationCreated
from omnidesk.qa.models import Evaluation, Scorecard
from omnidesk.qa.schemas import QualityCriterion, QualityEvaluationIn, QualityEvaluationOut

# The agents a caller may see: None for every agent (an admin).
Visible = Collection[str] | None


class Graded(Conflict):
    code = "evaluation_exists"
    title = "Graded already"


def out(row: Evaluation) -> QualityEvaluationOut:
    return QualityEvaluationOut(
        id=row.id,
        scorecard_id=row.scorecard_id,
        scorecard_name=row.scorecard_name,
        scorecard_version=row.scorecard_version,
        criteria=[QualityCriterion.model_validate(c) for c in row.criteria],
        contact_id=row.contact_id,
        channel=row.channel,
        queue_id=row.queue_id,
        agent_id=row.agent_id,
        evaluator_id=row.evaluator_id,
        answers=dict(row.answers),
        comment=row.comment,
        score=row.score,
        auto_failed=row.auto_failed,
        contact_ended_at=row.contact_ended_at,
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
    )


def _may_see(by: Principal, agent_id: str, visible: Visible) -> bool:
    if agent_id == str(by.user_id):
        return True  # one's own, whatever one's role
    if by.role is Role.AGENT:
        return False
    return visible is None or agent_id in visible


async def _handled(uow: UnitOfWork, contact_id: str, agent_id: str) -> Interaction:
    """The contact's record, ended, with the agent among those who handled it."""
    record = await uow.session.scalar(
        select(Interaction).where(Interaction.contact_id == contact_id)
    )
    if record is None:
        raise NotFound("no such contact", field="contact_id")
    if agent_id not in record.agent_ids:
        raise Invalid("the contact was not handled by this agent", field="agent_id")
    if record.state != "ended" or record.ended_at is None:
        raise Invalid("the contact has not ended yet: grade it once it has", field="contact_id")
    return record


async def create(
    uow: UnitOfWork,
    by: Principal,
    data: QualityEvaluationIn,
    *,
    visible: Visible,
    audience: Audience,
) -> Evaluation:
    scorecards.require_grader(by)
    if data.agent_id == str(by.user_id):
        raise Forbidden("nobody grades their own contacts")
    if not _may_see(by, data.agent_id, visible):
        raise NotFound("no such agent", field="agent_id")
    card = await uow.session.get(Scorecard, data.scorecard_id)
    if card is None:
        raise NotFound("no such scorecard", field="scorecard_id")
    if not card.enabled:
        raise Invalid("this scorecard is disabled", field="scorecard_id")
    record = await _handled(uow, data.contact_id, data.agent_id)
    scoring.check_answers(card.criteria, data.answers)
    result = scoring.score(card.criteria, data.answers)
    earlier = await uow.session.scalar(
        select(Evaluation.id).where(
            Evaluation.contact_id == data.contact_id,
            Evaluation.agent_id == data.agent_id,
            Evaluation.evaluator_id == by.user_id,
        )
    )
    if earlier is not None:
        raise Graded(
            "you have graded this agent on this contact already", evaluation_id=str(earlier)
        )
    assert record.ended_at is not None  # _handled
    row = Evaluation(
        id=uuid.uuid4(),
        scorecard_id=card.id,
        scorecard_name=card.name,
        scorecard_version=card.version,
        criteria=list(card.criteria),
        contact_id=record.contact_id,
        channel=record.channel,
        queue_id=record.queue_ids[-1] if record.queue_ids else None,
        agent_id=data.agent_id,
        evaluator_id=by.user_id,
        answers=dict(data.answers),
        comment=(data.comment or "").strip() or None,
        score=result.percent,
        auto_failed=result.auto_failed,
        contact_ended_at=record.ended_at,
        created_at=utcnow(),
    )
    uow.session.add(row)
    await uow.session.flush()
    audit(uow, by, "quality.evaluation.create", "quality_evaluation", row.id,
          agent_id=row.agent_id, contact_id=row.contact_id, score=row.score)  # fmt: skip
    uow.record(
        EvaluationCreated(
            evaluation_id=row.id,
            scorecard_id=card.id,
            scorecard_version=card.version,
            contact_id=row.contact_id,
            agent_id=row.agent_id,
            score=row.score,
            auto_failed=row.auto_failed,
            contact_ended_at=row.contact_ended_at,
        ),
        audience,
    )
    return row


async def get(
    uow: UnitOfWork, by: Principal, evaluation_id: uuid.UUID, *, visible: Visible
) -> Evaluation:
    row = await uow.session.get(Evaluation, evaluation_id)
    if row is None or not _may_see(by, row.agent_id, visible):
        raise NotFound("no such evaluation")
    return row


async def list_some(
    uow: UnitOfWork,
    by: Principal,
    *,
    visible: Visible,
    agent_id: str | None,
    contact_id: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[Evaluation]:
    """Newest contacts first. An agent's list is their own, whatever they ask."""
    query = select(Evaluation).order_by(
        Evaluation.contact_ended_at.desc(), Evaluation.created_at.desc(), Evaluation.id
    )
    if by.role is Role.AGENT:
        query = query.where(Evaluation.agent_id == str(by.user_id))
    elif visible is not None:
        query = query.where(Evaluation.agent_id.in_(sorted({*visible, str(by.user_id)})))
    if agent_id is not None:
        query = query.where(Evaluation.agent_id == agent_id)
    if contact_id is not None:
        query = query.where(Evaluation.contact_id == contact_id)
    if start is not None:
        query = query.where(Evaluation.contact_ended_at >= start)
    if end is not None:
        query = query.where(Evaluation.contact_ended_at < end)
    return list(await uow.session.scalars(query.limit(limit)))


async def acknowledge(
    uow: UnitOfWork,
    by: Principal,
    evaluation_id: uuid.UUID,
    *,
    visible: Visible,
    audience: Audience,
) -> Evaluation:
    """The graded agent says they have read it (once: again changes nothing)."""
    row = await get(uow, by, evaluation_id, visible=visible)
    if row.agent_id != str(by.user_id):
        raise Forbidden("only the graded agent acknowledges an evaluation")
    if row.acknowledged_at is None:
        row.acknowledged_at = utcnow()
        await uow.session.flush()
        audit(uow, by, "quality.evaluation.acknowledge", "quality_evaluation", row.id)
        uow.record(EvaluationAcknowledged(evaluation_id=row.id, agent_id=row.agent_id), audience)
    return row
