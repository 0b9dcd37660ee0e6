"""Surveys on the phone: what the voice engine asks of the surveys domain (docs/surveys.md,
"Voice").

A call's survey is asked on the line the moment the agent hangs up, so it cannot wait for the
dispatcher, which reads contact ends from the log after the fact (dispatch.py; it finds no
conversation for a voice contact and records nothing for it). The voice engine records the
contact's one row here instead, as the call's contact ends:
- `begin` when the agent hung up: sent, with a token only the engine holds (the survey is
  "delivered" by speaking it), or not sent with the reason (no survey, erased, opted out);
- `not_sent` when the caller hung up first: nobody is left to ask (`caller_hung_up`);
- `finish` stores the keys pressed through `answers.answer` with that token, as the web page
  stores a form: one answer per token, and a required question unanswered stores nothing.
A tenant that never defined a survey records nothing, as for the other channels.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from omnidesk.crm import identities, normalize
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import Database, utcnow
from omnidesk.platform.errors import DomainError
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork
from omnidesk.surveys import answers, texts
from omnidesk.surveys.definitions import matching
from omnidesk.surveys.dispatch import audience_of, new_token, recorded, refusal
from omnidesk.surveys.models import Survey, SurveyCursor, SurveySend

log = get_logger(__name__)
CHANNEL = "voice"
# The token is only ever held by the call asking the survey: it needs to outlive the call only.
TOKEN_LIFETIME = timedelta(hours=1)
# What the phone cannot ask (no keyboard): skipped, and never required there.
UNASKED = frozenset({"text"})


@dataclass(frozen=True)
class VoiceEnd:
    """A connected inbound call whose agent (or caller) has just hung up."""

    tenant_id: uuid.UUID
    contact_id: str
    queue_id: str | None
    agent_id: str
    caller: str | None  # the calling number, for the customer's consent
    language: str | None
    ended_at: datetime


@dataclass(frozen=True)
class VoiceQuestion:
    id: str
    kind: str  # csat | nps | ces | resolved
    text: str
    required: bool


@dataclass(frozen=True)
class VoiceSurvey:
    """A survey to ask on the line: the questions the phone can ask, in order."""

    token: str
    send_id: uuid.UUID
    intro: str | None
    questions: tuple[VoiceQuestion, ...]


async def begin(db: Database, bus: EventBus, end: VoiceEnd) -> VoiceSurvey | None:
    """Record the contact's row; the survey to ask, or None (not sent, or nothing recorded)."""
    token, hashed = new_token()
    row, survey = await _record(db, bus, end, hashed=hashed, gone=None)
    if row is None or survey is None or row.status != "sent":
        return None
    return VoiceSurvey(
        token=token,
        send_id=row.id,
        intro=survey.intro,
        questions=tuple(
            VoiceQuestion(q["id"], q["kind"], q["text"], bool(q.get("required")))
            for q in survey.questions
            if q["kind"] not in UNASKED
        ),
    )


async def not_sent(db: Database, bus: EventBus, end: VoiceEnd, reason: str) -> None:
    """The contact gets no survey because of the call (`caller_hung_up`): recorded with why
    (or with the reason that would have stopped it anyway, such as `no_survey`)."""
    await _record(db, bus, end, hashed=None, gone=reason)


async def finish(db: Database, bus: EventBus, token: str, given: dict[str, int]) -> int:
    """Store the answers keyed on the phone; how many (0: not answered — none given, or a
    required question left unanswered)."""
    if not given:
        return 0
    try:
        return await answers.answer(db, bus, token, dict(given), unasked=UNASKED)
    except DomainError as exc:  # a required question unanswered, or answered already
        log.info("survey.voice_not_answered", reason=str(exc))
        return 0


async def _record(
    db: Database, bus: EventBus, end: VoiceEnd, *, hashed: str | None, gone: str | None
) -> tuple[SurveySend | None, Survey | None]:
    session = db.session(end.tenant_id)
    try:
        async with UnitOfWork(session, bus, tenant_id=end.tenant_id) as uow:
            if await session.scalar(select(SurveyCursor.id)) is None:
                return None, None  # the tenant never had a survey
            if await session.scalar(
                select(SurveySend.id).where(SurveySend.contact_id == end.contact_id)
            ):
                return None, None
            survey = matching(list(await session.scalars(select(Survey))), CHANNEL, end.queue_id)
            customer_id = await _customer(uow, end.caller)
            row = SurveySend(
                id=uuid.uuid4(),
                survey_id=survey.id if survey else None,
                contact_id=end.contact_id,
                channel=CHANNEL,
                queue_id=end.queue_id,
                agent_id=end.agent_id,
                customer_id=customer_id,
                language=texts.language_of(end.language),
                ended_at=end.ended_at,
            )
            reason = await refusal(uow, survey, customer_id, CHANNEL) or gone
            if reason is not None or hashed is None:
                row.status, row.reason = "not_sent", reason or "no_survey"
            else:
                now = utcnow()
                row.status, row.token_hash = "sent", hashed
                row.sent_at, row.expires_at = now, now + TOKEN_LIFETIME
            session.add(row)
            await session.flush()
            uow.record(recorded(row), audience_of(row))
            return row, survey
    except IntegrityError:
        return None, None  # recorded already (the same end twice at once)
    finally:
        await session.close()


async def _customer(uow: UnitOfWork, caller: str | None) -> uuid.UUID | None:
    """The customer the calling number belongs to (for consent), if it is a known number."""
    number = normalize.maybe_phone(caller, None)
    if number is None:
        return None
    found = await identities.lookup(
        uow.session, normalize.IdentityKey(normalize.IdentityKind.PHONE, number)
    )
    return found.customer_id if found else None
