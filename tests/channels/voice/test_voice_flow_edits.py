"""Editing an IVR flow from the admin console, on both databases: a save names the version it
was made on (two admins: the later save is refused, not lost), and a refused flow names the
node and the field of each issue, so that the tree editor shows it there."""

from __future__ import annotations

import asyncio

import httpx2
from voice_config_helpers import FLOW, FLOW_2, create_flow

FLOWS = "/api/v1/voice/flows"
MENU = {
    "id": "main",
    "start": "menu",
    "nodes": {
        "menu": {"type": "menu", "prompt": "Press 1", "options": {"1": "bye"}},
        "bye": {"type": "hangup"},
    },
}


def test_a_stale_flow_save_is_refused_not_lost(as_user) -> None:
    admin = as_user("admin")
    flow = create_flow(admin)
    url = f"{FLOWS}/{flow['id']}"
    # Two admins opened version 1; the first saves, the second's save is refused.
    r = admin.put(url, json={"name": "main", "definition": FLOW_2, "version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    r = admin.put(url, json={"name": "late", "definition": MENU, "version": 1})
    assert r.status_code == 409, r.text
    problem = r.json()
    assert (problem["code"], problem["field"], problem["version"]) == (
        "version_conflict",
        "version",
        2,
    )
    current = admin.get(url).json()
    assert (current["version"], current["name"], current["definition"]) == (2, "main", FLOW_2)
    # Reloaded and made again on version 2: saved.
    r = admin.put(url, json={"name": "late", "definition": MENU, "version": 2})
    assert r.status_code == 200 and r.json()["version"] == 3, r.text
    # Who saved each version, by name (the History shows it).
    names = {v["created_by_name"] for v in r.json()["versions"]}
    assert len(names) == 1 and None not in names


def test_a_save_without_a_version_is_refused(as_user) -> None:
    """Decided: the version is required. A client that names none could silently replace
    another admin's change, which is what the check is for."""
    admin = as_user("admin")
    flow = create_flow(admin)
    url = f"{FLOWS}/{flow['id']}"
    r = admin.put(url, json={"name": "main", "definition": FLOW_2})
    assert r.status_code == 422, r.text
    assert "version" in r.text
    assert admin.put(
        url, json={"name": "main", "definition": FLOW_2, "version": 0}
    ).status_code == (422)
    assert admin.get(url).json()["version"] == 1
    # A bare YAML definition names it in the query.
    yaml_body = b"id: main\nstart: main\nnodes:\n  main: {type: play, prompt: hi, next: end}\n"
    yaml_body += b"  end: {type: hangup}\n"
    headers = {"content-type": "application/yaml"}
    r = admin.put(url, content=yaml_body, headers=headers, params={"name": "main"})
    assert r.status_code == 422, r.text
    r = admin.put(url, content=yaml_body, headers=headers, params={"name": "main", "version": 1})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    r = admin.put(url, content=yaml_body, headers=headers, params={"name": "main", "version": 1})
    assert r.status_code == 409 and r.json()["code"] == "version_conflict", r.text


def test_racing_saves_of_one_version_let_exactly_one_through(app, as_user, client) -> None:
    """Saves made on the same version at the same time (all in flight together): one is
    saved, every other is refused with version_conflict, and no version is lost or doubled."""
    admin = as_user("admin")
    flow = create_flow(admin)
    url = f"{FLOWS}/{flow['id']}"
    headers = admin.headers()

    async def race() -> list[tuple[int, str | None]]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as http:

            async def save(n: int) -> tuple[int, str | None]:
                definition = {**FLOW_2, "nodes": {**FLOW_2["nodes"]}}
                definition["nodes"]["main"] = {"type": "play", "prompt": f"hi {n}", "next": "end"}
                body = {"name": "main", "definition": definition, "version": 1}
                r = await http.put(url, json=body, headers=headers)
                return r.status_code, r.json().get("code")

            return sorted(await asyncio.gather(*(save(n) for n in range(2))))

    assert client.portal.call(race) == [(200, None), (409, "version_conflict")]
    current = admin.get(url).json()
    assert current["version"] == 2
    assert [v["version"] for v in current["versions"]] == [1, 2]


def test_a_refused_flow_names_the_node_and_field_of_each_issue(as_user) -> None:
    admin = as_user("admin")
    broken = {
        "id": "main",
        "start": "menu",
        "nodes": {
            "menu": {"type": "menu", "options": {"1": "wait", "2": "gone"}},
            "wait": {"type": "queue", "queue": "support", "max_wait_s": 30},
        },
    }
    r = admin.post(FLOWS, json={"name": "main", "definition": broken})
    assert r.status_code == 422, r.text
    issues = r.json()["issues"]
    assert [(i["node"], i["field"]) for i in issues] == [("wait", "on_timeout")]
    broken["nodes"]["wait"]["on_timeout"] = "menu"
    r = admin.post(FLOWS, json={"name": "main", "definition": broken})
    assert r.status_code == 422, r.text
    (issue,) = r.json()["issues"]
    assert issue == {
        "path": "definition.nodes.menu.options.2",
        "message": "no node 'gone'",
        "node": "menu",
        "field": "options.2",
    }
    r = admin.post(FLOWS, json={"name": "main", "definition": {**FLOW, "start": "nowhere"}})
    (issue,) = r.json()["issues"]
    assert (issue["path"], issue["node"], issue["field"]) == ("definition.start", None, None)
