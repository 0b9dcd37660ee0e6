"""Realtime delivery through the running app: an event reaches the sockets that may see it and
wakes nobody else; holes left by the bus are read once per tenant; registering or resuming while
events are in flight gives each event once; one slow socket is cut off without holding up the
others."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from realtime_client import ViewClient

from omnidesk.app import create_app
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.events import PublishedEvent


class HoldingBus(InProcessBus):
    """Publishes like the in-process bus, except that it can hold events back (as a remote bus
    delivering late or out of order would) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = 0
        self.held: list[PublishedEvent] = []

    async def publish(self, events: Any) -> None:
        for event in events:
            if self.hold:
                self.hold -= 1
                self.held.append(event)
            else:
                await super().publish([event])

    async def release(self) -> None:
        held, self.held = self.held, []
        await super().publish(held)


@pytest.fixture
def bus() -> HoldingBus:
    return HoldingBus()


@pytest.fixture
def app(settings, bus):  # type: ignore[no-untyped-def]
    return create_app(settings, bus=bus)


def head_of(admin) -> int:  # type: ignore[no-untyped-def]
    """The tenant's last event id (its log is short here: one page)."""
    page = admin.get("/api/v1/events", params={"after": 0, "limit": 1000}).json()
    assert len(page["events"]) < 1000
    return int(page["last_event_id"])


def sync_to(client: ViewClient, head: int) -> None:
    """Ping until the server says this client has been brought up to `head`."""
    while client.sync() < head:
        pass


def rename(admin, user_id: str, name: str) -> None:  # type: ignore[no-untyped-def]
    r = admin.patch(f"/api/v1/users/{user_id}", json={"display_name": name})
    assert r.status_code == 200, r.text


def fresh_state(user, viewer_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with user.websocket() as ws:
        client = ViewClient(ws, viewer_id)
        client.register()
        return client.state


def server_side(app, user_id: str) -> list[Any]:  # type: ignore[no-untyped-def]
    return [c for c in app.state.hub.connections() if str(c.principal.user_id) == user_id]


def wakeups(app, user_id: str) -> int:  # type: ignore[no-untyped-def]
    return sum(c.wakeups for c in server_side(app, user_id))


def add_user(admin, client, username: str, role: str) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    from conftest import login

    password = f"{username}-password-1234"
    body = {"username": username, "display_name": username.title(), "role": role}
    r = admin.post("/api/v1/users", json={**body, "password": password})
    assert r.status_code == 201, r.text
    return login(client, "demo", username, password), r.json()["id"]


def test_an_event_of_one_team_wakes_only_its_viewers(app, client, as_user, tenants):
    ids = tenants["demo"].ids
    admin = as_user("admin")
    # Sue supervises another team, Billing: she must hear nothing of Support's agents.
    sue, sue_id = add_user(admin, client, "sue", "supervisor")
    billing = admin.post("/api/v1/teams", json={"name": "Billing"}).json()["id"]
    r = admin.put(f"/api/v1/teams/{billing}/members/{sue_id}", json={"role": "supervisor"})
    assert r.status_code == 200, r.text
    # The new team and member move team figures, which the KPI ingester pushes on its own time
    # (up to FIGURES_SECONDS later): in before the count starts, only the rename is counted.
    client.portal.call(app.state.analytics.settled)
    viewers = {
        "admin": (admin, ids["admin"]),
        "supervisor": (as_user("supervisor"), ids["supervisor"]),
        "agent1": (as_user("agent1"), ids["agent1"]),
        "agent2": (as_user("agent2"), ids["agent2"]),
        "sue": (sue, sue_id),
        "other tenant's admin": (as_user("admin", tenant="other"), tenants["other"].ids["admin"]),
    }
    with contextlib.ExitStack() as stack:
        clients = {}
        for name, (user, uid) in viewers.items():
            clients[name] = ViewClient(stack.enter_context(user.websocket()), uid)
            clients[name].register()
            clients[name].sync()
        before = {n: wakeups(app, uid) for n, (_, uid) in viewers.items()}
        seen_before = {n: len(c.events) for n, c in clients.items()}
        # user.updated of agent1: addressed to agent1 and to the supervisors of Support.
        rename(admin, ids["agent1"], "Agent One")
        for c in clients.values():
            c.sync()
        woken = {n: wakeups(app, uid) - before[n] for n, (_, uid) in viewers.items()}
    received = {n: c.events[seen_before[n] :] for n, c in clients.items()}
    for name in ("admin", "supervisor", "agent1"):
        assert [e["event"] for e in received[name]][:1] == ["user.updated"], name
        # Costs what it delivers: one wake-up per event sent, none for anything else.
        assert woken[name] == len(received[name]), name
    for name in ("agent2", "sue", "other tenant's admin"):
        assert received[name] == [], name
        assert woken[name] == 0, name


def test_a_hole_left_by_the_bus_is_read_once_for_every_socket(app, client, as_user, tenants, bus):
    ids = tenants["demo"].ids
    admin = as_user("admin")
    sockets = [("admin", 4), ("supervisor", 3), ("agent1", 3)]
    with contextlib.ExitStack() as stack:
        clients = []
        for name, count in sockets:
            for _ in range(count):
                ws = stack.enter_context(as_user(name).websocket())
                clients.append((name, ViewClient(ws, ids[name])))
        for _, c in clients:
            c.register()
        start = head_of(admin)
        fanout = app.state.hub.fanout(next(iter(app.state.hub.connections())).principal.tenant_id)
        reads_before = fanout.log_reads
        # A hole of one (held back, the next one delivered), then a hole of three.
        bus.hold = 1
        rename(admin, ids["agent1"], "A")
        rename(admin, ids["agent1"], "B")
        bus.hold = 3
        for name in ("C", "D", "E", "F"):
            rename(admin, ids["agent1"], name)
        end = head_of(admin)
        for _, c in clients:
            sync_to(c, end)
        assert fanout.log_reads - reads_before == 2  # one read per hole, not per socket
        # The held events arrive late: nobody gets them twice (ViewClient asserts it).
        client.portal.call(bus.release)
        for _, c in clients:
            assert c.sync() == end
    for name, c in clients:
        got = [e["id"] for e in c.events]
        assert got == list(range(start + 1, end + 1)), name
        assert c.state == fresh_state(as_user(name), ids[name])


def test_each_event_once_when_registering_or_resuming_while_it_is_in_flight(
    app, client, as_user, tenants, bus
):
    ids = tenants["demo"].ids
    admin = as_user("admin")
    with contextlib.ExitStack() as stack:
        live = ViewClient(stack.enter_context(admin.websocket()), ids["admin"])
        live.register()
        h0 = head_of(admin)
        rename(admin, ids["agent1"], "A")  # h0 + 1: kept by the hub for quick resumes
        bus.hold = 1
        rename(admin, ids["agent1"], "B")  # h0 + 2: committed, not yet published
        fanout = app.state.hub.fanout(server_side(app, ids["admin"])[0].principal.tenant_id)
        assert fanout.head == h0 + 1
        assert fanout.recent_after(h0) is not None and fanout.recent_after(h0 - 1) is None
        fresh = ViewClient(stack.enter_context(admin.websocket()), ids["admin"])
        fresh.register()  # its snapshot already has h0 + 2
        assert fresh.last_event_id == h0 + 2
        resumed = {}
        for last in (h0, h0 - 1):  # from the hub's recent events / from the log
            resumed[last] = ViewClient(stack.enter_context(admin.websocket()), ids["admin"])
            resumed[last].register(last_event_id=last)
            resumed[last].sync()
        client.portal.call(bus.release)  # h0 + 2 reaches the hub now
        rename(admin, ids["agent1"], "C")  # h0 + 3
        end = head_of(admin)
        for c in (live, fresh, *resumed.values()):
            sync_to(c, end)
    assert [e["id"] for e in live.events] == [h0 + 1, h0 + 2, h0 + 3]
    assert [e["id"] for e in fresh.events] == [h0 + 3]
    assert [e["id"] for e in resumed[h0].events] == [h0 + 1, h0 + 2, h0 + 3]
    assert [e["id"] for e in resumed[h0 - 1].events] == [h0, h0 + 1, h0 + 2, h0 + 3]


class StuckSocket:
    """A socket whose sends complete only once `gate` opens (a client that stopped reading)."""

    def __init__(self, gate: asyncio.Event | None, expect: int) -> None:
        self.gate = gate
        self.texts: list[str] = []
        self.expect = expect
        self.done = asyncio.Event()

    async def send_text(self, text: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.texts.append(text)
        if len(self.texts) >= self.expect:
            self.done.set()


def test_a_slow_socket_is_cut_off_and_holds_nobody_up(app, client, as_user, tenants, settings):
    from omnidesk.platform.realtime import Connection, _Closed

    settings.realtime_queue_size = 10
    ids = tenants["demo"].ids
    admin = as_user("admin")
    events = 30
    hub = app.state.hub
    with admin.websocket() as ws:
        ViewClient(ws, ids["admin"]).register()
        principal = server_side(app, ids["admin"])[0].principal
        world: dict[str, Any] = {}

        async def connect() -> None:
            gate = asyncio.Event()
            # Each fast one gets a snapshot then every event.
            sockets = [StuckSocket(None, events + 1) for _ in range(5)]
            slow = StuckSocket(None, 1)
            connections = [Connection(hub, s, principal) for s in [*sockets, slow]]
            for c in connections:
                await c.start(None)
            slow.gate = gate  # from now on its sends hang
            world.update(gate=gate, sockets=sockets, slow=slow, connections=connections)
            world["pumps"] = [asyncio.create_task(c.pump()) for c in connections]

        client.portal.call(connect)
        for n in range(events):
            rename(admin, ids["agent2"], f"Agent {n}")

        async def check() -> None:
            for s in world["sockets"]:
                await asyncio.wait_for(s.done.wait(), 30)
            fast, slow = world["connections"][:-1], world["connections"][-1]
            for c in fast:
                assert c.wakeups >= events
            # Offered at most its inbox (and the one stuck in send), then nothing more.
            assert slow.wakeups <= settings.realtime_queue_size + 2
            assert slow not in list(hub.fanout(principal.tenant_id))
            world["gate"].set()  # the client reads again: it is told to resume by id
            with pytest.raises(_Closed) as closed:
                await asyncio.wait_for(world["pumps"][-1], 30)
            assert closed.value.code == 4408
            for task, c in zip(world["pumps"], world["connections"], strict=True):
                task.cancel()
                hub.detach(c)

        client.portal.call(check)
    for s in world["sockets"]:
        assert len(s.texts) == events + 1


class CountingHold:
    """Wraps a provider: counts how often its state is held and its section built."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.name = provider.name
        self.holds = 0
        self.builds = 0
        self.fail = False

    def hold(self, principal: Any) -> Any:
        self.holds += 1
        return self.provider.hold(principal)

    async def build(self, session: Any, principal: Any) -> Any:
        self.builds += 1
        if self.fail:
            raise RuntimeError("broken provider")
        return await self.provider.build(session, principal)


def test_snapshots_asked_at_once_share_one_hold_and_one_build_per_view(
    app, client, as_user, tenants, monkeypatch
):
    from omnidesk.platform import realtime_snapshot

    monkeypatch.setattr(realtime_snapshot, "HOLD_BUDGET", 60.0)  # one chunk, whatever the speed
    ids = tenants["demo"].ids
    hub = app.state.hub
    routing = next(p for p in hub.providers if p.name == "routing")
    counting = CountingHold(routing)
    hub.providers[hub.providers.index(routing)] = counting
    principals = {}
    for name in ("admin", "supervisor", "agent1"):
        with as_user(name).websocket() as ws:
            ViewClient(ws, ids[name]).register()
            principals[name] = server_side(app, ids[name])[0].principal
    tenant = principals["admin"].tenant_id
    asked = ["admin"] * 5 + ["supervisor"] * 10 + ["agent1"] * 5
    before = counting.holds, counting.builds

    async def storm() -> list[Any]:
        snapshots = hub.snapshots(tenant)
        return await asyncio.gather(*(snapshots.snapshot(principals[n]) for n in asked))

    results = client.portal.call(storm)
    assert (counting.holds - before[0], counting.builds - before[1]) == (1, 3)
    by_view = {n: {r for a, r in zip(asked, results, strict=True) if a == n} for n in principals}
    assert all(len(found) == 1 for found in by_view.values())  # one shared snapshot per view
    alone = {n: fresh_state(as_user(n), ids[n]) for n in principals}
    for name, (snapshot,) in by_view.items():
        assert json.loads(snapshot.state_json)["directory"] == alone[name]

    # A failing build fails the whole round's waiters; the next round starts afresh.
    counting.fail = True
    with pytest.raises(RuntimeError):
        client.portal.call(storm)
    counting.fail = False
    assert len(client.portal.call(storm)) == len(asked)
