"""Quality's part of a customer's erasure (platform/redaction.py): the evaluator's comment on
an evaluation of one of the customer's contacts may quote or describe the customer, so it is
blanked; the scorecard, answers and score stay (they are about the agent's work, and the
agent's report still adds up). Evaluations carry no per-criterion comments, and their events
and audit entries carry ids and the score, never the comment: there is nothing to scrub there.

Retention leaves evaluations as they are: a comment is the evaluator's feedback to the agent,
not the contact's content (what was said and written), and the agent's record keeps it."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.platform.redaction import CHUNK, Erasure, Expiry
from omnidesk.qa.models import Evaluation


class QualityPersonalData:
    async def erase(self, session: AsyncSession, erasure: Erasure) -> dict[str, int]:
        contacts = list(erasure.contact_ids)
        blanked = 0
        for start in range(0, len(contacts), CHUNK):
            result = await session.execute(
                update(Evaluation)
                .where(
                    Evaluation.contact_id.in_(contacts[start : start + CHUNK]),
                    Evaluation.comment.is_not(None),
                )
                .values(comment=None)
            )
            blanked += result.rowcount  # type: ignore[attr-defined]
        return {"evaluation_comments": blanked}

    async def expire(self, session: AsyncSession, expiry: Expiry) -> dict[str, int]:
        return {}
