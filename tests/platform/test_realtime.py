"""The realtime protocol: snapshot + events = fresh snapshot; reconnect replays exactly the gap."""

from __future__ import annotations

import pytest
from realtime_client import ViewClient

VIEWERS = ["admin", "supervisor", "agent1"]


def _changes(admin, ids):  # type: ignore[no-untyped-def]
    """A sequence touching every directory event type, including scope changes."""
    team = ids["team"]
    r = admin.post(
        "/api/v1/users", json={"username": "carol", "display_name": "Carol", "role": "agent"}
    )
    assert r.status_code == 201, r.text
    carol = r.json()["id"]
    assert (
        admin.put(f"/api/v1/teams/{team}/members/{carol}", json={"role": "member"}).status_code
        == 200
    )
    assert (
        admin.patch(f"/api/v1/users/{carol}", json={"display_name": "Carol C."}).status_code == 200
    )
    assert admin.patch(f"/api/v1/teams/{team}", json={"name": "Support EU"}).status_code == 200
    assert (
        admin.patch(
            f"/api/v1/users/{ids['agent1']}", json={"timezone": "Europe/Berlin"}
        ).status_code
        == 200
    )
    r = admin.post("/api/v1/teams", json={"name": "Billing"})
    billing = r.json()["id"]
    assert admin.put(f"/api/v1/teams/{billing}/members/{ids['agent1']}", json={}).status_code == 200
    assert admin.put(f"/api/v1/teams/{billing}/members/{carol}", json={}).status_code == 200
    assert admin.delete(f"/api/v1/teams/{team}/members/{ids['agent2']}").status_code == 204
    # The supervisor starts supervising Billing: their visible scope grows (resync).
    assert (
        admin.put(
            f"/api/v1/teams/{billing}/members/{ids['supervisor']}", json={"role": "supervisor"}
        ).status_code
        == 200
    )
    assert admin.patch(f"/api/v1/teams/{billing}", json={"name": "Billing DE"}).status_code == 200
    assert admin.delete(f"/api/v1/teams/{billing}/members/{ids['agent1']}").status_code == 204
    assert admin.delete(f"/api/v1/teams/{billing}").status_code == 204
    assert admin.patch(f"/api/v1/users/{carol}", json={"active": False}).status_code == 200


def _settle(client, app):  # type: ignore[no-untyped-def]
    """Wait until the KPI ingester has pushed the figures `_changes` moved (team figures: a
    membership change moves its team's, the ingester's first batch of a tenant every team's).
    They are pushed on the server's own time, up to FIGURES_SECONDS later; taken before a
    client syncs, they are all in the stream the test compares (and none lands after it)."""
    client.portal.call(app.state.analytics.settled)


def _fresh_snapshot(user, viewer_id):  # type: ignore[no-untyped-def]
    with user.websocket() as ws:
        fresh = ViewClient(ws, viewer_id)
        message = fresh.register()
        return message["last_event_id"], fresh.state


@pytest.mark.parametrize("viewer", VIEWERS)
def test_snapshot_plus_events_equals_fresh_snapshot(client, app, as_user, tenants, viewer):
    ids = tenants["demo"].ids
    user = as_user(viewer)
    with user.websocket() as ws:
        view = ViewClient(ws, ids[viewer])
        first = view.register()
        assert first["type"] == "snapshot"
        assert ids[viewer] in view.state["users"]
        _changes(as_user("admin"), ids)
        _settle(client, app)
        cursor = view.sync()
    head, fresh = _fresh_snapshot(user, ids[viewer])
    assert cursor == head
    assert view.state == fresh
    if viewer == "admin":
        assert len(view.events) == head - first["last_event_id"]
    else:
        # Filtered: a supervisor or agent never sees another tenant member's private changes.
        assert 0 < len(view.events) < head - first["last_event_id"]


def test_views_are_scoped_by_role(as_user, tenants):
    ids = tenants["demo"].ids
    _, admin_view = _fresh_snapshot(as_user("admin"), ids["admin"])
    _, sup_view = _fresh_snapshot(as_user("supervisor"), ids["supervisor"])
    _, agent_view = _fresh_snapshot(as_user("agent1"), ids["agent1"])
    assert set(admin_view["users"]) == {ids[u] for u in ("admin", "supervisor", "agent1", "agent2")}
    assert set(sup_view["users"]) == {ids[u] for u in ("supervisor", "agent1", "agent2")}
    assert set(agent_view["users"]) == {ids["agent1"]}
    assert agent_view["teams"][ids["team"]]["members"] == {ids["agent1"]: "member"}
    other = tenants["other"].ids
    assert not set(admin_view["users"]) & {other[u] for u in ("admin", "agent1")}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_reconnect_replays_missed_events_exactly_once(client, app, as_user, tenants, viewer):
    ids = tenants["demo"].ids
    user = as_user(viewer)
    admin = as_user("admin")
    # A reference client that stays connected the whole time.
    with as_user(viewer).websocket() as ref_ws:
        reference = ViewClient(ref_ws, ids[viewer])
        reference.register()
        with user.websocket() as ws:
            first = ViewClient(ws, ids[viewer])
            first.register()
            admin.patch(f"/api/v1/users/{ids['agent1']}", json={"display_name": "A1"})
            first.sync()
            seen_before = first.last_event_id
            state_before = first.state
        _changes(admin, ids)  # while disconnected
        with user.websocket() as ws:
            second = ViewClient(ws, ids[viewer])
            second.state = state_before
            second.register(last_event_id=seen_before)
            admin.patch(f"/api/v1/users/{ids['agent1']}", json={"display_name": "A1b"})
            _settle(client, app)  # the figures `_changes` moved: before both sockets sync
            second.sync()
        reference.sync()
    replayed = [m["id"] for m in second.events]
    assert len(replayed) == len(set(replayed)), "an event was delivered twice"
    assert replayed == sorted(replayed)
    reference_ids = [m["id"] for m in reference.events]
    if not second.snapshots:
        assert replayed == [i for i in reference_ids if i > seen_before]
    else:
        # A scope change (the supervisor got a new team) resyncs with a snapshot, which covers
        # the events up to its id: before it the replay is exact, after it the live stream is.
        assert viewer == "supervisor"
        cut = second.snapshots[-1]["last_event_id"]
        before = [i for i in replayed if i <= cut]
        after = [i for i in replayed if i > cut]
        assert before == [i for i in reference_ids if seen_before < i <= before[-1]]
        # The reference resynced too, maybe later than this socket (a snapshot covers what
        # happened before it was read): what the viewer may see after the cut is the log's.
        visible = user.get("/api/v1/events", params={"after": cut, "limit": 1000}).json()
        assert after == [e["id"] for e in visible["events"]]
        # The change made after reconnecting is either in the resync snapshot or delivered after it.
        assert second.state["users"][ids["agent1"]]["display_name"] == "A1b"
    assert second.state == reference.state


def test_replay_over_http_matches_log(as_user, tenants):
    admin = as_user("admin")
    _changes(admin, tenants["demo"].ids)
    page = admin.get("/api/v1/events", params={"after": 0, "limit": 1000}).json()
    ids = [e["id"] for e in page["events"]]
    assert ids == list(range(1, len(ids) + 1))  # gapless per tenant, in order
    assert page["last_event_id"] == ids[-1]
    agent = as_user("agent1").get("/api/v1/events", params={"after": 0, "limit": 1000}).json()
    assert agent["events"] and len(agent["events"]) < len(ids)
    admin_ids = {e["id"] for e in page["events"]}
    assert {e["id"] for e in agent["events"]} <= admin_ids
    carol = next(e["subject"]["id"] for e in page["events"] if e["event"] == "user.created")
    # Carol's own changes are private to her, her supervisors and admins.
    assert all(e["subject"]["id"] != carol for e in agent["events"])
    other = as_user("admin", tenant="other").get("/api/v1/events").json()
    assert {e["subject"]["id"] for e in other["events"]}.isdisjoint(
        {e["subject"]["id"] for e in page["events"]}
    )


def test_unknown_last_event_id_gets_a_snapshot(as_user, tenants):
    with as_user("agent1").websocket() as ws:
        ws.send_json({"type": "register", "last_event_id": 10_000})
        message = ws.receive_json()
        assert message["type"] == "snapshot"
        assert message["reason"] == "unknown_event_id"


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ("not json", "JSON"),
        ('{"type": "hello"}', "register"),
        ('{"type": "register", "last_event_id": -1}', "non-negative"),
        ('{"type": "register", "last_event_id": "5"}', "integer"),
        ('{"type": "register", "since": 1}', "unknown fields"),
    ],
)
def test_bad_register_is_refused(as_user, tenants, message, detail):
    with as_user("agent1").websocket() as ws:
        ws.send_text(message)
        error = ws.receive_json()
        assert error["type"] == "error"
        assert error["status"] == 400
        assert detail in error["detail"]


def test_unauthenticated_socket_is_refused(client, tenants):
    client.cookies.clear()
    with client.websocket_connect("/api/v1/realtime") as ws:
        error = ws.receive_json()
        assert error == {"type": "error", "status": 401, "detail": "not logged in"}


def test_foreign_origin_is_refused(as_user, tenants):
    user = as_user("agent1")
    user.client.cookies.clear()
    headers = {"cookie": f"omnidesk_session={user.cookie}", "origin": "https://evil.example"}
    with user.client.websocket_connect("/api/v1/realtime", headers=headers) as ws:
        error = ws.receive_json()
        assert error["status"] == 403


def test_deactivated_user_is_disconnected(as_user, tenants):
    ids = tenants["demo"].ids
    with as_user("agent2").websocket() as ws:
        client = ViewClient(ws, ids["agent2"])
        client.register()
        as_user("admin").patch(f"/api/v1/users/{ids['agent2']}", json={"active": False})
        messages = []
        while True:
            message = ws.receive_json()
            messages.append(message)
            if message["type"] == "error":
                break
        assert messages[-1]["status"] == 401
        assert messages[0]["event"] == "user.updated"


def test_socket_closes_when_the_session_expires(as_user, app, client, tenants):
    from datetime import timedelta

    from sqlalchemy import update

    from omnidesk.platform.auth.models import AuthSession
    from omnidesk.platform.database import SYSTEM, utcnow

    user = as_user("agent1")

    async def expire_soon() -> None:
        session = app.state.services.db.session(SYSTEM)
        try:
            await session.execute(
                update(AuthSession).values(expires_at=utcnow() + timedelta(seconds=1))
            )
            await session.commit()
        finally:
            await session.close()

    client.portal.call(expire_soon)
    with user.websocket() as ws:
        client_view = ViewClient(ws, tenants["demo"].ids["agent1"])
        client_view.register()
        error = ws.receive_json()  # nothing else happens: the expiry alone ends the stream
        assert error["type"] == "error"
        assert error["status"] == 401
        assert "expired" in error["detail"]
