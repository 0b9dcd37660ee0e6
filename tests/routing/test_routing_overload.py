"""Overload (on both databases): while a tenant's routing has more commands waiting than
`routing_max_backlog`, creating a contact is refused with 429 and Retry-After; agents' answers,
ends and state changes still go through, and creation resumes once the backlog is down."""

from __future__ import annotations

from typing import Any

import pytest
from test_routing_public_api import _tenant_id

from omnidesk.platform.settings import Settings

QUEUE = {"id": "support", "channels": ["chat"], "offer_timeout_seconds": 600, "wrap_up_seconds": 0}


@pytest.fixture(name="settings")
def small_backlog(settings: Settings) -> Settings:
    return settings.model_copy(update={"routing_max_backlog": 3})


def test_overload_sheds_new_contacts_only(as_user, client, app, tenants):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin, agent = as_user("admin"), as_user("agent1")
    me = ids["agent1"]
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    profile = {"queues": {"support": 1}, "capacity": {"chat": 2}}
    assert admin.put(f"/api/v1/routing/agents/{me}", json=profile).status_code == 200
    state = agent.post(f"/api/v1/routing/agents/{me}/state", json={"state": "available"})
    assert state.status_code == 200, state.text
    created = admin.post(
        "/api/v1/routing/contacts", json={"queue_id": "support", "channel": "chat"}
    )
    assert created.status_code == 201, created.text
    offer_id: str = created.json()["offer_id"]

    # More commands in line than the setting allows (as if a burst were waiting).
    host = app.state.routing.loaded_host(_tenant_id(client, app, "demo"))
    host.backlog += 10
    try:
        shed = admin.post(
            "/api/v1/routing/contacts", json={"queue_id": "support", "channel": "chat"}
        )
        assert shed.status_code == 429, shed.text
        assert shed.headers["Retry-After"] == "1"
        assert shed.headers["content-type"].startswith("application/problem+json")
        # The agent works through it: accept, end, change state are never shed.
        r = agent.post(f"/api/v1/routing/offers/{offer_id.replace('#', '%23')}/accept")
        assert r.status_code == 200, r.text
        r = agent.post(f"/api/v1/routing/contacts/{created.json()['contact_id']}/end")
        assert r.status_code == 200, r.text
        r = agent.post(f"/api/v1/routing/agents/{me}/state", json={"state": "away"})
        assert r.status_code == 200, r.text
    finally:
        host.backlog -= 10
    again = admin.post("/api/v1/routing/contacts", json={"queue_id": "support", "channel": "chat"})
    assert again.status_code == 201, again.text
    contacts: list[dict[str, Any]] = admin.get("/api/v1/routing/contacts").json()
    assert [c["contact_id"] for c in contacts] == [again.json()["contact_id"]]
