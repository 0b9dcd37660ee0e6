"""Shared steps of the survey tests: a survey, a routed contact accepted and ended."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import update

from omnidesk.surveys.models import SurveySend

SURVEY = {
    "name": "After contact",
    "channels": ["chat", "email", "messaging"],
    "questions": [
        {"id": "overall", "kind": "csat", "text": "How satisfied are you?", "required": True},
        {"id": "recommend", "kind": "nps", "text": "Would you recommend us?"},
        {"id": "effort", "kind": "ces", "text": "How easy was it?"},
        {"id": "comment", "kind": "text", "text": "Anything else?"},
    ],
}
LINK = re.compile(r"(?:https?://[^/\s]+)?/s/([A-Za-z0-9_-]{40,})")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def make_survey(admin: Any, **changes: Any) -> dict[str, Any]:
    return ok(admin.post("/api/v1/surveys/definitions", json={**SURVEY, **changes}), 201)  # type: ignore[no-any-return]


def available(as_user: Any, ids: dict[str, str], agent: str = "agent1") -> None:
    r = as_user(agent).post(
        f"/api/v1/routing/agents/{ids[agent]}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text


def accept_and_close(as_user: Any, agent: str, conversation: dict[str, Any]) -> None:
    """The agent accepts the conversation's offer and closes it: routing ends the contact."""
    admin = as_user("admin")
    contact = ok(admin.get(f"/api/v1/routing/contacts/{conversation['contact_id']}"))
    assert contact["state"] == "offered", contact
    user = as_user(agent)
    ok(user.post(f"/api/v1/routing/offers/{contact['offer_id'].replace('#', '%23')}/accept"))
    ok(user.post(f"/api/v1/conversations/{conversation['id']}/close"))


def settle(client: Any, app: Any) -> None:
    """Wait until the dispatcher dealt with every contact end announced so far."""
    client.portal.call(app.state.surveys.settled)


def sends(admin: Any, contact_id: str) -> list[dict[str, Any]]:
    return ok(admin.get("/api/v1/surveys/sends", params={"contact_id": contact_id}))  # type: ignore[no-any-return]


def token_in(text: str) -> str:
    found = LINK.search(text)
    assert found, text
    return found.group(1)


def expire_all(client: Any, app: Any) -> None:
    """Every survey's expiry moved into the past (as if its days were over)."""
    from datetime import timedelta

    from omnidesk.platform.database import SYSTEM, utcnow

    async def go() -> None:
        session = app.state.services.db.session(SYSTEM)
        try:
            await session.execute(
                update(SurveySend).values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        finally:
            await session.close()

    client.portal.call(go)


def mark(client: Any, app: Any, status: str) -> None:
    """Every survey send set to `status` (as the dispatcher leaves it between its steps)."""
    from omnidesk.platform.database import SYSTEM

    async def go() -> None:
        session = app.state.services.db.session(SYSTEM)
        try:
            await session.execute(update(SurveySend).values(status=status))
            await session.commit()
        finally:
            await session.close()

    client.portal.call(go)
