"""Team communication over the API: who may read and write which thread, raised hands, and the
realtime `im` section (snapshot + events = a fresh snapshot, per viewer)."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.tenancy import Tenant

API = "/api/v1/im"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.fixture
def billing(as_user, tenants) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A second team, Billing, with its own agent (carol) and supervisor (bill)."""
    admin = as_user("admin")
    team = ok(admin.post("/api/v1/teams", json={"name": "Billing"}), 201)["id"]
    ids = {"team": team}
    for name, role in (("carol", "agent"), ("bill", "supervisor")):
        body = {"username": name, "display_name": name.title(), "role": role, "password": "x" * 12}
        ids[name] = ok(admin.post("/api/v1/users", json=body), 201)["id"]
        member = {"role": "member" if role == "agent" else "supervisor"}
        ok(admin.put(f"/api/v1/teams/{team}/members/{ids[name]}", json=member))
    tenants["demo"].passwords.update(carol="x" * 12, bill="x" * 12)
    return ids


def threads(user: Any) -> dict[str, Any]:
    return {t["id"]: t for t in ok(user.get(f"{API}/threads"))}


def test_an_agent_reads_and_writes_only_their_own_and_their_teams_threads(
    as_user, tenants, billing
) -> None:
    ids = tenants["demo"].ids
    agent1, agent2, sup, admin = (as_user(n) for n in ("agent1", "agent2", "supervisor", "admin"))
    carol, bill = as_user("carol"), as_user("bill")

    team = ok(agent1.post(f"{API}/messages", json={"team_id": ids["team"], "body": "Hi team"}), 201)
    team_thread = team["thread"]["id"]
    assert team["thread"]["kind"] == "team" and team["message"]["number"] == 1
    assert threads(agent2)[team_thread]["unread"] == 1
    assert threads(agent1)[team_thread]["unread"] == 0  # one's own message counts as read
    assert threads(sup)[team_thread]["last_message"]["body"] == "Hi team"
    assert team_thread in threads(admin)
    # Another team's agent and supervisor: not listed, not readable, not writable.
    for outsider in (carol, bill):
        assert team_thread not in threads(outsider)
        assert outsider.get(f"{API}/threads/{team_thread}/messages").status_code == 404
        r = outsider.post(f"{API}/messages", json={"thread_id": team_thread, "body": "x"})
        assert r.status_code == 404
        r = outsider.post(f"{API}/messages", json={"team_id": ids["team"], "body": "x"})
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"

    # 1:1 with one's supervisor; not with another agent or another team's people.
    direct = ok(
        agent1.post(f"{API}/messages", json={"user_id": ids["supervisor"], "body": "?"}), 201
    )
    dm = direct["thread"]["id"]
    assert {u["id"] for u in direct["thread"]["users"]} == {ids["agent1"], ids["supervisor"]}
    for other in (ids["agent2"], billing["carol"], billing["bill"]):
        r = agent1.post(f"{API}/messages", json={"user_id": other, "body": "psst"})
        assert r.status_code == 403, r.text
    assert agent2.get(f"{API}/threads/{dm}/messages").status_code == 404
    assert bill.get(f"{API}/threads/{dm}/messages").status_code == 404
    assert dm not in threads(agent2)
    # The supervisor answers in the same thread (the same pair opens it once).
    again = ok(sup.post(f"{API}/messages", json={"user_id": ids["agent1"], "body": "Coming"}), 201)
    assert again["thread"]["id"] == dm and again["message"]["number"] == 2
    history = ok(agent1.get(f"{API}/threads/{dm}/messages"))
    assert [(m["number"], m["body"], m["author"]["id"]) for m in history] == [
        (1, "?", ids["agent1"]),
        (2, "Coming", ids["supervisor"]),
    ]
    assert [m["number"] for m in ok(agent1.get(f"{API}/threads/{dm}/messages?before=2"))] == [1]
    assert threads(agent1)[dm]["unread"] == 1
    assert ok(agent1.post(f"{API}/threads/{dm}/read", json={"up_to": 99}))["last_read"] == 2
    assert threads(agent1)[dm]["unread"] == 0
    # A marker never moves back.
    assert ok(agent1.post(f"{API}/threads/{dm}/read", json={"up_to": 1}))["last_read"] == 2

    # Broadcasts: supervisors (to their teams, and everyone) and admins only.
    r = agent1.post(
        f"{API}/messages", json={"team_id": ids["team"], "body": "!", "broadcast": True}
    )
    assert r.status_code == 403
    assert agent1.post(f"{API}/messages", json={"everyone": True, "body": "!"}).status_code == 403
    r = bill.post(f"{API}/messages", json={"team_id": billing["team"], "body": "Billing closes"})
    assert r.status_code == 201
    r = sup.post(
        f"{API}/messages", json={"team_id": ids["team"], "body": "Meeting", "broadcast": True}
    )
    assert ok(r, 201)["message"]["broadcast"] is True
    everyone = ok(sup.post(f"{API}/messages", json={"everyone": True, "body": "Fire drill"}), 201)
    for user in (agent1, agent2, carol, bill, admin):
        seen = threads(user)[everyone["thread"]["id"]]
        assert seen["kind"] == "all" and seen["last_message"]["broadcast"] is True
    # Agents read the broadcasts but do not write to everyone.
    r = agent1.post(f"{API}/messages", json={"thread_id": everyone["thread"]["id"], "body": "ok"})
    assert r.status_code == 403

    # Another tenant sees none of it.
    other = as_user("supervisor", "other")
    assert other.get(f"{API}/threads/{team_thread}/messages").status_code == 404
    assert threads(other) == {}


@pytest.mark.parametrize(
    "body",
    [
        {"body": "no target"},
        {"team_id": "00000000-0000-0000-0000-000000000001", "everyone": True, "body": "two"},
        {"everyone": True, "body": "   "},
        {"everyone": True, "body": ""},
        {"everyone": True, "body": "x" * 4001},
        {"everyone": True, "body": "x", "extra": 1},
    ],
)
def test_bad_messages_are_refused_with_422(as_user, tenants, body) -> None:
    r = as_user("supervisor").post(f"{API}/messages", json=body)
    assert r.status_code == 422, r.text
    assert threads(as_user("admin")) == {}


def test_writing_to_oneself_or_nobody(as_user, tenants) -> None:
    ids = tenants["demo"].ids
    agent1 = as_user("agent1")
    r = agent1.post(f"{API}/messages", json={"user_id": ids["agent1"], "body": "me"})
    assert r.status_code == 422
    r = agent1.post(f"{API}/messages", json={"user_id": ids["team"], "body": "nobody"})
    assert r.status_code == 404
    r = agent1.post(
        f"{API}/messages", json={"user_id": ids["team"], "body": "x", "broadcast": True}
    )
    assert r.status_code == 404
    sup = as_user("supervisor")
    r = sup.post(f"{API}/messages", json={"user_id": ids["agent1"], "body": "x", "broadcast": True})
    assert r.status_code == 422


def test_a_raised_hand_reaches_the_agents_supervisors_only(as_user, tenants, billing) -> None:
    ids = tenants["demo"].ids
    agent1, agent2, sup, bill = (as_user(n) for n in ("agent1", "agent2", "supervisor", "bill"))
    raised = ok(agent1.post(f"{API}/hand", json={"note": "Customer wants a refund"}))
    assert raised["user"]["id"] == ids["agent1"]
    # Raising again changes nothing.
    assert ok(agent1.post(f"{API}/hand", json={}))["raised_at"] == raised["raised_at"]
    assert [h["user"]["id"] for h in ok(sup.get(f"{API}/hands"))] == [ids["agent1"]]
    assert ok(sup.get(f"{API}/hands"))[0]["note"] == "Customer wants a refund"
    assert ok(bill.get(f"{API}/hands")) == []
    assert ok(agent2.get(f"{API}/hands")) == []
    # Only the agent, their supervisors and admins lower it.
    assert agent2.delete(f"{API}/hands/{ids['agent1']}").status_code == 404
    assert bill.delete(f"{API}/hands/{ids['agent1']}").status_code == 404
    assert sup.delete(f"{API}/hands/{ids['agent1']}").status_code == 204
    assert sup.delete(f"{API}/hands/{ids['agent1']}").status_code == 404
    assert ok(agent1.get(f"{API}/hands")) == []
    ok(agent1.post(f"{API}/hand", json={}))
    assert agent1.delete(f"{API}/hands/{ids['agent1']}").status_code == 204
    assert agent1.post(f"{API}/hand", json={"note": "x" * 201}).status_code == 422


def test_contacts_are_whom_one_may_write_to(as_user, tenants, billing) -> None:
    ids = tenants["demo"].ids
    mine = ok(as_user("agent1").get(f"{API}/contacts"))
    assert [t["id"] for t in mine["teams"]] == [ids["team"]]
    assert {u["id"] for u in mine["users"]} == {ids["supervisor"], ids["admin"]}
    theirs = ok(as_user("supervisor").get(f"{API}/contacts"))
    assert {u["id"] for u in theirs["users"]} == {ids["agent1"], ids["agent2"], ids["admin"]}
    assert len(ok(as_user("admin").get(f"{API}/contacts"))["users"]) == 5


# --- realtime ------------------------------------------------------------------------------


def apply_im(section: dict[str, Any], event: dict[str, Any], viewer: str) -> None:
    """The web store's rule (web/src/im/store.ts), in Python."""
    data, name = event["data"], event["event"]
    if name == "im.message_posted":
        info, message = data["thread"], data["message"]
        if info["kind"] == "direct" and viewer not in {u["id"] for u in info["users"]}:
            return
        thread = section["threads"].setdefault(
            info["id"], {**info, "last_number": 0, "last_read": 0, "unread": 0}
        )
        thread.update(info, last_number=message["number"], last_message=message)
        if message["author"]["id"] == viewer:
            thread["last_read"] = message["number"]
        thread["unread"] = thread["last_number"] - thread["last_read"]
    elif name == "im.thread_read":
        if data["user_id"] != viewer:
            return  # an admin receives everyone's
        thread = section["threads"][data["thread_id"]]
        thread["last_read"] = max(thread["last_read"], data["last_read"])
        thread["unread"] = thread["last_number"] - thread["last_read"]
    elif name == "im.hand_raised":
        section["hands"][data["hand"]["user"]["id"]] = data["hand"]
    elif name == "im.hand_lowered":
        section["hands"].pop(data["user_id"], None)


def sync(ws: Any, state: dict[str, Any], viewer: str) -> list[str]:
    ws.send_json({"type": "ping"})
    seen = []
    while (message := ws.receive_json())["type"] != "pong":
        if message["type"] == "event" and message["event"].startswith("im."):
            apply_im(state, message, viewer)
            seen.append(message["event"])
    return seen


def fresh(user: Any) -> dict[str, Any]:
    with user.websocket() as ws:
        ws.send_json({"type": "register", "last_event_id": None})
        return ws.receive_json()["state"]["im"]  # type: ignore[no-any-return]


def test_snapshot_plus_events_equals_a_fresh_snapshot(as_user, tenants, billing) -> None:
    ids = tenants["demo"].ids
    agent1, sup, admin, carol = (as_user(n) for n in ("agent1", "supervisor", "admin", "carol"))
    viewers = {"agent1": agent1, "supervisor": sup, "admin": admin, "carol": carol}
    sockets = {name: user.websocket().__enter__() for name, user in viewers.items()}
    try:
        states = {}
        for name, ws in sockets.items():
            ws.send_json({"type": "register", "last_event_id": None})
            states[name] = copy.deepcopy(ws.receive_json()["state"]["im"])
            assert states[name] == {"threads": {}, "hands": {}}

        ok(agent1.post(f"{API}/hand", json={"note": "help"}))
        ok(agent1.post(f"{API}/messages", json={"team_id": ids["team"], "body": "a"}), 201)
        dm = ok(
            agent1.post(f"{API}/messages", json={"user_id": ids["supervisor"], "body": "b"}), 201
        )
        ok(sup.post(f"{API}/messages", json={"thread_id": dm["thread"]["id"], "body": "c"}), 201)
        ok(agent1.post(f"{API}/threads/{dm['thread']['id']}/read", json={"up_to": 2}))
        ok(as_user("bill").post(f"{API}/messages", json={"everyone": True, "body": "d"}), 201)
        assert sup.delete(f"{API}/hands/{ids['agent1']}").status_code == 204

        seen = {
            name: sync(ws, states[name], ids.get(name) or billing[name])
            for name, ws in sockets.items()
        }
        assert "im.hand_raised" in seen["supervisor"] and "im.hand_raised" not in seen["carol"]
        assert "im.thread_read" in seen["agent1"] and "im.thread_read" not in seen["supervisor"]
        for name, user in viewers.items():
            assert states[name] == fresh(user), name
        assert len(states["agent1"]["threads"]) == 3  # team, direct, everyone
        assert len(states["carol"]["threads"]) == 1  # everyone
        assert len(states["admin"]["threads"]) == 2  # not the others' direct thread
    finally:
        for ws in sockets.values():
            ws.__exit__(None, None, None)


def test_every_admin_gets_their_own_messages_in_the_snapshot(app, client, as_user, tenants):
    """Admins usually share one snapshot; the messages section is personal."""
    ids = tenants["demo"].ids
    admin = as_user("admin")
    body = {"username": "ada2", "display_name": "Ada Two", "role": "admin", "password": "y" * 12}
    ada2 = ok(admin.post("/api/v1/users", json=body), 201)["id"]
    ok(admin.post(f"{API}/messages", json={"user_id": ids["agent1"], "body": "hello"}), 201)

    async def both() -> list[dict[str, Any]]:
        async with app.state.services.db.snapshot_session(SYSTEM) as session:
            tenant = await session.scalar(select(Tenant.id).where(Tenant.slug == "demo"))
        snapshots = app.state.hub.snapshots(tenant)

        def principal(user: str, name: str) -> Principal:
            return Principal(tenant, uuid.UUID(user), name, Role.ADMIN, frozenset(), frozenset())

        # Asked at once: built in the same round.
        built = await asyncio.gather(
            snapshots.snapshot(principal(ids["admin"], "admin")),
            snapshots.snapshot(principal(ada2, "ada2")),
        )
        return [json.loads(s.state_json)["im"] for s in built]

    mine, theirs = client.portal.call(both)
    assert [t["kind"] for t in mine["threads"].values()] == ["direct"]
    assert theirs["threads"] == {}
