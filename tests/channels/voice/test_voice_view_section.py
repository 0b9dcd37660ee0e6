"""The realtime snapshot's `voice` section without a voice server (voice is off by default):
present for every role, and empty."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("tenant", "username"),
    [("demo", "admin"), ("demo", "supervisor"), ("demo", "agent1"), ("other", "admin")],
)
def test_voice_section_is_empty_without_voice(app, as_user, tenant, username):  # type: ignore[no-untyped-def]
    assert app.state.voice is None  # the suite's settings leave voice off
    user = as_user(username, tenant)
    with user.websocket() as ws:
        ws.send_json({"type": "register", "last_event_id": None})
        snapshot = ws.receive_json()
    assert snapshot["type"] == "snapshot"
    assert snapshot["state"]["voice"] == {"calls": {}}
    # The other sections are still there: the voice one is added to them, not instead.
    assert {"directory", "routing"} <= set(snapshot["state"])
    assert user.get("/api/v1/voice/calls").json() == []
