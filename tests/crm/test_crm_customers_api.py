"""Customers, identities, custom fields, consent and search through the API, on both databases."""

from __future__ import annotations

from crm_helpers import API, customer, search, setup_crm


def test_customers_are_found_by_name_phone_email_case_and_field(as_user) -> None:
    admin = as_user("admin")
    setup_crm(admin)
    agent = as_user("agent1")
    anna = customer(
        agent,
        "Anna Müller-Łukasiewicz",
        ("phone", "030 12345678"),
        ("email", "Anna.Mueller@Example.com"),
        fields={"contract_no": "K-778", "plan": "pro"},
    )
    customer(agent, "Annabel Schmitt", ("phone", "+49 151 23456789"))
    assert [i["value"] for i in anna["identities"]] == [
        "anna.mueller@example.com",
        "+493012345678",
    ]
    # Typos and accents forgiven; the last word may be a prefix (type-ahead).
    # (lukasevicz is two edits away: found through the trigram index, not the one-edit words)
    for q in ("anna muler", "Ana Müller", "muller lukasiewicz", "anna mül", "anna lukasevicz"):
        hits = search(agent, q=q)
        assert hits and hits[0]["id"] == anna["id"], q
    for q in ("+49 (30) 1234-5678", "0049 30 12345678", "ANNA.MUELLER@example.COM", "k-778"):
        assert [h["id"] for h in search(agent, q=q)] == [anna["id"]], q
    assert search(agent, field="plan", value="pro")[0]["id"] == anna["id"]
    assert search(agent, phone="030/12345678")[0]["matched"] == "phone"
    case = agent.post(
        f"{API}/cases", json={"customer_id": anna["id"], "title": "Broken router"}
    ).json()
    assert case["number"].startswith("C-")
    assert [h["id"] for h in search(agent, q=case["number"])] == [anna["id"]]
    assert search(agent, q="zzzzqqq") == []


def test_bad_input_names_the_field_and_writes_nothing(as_user) -> None:
    admin = as_user("admin")
    setup_crm(admin)
    agent = as_user("agent1")
    cases = [
        ({"identities": [{"kind": "phone", "value": "12"}]}, "identities[0].value"),
        ({"identities": [{"kind": "email", "value": "anna@"}]}, "identities[0].value"),
        ({"fields": {"shoe_size": "42"}}, "fields.shoe_size"),
        ({"fields": {"plan": "gold"}}, "fields.plan"),
        ({"timezone": "Mars/Olympus"}, None),
    ]
    for body, field in cases:
        r = agent.post(f"{API}/customers", json={"display_name": "X Y", **body})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert r.json()["field"] == field, r.text
    assert search(agent, q="x y") == []
    # An identity another customer has: 409 naming the owner.
    first = customer(agent, "First", ("email", "same@example.com"))
    r = agent.post(
        f"{API}/customers", json={"identities": [{"kind": "email", "value": "SAME@example.com"}]}
    )
    assert r.status_code == 409 and r.json()["customer_id"] == first["id"]
    r = agent.patch(f"{API}/customers/{first['id']}", json={"fields": {"nope": 1}})
    assert r.status_code == 422 and r.json()["field"] == "fields.nope"


def test_profile_identities_consent_and_roles(as_user) -> None:
    admin = as_user("admin")
    setup_crm(admin)
    agent = as_user("agent1")
    c = customer(agent, "Jon Doe")
    r = agent.patch(
        f"{API}/customers/{c['id']}",
        json={"tier": "gold", "vip": True, "tags": ["b", "a", "b"], "language": "de"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["tier"], r.json()["tags"]) == ("gold", ["a", "b"])
    r = agent.post(
        f"{API}/customers/{c['id']}/identities", json={"kind": "phone", "value": "0301234567"}
    )
    assert r.status_code == 201, r.text
    identity = r.json()
    r = agent.put(
        f"{API}/customers/{c['id']}/consent",
        json={"recording": False, "opt_out": {"email": True}, "source": "call"},
    )
    consent = r.json()["consent"]
    assert consent["recording"]["value"] is False and consent["recording"]["source"] == "call"
    assert consent["opt_out"]["email"]["value"] is True
    r = agent.delete(f"{API}/customers/{c['id']}/identities/{identity['id']}")
    assert r.status_code == 204
    # Agents do not change settings or field definitions, merge or erase.
    assert agent.put(f"{API}/settings", json={"default_region": "AT"}).status_code == 403
    r = agent.post(f"{API}/fields", json={"key": "k", "label": "K", "type": "text"})
    assert r.status_code == 403
    other = customer(agent, "Jon Doe")
    r = agent.post(f"{API}/customers/{c['id']}/merge", json={"merged_id": other["id"]})
    assert r.status_code == 403
    assert agent.post(f"{API}/customers/{c['id']}/erase").status_code == 403
    assert as_user("supervisor").post(f"{API}/customers/{c['id']}/erase").status_code == 403
    # Another tenant sees none of it.
    outsider = as_user("admin", "other")
    assert outsider.get(f"{API}/customers/{c['id']}").status_code == 404
    assert search(outsider, q="jon doe") == []


def test_resolve_creates_a_customer_once(as_user) -> None:
    admin = as_user("admin")
    setup_crm(admin)
    agent = as_user("agent1")
    first = agent.post(f"{API}/resolve", json={"kind": "phone", "value": "0151 11112222"}).json()
    again = agent.post(f"{API}/resolve", json={"kind": "phone", "value": "+4915111112222"}).json()
    assert first["created"] is True and again["created"] is False
    assert first["customer_id"] == again["customer_id"]
    r = agent.post(f"{API}/resolve", json={"kind": "phone", "value": "nonsense"})
    assert r.status_code == 422 and r.json()["field"] == "value"


def test_customer_events_reach_the_actor_and_admins_not_every_agent(as_user) -> None:
    admin, agent1, agent2 = as_user("admin"), as_user("agent1"), as_user("agent2")
    c = customer(agent1, "Quiet Customer")
    assert agent1.patch(f"{API}/customers/{c['id']}", json={"tier": "gold"}).status_code == 200

    def seen(user):  # type: ignore[no-untyped-def]
        events = user.get("/api/v1/events", params={"limit": 1000}).json()["events"]
        return {e["event"] for e in events if e["subject"]["id"] == c["id"]}

    assert seen(admin) == seen(agent1) == {"customer.created", "customer.updated"}
    assert seen(agent2) == set()
    payloads = [
        e["data"]
        for e in admin.get("/api/v1/events", params={"limit": 1000}).json()["events"]
        if e["subject"]["id"] == c["id"]
    ]
    assert "Quiet" not in str(payloads)  # names what changed, never the values
