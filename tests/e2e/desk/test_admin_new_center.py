"""Issue #15's "done when": a new tenant set up from nothing to a working center in the browser.

An operator creates the tenant and its first admin with the `omnidesk` command (as the admin
guide says); everything after that is the admin in the admin console: an agent user with a
password, the tenant's SIP domain, a queue serving voice and chat, the agent's routing profile
(the queue's membership, capacity on voice and chat) and softphone SIP login, a SIP trunk, an
IVR flow whose menu sends key 1 to the queue and a number for it, a chat widget for the queue
(its snippet copied from the Channels screen) and an email address. Then the new agent logs in
to the desk and goes available; a real SIP call (sipp, as in test_admin_ivr.py) to the number
keys 1, routing offers it to the agent, whose softphone (baresip) answers it and the desk shows
the connected call; the agent hangs up and ends the wrap-up. A visitor on a page embedding the
snippet then chats, and the desk offers the chat to the same agent, who accepts it and reads the
message.

Nothing after the tenant's creation goes through the API except the test's own checks of what
the console saved."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
import pytest
import uvicorn
from desk_helpers import axe_violations, browser, needs_browser, ok, site, wait_live
from playwright.sync_api import Page, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
from voice_call_helpers import SIPP, caller_scenario, needs

from omnidesk.app import create_app
from omnidesk.bench.baresip import BaresipAgent
from omnidesk.bench.voice_testbed import free_port, voice_settings
from omnidesk.platform import migrate
from omnidesk.platform.settings import load_settings

pytestmark = [*needs_browser(), *needs("sipp", "sox", "baresip")]
__all__ = ["browser", "site"]  # fixtures of desk_helpers: the Chromium, the tenant's site
expect.set_options(timeout=20_000)
VIEWPORT = {"width": 1280, "height": 1000}
T = TypeVar("T")

TENANT = "acme"
ADMIN = ("boss", "Admin-pass-0451")  # created by the operator with the CLI
AGENT = ("bea", "Bea Agent", "Agent-pass-7731")  # created by the admin in the browser
SIP_LOGIN = ("bea", "bea-sip-pass-42")
DOMAIN = "calls.acme.example"
DID = "+4930555000111"
PROMPT = "Welcome to Acme. For support press one."


@dataclass
class Center:
    """The server of a tenant that holds nothing but its admin."""

    base: str
    app: Any
    clients: dict[str, httpx.Client]

    def api(self, username: str, password: str) -> httpx.Client:
        """An HTTP client logged in to the tenant as `username` (cookie + CSRF header)."""
        if username not in self.clients:
            client = httpx.Client(base_url=self.base, timeout=30)
            body = {"tenant": TENANT, "username": username, "password": password}
            r = client.post("/api/v1/auth/login", json=body)
            assert r.status_code == 200, r.text
            client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            self.clients[username] = client
        return self.clients[username]

    def admin(self) -> httpx.Client:
        return self.api(*ADMIN)


def omnidesk_cli(*args: str, url: str, password: str | None = None) -> None:
    """The operator's `omnidesk` command, run as a process against the server's database."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if password is not None:
        env["OMNIDESK_PASSWORD"] = password
    cmd = [sys.executable, "-c", "from omnidesk.cli.main import main; main()", *args]
    done = subprocess.run(
        [*cmd, "--database-url", url], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def center() -> Iterator[Center]:
    tmp = Path(tempfile.mkdtemp(prefix="omnidesk-newcenter-"))
    url = f"sqlite:///{tmp / 'omnidesk.db'}"
    migrate.upgrade(url)
    # The operator's part (docs/getting-started.md): a tenant and its first admin, nothing else.
    omnidesk_cli("create-tenant", "--slug", TENANT, "--name", "Acme Ltd", url=url)
    omnidesk_cli(
        "create-user", "--tenant", TENANT, "--username", ADMIN[0], "--role", "admin",
        "--display-name", "Ada Boss", url=url, password=ADMIN[1],
    )  # fmt: skip
    settings = load_settings(
        None,
        database_url=url,
        data_dir=tmp / "data",
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        **voice_settings(),
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="new-center-server", daemon=True)
    thread.start()
    until(lambda: server.started, "the test server to start")
    live = Center(f"http://127.0.0.1:{port}", app, {})
    try:
        yield live
    finally:
        for client in live.clients.values():
            client.close()
        server.should_exit = True
        thread.join(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


class Loop:
    """An asyncio loop in a thread of its own, for baresip's asyncio driver beside the
    synchronous Playwright of this module."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], within: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=within)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def until(found: Callable[[], Any], what: str, within: float = 30.0) -> Any:
    """Poll `found` (the server's API or state) until it answers something truthy."""
    deadline = time.monotonic() + within
    while not (value := found()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def log_in(page: Page, base: str, username: str, password: str, path: str) -> None:
    page.goto(f"{base}/login?next={path}")
    page.get_by_label("Organisation").fill(TENANT)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    wait_live(page)


def section(page: Page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name, level=2)).to_be_visible()


def set_up_in_the_console(page: Page, center: Center) -> str:
    """The admin's whole set-up in the admin console; returns the widget's snippet."""
    admin = center.admin()
    expect(page.get_by_role("heading", name="Admin console", level=1)).to_be_visible()

    # The tenant's SIP domain: the realm of its softphones' logins (made below).
    section(page, "Numbers and trunks")
    voice = page.get_by_test_id("voice-settings")
    voice.get_by_label("SIP domain (the realm of the softphones' logins)").fill(DOMAIN)
    voice.get_by_role("button", name="Save voice settings").click()
    expect(voice.get_by_test_id("voice-settings-saved")).to_be_visible()
    assert ok(admin.get("/api/v1/voice/settings"))["sip_domain"] == DOMAIN
    page.get_by_role("link", name="Users and teams", exact=True).click()
    expect(page.get_by_role("heading", name="Users", level=2)).to_be_visible()

    # The agent: a user with an initial password.
    username, display_name, password = AGENT
    page.get_by_role("button", name="New user").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Name", exact=True).fill(display_name)
    page.get_by_label("Role").select_option("agent")
    page.get_by_label("Initial password (optional)").fill(password)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(f'tr[data-user="{username}"]')).to_contain_text("Active")

    # The queue, serving voice and chat (chat is ticked for a new queue).
    page.get_by_role("link", name="Queues", exact=True).click()
    page.get_by_role("button", name="New queue").click()
    page.get_by_label("Queue id").fill("support")
    page.get_by_label("Name", exact=True).fill("Support")
    page.get_by_label("voice", exact=True).check()
    expect(page.get_by_label("chat", exact=True)).to_be_checked()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("queue-saved")).to_contain_text("support")

    # The agent's routing profile: the queue's membership, one call or two chats at once.
    page.get_by_role("link", name="Agents' routing").click()
    page.get_by_label("User", exact=True).select_option(label=f"{display_name} ({username})")
    page.get_by_label("Support", exact=True).check()
    page.get_by_label("Contacts at once on voice").fill("1")
    page.get_by_label("Contacts at once on chat").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("agent-saved")).to_be_visible()
    # Their softphone's SIP login (the desk has no phone of its own: a call is answered on the
    # softphone routing rings), with a password the admin sets.
    sip = page.get_by_test_id("admin-sip")
    sip.get_by_label("SIP username").fill(SIP_LOGIN[0])
    sip.get_by_label("Set a password myself").check()
    sip.get_by_label("New SIP password (at least 8 characters)").fill(SIP_LOGIN[1])
    sip.get_by_role("button", name="Create SIP login").click()
    expect(sip.get_by_test_id("sip-status")).to_have_text("SIP login saved.")

    # The SIP trunk the carrier's calls come in by (here: this machine).
    section(page, "Numbers and trunks")
    page.get_by_role("button", name="New trunk").click()
    trunk = page.get_by_test_id("trunk-form")
    trunk.get_by_label("Name", exact=True).fill("carrier")
    trunk.get_by_label("Addresses calls may come from").fill("127.0.0.1/32")
    trunk.get_by_role("button", name="Save").click()
    expect(page.locator('tr[data-trunk="carrier"]')).to_contain_text("127.0.0.1/32")

    # The IVR flow: a menu whose key 1 leads to the queue; then its number.
    section(page, "IVR flows")
    page.get_by_role("button", name="New IVR flow").click()
    page.get_by_test_id("ivr-editor").get_by_label("Flow name").fill("Main line")
    node = page.get_by_test_id("ivr-node")
    expect(node).to_have_attribute("data-node", "menu")
    node.get_by_label("Text to speak (1)").fill(PROMPT)
    node.get_by_label("New key").select_option("1")
    node.get_by_label("Add the key, leading to").select_option("+new:queue")
    expect(node).to_have_attribute("data-node", "queue")
    node.locator('select[data-field="queue"]').select_option("support")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("ivr-saved")).to_contain_text("Main line saved as version 1")
    numbers = page.get_by_test_id("admin-numbers")
    numbers.get_by_label("Number (international form, e.g. +493012345678)").fill(DID)
    numbers.locator("#ivr-number-flow").select_option(label="Main line")
    numbers.get_by_role("button", name="Add number").click()
    expect(page.locator('tr[data-flow="Main line"]')).to_contain_text(DID)

    # The email address of the queue.
    section(page, "Channels")
    page.get_by_role("button", name="New channel account").click()
    form = page.get_by_test_id("account-form")
    form.get_by_label("Kind").select_option("email")
    form.get_by_label("Name", exact=True).fill("Support mail")
    form.get_by_label("Queue").select_option("support")
    form.get_by_label("Email address", exact=True).fill("help@acme.example")
    form.get_by_label("SMTP host").fill("127.0.0.1")
    form.get_by_role("button", name="Create account").click()
    expect(page.locator('tr[data-account="Support mail"]')).to_contain_text("help@acme.example")

    # The chat widget of the queue: its secret is shown once, then its snippet to copy.
    page.get_by_role("button", name="New channel account").click()
    form.get_by_label("Kind").select_option("chat")
    form.get_by_label("Name", exact=True).fill("Website")
    form.get_by_label("Queue").select_option("support")
    form.get_by_label("Title").fill("Chat with Acme")
    form.get_by_label("Greeting").fill("Hello! How can we help?")
    form.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="I have stored it").click()
    snippet = page.get_by_test_id("widget-snippet")
    expect(snippet).to_be_visible()
    assert axe_violations(page) == []
    text = snippet.input_value()

    # What the API now holds is what the screens said.
    users = {u["username"]: u for u in ok(admin.get("/api/v1/users"))}
    assert (users[username]["role"], users[username]["active"]) == ("agent", True)
    queue = ok(admin.get("/api/v1/routing/queues/support"))["definition"]
    assert sorted(queue["channels"]) == ["chat", "voice"]
    profile = ok(admin.get(f"/api/v1/routing/agents/{users[username]['id']}"))["definition"]
    assert profile["queues"] == {"support": 1}
    assert (profile["capacity"]["voice"], profile["capacity"]["chat"]) == (1, 2)
    (number,) = ok(admin.get("/api/v1/voice/numbers"))
    assert number["number"] == DID
    accounts = {a["kind"]: a for a in ok(admin.get("/api/v1/channels/accounts"))}
    assert sorted(accounts) == ["chat", "email"]
    assert accounts["email"]["queue_id"] == accounts["chat"]["queue_id"] == "support"
    widget = accounts["chat"]["id"]
    assert text == (
        f'<script src="{center.base}/widget.js" data-omnidesk-widget="{widget}" async></script>'
    )
    return text


def test_a_new_tenant_set_up_in_the_browser_routes_a_call_and_a_chat(
    center: Center, browser: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    # The tenant holds its admin and nothing else.
    admin = center.admin()
    assert [u["username"] for u in ok(admin.get("/api/v1/users"))] == [ADMIN[0]]
    assert ok(admin.get("/api/v1/routing/queues")) == []

    admin_context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    admin_page = admin_context.new_page()
    log_in(admin_page, center.base, *ADMIN, "/admin")
    snippet = set_up_in_the_console(admin_page, center)
    admin_context.close()
    agent_id = next(u["id"] for u in ok(admin.get("/api/v1/users")) if u["username"] == AGENT[0])

    # The agent's softphone login was made in the console, with the tenant's domain as realm.
    state = ok(admin.get(f"/api/v1/voice/agents/{agent_id}/sip"))
    assert (state["set"], state["username"], state["realm"]) == (True, SIP_LOGIN[0], DOMAIN)

    loop = Loop()
    port = center.app.state.services.settings.voice_sip_port
    phone = BaresipAgent(tmp_path / "bea", *SIP_LOGIN, DOMAIN, port)
    desk_context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    sipp: subprocess.Popen[bytes] | None = None
    try:
        loop.run(phone.start())
        aor = f"sip:{SIP_LOGIN[0]}@{DOMAIN}"
        until(lambda: center.app.state.voice.sip.registrar.lookup(aor), f"{aor} REGISTER")

        # The new agent in the desk, available.
        desk = desk_context.new_page()
        log_in(desk, center.base, AGENT[0], AGENT[2], "/agent")
        desk.get_by_role("button", name="Available", exact=True).click()
        expect(desk.get_by_test_id("my-state")).to_have_attribute("data-state", "available")

        # A real call to the number: sipp keys 1 in the menu; the queue offers the call to the
        # agent, whose softphone answers; the desk shows the connected call.
        scenario = caller_scenario(tmp_path, digit="1", how="info", before_digit_ms=2500)
        cmd = [
            str(SIPP), f"127.0.0.1:{port}", "-sf", str(scenario), "-s", DID.lstrip("+"),
            "-m", "1", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
            "-nostdin", "-timeout", "90", "-timeout_error", "-trace_err",
            "-error_file", str(tmp_path / "sipp.err"),
        ]  # fmt: skip
        sipp = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        loop.run(phone.wait_event("CALL_ESTABLISHED", within=40), within=45)
        call = desk.get_by_test_id("call")
        expect(call).to_have_attribute("data-call-state", "connected")
        expect(desk.get_by_test_id("contact-tab")).to_contain_text("Call")
        (live,) = ok(admin.get("/api/v1/voice/calls"))
        assert (live["queue_id"], live["agent_id"]) == ("support", agent_id), live
        contact = ok(admin.get(f"/api/v1/routing/contacts/{live['contact_id']}"))
        assert contact["agent_id"] == agent_id, contact

        # The agent hangs up in the desk and ends the wrap-up: free for the next contact.
        call.get_by_role("button", name="Hang up").click()
        expect(desk.get_by_test_id("wrap-up")).to_be_visible()
        out, _ = sipp.communicate(timeout=60)
        assert sipp.returncode == 0, out.decode(errors="replace")[-3000:]
        ended = until(
            lambda: (
                (r := admin.get(f"/api/v1/voice/call-history/{live['call_id']}")).status_code == 200
                and r.json()
            ),
            "the call in the history",
        )
        assert ended["ivr_path"][:2] == ["menu", "queue"], ended
        desk.get_by_role("button", name="End wrap-up").click()
        expect(desk.get_by_test_id("my-state")).to_have_attribute("data-state", "available")

        # A visitor on the site that embeds the snippet the Channels screen showed.
        site["html"] = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme</title>'
            f"{snippet}</head><body><h1>Acme</h1></body></html>"
        )
        visitor_context = browser.new_context(viewport={"width": 1100, "height": 800})
        try:
            shop = visitor_context.new_page()
            shop.goto(site["origin"] + "/")
            shop.get_by_role("button", name="Chat with Acme").click()
            panel = shop.get_by_role("dialog", name="Chat with Acme")
            expect(panel).to_contain_text("Hello! How can we help?")
            # The console's widget asks the default pre-chat questions (a name, an email).
            panel.get_by_label("Name").fill("Jane Doe")
            panel.get_by_role("button", name="Start chat").click()
            panel.get_by_role("textbox", name="Message").fill("My router blinks red.")
            panel.get_by_role("button", name="Send", exact=True).click()
            expect(panel.locator("li[data-pending]")).to_have_count(0)

            # Offered to the agent in the desk; accepted; the message is in the conversation.
            offer = desk.get_by_test_id("offer")
            offer.get_by_role("button", name="Accept").click()
            view = desk.get_by_test_id("conversation-view")
            expect(view.get_by_test_id("conv-message").last).to_contain_text("router blinks red")
            chats = ok(center.api(AGENT[0], AGENT[2]).get("/api/v1/conversations"))
            assert [c["channel"] for c in chats] == ["chat"], chats
        finally:
            visitor_context.close()
    finally:
        desk_context.close()
        if sipp is not None and sipp.poll() is None:
            sipp.kill()
            sipp.wait()
        loop.run(phone.stop())
        loop.close()
