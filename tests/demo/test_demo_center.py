"""`omnidesk demo` sets up a working center — queues with skill and language workflows, agents'
routing profiles, SIP logins, a number with its IVR, audio — that the API then shows as an
operator would see it; a second run changes nothing. Both databases."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from omnidesk.app import create_app
from omnidesk.cli import demo
from omnidesk.demo.agents import DISPOSITIONS
from omnidesk.demo.center import DEMO_DOMAIN, DEMO_NUMBER
from omnidesk.demo.customers import CALLER_NUMBERS
from omnidesk.demo.flow import DEMO_FLOW
from omnidesk.demo.manifest import manifest_path, read_manifest
from omnidesk.platform.settings import Settings
from spine_checks import assert_no_new_events, event_cursor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "voice" / "ivr.yaml"
ENV = {"OMNIDESK_ARGON2_TIME_COST": "1", "OMNIDESK_ARGON2_MEMORY_KIB": "8",
       "OMNIDESK_ARGON2_PARALLELISM": "1"}  # fmt: skip


def _cli() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    demo.register(root)
    return root


def _run(settings: Settings) -> Any:
    env = {**ENV, "OMNIDESK_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(_cli(), ["demo", "--database-url", settings.database_url], env=env)


@pytest.fixture
def loaded(settings: Settings) -> Any:
    result = _run(settings)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def api(settings: Settings, loaded: Any) -> Iterator[Any]:
    """Log in as a demo user with the password `omnidesk demo` kept in its manifest."""
    manifest = read_manifest(manifest_path(settings.data_dir))
    with TestClient(create_app(settings)) as client:

        def login(username: str) -> Any:
            client.cookies.clear()
            r = client.post(
                "/api/v1/auth/login",
                json={"tenant": "demo", "username": username,
                      "password": manifest.passwords[username]},
            )  # fmt: skip
            assert r.status_code == 200, r.text
            headers = {
                "cookie": f"omnidesk_session={r.cookies['omnidesk_session']}",
                "X-CSRF-Token": r.json()["csrf_token"],
            }
            client.cookies.clear()
            return _As(client, headers)

        yield login


class _As:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)


def _get(user: Any, path: str) -> Any:
    r = user.get(f"/api/v1{path}")
    assert r.status_code == 200, r.text
    return r.json()


def test_the_demo_center_is_a_working_center(api, settings: Settings, loaded: Any) -> None:
    admin = api("admin")
    users = {u["username"]: u["id"] for u in admin.get("/api/v1/users").json()}
    queues = {q["definition"]["id"]: q["definition"] for q in _get(admin, "/routing/queues")}
    assert set(queues) == {"support", "sales", "voicemail"}
    steps = [s["target"] for s in queues["support"]["steps"]]
    assert steps == [
        "skills.support >= 3 AND contact.language IN agent.languages",
        "contact.language IN agent.languages",
        None,
    ]
    assert all(q["channels"] == ["voice"] and q["wrap_up_seconds"] == 15 for q in queues.values())
    agents = {a["definition"]["id"]: a["definition"] for a in _get(admin, "/routing/agents")}
    alex = agents[users["agent1"]]
    assert alex["skills"]["lang.de"] == 4 and alex["languages"] == ["en", "de"]
    assert alex["capacity"]["voice"] == 1 and set(alex["queues"]) == set(queues)
    assert set(agents) == {users["agent1"], users["agent2"]}

    # Beside a support contact: its script and the articles for every queue.
    beside = admin.get("/api/v1/knowledge/articles", params={"queue": "support"}).json()
    assert [(a["kind"], a["title"]) for a in beside] == [
        ("script", "Internet does not work"),
        ("article", "Refunds and approvals"),
    ]

    voice = admin.get("/api/v1/voice/settings").json()
    assert voice["sip_domain"] == DEMO_DOMAIN and voice["recording_consent_prompt"]["text"]
    [number] = admin.get("/api/v1/voice/numbers").json()
    assert number["number"] == DEMO_NUMBER
    flow = admin.get(f"/api/v1/voice/flows/{number['flow_id']}").json()
    assert flow["definition"] == DEMO_FLOW
    [trunk] = admin.get("/api/v1/voice/trunks").json()
    assert trunk["allowed_addresses"] == ["127.0.0.1/32"]
    assert trunk["outbound"]["host"] == "127.0.0.1"
    audio = {a["name"] for a in admin.get("/api/v1/voice/audio").json()}
    assert audio == {"hold-music.wav", "welcome-jingle.wav"}
    policy = admin.get("/api/v1/voice/queues/support/policy").json()
    assert (policy["record"], policy["moh"], policy["configured"]) == (
        "always", "hold-music.wav", True
    )  # fmt: skip
    for name in ("agent1", "agent2", "supervisor"):
        sip = admin.get(f"/api/v1/voice/agents/{users[name]}/sip").json()
        assert sip["set"] and sip["username"] == name and sip["realm"] == DEMO_DOMAIN

    # The CRM: the wrap-up codes the demo's agents pick, and customers with history whose
    # numbers the demo's callers call from.
    codes = {d["code"]: d for d in _get(admin, "/crm/dispositions")}
    assert set(DISPOSITIONS) <= set(codes) and codes["resolved"]["resolved"] is True
    for number in CALLER_NUMBERS:
        [found] = _get(admin, f"/crm/customers?phone={number.replace('+', '%2B')}")["results"]
        timeline = _get(admin, f"/crm/customers/{found['id']}/timeline")["items"]
        assert timeline, found  # a case, a note, a consent change: some history
    maria = _get(admin, "/crm/customers?q=maria%20schneider")["results"][0]
    card = _get(admin, f"/crm/customers/{maria['id']}/card")
    assert card["vip"] is True and card["open_cases"] and card["consent"]["recording"]["value"]

    # The agents log in with the printed passwords (the manifest holds the same ones) and may
    # go available: a working center.
    out = " ".join(loaded.stdout.split())
    manifest = read_manifest(manifest_path(settings.data_dir))
    assert set(manifest.passwords) == {"admin", "supervisor", "agent1", "agent2"}
    for password in manifest.passwords.values():
        assert password in out
    for sip in manifest.sip.values():
        assert sip["password"] in out
    r = api("agent1").post(
        f"/api/v1/routing/agents/{users['agent1']}/state", json={"state": "available"}
    )
    assert r.status_code == 200, r.text
    path = manifest_path(settings.data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert manifest.agents() == ["agent1", "agent2"]

    # The shipped IVR example posts in the demo tenant as it is (it has the audio it plays).
    r = admin.post(
        "/api/v1/voice/flows",
        content=EXAMPLE.read_bytes(),
        headers={"content-type": "application/yaml"},
    )
    assert r.status_code == 201, r.text


def test_a_second_run_changes_nothing(api, settings: Settings) -> None:
    admin = api("admin")
    cursor = event_cursor(admin)
    manifest = manifest_path(settings.data_dir).read_bytes()
    again = _run(settings)
    assert again.exit_code == 1
    assert "already exists" in " ".join(again.output.split())
    assert "nothing was changed" in " ".join(again.output.split())
    assert_no_new_events(admin, cursor)
    assert manifest_path(settings.data_dir).read_bytes() == manifest
