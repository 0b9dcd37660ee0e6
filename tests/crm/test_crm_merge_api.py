"""Merging customers, explaining and undoing a merge, splitting an identity off."""

from __future__ import annotations

from crm_helpers import API, customer, search, setup_crm


def _timeline(user, customer_id):  # type: ignore[no-untyped-def]
    r = user.get(f"{API}/customers/{customer_id}/timeline")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_merge_moves_everything_and_undo_restores_it(as_user) -> None:
    setup_crm(as_user("admin"))
    agent, sup = as_user("agent1"), as_user("supervisor")
    keep = customer(agent, "Maria Lopez", ("phone", "030 1111111"))
    gone = customer(agent, None, ("email", "maria@example.com"), language="es", tier="gold")
    case = agent.post(f"{API}/cases", json={"customer_id": gone["id"], "title": "Refund"}).json()
    agent.post(f"{API}/customers/{gone['id']}/notes", json={"body": "called twice"})
    r = sup.post(f"{API}/customers/{keep['id']}/merge", json={"merged_id": gone["id"]})
    assert r.status_code == 201, r.text
    merged = r.json()
    assert merged["blocked_by"] == [] and set(merged["filled"]) == {"language", "tier"}
    assert len(merged["moved"]["identities"]) == 1 and merged["moved"]["cases"] == [case["id"]]
    survivor = agent.get(f"{API}/customers/{keep['id']}").json()
    assert {i["kind"] for i in survivor["identities"]} == {"phone", "email"}
    assert survivor["language"] == "es"
    shell = agent.get(f"{API}/customers/{gone['id']}").json()
    assert (shell["status"], shell["merged_into"]) == ("merged", keep["id"])
    kinds = [item["kind"] for item in _timeline(agent, keep["id"])]
    assert kinds[0] == "merged" and "note" in kinds and "case_created" in kinds
    assert search(agent, email="maria@example.com")[0]["id"] == keep["id"]
    # Undo: everything recorded goes back.
    r = sup.post(f"{API}/merges/{merged['id']}/undo")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "undone"
    back = agent.get(f"{API}/customers/{gone['id']}").json()
    assert back["status"] == "active" and back["identities"][0]["value"] == "maria@example.com"
    assert agent.get(f"{API}/customers/{keep['id']}").json()["language"] is None
    assert agent.get(f"{API}/cases/{case['id']}").json()["customer_id"] == gone["id"]
    assert sup.post(f"{API}/merges/{merged['id']}/undo").status_code == 409


def test_undo_is_refused_once_something_depends_on_the_merge(as_user) -> None:
    setup_crm(as_user("admin"))
    agent, sup = as_user("agent1"), as_user("supervisor")
    keep, gone = customer(agent, "A B"), customer(agent, "A B")
    case = agent.post(f"{API}/cases", json={"customer_id": gone["id"], "title": "T"}).json()
    merged = sup.post(f"{API}/customers/{keep['id']}/merge", json={"merged_id": gone["id"]}).json()
    agent.patch(f"{API}/cases/{case['id']}", json={"priority": "high"})
    explained = sup.get(f"{API}/merges/{merged['id']}").json()
    assert explained["blocked_by"] == ["moved cases changed since the merge"]
    r = sup.post(f"{API}/merges/{merged['id']}/undo")
    assert r.status_code == 409 and r.json()["blocked_by"] == explained["blocked_by"]


def test_merge_refuses_itself_other_tenants_and_merged_customers(as_user) -> None:
    setup_crm(as_user("admin"))
    sup = as_user("supervisor")
    a, b = customer(sup, "A"), customer(sup, "B")
    r = sup.post(f"{API}/customers/{a['id']}/merge", json={"merged_id": a["id"]})
    assert r.status_code == 422 and r.json()["field"] == "merged_id"
    foreign = customer(as_user("admin", "other"), "C")
    r = sup.post(f"{API}/customers/{a['id']}/merge", json={"merged_id": foreign["id"]})
    assert r.status_code == 404
    assert (
        sup.post(f"{API}/customers/{a['id']}/merge", json={"merged_id": b["id"]}).status_code == 201
    )
    r = sup.post(f"{API}/customers/{b['id']}/merge", json={"merged_id": a["id"]})
    assert r.status_code == 404  # b is merged away: only its survivor takes merges


def test_split_moves_a_wrong_identity_to_a_new_or_existing_customer(as_user) -> None:
    setup_crm(as_user("admin"))
    agent, sup = as_user("agent1"), as_user("supervisor")
    c = customer(agent, "Pat", ("phone", "030 2222222"), ("email", "pat@example.com"))
    email = next(i for i in c["identities"] if i["kind"] == "email")
    r = sup.post(f"{API}/customers/{c['id']}/split", json={"identity_id": email["id"]})
    assert r.status_code == 200, r.text
    new_id = r.json()["to_customer_id"]
    assert r.json()["created"] is True
    assert search(agent, email="pat@example.com")[0]["id"] == new_id
    other = customer(agent, "Sam")
    phone = next(i for i in c["identities"] if i["kind"] == "phone")
    r = sup.post(
        f"{API}/customers/{c['id']}/split",
        json={"identity_id": phone["id"], "to_customer_id": other["id"]},
    )
    assert r.status_code == 200 and r.json()["created"] is False
    assert agent.get(f"{API}/customers/{c['id']}").json()["identities"] == []
    assert [k["kind"] for k in _timeline(agent, other["id"])] == ["split"]
    r = sup.post(f"{API}/customers/{c['id']}/split", json={"identity_id": phone["id"]})
    assert r.status_code == 404
