"""Scorecards: admins write them, supervisors and admins read them. Each change makes a new
version; a save or delete decided on an older one is refused (409 `version_conflict`).
Evaluations keep a copy of the criteria they were graded on, so editing a used scorecard is
safe (models.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from omnidesk.platform.audit import audit
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, Forbidden, Invalid, NotFound
from omnidesk.platform.uow import UnitOfWork
from omnidesk.qa.events import ScorecardChanged
from omnidesk.qa.models import Scorecard
from omnidesk.qa.schemas import QualityCriterion, QualityScorecardIn, QualityScorecardOut

MAX_SCORECARDS = 200


class ScorecardVersionConflict(Conflict):
    code = "version_conflict"


def require_admin(by: Principal) -> None:
    if not by.is_admin:
        raise Forbidden("scorecards are configured by admins")


def require_grader(by: Principal) -> None:
    if by.role is Role.AGENT:
        raise Forbidden("scorecards and grading are for supervisors and admins")


def out(row: Scorecard) -> QualityScorecardOut:
    return QualityScorecardOut(
        id=row.id,
        name=row.name,
        description=row.description,
        enabled=row.enabled,
        criteria=[QualityCriterion.model_validate(c) for c in row.criteria],
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check(data: QualityScorecardIn) -> None:
    """What the schema cannot say: ids once, max points exactly on points criteria, auto-fail
    only on yes/no ones, and some weight to score by."""
    seen: set[str] = set()
    for index, c in enumerate(data.criteria):
        field = f"criteria.{index}"
        if c.id in seen:
            raise Invalid(f"criterion id {c.id!r} is used twice", field=f"{field}.id")
        seen.add(c.id)
        if c.kind == "points" and c.max_points is None:
            raise Invalid("a points criterion needs max_points", field=f"{field}.max_points")
        if c.kind == "yes_no" and c.max_points is not None:
            raise Invalid("only points criteria have max_points", field=f"{field}.max_points")
        if c.auto_fail and c.kind != "yes_no":
            raise Invalid("only yes/no criteria can fail an evaluation", field=f"{field}.auto_fail")
    if not any(c.weight > 0 for c in data.criteria):
        raise Invalid("at least one criterion needs a weight above 0", field="criteria")


def _check_version(row: Scorecard, expected: int) -> None:
    if expected != row.version:
        raise ScorecardVersionConflict(
            f"the scorecard {row.name!r} was changed by someone else (version {row.version}, "
            f"this was decided on version {expected}): reload it and try again",
            field="version",
            version=row.version,
        )


def _apply(row: Scorecard, data: QualityScorecardIn) -> None:
    row.name = data.name
    row.description = data.description
    row.enabled = data.enabled
    row.criteria = [c.model_dump() for c in data.criteria]
    row.updated_at = utcnow()


async def list_all(uow: UnitOfWork, by: Principal) -> list[Scorecard]:
    require_grader(by)
    query = select(Scorecard).order_by(Scorecard.name, Scorecard.id)
    return list(await uow.session.scalars(query))


async def get(
    uow: UnitOfWork, by: Principal, scorecard_id: uuid.UUID, *, lock: bool = False
) -> Scorecard:
    require_grader(by)
    row = await uow.session.get(Scorecard, scorecard_id, with_for_update=lock)
    if row is None:
        raise NotFound("no such scorecard", scorecard_id=str(scorecard_id))
    return row


async def create(uow: UnitOfWork, by: Principal, data: QualityScorecardIn) -> Scorecard:
    require_admin(by)
    _check(data)
    count = len(list(await uow.session.scalars(select(Scorecard.id))))
    if count >= MAX_SCORECARDS:
        raise Invalid(f"at most {MAX_SCORECARDS} scorecards per tenant", field="name")
    row = Scorecard(id=uuid.uuid4(), version=1, created_at=utcnow())
    _apply(row, data)
    uow.session.add(row)
    await uow.session.flush()
    audit(uow, by, "quality.scorecard.create", "quality_scorecard", row.id, name=row.name)
    uow.record(ScorecardChanged(scorecard_id=row.id, version=row.version, change="created"))
    return row


async def update(
    uow: UnitOfWork, by: Principal, scorecard_id: uuid.UUID, data: QualityScorecardIn
) -> Scorecard:
    require_admin(by)
    row = await get(uow, by, scorecard_id, lock=True)
    if data.version is None:
        raise Invalid("a change names the version it was made on", field="version")
    _check_version(row, data.version)
    _check(data)
    _apply(row, data)
    row.version += 1
    await uow.session.flush()
    audit(uow, by, "quality.scorecard.update", "quality_scorecard", row.id, name=row.name,
          version=row.version)  # fmt: skip
    uow.record(ScorecardChanged(scorecard_id=row.id, version=row.version, change="updated"))
    return row


async def delete(
    uow: UnitOfWork, by: Principal, scorecard_id: uuid.UUID, version: int | None
) -> None:
    """Evaluations graded with it keep their criteria, name and score."""
    require_admin(by)
    row = await get(uow, by, scorecard_id, lock=True)
    if version is not None:
        _check_version(row, version)
    name, at = row.name, row.version
    await uow.session.delete(row)
    await uow.session.flush()
    audit(uow, by, "quality.scorecard.delete", "quality_scorecard", scorecard_id, name=name)
    uow.record(ScorecardChanged(scorecard_id=scorecard_id, version=at, change="deleted"))
