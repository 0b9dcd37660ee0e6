"""Today's figures pushed on the realtime protocol (analytics/live.py, both databases): a
supervisor's socket receives each queue's figures as the ingester counts its contacts, equal
to the report; another team's supervisor does not; a fresh snapshot carries them, and a
snapshot plus the events equals a fresh snapshot."""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import As, login
from omnidesk.analytics.live import Window, changed_queues
from spine_checks import all_events, event_cursor

FIGURES = "analytics.queue_figures"
AGENT_FIGURES = "analytics.agent_figures"
CHANNEL_FIGURES = "analytics.channel_figures"
TEAM_FIGURES = "analytics.team_figures"
EMPTY = {"queues": {}, "channels": {}, "agents": {}, "teams": {}}
KPI = {"id": "kpi", "channels": ["chat"], "name": "KPI", "service_level_seconds": 20}
NIGHT = {**KPI, "id": "night", "name": "Night"}


class FiguresClient:
    """Keeps the snapshot's `analytics` section and applies the figures events to it."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.section: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []  # queues' figures
        self.agent_events: list[dict[str, Any]] = []
        self.channel_events: list[dict[str, Any]] = []
        self.team_events: list[dict[str, Any]] = []
        self.resyncs: list[int] = []  # last_event_id of each scope_changed snapshot

    def register(self) -> None:
        self.ws.send_json({"type": "register", "last_event_id": None})
        snapshot = self.ws.receive_json()
        assert snapshot["type"] == "snapshot", snapshot
        self.section = copy.deepcopy(snapshot["state"]["analytics"])

    def sync(self) -> int:
        """Apply what arrives before the pong; returns the id the server brought it up to."""
        self.ws.send_json({"type": "ping"})
        while (message := self.ws.receive_json())["type"] != "pong":
            if message["type"] == "snapshot" and message["reason"] == "scope_changed":
                # Who one sees changed (a team's members): a fresh snapshot replaces it all.
                self.section = copy.deepcopy(message["state"]["analytics"])
                self.resyncs.append(message["last_event_id"])
                continue
            assert message["type"] == "event", message
            if message["event"] == FIGURES:
                self.events.append(message)
                self.section["queues"][message["data"]["queue_id"]] = message["data"]
            elif message["event"] == AGENT_FIGURES:
                self.agent_events.append(message)
                self.section["agents"][message["data"]["agent_id"]] = message["data"]
            elif message["event"] == CHANNEL_FIGURES:
                self.channel_events.append(message)
                self.section["channels"][message["data"]["channel"]] = message["data"]
            elif message["event"] == TEAM_FIGURES:
                self.team_events.append(message)
                self.section["teams"][message["data"]["team_id"]] = message["data"]
        return int(message["last_event_id"])

    def sync_to(self, head: int) -> None:
        """Sync until the server has brought this socket up to `head`. An event published out
        of order (two writers: a request's or routing's, and the ingester's figures) waits in
        the hub until the one before it arrives or is read from the log; a pong sent before
        then stands below it."""
        while self.sync() < head:
            pass


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def add_user(admin: As, client: TestClient, name: str, role: str, team: str) -> tuple[As, str]:
    password = f"{name}-password-1234"
    body = {"username": name, "display_name": name.title(), "role": role, "password": password}
    uid = ok(admin.post("/api/v1/users", json=body), 201)["id"]
    member = "supervisor" if role == "supervisor" else "member"
    ok(admin.put(f"/api/v1/teams/{team}/members/{uid}", json={"role": member}))
    return login(client, "demo", name, password), uid


def serve(admin: As, agent: As, agent_id: str, queue: str) -> None:
    profile = {"skills": {}, "queues": {queue: 1}, "capacity": {"chat": 1}}
    ok(admin.put(f"/api/v1/routing/agents/{agent_id}", json=profile))
    ok(agent.post(f"/api/v1/routing/agents/{agent_id}/state", json={"state": "available"}))


def route(admin: As, agent: As, queue: str, prefix: str) -> None:
    """One contact answered, ended and wrapped up; one that waits and is given up."""
    body = {"queue_id": queue, "channel": "chat", "contact_id": f"{prefix}1"}
    offer = ok(admin.post("/api/v1/routing/contacts", json=body), 201)["offer_id"]
    ok(agent.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept"))
    ok(admin.post("/api/v1/routing/contacts", json={**body, "contact_id": f"{prefix}2"}), 201)
    ok(admin.delete(f"/api/v1/routing/contacts/{prefix}2"), 204)
    ok(agent.post(f"/api/v1/routing/contacts/{prefix}1/end"))
    ok(agent.post(f"/api/v1/routing/wrap-ups/{prefix}1/end", json={"disposition": "resolved"}))


def fresh(user: As) -> dict[str, Any]:
    with user.websocket() as ws:
        watcher = FiguresClient(ws)
        watcher.register()
        return watcher.section


def settle(client: TestClient, app: FastAPI) -> None:
    # Awaited, not slept: routing has applied the directory's changes (a new member's teams:
    # routing events, which wake the ingester); the ingester is idle once everything announced
    # is in the rollups (and its figures events are published); the CRM's records follow
    # routing's events.
    client.portal.call(app.state.routing.settled)  # type: ignore[union-attr]
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    client.portal.call(app.state.crm.settled)  # type: ignore[union-attr]


def head(admin: As) -> int:
    """The tenant's last event id."""
    return event_cursor(admin)


def same_window(a: dict[str, Any], b: dict[str, Any]) -> bool:
    # Figures read at two instants cover the same ranges unless a quarter hour began between.
    return all(a[k]["start"] == b[k]["start"] for k in ("today", "last_30m", "current"))


def test_figures_are_pushed_to_the_queues_viewers(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin, supervisor = as_user("admin"), as_user("supervisor")
    night_team = ok(admin.post("/api/v1/teams", json={"name": "Night"}), 201)["id"]
    nightlead, _ = add_user(admin, client, "nightlead", "supervisor", night_team)
    nina, nina_id = add_user(admin, client, "nina", "agent", night_team)
    for queue in (KPI, NIGHT):
        ok(admin.post("/api/v1/routing/queues", json=queue), 201)
    serve(admin, as_user("agent1"), ids["agent1"], "kpi")
    serve(admin, nina, nina_id, "night")
    with (
        supervisor.websocket() as ws,
        nightlead.websocket() as night_ws,
        admin.websocket() as admin_ws,
    ):
        ours, theirs, all_of = FiguresClient(ws), FiguresClient(night_ws), FiguresClient(admin_ws)
        for watcher in (ours, theirs, all_of):
            watcher.register()
        # Nothing counted yet: no queue, channel or agent; each team (once the ingester has
        # begun) with nothing.
        assert {k: v for k, v in ours.section.items() if k != "teams"} == without_teams(EMPTY)
        assert all(nothing(f) for f in ours.section["teams"].values())
        route(admin, as_user("agent1"), "kpi", "k")
        route(admin, nina, "night", "n")
        settle(client, app)
        last = head(admin)
        for watcher in (ours, theirs, all_of):
            watcher.sync_to(last)
        # A settings change moves every figure (here: abandons within T count as met): pushed.
        before, channels_before = len(ours.events), len(all_of.channel_events)
        body = {"short_abandon_seconds": 5, "abandons_in_sl": "met", "timezone": "UTC"}
        ok(admin.put("/api/v1/analytics/settings", json=body))
        ours.sync()
        all_of.sync()
        assert [e["data"]["queue_id"] for e in ours.events[before:]] == ["kpi"]
        assert [e["data"]["channel"] for e in all_of.channel_events[channels_before:]] == ["chat"]
    check_channels_and_teams(client, admin, supervisor, nightlead, ours, theirs, all_of)
    # Each sees the figures of their own team's queue only, from events alone.
    assert {e["data"]["queue_id"] for e in ours.events} == {"kpi"}
    assert {e["data"]["queue_id"] for e in theirs.events} == {"night"}
    assert set(theirs.section["queues"]) == {"night"}
    # The last event's figures are the report's: today's total and the last 30 minutes.
    pushed = ours.section["queues"]["kpi"]
    assert pushed["today"]["sums"]["offered"] == 2
    assert pushed["today"]["sums"]["short_abandoned"] == 1
    assert pushed["today"]["sums"]["wrap_seconds"] > 0
    report = ok(supervisor.get("/api/v1/analytics/queues", params={"queue_id": "kpi"}))
    assert pushed["today"] == report["total"]
    window = {"start": pushed["last_30m"]["start"], "end": pushed["last_30m"]["end"]}
    recent = ok(
        supervisor.get(
            "/api/v1/analytics/queues", params={**window, "interval": "15m", "queue_id": "kpi"}
        )
    )
    assert pushed["last_30m"] == recent["total"]
    assert pushed["current"] == recent["intervals"][-1]
    # A (re)connecting socket gets them in its snapshot: the snapshot plus the events is a
    # fresh snapshot (while no quarter hour began in between).
    again = fresh(supervisor)
    assert set(again["queues"]) == {"kpi"}
    if same_window(again["queues"]["kpi"], pushed):
        assert again == ours.section
    assert set(fresh(admin)["queues"]) == {"kpi", "night"}
    assert fresh(as_user("agent1")) == EMPTY  # agents read no reports
    # Another tenant's sockets hear nothing of them (their own team's figures: nothing yet).
    other = fresh(as_user("supervisor", "other"))
    assert without_teams(other) == without_teams(EMPTY)
    assert all(nothing(f) for f in other["teams"].values())
    assert not set(other["teams"]) & {ids["team"], night_team}

    # Agents' figures of today likewise: to the supervisors of their teams, never to the
    # agents themselves, equal to the agents report's total of the day.
    assert {e["data"]["agent_id"] for e in ours.agent_events} == {ids["agent1"]}
    assert {e["data"]["agent_id"] for e in theirs.agent_events} == {nina_id}
    mine = ours.section["agents"][ids["agent1"]]
    assert mine["today"]["sums"]["handled"] == 1
    assert mine["today"]["sums"]["wrap_seconds"] > 0
    agents = ok(supervisor.get("/api/v1/analytics/agents", params={"agent_id": ids["agent1"]}))
    assert mine["today"] == agents["agents"][0]["total"]
    again = fresh(supervisor)["agents"]
    assert set(again) == {ids["agent1"]}
    assert again[ids["agent1"]]["today"]["sums"]["handled"] == 1
    assert set(fresh(admin)["agents"]) == {ids["agent1"], nina_id}
    check_membership_moves_team_figures(client, app, admin, nightlead, ids["agent1"], night_team)


def check_channels_and_teams(
    client: TestClient,
    admin: As,
    supervisor: As,
    nightlead: As,
    ours: FiguresClient,
    theirs: FiguresClient,
    all_of: FiguresClient,
) -> None:
    """Channels' figures go to admins alone; a team's to its supervisors (and admins); each
    equals its report, and the snapshot plus the events equals a fresh snapshot."""
    ids = {t["name"]: t["id"] for t in ok(admin.get("/api/v1/teams"))}
    night_team = ids.pop("Night")
    (team,) = ids.values()
    # Supervisors get no channel figures, not even of their own queues' channel (counted).
    assert len(ours.channel_events) == 0 and len(theirs.channel_events) == 0
    assert {e["data"]["channel"] for e in all_of.channel_events} == {"chat"}
    chat = all_of.section["channels"]["chat"]
    # Both queues' chats together: 2 arrived in each, 1 answered, 1 given up at once.
    assert chat["today"]["sums"]["offered"] == 4
    assert chat["today"]["sums"]["answered"] == 2
    assert chat["today"]["sums"]["short_abandoned"] == 2
    report = ok(admin.get("/api/v1/analytics/queues", params={"channel": "chat"}))
    assert chat["today"] == report["total"]
    window = {"start": chat["last_30m"]["start"], "end": chat["last_30m"]["end"]}
    params = {**window, "interval": "15m", "channel": "chat"}
    recent = ok(admin.get("/api/v1/analytics/queues", params=params))
    assert chat["last_30m"] == recent["total"]
    assert chat["current"] == recent["intervals"][-1]
    # A team's figures: to its supervisors; the night lead gets none of the day team's.
    assert {e["data"]["team_id"] for e in ours.team_events} == {team}
    assert {e["data"]["team_id"] for e in theirs.team_events} == {night_team}
    assert sum(e["data"]["team_id"] == team for e in theirs.team_events) == 0
    assert {e["data"]["team_id"] for e in all_of.team_events} == {team, night_team}
    day_team = ours.section["teams"][team]["today"]
    assert day_team["sums"]["handled"] == 1
    assert day_team["sums"]["wrap_seconds"] > 0
    assert day_team["kpis"]["occupancy"] is not None
    agents = ok(supervisor.get("/api/v1/analytics/agents", params={"team_id": team}))
    assert [a["agent_id"] for a in agents["agents"]] == list(ours.section["agents"])
    assert day_team == agents["total"]
    night = ok(admin.get("/api/v1/analytics/agents", params={"team_id": night_team}))
    assert theirs.section["teams"][night_team]["today"] == night["total"]
    # Another team's report is not the night lead's to read.
    missing = nightlead.get("/api/v1/analytics/agents", params={"team_id": team})
    assert missing.status_code == 404, missing.text
    # Snapshot + events = a fresh snapshot (while no quarter hour began in between).
    for user, watcher in ((supervisor, ours), (nightlead, theirs), (admin, all_of)):
        again = fresh(user)
        assert set(again["teams"]) == set(watcher.section["teams"])
        assert set(again["channels"]) == set(watcher.section["channels"])
        if all(same_window(again["queues"][q], f) for q, f in watcher.section["queues"].items()):
            assert again == watcher.section


def without_teams(section: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in section.items() if k != "teams"}


def nothing(figures: dict[str, Any]) -> bool:
    sums = figures["today"]["sums"]
    return sums["handled"] == 0 and not sums["state_seconds"]


def check_membership_moves_team_figures(
    client: TestClient, app: FastAPI, admin: As, nightlead: As, agent1: str, night_team: str
) -> None:
    """A team's figures are its members' of now: agent1 joining the night team adds their
    contact to it, pushed to the night lead, and a fresh snapshot says the same."""
    with nightlead.websocket() as ws:
        theirs = FiguresClient(ws)
        theirs.register()
        assert theirs.section["teams"][night_team]["today"]["sums"]["handled"] == 1
        before = head(admin)
        ok(admin.put(f"/api/v1/teams/{night_team}/members/{agent1}", json={"role": "member"}))
        settle(client, app)
        theirs.sync_to(head(admin))
    # The membership change pushed the team's figures, once (the log has them)...
    pushed = [e for e in all_events(admin, before)[0] if e["event"] == TEAM_FIGURES]
    assert [e["data"]["team_id"] for e in pushed] == [night_team]
    night = ok(admin.get("/api/v1/analytics/agents", params={"team_id": night_team}))
    assert pushed[0]["data"]["today"] == night["total"]
    # ... and the night lead got them: as the event, or in the snapshot their socket was sent
    # when routing's agent_updated (agent1 now followed by the night lead) changed their scope,
    # if that snapshot was read after the push was in (it covers the event, which is then not
    # sent again).
    received = [e["id"] for e in theirs.team_events]
    resynced = any(last >= pushed[0]["id"] for last in theirs.resyncs)
    got = received == [pushed[0]["id"]] or (received == [] and resynced)
    assert got, (received, theirs.resyncs)
    assert theirs.section["teams"][night_team]["today"]["sums"]["handled"] == 2
    assert theirs.section["teams"][night_team]["today"] == night["total"]
    assert fresh(nightlead)["teams"] == theirs.section["teams"]


def test_the_window_follows_the_tenants_day() -> None:
    riga = ZoneInfo("Europe/Riga")
    # 00:10 in Riga on the day the clocks go forward: the day began at 22:00 UTC the evening
    # before, and the last 30 minutes reach back into yesterday.
    at = Window(datetime(2026, 3, 28, 22, 10, tzinfo=UTC), riga)
    assert at.day_start == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert at.day_end == datetime(2026, 3, 29, 21, 0, tzinfo=UTC)  # a 23-hour day
    assert at.quarter == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert at.earliest == datetime(2026, 3, 28, 21, 45, tzinfo=UTC)
    changed = [
        (datetime(2026, 3, 28, 21, 30), "old"),  # yesterday, out of the last 30 minutes
        (datetime(2026, 3, 28, 21, 45), "late"),  # yesterday, in the last 30 minutes
        (datetime(2026, 3, 28, 22, 0), "today"),
    ]
    assert changed_queues(changed, at) == ["late", "today"]
    # At 00:40 the day's figures start afresh at midnight: yesterday's no longer count.
    later = Window(datetime(2026, 3, 28, 22, 40, tzinfo=UTC), riga)
    assert later.earliest == later.day_start
    assert changed_queues(changed, later) == ["today"]


async def test_figures_go_out_at_most_once_per_period_and_held_ones_follow(monkeypatch) -> None:
    """Database-free: the first push after a quiet spell goes out at once; queues changed
    within the period are held and go out together once it has passed."""
    import asyncio
    import uuid as _uuid

    from omnidesk.analytics import ingester, live
    from omnidesk.platform.bus import InProcessBus
    from omnidesk.platform.events import Audience

    async def window(_session: Any, _tenant: Any, _now: Any) -> str:
        return "now"

    async def figures(_session: Any, _tenant: Any, queue_id: str, _at: Any) -> str:
        return queue_id

    monkeypatch.setattr(live, "window", window)
    monkeypatch.setattr(live, "figures", figures)

    tenant = _uuid.uuid4()
    publish = ingester.Publish(InProcessBus(), lambda _t, _q: Audience(), every=3600.0)
    publish.hold(tenant, ingester.Changed(queues=["a"]))
    first = await publish.read(None, tenant, publish.take(tenant))  # type: ignore[arg-type]
    publish.hold(tenant, ingester.Changed(queues=["b"]))
    assert publish.take(tenant) == []  # within the period: held
    publish.hold(tenant, ingester.Changed(queues=["a"]))
    assert [f for f, _ in first] == ["a"]
    assert publish.held[tenant] == {("queue", "a"), ("queue", "b")}
    assert publish.due_in(tenant) > 3500
    publish.sent[tenant] = asyncio.get_running_loop().time() - 3600.0  # the period has passed
    third = await publish.read(None, tenant, publish.take(tenant))  # type: ignore[arg-type]
    assert [f for f, _ in third] == ["a", "b"] and tenant not in publish.held


async def test_figures_whose_push_fails_are_held_again(monkeypatch) -> None:
    """A push whose transaction fails loses nothing: its queues are held for the next one."""
    import uuid as _uuid

    from omnidesk.analytics import ingester, live
    from omnidesk.platform.bus import InProcessBus
    from omnidesk.platform.events import Audience

    async def broken(_session: Any, _tenant: Any, _now: Any) -> str:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(live, "window", broken)

    class Db:
        @contextlib.asynccontextmanager
        async def snapshot_session(self, _scope: Any) -> Any:
            yield None

    tenant = _uuid.uuid4()
    publish = ingester.Publish(InProcessBus(), lambda _t, _q: Audience(), every=0.0)
    publish.hold(tenant, ingester.Changed(queues=["a", "b"]))
    with pytest.raises(RuntimeError):
        await ingester.push_held(Db(), tenant, publish)  # type: ignore[arg-type]
    assert publish.held[tenant] == {("queue", "a"), ("queue", "b")}
