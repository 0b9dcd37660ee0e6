"""Survey definitions: admins write them, supervisors and admins read them."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from omnidesk.crm.repository import insert_ignoring
from omnidesk.platform import eventlog
from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Forbidden, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork
from omnidesk.surveys.events import SurveyDefinitionChanged
from omnidesk.surveys.models import Survey, SurveyCursor
from omnidesk.surveys.schemas import SurveyIn, SurveyOut, SurveyQuestionOut


def require_admin(by: Principal) -> None:
    if not by.is_admin:
        raise Forbidden("surveys are configured by admins")


def require_reader(by: Principal) -> None:
    if by.role is Role.AGENT:
        raise Forbidden("surveys and their results are for supervisors and admins")


def out(row: Survey) -> SurveyOut:
    return SurveyOut(
        id=row.id,
        name=row.name,
        enabled=row.enabled,
        channels=list(row.channels),
        queue_ids=list(row.queue_ids),
        questions=[SurveyQuestionOut.model_validate(q) for q in row.questions],
        intro=row.intro,
        expires_after_days=row.expires_after_days,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check(data: SurveyIn) -> None:
    """What the schema cannot say: each question id once, each channel once, something to
    ask on the phone."""
    seen: set[str] = set()
    for index, question in enumerate(data.questions):
        if question.id in seen:
            raise Invalid(
                f"question id {question.id!r} is used twice", field=f"questions.{index}.id"
            )
        seen.add(question.id)
    if len(set(data.channels)) != len(data.channels):
        raise Invalid("a channel is named twice", field="channels")
    if "voice" in data.channels and all(q.kind == "text" for q in data.questions):
        # The phone asks only scored questions (keys); text ones are skipped there.
        raise Invalid("a voice survey needs a question answered by keys", field="channels")


def _apply(row: Survey, data: SurveyIn) -> None:
    row.name = data.name
    row.enabled = data.enabled
    row.channels = list(data.channels)
    row.queue_ids = list(dict.fromkeys(data.queue_ids))
    row.questions = [q.model_dump() for q in data.questions]
    row.intro = data.intro
    row.expires_after_days = data.expires_after_days
    row.updated_at = utcnow()


async def list_all(uow: UnitOfWork, by: Principal) -> list[Survey]:
    require_reader(by)
    return list(await uow.session.scalars(select(Survey).order_by(Survey.name, Survey.id)))


async def get(uow: UnitOfWork, by: Principal, survey_id: uuid.UUID) -> Survey:
    require_reader(by)
    row = await uow.session.get(Survey, survey_id)
    if row is None:
        raise NotFound("no such survey", survey_id=str(survey_id))
    return row


async def create(uow: UnitOfWork, by: Principal, data: SurveyIn) -> Survey:
    require_admin(by)
    _check(data)
    await start_cursor(uow, by.tenant_id)
    row = Survey(id=uuid.uuid4(), created_at=utcnow())
    _apply(row, data)
    uow.session.add(row)
    await uow.session.flush()
    audit(uow, by, "survey.create", "survey", row.id, name=row.name)
    uow.record(SurveyDefinitionChanged(survey_id=row.id, change="created"))
    return row


async def update(uow: UnitOfWork, by: Principal, survey_id: uuid.UUID, data: SurveyIn) -> Survey:
    require_admin(by)
    row = await get(uow, by, survey_id)
    _check(data)
    _apply(row, data)
    await uow.session.flush()
    audit(uow, by, "survey.update", "survey", row.id, name=row.name)
    uow.record(SurveyDefinitionChanged(survey_id=row.id, change="updated"))
    return row


async def delete(uow: UnitOfWork, by: Principal, survey_id: uuid.UUID) -> None:
    """Surveys sent with it keep their answers (their `survey_id` becomes null)."""
    require_admin(by)
    row = await get(uow, by, survey_id)
    await uow.session.delete(row)
    await uow.session.flush()
    audit(uow, by, "survey.delete", "survey", survey_id, name=row.name)
    uow.record(SurveyDefinitionChanged(survey_id=survey_id, change="deleted"))


async def start_cursor(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """With the tenant's first survey the dispatcher starts reading contact ends: from now."""
    if await uow.session.scalar(select(SurveyCursor.id)) is None:
        await uow.session.execute(
            insert_ignoring(uow.session, SurveyCursor, ["tenant_id"]).values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                last_seq=await eventlog.last_seq(uow.session, tenant_id),
            )
        )


def matching(surveys: list[Survey], channel: str, queue_id: str | None) -> Survey | None:
    """The survey for a contact: enabled, on its channel, for its queue or every queue; one
    naming the queue wins over one for every queue, then the oldest."""
    fits = [
        s
        for s in surveys
        if s.enabled and channel in s.channels and (not s.queue_ids or queue_id in s.queue_ids)
    ]
    fits.sort(key=lambda s: (not s.queue_ids, s.created_at, str(s.id)))
    return fits[0] if fits else None
