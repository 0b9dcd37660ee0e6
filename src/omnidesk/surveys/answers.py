"""Answering a sent survey by its token, without a login: one answer per token (a second is a
409), an unknown token a 404, an expired one a 410."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import SYSTEM, Database, utcnow
from omnidesk.platform.errors import Conflict, DomainError, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork
from omnidesk.surveys import texts
from omnidesk.surveys.dispatch import audience_of, token_hash
from omnidesk.surveys.events import SurveyAnswered
from omnidesk.surveys.models import Survey, SurveyAnswer, SurveySend
from omnidesk.surveys.schemas import SCALES, SurveyFormOut, SurveyFormQuestion

MAX_TEXT = 5000


class Expired(DomainError):
    status = 410
    code = "survey_expired"
    title = "Survey expired"


class Answered(Conflict):
    code = "survey_answered"
    title = "Survey answered already"


@dataclass(frozen=True)
class Open:
    """A sent survey found by its token, as the form shows it."""

    send: SurveySend
    survey: Survey


async def find(db: Database, token: str) -> Open:
    """The survey behind a token, or the reason it cannot be answered. A survey still being
    delivered (pending) is open too: the channel shows the invitation before the dispatcher
    has marked it sent, and the chat widget asks for the questions the moment the invitation
    arrives; a token is only ever given out by delivering it."""
    if not token or len(token) > 200:
        raise NotFound("no such survey")
    # A snapshot: a public page must not take SQLite's write lock to read.
    async with db.snapshot_session(SYSTEM) as session:
        row = await session.scalar(
            select(SurveySend).where(SurveySend.token_hash == token_hash(token))
        )
        survey = await session.get(Survey, row.survey_id) if row and row.survey_id else None
        session.expunge_all()  # kept as read: the snapshot's rollback would expire them
    if row is None or survey is None:
        raise NotFound("no such survey")
    if row.status == "answered":
        raise Answered("this survey has been answered already")
    if row.status not in ("sent", "pending"):
        raise NotFound("no such survey")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise Expired("this survey has expired", expired_at=row.expires_at.isoformat())
    return Open(row, survey)


def form(found: Open) -> SurveyFormOut:
    return SurveyFormOut(
        survey=found.survey.name,
        intro=found.survey.intro,
        language=texts.language_of(found.send.language),
        questions=[
            SurveyFormQuestion(
                id=q["id"],
                kind=q["kind"],
                text=q["text"],
                required=bool(q.get("required")),
                min=SCALES[q["kind"]][0] if q["kind"] in SCALES else None,
                max=SCALES[q["kind"]][1] if q["kind"] in SCALES else None,
            )
            for q in found.survey.questions
        ],
        expires_at=found.send.expires_at,
    )


def validate(
    survey: Survey, given: dict[str, Any], *, unasked: Collection[str] = ()
) -> list[tuple[dict[str, Any], Any]]:
    """(question, value) of every answer given; Invalid naming `answers.<question id>`.
    `unasked`: kinds the channel cannot ask (the phone: text), required or not."""
    questions = {q["id"]: q for q in survey.questions}
    for key in given:
        if key not in questions:
            raise Invalid(f"the survey has no question {key!r}", field=f"answers.{key}")
    kept: list[tuple[dict[str, Any], Any]] = []
    for question in survey.questions:
        field = f"answers.{question['id']}"
        value = given.get(question["id"])
        if isinstance(value, str) and question["kind"] == "text":
            value = value.strip() or None
        if value is None:
            if question.get("required") and question["kind"] not in unasked:
                raise Invalid("this question must be answered", field=field)
            continue
        if question["kind"] == "text":
            if not isinstance(value, str):
                raise Invalid("a text answer must be text", field=field)
            if len(value) > MAX_TEXT:
                raise Invalid(f"at most {MAX_TEXT} characters", field=field)
        else:
            low, high = SCALES[question["kind"]]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise Invalid(f"a whole number from {low} to {high}", field=field)
        kept.append((question, value))
    if not kept:
        raise Invalid("answer at least one question", field="answers")
    return kept


async def answer(
    db: Database,
    bus: EventBus,
    token: str,
    given: dict[str, Any],
    *,
    unasked: Collection[str] = (),
) -> int:
    """Store the answers; how many. Exactly one answer per token, even for two at once."""
    found = await find(db, token)
    kept = validate(found.survey, given, unasked=unasked)
    tenant_id = found.send.tenant_id
    now = utcnow()
    session = db.session(tenant_id)
    try:
        async with UnitOfWork(session, bus, tenant_id=tenant_id) as uow:
            # The status changes from sent (or pending: see `find`) to answered once: of two
            # answers at once, the second changes no row and is refused (on both databases,
            # without a lock).
            result = await session.execute(
                update(SurveySend)
                .where(
                    SurveySend.id == found.send.id,
                    SurveySend.status.in_(("sent", "pending")),
                )
                .values(status="answered", answered_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Answered("this survey has been answered already")
            scores: dict[str, int] = {}
            for question, value in kept:
                scored = question["kind"] != "text"
                session.add(
                    SurveyAnswer(
                        id=uuid.uuid4(),
                        send_id=found.send.id,
                        question_id=question["id"],
                        kind=question["kind"],
                        score=value if scored else None,
                        text=None if scored else value,
                        answered_at=now,
                    )
                )
                if scored:
                    scores[f"{question['kind']}:{question['id']}"] = value
            send = found.send
            uow.record(
                SurveyAnswered(
                    send_id=send.id,
                    contact_id=send.contact_id,
                    channel=send.channel,
                    queue_id=send.queue_id,
                    agent_id=send.agent_id,
                    survey_id=send.survey_id,
                    scores=scores,
                ),
                audience_of(send),
            )
    finally:
        await session.close()
    return len(kept)
