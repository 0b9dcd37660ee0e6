"""What the agent desktop reads of routing besides the realtime view: a contact's attributes
(the offer shows its language) and a transfer's note for whoever takes the contact next."""

from __future__ import annotations

from test_routing_realtime import SUPPORT, contact, ok, set_state


def test_offer_shows_attributes_and_a_transfer_carries_its_note(as_user, tenants):
    ids = tenants["demo"].ids
    admin = as_user("admin")
    ok(admin.post("/api/v1/routing/queues", json={**SUPPORT, "steps": [{}]}), 201)
    ok(admin.post("/api/v1/routing/queues", json={**SUPPORT, "id": "sales", "steps": [{}]}), 201)
    for name, queue in (("agent1", "support"), ("agent2", "sales")):
        profile = {"queues": {queue: 1}, "capacity": {"chat": 1}}
        ok(admin.put(f"/api/v1/routing/agents/{ids[name]}", json=profile))
    agent1, agent2 = as_user("agent1"), as_user("agent2")
    set_state(agent1, ids["agent1"], "available")
    created = contact(admin, "c1", "support", attributes={"language": "de"})
    assert created["attributes"] == {"language": "de"}
    # The agent it is offered to reads it, attributes and all.
    seen = ok(agent1.get("/api/v1/routing/contacts/c1"))
    assert (seen["state"], seen["attributes"]) == ("offered", {"language": "de"})
    ok(agent1.post(f"/api/v1/routing/offers/{seen['offer_id'].replace('#', '%23')}/accept"))

    body = {"target_kind": "queue", "target": "sales", "note": "wants a refund for order 42"}
    events = ok(agent1.post("/api/v1/routing/contacts/c1/transfer", json=body))["events"]
    transferred = next(e for e in events if e["type"] == "routing.contact_transferred")
    assert transferred["note"] == "wants a refund for order 42"
    set_state(agent2, ids["agent2"], "available")
    taken = ok(agent2.get("/api/v1/routing/contacts/c1"))
    assert taken["attributes"] == {"language": "de", "transfer_note": "wants a refund for order 42"}

    too_long = {**body, "note": "x" * 1001}
    assert agent2.post("/api/v1/routing/contacts/c1/transfer", json=too_long).status_code == 422


def test_a_supervisor_moves_their_agents_between_queues_and_skills(as_user, tenants):
    ids = tenants["demo"].ids
    admin, sup, agent1 = as_user("admin"), as_user("supervisor"), as_user("agent1")
    ok(admin.post("/api/v1/routing/queues", json={**SUPPORT, "steps": [{}]}), 201)
    ok(admin.post("/api/v1/routing/queues", json={**SUPPORT, "id": "sales", "steps": [{}]}), 201)
    profile = {"queues": {"support": 2}, "skills": {"lang.de": 3}, "capacity": {"chat": 2}}
    ok(admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json=profile))
    url = f"/api/v1/routing/agents/{ids['agent1']}"

    moved = ok(sup.patch(url, json={"queues": {"sales": 5}}))
    # Only the queues changed: skills and capacity stay as the admin set them.
    assert (moved["queues"], moved["skills"], moved["capacity"]) == (
        {"sales": 5},
        {"lang.de": 3},
        {"chat": 2},
    )
    moved = ok(sup.patch(url, json={"skills": {"lang.de": 4, "billing": 2}}))
    assert (moved["queues"], moved["skills"]) == ({"sales": 5}, {"lang.de": 4, "billing": 2})
    assert ok(agent1.get(url))["definition"]["queues"] == {"sales": 5}

    # Agents may not, not even themselves; another tenant's supervisor does not see the agent.
    r = agent1.patch(url, json={"queues": {"support": 1}})
    assert r.status_code == 403, r.text
    other = as_user("supervisor", "other")
    assert other.patch(url, json={"queues": {"support": 1}}).status_code == 404
    assert sup.patch(url, json={}).status_code == 422
    assert sup.patch(url, json={"queues": {"no-such-queue": 1}}).status_code in (404, 409, 422)
    assert sup.patch(url, json={"skills": {"lang.de": 9}}).status_code == 422
    # A user without a routing profile has nothing to move.
    r = sup.patch(f"/api/v1/routing/agents/{ids['agent2']}", json={"queues": {"sales": 1}})
    assert r.status_code == 404
    assert ok(agent1.get(url))["definition"]["skills"] == {"lang.de": 4, "billing": 2}
