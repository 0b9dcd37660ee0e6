"""Surveys' part of a customer's erasure and of retention (platform/redaction.py): the free-text
answers of the customer's surveys are erased; scores, counts and who handled the contact stay
(they say nothing of the person once the customer is gone), so results still add up. Survey
events never carry text: there is nothing to scrub in the log."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.redaction import CHUNK, Erasure, Expiry
from omnidesk.surveys.models import SurveyAnswer, SurveySend


class SurveyPersonalData:
    async def erase(self, session: AsyncSession, erasure: Erasure) -> dict[str, int]:
        customers, contacts = list(erasure.customer_ids), list(erasure.contact_ids)
        sends: set[object] = set()
        for start in range(0, max(len(customers), len(contacts)), CHUNK):
            rows = await session.scalars(
                select(SurveySend.id).where(
                    or_(
                        SurveySend.customer_id.in_(customers[start : start + CHUNK]),
                        SurveySend.contact_id.in_(contacts[start : start + CHUNK]),
                    )
                )
            )
            sends.update(rows)
        ids = list(sends)
        erased = 0
        for start in range(0, len(ids), CHUNK):
            result = await session.execute(
                update(SurveyAnswer)
                .where(
                    SurveyAnswer.send_id.in_(ids[start : start + CHUNK]),
                    SurveyAnswer.text.is_not(None),
                )
                .values(text=None)
            )
            erased += result.rowcount  # type: ignore[attr-defined]
            # An unanswered survey's link dies with the customer.
            await session.execute(
                update(SurveySend)
                .where(SurveySend.id.in_(ids[start : start + CHUNK]))
                .values(token_hash=None)
            )
        return {"surveys": len(ids), "survey_texts": erased}

    async def expire(self, session: AsyncSession, expiry: Expiry) -> dict[str, int]:
        result = await session.execute(
            update(SurveyAnswer)
            .where(SurveyAnswer.answered_at < expiry.before, SurveyAnswer.text.is_not(None))
            .values(text=None)
        )
        return {"survey_texts": result.rowcount}  # type: ignore[attr-defined]
