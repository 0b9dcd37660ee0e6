"""Survey results by the formulas of DESIGN.md, with hand-picked answers: CSAT is the share of
4-5 answers on 1-5, NPS the % of 9-10 minus the % of 0-6, CES the mean on 1-7; per agent,
queue, channel and time range (stored rows, read through the API on both databases)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from survey_helpers import ok

from omnidesk.platform.database import SYSTEM, utcnow
from omnidesk.platform.tenancy import tenant_by_slug
from omnidesk.surveys.models import SurveyAnswer, SurveySend
from omnidesk.surveys.results import ces, csat, fcr, nps


def test_the_formulas() -> None:
    assert csat([5, 4, 3, 1]).score == 50.0
    assert nps([10, 9, 8, 6, 0]).model_dump() == {
        "answers": 5,
        "promoters": 2,
        "passives": 1,
        "detractors": 2,
        "score": 0.0,
    }
    assert nps([10, 10, 7, 3]).score == 25.0  # 50 % promoters - 25 % detractors
    assert ces([1, 2, 6]).mean == 3.0
    assert csat([]).score == nps([]).score == ces([]).mean == 0.0
    # Survey FCR: yes (1) answers to "was it resolved?" over all its answers.
    assert fcr([1, 0, 1]).model_dump() == {"answers": 3, "resolved": 2, "score": 66.67}
    assert fcr([]).score == 0.0


def _store(client, app, rows: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    """Sent surveys with their answers, as the dispatcher and the answer would store them."""

    async def go() -> None:
        session = app.state.services.db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, "demo")
            assert tenant is not None
            for n, row in enumerate(rows):
                send = SurveySend(
                    id=uuid.uuid4(),
                    tenant_id=tenant.id,
                    contact_id=f"c-{n}",
                    channel=row["channel"],
                    queue_id=row["queue"],
                    agent_id=row["agent"],
                    status="answered" if row["answers"] else row.get("status", "sent"),
                    reason=row.get("reason"),
                    ended_at=row["at"],
                )
                session.add(send)
                await session.flush()
                for kind, value in row["answers"]:
                    session.add(
                        SurveyAnswer(
                            id=uuid.uuid4(),
                            tenant_id=tenant.id,
                            send_id=send.id,
                            question_id=kind,
                            kind=kind,
                            score=None if kind == "text" else value,
                            text=value if kind == "text" else None,
                            answered_at=row["at"],
                        )
                    )
            await session.commit()
        finally:
            await session.close()

    client.portal.call(go)


def test_results_per_agent_queue_channel_and_range(client, app, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    today, old = now - timedelta(hours=1), now - timedelta(days=10)

    def row(agent: str, queue: str, channel: str, *answers: Any, at: Any = today) -> Any:
        return {"agent": agent, "queue": queue, "channel": channel, "answers": answers, "at": at}

    _store(
        client,
        app,
        [
            row("a1", "web", "chat", ("csat", 5), ("nps", 10), ("resolved", 1)),
            row("a1", "web", "chat", ("csat", 4), ("nps", 9), ("ces", 2), ("resolved", 1)),
            row("a2", "mail", "email", ("csat", 3), ("nps", 8), ("ces", 4), ("resolved", 0)),
            row("a2", "mail", "email", ("csat", 1), ("nps", 6), ("text", "Too slow")),
            row("a2", "mail", "email", ("nps", 0)),
            row("a1", "web", "chat"),  # sent, not answered
            {**row("a1", "web", "chat"), "status": "not_sent", "reason": "window_closed"},
            row("a1", "web", "chat", ("csat", 1), at=old),  # outside the range below
        ],
    )
    admin = as_user("admin")
    since = {"start": (now - timedelta(days=1)).isoformat(), "end": now.isoformat()}
    result = ok(admin.get("/api/v1/surveys/results", params=since))
    total = result["total"]
    assert (total["sent"], total["answered"], total["not_sent"]) == (6, 5, 1)
    assert total["csat"] == {"answers": 4, "satisfied": 2, "score": 50.0}
    assert total["nps"]["score"] == 0.0 and total["nps"]["answers"] == 5
    assert total["ces"] == {"answers": 2, "mean": 3.0}
    assert total["fcr"] == {"answers": 3, "resolved": 2, "score": 66.67}
    assert result["not_sent_reasons"] == {"window_closed": 1}
    assert [t["text"] for t in result["texts"]] == ["Too slow"]
    assert result["texts"][0]["agent_id"] == "a2"

    by_agent = ok(admin.get("/api/v1/surveys/results", params={**since, "group_by": "agent"}))
    rows = {r["key"]: r for r in by_agent["rows"]}
    assert rows["a1"]["csat"]["score"] == 100.0 and rows["a1"]["nps"]["score"] == 100.0
    assert rows["a2"]["csat"]["score"] == 0.0 and rows["a2"]["nps"]["score"] == -66.67
    assert rows["a1"]["fcr"]["score"] == 100.0 and rows["a2"]["fcr"]["score"] == 0.0
    by_queue = ok(admin.get("/api/v1/surveys/results", params={**since, "queue_id": "mail"}))
    assert by_queue["total"]["answered"] == 3 and by_queue["total"]["ces"]["mean"] == 4.0
    email = ok(admin.get("/api/v1/surveys/results", params={**since, "channel": "email"}))
    assert email["total"] == {**by_queue["total"]}
    # The default range (30 days) takes the older answer in too.
    assert ok(admin.get("/api/v1/surveys/results"))["total"]["csat"]["answers"] == 5
    # A supervisor sees the queues of their teams only: these queues have none of them.
    supervised = ok(as_user("supervisor").get("/api/v1/surveys/results", params=since))
    assert supervised["total"]["sent"] == 0 and supervised["texts"] == []
    assert ok(as_user("supervisor").get("/api/v1/surveys/sends")) == []
    assert len(ok(admin.get("/api/v1/surveys/sends"))) == 8
