"""A reconnect storm under load: every socket of a busy tenant drops and comes back at once (half
resuming by their last id, half asking for a snapshot) while routing commands keep arriving.
Commands are served throughout, the snapshots share their lock holds, and every socket ends
where a fresh snapshot is: snapshot + events = fresh snapshot."""

from __future__ import annotations

import contextlib
import copy
import itertools
import threading
from typing import Any

import httpx2
import pytest
from test_routing_realtime import RoutingClient, ok, without_estimates

from conftest import As, login
from omnidesk.platform import realtime

# 120 agents (60 of them with a second tab), 10 supervisors and 10 admin tabs: 200 sockets.
AGENTS = 120
SECOND_TABS = 60
SUPERVISORS = 10
ADMIN_TABS = 10
STORM = {
    "id": "storm",
    "name": "Storm",
    "channels": ["chat"],
    "steps": [{}],
    "offer_timeout_seconds": 600,
    "wrap_up_seconds": 600,
}

# Command rounds sent while every socket is away (what the resuming ones are replayed).
MISSED = 30

# Slow by its size (setting up 130 users and comparing 200 sockets), not by waiting.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # On a loaded machine the test's own sockets stay closed for minutes at a time (opening 200
    # one by one, then comparing 130 users' states with every storm socket closed): past
    # presence's grace, agents would be taken out of routing mid-comparison and the head would
    # move under it. A real blip comes back within the grace; presence is tested elsewhere.
    return settings.model_copy(update={"presence_grace_seconds": 3600.0})


def add_user(admin: As, client: Any, username: str, role: str, team: str) -> tuple[As, str]:
    password = f"{username}-password-1234"
    body = {"username": username, "display_name": username.title(), "role": role}
    user = ok(admin.post("/api/v1/users", json={**body, "password": password}), 201)
    team_role = "supervisor" if role == "supervisor" else "member"
    ok(admin.put(f"/api/v1/teams/{team}/members/{user['id']}", json={"role": team_role}))
    return login(client, "demo", username, password), user["id"]


def build_center(admin: As, client: Any, team: str) -> tuple[list[tuple[As, str]], list[str]]:
    """The viewers (user, id), one per socket, and the routing agents' ids."""
    ok(admin.post("/api/v1/routing/queues", json=STORM), 201)
    viewers, agents = [], []
    for n in range(AGENTS):
        user, uid = add_user(admin, client, f"agent{n:03}", "agent", team)
        profile = {"queues": {"storm": 1}, "capacity": {"chat": 1}}
        ok(admin.put(f"/api/v1/routing/agents/{uid}", json=profile))
        viewers.append((user, uid))
        agents.append(uid)
    viewers += viewers[:SECOND_TABS]
    for n in range(SUPERVISORS):
        viewers.append(add_user(admin, client, f"super{n:02}", "supervisor", team))
    return viewers, agents


class Load:
    """Routing commands sent without pause from inside the server's loop (an admin setting
    agents available and away, contacts arriving and being cancelled), recording for each how
    many snapshot views had been built when it was answered."""

    def __init__(self, app: Any, admin: As, agents: list[str]) -> None:
        self.app = app
        self.headers = admin.headers()
        self.agents = agents
        self.stop = threading.Event()
        self.answered: list[int] = []  # views built by then, one entry per command
        self.tenant: Any = None
        self.sent = 0  # rounds so far
        self.answering = threading.Event()  # set with each answer

    def views_built(self) -> int:
        return self.app.state.hub.snapshots(self.tenant).views_built

    async def run(self, commands: int | None = None) -> None:
        """Until stopped, or `commands` rounds."""
        transport = httpx2.ASGITransport(app=self.app)
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://testserver", headers=self.headers, timeout=60
        ) as http:
            for n in itertools.count(self.sent):
                if self.stop.is_set() or n == self.sent + (commands or -1):
                    self.sent = n
                    return
                agent = self.agents[n % len(self.agents)]
                state = "available" if n % 3 else "away"
                await self.send(http, f"/api/v1/routing/agents/{agent}/state", {"state": state})
                body = {"queue_id": "storm", "channel": "chat", "contact_id": f"s{n}"}
                await self.send(http, "/api/v1/routing/contacts", body)
                if n % 2:
                    r = await http.delete(f"/api/v1/routing/contacts/s{n - 1}")
                    assert r.status_code == 204, r.text
                    self.answered.append(self.views_built())

    async def send(self, http: Any, url: str, body: dict[str, Any]) -> None:
        r = await http.post(url, json=body)
        assert r.status_code in (200, 201), r.text
        self.answered.append(self.views_built())
        self.answering.set()


def register_all(watchers: list[RoutingClient], last_ids: list[int | None]) -> None:
    """Every socket sends its register at once; then the snapshots are read."""
    for watcher, last in zip(watchers, last_ids, strict=True):
        watcher.ws.send_json({"type": "register", "last_event_id": last})
        watcher.last_event_id = last
    for watcher, last in zip(watchers, last_ids, strict=True):
        if last is None:
            watcher.handle(watcher.ws.receive_json())


def sync_all(watchers: list[RoutingClient]) -> int:
    """Bring every socket up to the same head (all commands answered)."""
    head = max(w.sync() for w in watchers)
    for watcher in watchers:
        while watcher.sync() < head:
            pass
    return head


def test_every_socket_reconnects_at_once_under_load(app, client, as_user, tenants, monkeypatch):
    # The test opens all 200 sockets before any registers (to make the registers one storm);
    # a real client registers right after connecting. On a loaded machine opening 200 sockets
    # can take longer than the server's register timeout, which would then cut the first ones.
    monkeypatch.setattr(realtime, "REGISTER_TIMEOUT", 300.0)
    ids = tenants["demo"].ids
    admin = as_user("admin")
    viewers, agents = build_center(admin, client, ids["team"])
    viewers += [(admin, ids["admin"])] * ADMIN_TABS
    assert len(viewers) == 200
    hub = app.state.hub
    load = Load(app, admin, agents)

    try:
        with contextlib.ExitStack() as first:
            before = [RoutingClient(first.enter_context(u.websocket())) for u, _ in viewers]
            register_all(before, [None] * len(before))
            load.tenant = hub.connections()[0].principal.tenant_id
            for watcher in before:
                watcher.sync()
        # The network blips: every socket is gone, and commands go on meanwhile. Half come back
        # with their last id and state, half ask for a snapshot; all at once, under load.
        # (The load runs only while the sockets are away and during the storm: each socket
        # follows every event, so a load for as long as opening 200 sockets takes on a slow
        # machine made the test's own work grow without bound.)
        client.portal.call(load.run, MISSED)
        snapshots = hub.snapshots(load.tenant)
        holds, views = snapshots.holds, snapshots.views_built
        with contextlib.ExitStack() as second:
            after = [RoutingClient(second.enter_context(u.websocket())) for u, _ in viewers]
            resuming = [n % 2 == 0 for n in range(len(after))]
            for watcher, old, resume in zip(after, before, resuming, strict=True):
                watcher.state = copy.deepcopy(old.state) if resume else {}
            last_ids = [
                b.last_event_id if r else None for b, r in zip(before, resuming, strict=True)
            ]
            load.answering.clear()
            running = client.portal.start_task_soon(load.run)
            assert load.answering.wait(60)  # the load is going when the storm starts
            register_all(after, last_ids)
            storm_views = snapshots.views_built - views
            load.stop.set()
            running.result(timeout=60)
            # Events that follow routing's a moment later (the KPI ingester's figures, the
            # CRM's records) are in before the head is taken and compared with fresh snapshots.
            client.portal.call(app.state.analytics.settled)
            client.portal.call(app.state.crm.settled)
            head = sync_all(after)

        # Commands were answered while the snapshots were being built...
        assert [v for v in load.answered if views < v < views + storm_views]
        # ...which took a lock hold per round, not one per socket.
        assert snapshots.holds - holds < storm_views // 4
        fresh: dict[str, dict[str, Any]] = {}
        for (user, uid), watcher in zip(viewers, after, strict=True):
            if uid not in fresh:
                with user.websocket() as ws:
                    reference = RoutingClient(ws)
                    reference.register()
                    assert reference.last_event_id == head
                    fresh[uid] = without_estimates(reference.state)
            assert without_estimates(watcher.state) == fresh[uid], uid
        # The resumed ones were replayed what they missed (the admins' tabs at least).
        assert all(w.routing_events() for w, v in zip(after, viewers, strict=True) if v[0] is admin)
    finally:
        # A failure must not leave the load running: the client's teardown would wait on it.
        load.stop.set()
