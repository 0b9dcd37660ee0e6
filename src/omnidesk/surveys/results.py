"""Survey results: counts, CSAT, NPS and CES over the contacts that ended in a time range,
per agent, queue or channel (docs/surveys.md gives each formula with a worked example).

- CSAT = answers of 4 or 5 / csat answers x 100 (on 1-5);
- NPS = % of nps answers that are 9-10 minus % that are 0-6 (on 0-10);
- CES = the mean of ces answers (on 1-7);
- survey FCR = yes answers / answers to `resolved` questions x 100 (was it resolved?).
Every answer counts (a survey with two CSAT questions adds two). A range, agent, queue or
channel with no data gives zeros, never an error.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.surveys.models import SurveyAnswer, SurveySend
from omnidesk.surveys.schemas import (
    SurveyCes,
    SurveyCsat,
    SurveyFcr,
    SurveyNps,
    SurveyResultsOut,
    SurveyResultsRow,
    SurveyText,
)

GroupBy = Literal["agent", "queue", "channel"]
TEXTS_LIMIT = 500


def csat(scores: Iterable[int]) -> SurveyCsat:
    values = list(scores)
    satisfied = sum(1 for v in values if v >= 4)
    score = round(satisfied * 100 / len(values), 2) if values else 0.0
    return SurveyCsat(answers=len(values), satisfied=satisfied, score=score)


def nps(scores: Iterable[int]) -> SurveyNps:
    values = list(scores)
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    score = round((promoters - detractors) * 100 / len(values), 2) if values else 0.0
    return SurveyNps(
        answers=len(values),
        promoters=promoters,
        passives=len(values) - promoters - detractors,
        detractors=detractors,
        score=score,
    )


def ces(scores: Iterable[int]) -> SurveyCes:
    values = list(scores)
    return SurveyCes(
        answers=len(values), mean=round(sum(values) / len(values), 2) if values else 0.0
    )


def fcr(answers: Iterable[int]) -> SurveyFcr:
    values = list(answers)
    resolved = sum(1 for v in values if v == 1)
    score = round(resolved * 100 / len(values), 2) if values else 0.0
    return SurveyFcr(answers=len(values), resolved=resolved, score=score)


def _key(row: SurveySend, group_by: GroupBy | None) -> str | None:
    if group_by == "agent":
        return row.agent_id
    if group_by == "queue":
        return row.queue_id
    if group_by == "channel":
        return row.channel
    return None


def _row(key: str | None, sends: list[SurveySend], answers: list[SurveyAnswer]) -> SurveyResultsRow:
    ids = {s.id for s in sends}
    mine = [a for a in answers if a.send_id in ids]
    scores: dict[str, list[int]] = defaultdict(list)
    for answer in mine:
        if answer.score is not None:
            scores[answer.kind].append(answer.score)
    statuses = Counter(s.status for s in sends)
    return SurveyResultsRow(
        key=key,
        sent=statuses["sent"] + statuses["answered"],
        not_sent=statuses["not_sent"],
        answered=statuses["answered"],
        csat=csat(scores["csat"]),
        nps=nps(scores["nps"]),
        ces=ces(scores["ces"]),
        fcr=fcr(scores["resolved"]),
    )


async def results(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    agent_id: str | None = None,
    queue_id: str | None = None,
    channel: str | None = None,
    group_by: GroupBy | None = None,
    visible: Callable[[str | None], bool] | None = None,
) -> SurveyResultsOut:
    """Over the contacts that ended in [start, end) of the queues `visible` lets through
    (a supervisor's: those of their teams)."""
    query = select(SurveySend).where(SurveySend.ended_at >= start, SurveySend.ended_at < end)
    if agent_id is not None:
        query = query.where(SurveySend.agent_id == agent_id)
    if queue_id is not None:
        query = query.where(SurveySend.queue_id == queue_id)
    if channel is not None:
        query = query.where(SurveySend.channel == channel)
    sends = list(await session.scalars(query.order_by(SurveySend.ended_at, SurveySend.id)))
    if visible is not None:
        sends = [s for s in sends if visible(s.queue_id)]
    answers: list[SurveyAnswer] = []
    answered = [s.id for s in sends if s.status == "answered"]
    for first in range(0, len(answered), 500):  # bounded IN lists
        answers.extend(
            await session.scalars(
                select(SurveyAnswer).where(SurveyAnswer.send_id.in_(answered[first : first + 500]))
            )
        )
    groups: dict[str | None, list[SurveySend]] = defaultdict(list)
    for send in sends:
        groups[_key(send, group_by)].append(send)
    by_id = {s.id: s for s in sends}
    texts = [
        SurveyText(
            send_id=a.send_id,
            question_id=a.question_id,
            text=a.text,
            answered_at=a.answered_at,
            agent_id=by_id[a.send_id].agent_id,
            queue_id=by_id[a.send_id].queue_id,
            channel=by_id[a.send_id].channel,
        )
        for a in sorted(answers, key=lambda a: (a.answered_at, str(a.id)), reverse=True)
        if a.text is not None
    ][:TEXTS_LIMIT]
    return SurveyResultsOut(
        start=start,
        end=end,
        total=_row(None, sends, answers),
        group_by=group_by,
        rows=(
            [_row(k, groups[k], answers) for k in sorted(groups, key=lambda k: k or "")]
            if group_by
            else []
        ),
        not_sent_reasons=dict(
            sorted(Counter(s.reason or "" for s in sends if s.status == "not_sent").items())
        ),
        texts=texts,
    )


async def csat_scores(
    session: AsyncSession, start: datetime, end: datetime, agents: Collection[str] | None = None
) -> list[tuple[str, datetime, int]]:
    """(agent, contact's end, score) of every CSAT answer of the contacts that ended in
    [start, end) with an agent on record (the agent the survey names); `agents`: only theirs."""
    query = (
        select(SurveySend.agent_id, SurveySend.ended_at, SurveyAnswer.score)
        .join(SurveyAnswer, SurveyAnswer.send_id == SurveySend.id)
        .where(
            SurveySend.ended_at >= start,
            SurveySend.ended_at < end,
            SurveySend.agent_id.is_not(None),
            SurveyAnswer.kind == "csat",
            SurveyAnswer.score.is_not(None),
        )
    )
    if agents is not None:
        query = query.where(SurveySend.agent_id.in_(sorted(agents)))
    rows = await session.execute(query)
    return [(str(a), at, int(score or 0)) for a, at, score in rows]  # score: not null (where)
