"""Routing in the realtime stream: snapshot + the routing events a viewer receives = a fresh
snapshot, for admin, supervisor and agent; scoping by team; reconnect without gaps."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from conftest import As, login

VIEWERS = ["admin", "supervisor", "agent1"]
QUEUE_FIELDS = ("id", "name", "channels", "priority", "service_level_seconds")
QUEUE_FIELDS += ("service_level_target",)
AGENT_FIELDS = ("id", "name", "teams", "queues", "capacity")
AGENT_STATES = ("available", "busy", "wrap_up", "away", "offline")
# Long timers: nothing may fire by itself while a test compares views.
SUPPORT = {
    "id": "support",
    "name": "Support",
    "channels": ["chat", "voice"],
    "steps": [{"target": "skills.lang.de >= 3", "timeout_seconds": 600}, {"target": None}],
    "offer_timeout_seconds": 600,
    "wrap_up_seconds": 600,
}
OTHER = {**SUPPORT, "id": "other", "name": "Other", "channels": ["chat"], "steps": [{}]}


# --- a client that follows the routing section like a wallboard would -----------------------


class RoutingClient:
    """Keeps the `routing` section of the snapshot and applies routing events to it."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._state: dict[str, Any] = {}
        self._counted = True
        self.last_event_id: int | None = None
        self.events: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        # The slot of a contact that just ended (or was transferred away): a wrap-up that
        # starts right after it takes its queue and channel from there.
        self.ended: dict[tuple[str, str], dict[str, Any]] = {}

    @property
    def state(self) -> dict[str, Any]:
        # The counts follow from the entries; they are worked out when the state is read, not
        # after every event (a storm test applies thousands of events to 200 clients).
        if not self._counted:
            _count(self._state)
            self._counted = True
        return self._state

    @state.setter
    def state(self, value: dict[str, Any]) -> None:
        self._state, self._counted = value, True

    def register(self, last_event_id: int | None = None) -> None:
        self.ws.send_json({"type": "register", "last_event_id": last_event_id})
        self.last_event_id = last_event_id
        if last_event_id is None:
            self.handle(self.ws.receive_json())

    def handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "snapshot":
            self.snapshots.append(message)
            self.state = copy.deepcopy(message["state"]["routing"])
            self.last_event_id = message["last_event_id"]
        elif message["type"] == "event":
            assert self.last_event_id is None or message["id"] > self.last_event_id, (
                f"event {message['id']} after {self.last_event_id}: duplicate or out of order"
            )
            self.events.append(message)
            self.last_event_id = message["id"]
            if message["event"].startswith("routing."):
                apply(self._state, message["event"], message["data"], self.ended)
                self._counted = False
        else:
            raise AssertionError(f"unexpected message {message}")

    def sync(self) -> int:
        self.ws.send_json({"type": "ping"})
        while True:
            message = self.ws.receive_json()
            if message["type"] == "pong":
                return int(message["last_event_id"])
            self.handle(message)

    def routing_events(self) -> list[dict[str, Any]]:
        return [m for m in self.events if m["event"].startswith("routing.")]


def apply(view: dict[str, Any], name: str, data: dict[str, Any], ended: dict[Any, Any]) -> None:
    queues, agents, contacts = view["queues"], view["agents"], view["contacts"]
    contact_id, agent_id, at = data.get("contact_id"), data.get("agent_id"), data.get("at")
    contact = contacts.get(contact_id)
    agent = agents.get(agent_id)
    slots = agent["contacts"] if agent is not None else {}
    if name in ("routing.queue_added", "routing.queue_updated"):
        queue = data["queue"]
        queues.setdefault(queue["id"], {}).update({k: queue.get(k) for k in QUEUE_FIELDS})
    elif name == "routing.queue_removed":
        queues.pop(data["queue_id"], None)
    elif name == "routing.agent_added":
        fields = {k: data["agent"].get(k) for k in AGENT_FIELDS}
        agents[fields["id"]] = {**fields, "state": "offline", "reason": None, "since": at}
        agents[fields["id"]]["contacts"] = {}
    elif name == "routing.agent_updated":
        if data["agent"]["id"] in agents:
            agents[data["agent"]["id"]].update({k: data["agent"].get(k) for k in AGENT_FIELDS})
    elif name == "routing.agent_removed":
        agents.pop(agent_id, None)
    elif name == "routing.agent_state_changed":
        if agent is not None:
            agent.update(state=data["state"], reason=data["reason"], since=at)
    elif name == "routing.contact_received":
        contacts[contact_id] = {
            "contact_id": contact_id,
            "queue_id": data["queue_id"],
            "channel": data["channel"],
            "priority": data["priority"],
            "emergency": data["emergency"],
            "state": "waiting",
            "step": 0,
            "queued_at": at,
            "agent_id": None,
            "estimate": None,
        }
    elif name == "routing.agent_contact_started":
        # The agent's own contact: active in their entry at once; one with a queue reaches
        # that queue's viewers as a contact_placed card right after.
        if agent is not None:
            slots[contact_id] = {
                "state": "active",
                "queue_id": data["queue_id"],
                "channel": data["channel"],
                "offer_id": None,
                "ends_at": None,
            }
    elif name == "routing.contact_queued":
        if contact is not None:
            contact.update(queue_id=data["queue_id"], state="waiting", agent_id=None)
            contact["step"] = data["step"]
        for other in agents.values():  # handed back or its agent disconnected
            slot = other["contacts"].get(contact_id)
            if slot is not None and slot["state"] in ("offered", "active"):
                del other["contacts"][contact_id]
    elif name == "routing.offer_created":
        if agent is not None:
            slots[contact_id] = {
                "state": "offered",
                "queue_id": data["queue_id"],
                "channel": data["channel"],
                "offer_id": data["offer_id"],
                "ends_at": data["expires_at"],
            }
        if contact is not None:
            contact.update(state="offered", agent_id=agent_id)
    elif name == "routing.offer_extended":
        if contact_id in slots:
            slots[contact_id]["ends_at"] = data["expires_at"]
    elif name == "routing.offer_accepted":
        if contact_id in slots:
            slots[contact_id].update(state="active", offer_id=None, ends_at=None)
        if contact is not None:
            contact["state"] = "active"
    elif name in ("routing.offer_rejected", "routing.offer_timed_out", "routing.offer_revoked"):
        slots.pop(contact_id, None)
        if contact is not None:
            contact.update(state="waiting", agent_id=None)
    elif name in ("routing.contact_transferred", "routing.contact_ended"):
        if contact_id in slots:
            ended[(agent_id, contact_id)] = slots.pop(contact_id)
        if name == "routing.contact_ended":
            contacts.pop(contact_id, None)
        elif contact is not None:
            contact.update(state="waiting", agent_id=None)
    elif name == "routing.wrap_up_started":
        if agent is not None:
            before = ended.pop((agent_id, contact_id), {})
            slots[contact_id] = {
                "state": "wrap_up",
                "queue_id": before.get("queue_id"),
                "channel": before.get("channel"),
                "offer_id": None,
                "ends_at": data["ends_at"],
            }
    elif name == "routing.wrap_up_extended":
        if contact_id in slots:
            slots[contact_id]["ends_at"] = data["ends_at"]
    elif name == "routing.wrap_up_ended":
        slots.pop(contact_id, None)
    elif name == "routing.contact_step_changed":
        if contact is not None:
            contact["step"] = data["step"]
    elif name == "routing.contact_priority_changed":
        if contact is not None:
            contact["priority"] = data["priority"]
    elif name == "routing.contact_placed":
        contacts[contact_id] = {**data, "estimate": None}
    elif name == "routing.consult_ended":
        consultant = agents.get(data["consultant_id"])
        leg = consultant["contacts"].pop(data["consult_id"], None) if consultant else None
        if data["outcome"] == "transferred":
            # The consultant keeps the leg's slot for the contact itself.
            if consultant is not None and leg is not None:
                consultant["contacts"][contact_id] = {**leg, "offer_id": None, "ends_at": None}
                consultant["contacts"][contact_id]["state"] = "active"
            if contact is not None:
                contact.update(state="active", agent_id=data["consultant_id"])
    elif name not in (
        "routing.contact_overflowed",
        "routing.contact_reservation_ended",
        "routing.consult_started",
    ):
        raise AssertionError(f"unexpected event {name}")
    # A viewer sees a queue's contacts only while it sees the queue: only the contact the event
    # names can have moved to a queue out of sight, and only a removed queue hides many at once.
    gone = contacts if name == "routing.queue_removed" else [contact_id] if contact_id else []
    for cid in [c for c in gone if c in contacts and contacts[c]["queue_id"] not in queues]:
        del contacts[cid]


def _count(view: dict[str, Any]) -> None:
    """What follows from the entries: loads and queue counts."""
    queues, agents, contacts = view["queues"], view["agents"], view["contacts"]
    for agent in agents.values():
        agent["load"] = dict(Counter(s["channel"] for s in agent["contacts"].values()))
    for queue_id, queue in queues.items():
        mine = [c for c in contacts.values() if c["queue_id"] == queue_id]
        states = Counter(c["state"] for c in mine)
        queue.update({s: states[s] for s in ("waiting", "offered", "active")})
        waiting = [c["queued_at"] for c in mine if c["state"] == "waiting"]
        queue["oldest_queued_at"] = min(waiting, key=datetime.fromisoformat, default=None)
        members = [a for a in agents.values() if queue_id in (a["queues"] or {})]
        queue["agents"] = {s: sum(a["state"] == s for a in members) for s in AGENT_STATES}


def without_estimates(view: dict[str, Any]) -> dict[str, Any]:
    """Estimates are figures of the moment a snapshot is built; no event carries them."""
    view = copy.deepcopy(view)
    for part in ("queues", "contacts"):
        for entry in view[part].values():
            entry.pop("estimate", None)
    return view


def settle(client: Any, app: Any) -> None:
    """Let the event log go quiet: the CRM's interaction records follow routing's events a
    moment later, and their events (which admins and supervisors see) would otherwise land
    between a socket's sync and the fresh snapshot it is compared with."""
    client.portal.call(app.state.crm.settled)
    # ... and so do the KPI ingester's figures of the queues (analytics.queue_figures).
    client.portal.call(app.state.analytics.settled)


def fresh(user: As) -> tuple[int, dict[str, Any]]:
    with user.websocket() as ws:
        client = RoutingClient(ws)
        client.register()
        assert client.last_event_id is not None
        return client.last_event_id, client.state


# --- a routing flow through the API --------------------------------------------------------


def add_agent_user(admin: As, client: Any, tenant: str, username: str, team: str | None) -> As:
    password = f"{username}-password-1234"
    r = admin.post(
        "/api/v1/users",
        json={
            "username": username,
            "display_name": username.title(),
            "role": "agent",
            "password": password,
        },
    )
    assert r.status_code == 201, r.text
    if team is not None:
        r = admin.put(f"/api/v1/teams/{team}/members/{r.json()['id']}", json={"role": "member"})
        assert r.status_code == 200, r.text
    return login(client, tenant, username, password)


def user_id(admin: As, username: str) -> str:
    return next(u["id"] for u in admin.get("/api/v1/users").json() if u["username"] == username)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def offer(user: As, contact_id: str) -> str:
    return str(ok(user.get(f"/api/v1/routing/contacts/{contact_id}"))["offer_id"])


def quoted(offer_id: str) -> str:
    return offer_id.replace("#", "%23")


def setup_routing(as_user: Any, client: Any, ids: dict[str, str]) -> dict[str, Any]:
    """Queue `support` (team Support: agent1, agent2) and queue `other` served by olga, who is
    in another team nobody here supervises."""
    admin = as_user("admin")
    other_team = ok(admin.post("/api/v1/teams", json={"name": "Other"}), 201)["id"]
    olga = add_agent_user(admin, client, "demo", "olga", other_team)
    ids = {**ids, "olga": user_id(admin, "olga")}
    ok(admin.post("/api/v1/routing/queues", json=SUPPORT), 201)
    ok(admin.post("/api/v1/routing/queues", json=OTHER), 201)
    for name, level, queues in (
        ("agent1", 4, {"support": 1}),
        ("agent2", 1, {"support": 1}),
        ("olga", 1, {"other": 1}),
    ):
        profile = {"skills": {"lang.de": level}, "queues": queues, "capacity": {"chat": 2}}
        ok(admin.put(f"/api/v1/routing/agents/{ids[name]}", json=profile))
    return {"admin": admin, "olga": olga, "ids": ids}


def set_state(user: As, uid: str, state: str) -> None:
    ok(user.post(f"/api/v1/routing/agents/{uid}/state", json={"state": state}))


def contact(admin: As, contact_id: str, queue: str, **extra: Any) -> dict[str, Any]:
    body = {"queue_id": queue, "channel": "chat", "contact_id": contact_id, **extra}
    return dict(ok(admin.post("/api/v1/routing/contacts", json=body), 201))


def first_part(as_user: Any, world: dict[str, Any]) -> None:
    """Offers, accepts, a rejected offer, waiting contacts, a priority change."""
    admin, olga, ids = world["admin"], world["olga"], world["ids"]
    agent1 = as_user("agent1")
    set_state(agent1, ids["agent1"], "available")
    set_state(olga, ids["olga"], "available")
    assert contact(admin, "c1", "support")["agent_id"] == ids["agent1"]
    ok(agent1.post(f"/api/v1/routing/offers/{quoted(offer(agent1, 'c1'))}/accept"))
    assert contact(admin, "o1", "other")["agent_id"] == ids["olga"]
    ok(olga.post(f"/api/v1/routing/offers/{quoted(offer(olga, 'o1'))}/accept"))
    # Offered to agent1 (the only German speaker), rejected: agent1 goes away ("missed").
    assert contact(admin, "c2", "support", priority=5)["agent_id"] == ids["agent1"]
    ok(agent1.post(f"/api/v1/routing/offers/{quoted(offer(agent1, 'c2'))}/reject", json={}))
    assert contact(admin, "c3", "support")["state"] == "waiting"
    ok(admin.post("/api/v1/routing/contacts/c3/priority", json={"priority": 9}))


def second_part(as_user: Any, world: dict[str, Any]) -> None:
    """Wrap-up (extended, ended), a requeue to another team's queue, a transfer from there
    into ours, a cancelled contact, consults (handed over; declined)."""
    admin, olga, ids = world["admin"], world["olga"], world["ids"]
    agent1 = as_user("agent1")
    ok(agent1.post("/api/v1/routing/contacts/c1/end"))
    ok(agent1.post("/api/v1/routing/wrap-ups/c1/extend", json={"seconds": 60}))
    ok(agent1.post("/api/v1/routing/wrap-ups/c1/end", json={"disposition": "resolved"}))
    set_state(agent1, ids["agent1"], "available")  # back from "missed": takes c3 (priority 9)
    ok(agent1.post(f"/api/v1/routing/offers/{quoted(offer(agent1, 'c3'))}/accept"))
    # Handed over to the other team's queue: olga (room for a second chat) is offered it.
    ok(agent1.post("/api/v1/routing/contacts/c3/requeue", json={"queue_id": "other"}))
    assert ok(admin.get("/api/v1/routing/contacts/c3"))["agent_id"] == ids["olga"]
    # And one of theirs comes to ours, into its line: a card tells our supervisor about it.
    body = {"target_kind": "queue", "target": "support"}
    ok(olga.post("/api/v1/routing/contacts/o1/transfer", json=body))
    assert ok(admin.get("/api/v1/routing/contacts/o1"))["queue_id"] == "support"
    ok(admin.delete("/api/v1/routing/contacts/c2"), 204)
    # agent1 takes o1 and asks agent2 (same team) for help, then hands it over (warm transfer).
    agent2 = as_user("agent2")
    set_state(agent2, ids["agent2"], "available")
    ok(agent1.post(f"/api/v1/routing/offers/{quoted(offer(agent1, 'o1'))}/accept"))
    body = {"target_kind": "agent", "target": ids["agent2"], "consult_id": "k1"}
    ok(agent1.post("/api/v1/routing/contacts/o1/consult", json=body), 201)
    ok(agent2.post("/api/v1/routing/offers/k1%231/accept"))
    ok(agent1.post("/api/v1/routing/consults/k1/end", json={"transfer": True}))
    # agent2 asks agent1 back, who declines: the leg just ends.
    body = {"target_kind": "agent", "target": ids["agent1"], "consult_id": "k2"}
    ok(agent2.post("/api/v1/routing/contacts/o1/consult", json=body), 201)
    ok(agent1.post("/api/v1/routing/offers/k2%231/reject", json={}))
    assert ok(admin.get("/api/v1/routing/contacts/o1"))["agent_id"] == ids["agent2"]


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_snapshot_plus_routing_events_equals_fresh_snapshot(as_user, client, app, tenants, viewer):
    ids = tenants["demo"].ids
    user = as_user(viewer)
    with user.websocket() as ws:
        watcher = RoutingClient(ws)
        watcher.register()  # before anything exists: the whole section is built from events
        assert watcher.state == {"queues": {}, "agents": {}, "contacts": {}}
        world = setup_routing(as_user, client, ids)
        first_part(as_user, world)
        settle(client, app)
        cursor = watcher.sync()
        head, middle = fresh(user)
        assert cursor == head
        assert without_estimates(watcher.state) == without_estimates(middle)
        second_part(as_user, world)
        settle(client, app)
        cursor = watcher.sync()
    head, final = fresh(user)
    assert cursor == head
    assert without_estimates(watcher.state) == without_estimates(final)

    ids = world["ids"]
    events = watcher.routing_events()
    assert events
    log = ok(as_user("admin").get("/api/v1/events", params={"limit": 1000}))["events"]
    routing_log = [e for e in log if e["event"].startswith("routing.")]
    if viewer == "admin":
        assert [e["id"] for e in events] == [e["id"] for e in routing_log]
        assert set(final["queues"]) == {"support", "other"}
        assert set(final["agents"]) == {ids["agent1"], ids["agent2"], ids["olga"]}
        assert set(final["contacts"]) == {"c3", "o1"}
    elif viewer == "supervisor":
        assert set(final["queues"]) == {"support"}
        assert set(final["agents"]) == {ids["agent1"], ids["agent2"]}
        assert set(final["contacts"]) == {"o1"}  # c3 left for "other"; o1 came from there
        assert (final["contacts"]["o1"]["state"], final["contacts"]["o1"]["agent_id"]) == (
            "active",
            ids["agent2"],
        )
        # Nothing of the other team's agent, ever.
        assert all(
            ids["olga"] not in (e["data"].get("agent_id"), e["data"].get("agent", {}).get("id"))
            for e in events
        )
        assert len(events) < len(routing_log)
    else:
        assert final["queues"] == {} and final["contacts"] == {}
        assert set(final["agents"]) == {ids["agent1"]}
        # An agent hears of a contact from the moment it is offered to them, never before: o1
        # only once it came to our queue and was offered to agent1, c2 only as agent1's offer.
        first: dict[str, dict[str, Any]] = {}
        for e in events:
            if "contact_id" in e["data"]:
                first.setdefault(e["data"]["contact_id"], e)
        assert set(first) == {"c1", "c2", "c3", "o1", "k2"}
        for e in first.values():
            assert (e["event"], e["data"]["agent_id"]) == ("routing.offer_created", ids["agent1"])
        olga_only = [e for e in routing_log if e["data"].get("agent_id") == ids["olga"]]
        assert olga_only and not {e["id"] for e in olga_only} & {e["id"] for e in events}
    # The figures of the moment: a waiting contact's place, a queue's estimated wait.
    for queue in final["queues"].values():
        assert queue["estimate"]["average_handle_seconds"] > 0
        assert set(queue["estimate"]["estimated_wait_seconds"]) == set(queue["channels"])
    for item in final["contacts"].values():
        assert (item["estimate"] is None) == (item["state"] != "waiting")


def test_the_view_has_every_part_an_agent_desktop_needs(as_user, client, tenants):
    world = setup_routing(as_user, client, tenants["demo"].ids)
    first_part(as_user, world)
    ids = world["ids"]
    _, view = fresh(as_user("admin"))
    agent1 = view["agents"][ids["agent1"]]
    assert agent1["state"] == "busy"  # c1 active (the rejected c2 made it "away" underneath)
    assert agent1["load"] == {"chat": 1}
    assert agent1["capacity"] == {"chat": 2}
    assert agent1["contacts"] == {
        "c1": {
            "state": "active",
            "queue_id": "support",
            "channel": "chat",
            "offer_id": None,
            "ends_at": None,
        }
    }
    assert agent1["since"] is not None
    waiting = {c: view["contacts"][c] for c in ("c2", "c3")}
    assert {c: v["state"] for c, v in waiting.items()} == {"c2": "waiting", "c3": "waiting"}
    assert waiting["c3"]["priority"] == 9
    # c3 (priority 9) is ahead of c2 (priority 5) in line.
    assert [waiting[c]["estimate"]["position"] for c in ("c3", "c2")] == [1, 2]
    support = view["queues"]["support"]
    assert (support["waiting"], support["offered"], support["active"]) == (2, 0, 1)
    assert support["agents"] == {"available": 0, "busy": 1, "wrap_up": 0, "away": 0, "offline": 1}
    assert support["oldest_queued_at"] == waiting["c2"]["queued_at"]
    # Only agent1 is ready for chats... and it is busy: no member can take one now.
    assert support["estimate"]["estimated_wait_seconds"] == {"chat": None, "voice": None}
    assert view["queues"]["other"]["estimate"]["estimated_wait_seconds"]["chat"] is not None


@pytest.mark.parametrize("viewer", VIEWERS)
def test_reconnect_resumes_without_gaps(as_user, client, app, tenants, viewer):
    user = as_user(viewer)
    world = setup_routing(as_user, client, tenants["demo"].ids)
    with as_user(viewer).websocket() as ref_ws:
        reference = RoutingClient(ref_ws)
        reference.register()
        with user.websocket() as ws:
            first = RoutingClient(ws)
            first.register()
            first_part(as_user, world)
            settle(client, app)
            first.sync()
            seen_before = first.last_event_id
            state_before = first.state
        second_part(as_user, world)  # while disconnected
        settle(client, app)
        with user.websocket() as ws:
            second = RoutingClient(ws)
            second.state = state_before
            second.register(last_event_id=seen_before)
            cursor = second.sync()
        reference.sync()
    assert not second.snapshots, "a reconnect with a known id replays, it does not resync"
    replayed = [m["id"] for m in second.events]
    assert replayed == [m["id"] for m in reference.events if m["id"] > (seen_before or 0)]
    assert any(m["event"].startswith("routing.") for m in second.events)
    head, final = fresh(user)
    assert cursor == head
    assert without_estimates(second.state) == without_estimates(final)
    assert without_estimates(reference.state) == without_estimates(final)


def demo_host(client: Any, app: Any) -> Any:
    from sqlalchemy import select

    from omnidesk.platform.database import SYSTEM
    from omnidesk.platform.tenancy import Tenant

    async def find() -> Any:
        session = app.state.services.db.session(SYSTEM)
        try:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == "demo"))
        finally:
            await session.close()
        return app.state.routing.loaded_host(tenant_id)

    return client.portal.call(find)


def test_view_is_the_same_after_a_restore_from_a_snapshot(as_user, client, app, settings, tenants):
    """A new process on the same database (no clean shutdown) restores the engine from its
    newest stored snapshot: the view, down to since when agents are in their state and the
    channel of a wrap-up, is what it was."""
    from fastapi.testclient import TestClient

    from omnidesk.app import create_app

    world = setup_routing(as_user, client, tenants["demo"].ids)
    demo_host(client, app).snapshot_every = 1  # every step stores a snapshot
    first_part(as_user, world)
    ok(as_user("agent1").post("/api/v1/routing/contacts/c1/end"))  # a wrap-up, 600 s
    admin = as_user("admin")
    _, before = fresh(admin)
    assert before["agents"][world["ids"]["agent1"]]["contacts"]["c1"]["state"] == "wrap_up"
    with TestClient(create_app(settings)) as second:
        second.cookies.clear()
        cookie = {"cookie": f"omnidesk_session={admin.cookie}"}
        with second.websocket_connect("/api/v1/realtime", headers=cookie) as ws:
            restored = RoutingClient(ws)
            restored.register()
    assert without_estimates(restored.state) == without_estimates(before)
