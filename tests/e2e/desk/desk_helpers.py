"""The browser tests' bench: a real Omnidesk server (uvicorn in a thread, on a free loopback
port, SQLite in a temporary directory, the demo tenant loaded) serving the built web app, and
Debian's Chromium driven by Playwright (never a downloaded browser). One of each per module."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn

from omnidesk.app import create_app
from omnidesk.bench.desk import CHROMIUM, launch_chromium
from omnidesk.bench.voice_testbed import free_port
from omnidesk.directory.demo import load_demo
from omnidesk.platform import migrate
from omnidesk.platform.database import Database
from omnidesk.platform.settings import load_settings
from omnidesk.platform.webapp import default_web_dir

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
AXE = Path(__file__).resolve().parents[3] / "web" / "node_modules" / "axe-core" / "axe.min.js"


def needs_browser() -> list[pytest.MarkDecorator]:
    """Module marks: skipped without Chromium or a built web app (make install makes both)."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium")
    if not (default_web_dir() / "index.html").exists():
        missing.append("the built web app (web/dist)")
    if not AXE.exists():
        missing.append("axe-core (web/node_modules)")
    reason = f"needs {', '.join(missing)} (make install)"
    return [pytest.mark.skipif(bool(missing), reason=reason), pytest.mark.slow]


@dataclass
class LiveServer:
    base: str
    app: Any
    passwords: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def api(self, username: str) -> httpx.Client:
        """An HTTP client logged in as `username` (cookie + CSRF header)."""
        if username not in self.clients:
            client = httpx.Client(base_url=self.base, timeout=30)
            r = client.post(
                "/api/v1/auth/login",
                json={"tenant": "demo", "username": username, "password": self.passwords[username]},
            )
            assert r.status_code == 200, r.text
            client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            self.clients[username] = client
        return self.clients[username]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


@dataclass
class _Thread:
    server: uvicorn.Server
    thread: threading.Thread


def serve(**overrides: Any) -> Iterator[LiveServer]:
    """A server for one test module (a generator for a module fixture)."""
    tmp = Path(tempfile.mkdtemp(prefix="omnidesk-desk-"))
    url = f"sqlite:///{tmp / 'omnidesk.db'}"
    settings = load_settings(
        None,
        database_url=url,
        data_dir=tmp / "data",
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        **overrides,
    )
    migrate.upgrade(url)

    async def demo() -> list[Any]:
        db = Database(url)
        try:
            return await load_demo(db, "demo")
        finally:
            await db.dispose()

    logins = asyncio.run(demo())
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="desk-test-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    live = LiveServer(base, app, {entry.username: entry.password for entry in logins})
    ready = False
    for _ in range(300):
        if server.started:
            ready = True
            break
        threading.Event().wait(0.05)
    assert ready, "the test server did not start"
    live.ids = {u["username"]: u["id"] for u in ok(live.api("admin").get("/api/v1/users"))}
    try:
        yield live
    finally:
        for client in live.clients.values():
            client.close()
        server.should_exit = True
        thread.join(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module (sync Playwright); a module imports this fixture."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def launch(playwright: Any) -> Any:
    """Debian's Chromium (the bench's launcher), in UTC: the desk shows the user's zone."""
    return launch_chromium(playwright, env={**os.environ, "TZ": "UTC"})


def log_in(page: Any, base: str, username: str, password: str, path: str = "/") -> None:
    page.goto(f"{base}/login?next={path}")
    page.get_by_label("Organisation").fill("demo")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    wait_live(page)


def logged_in_page(
    browser: Any, server: LiveServer, username: str, path: str = "/", **context: Any
) -> Iterator[Any]:
    """A page in a browser context of its own (`context`: Playwright's options, e.g.
    viewport, locale), logged in as `username` at `path`; the context closes after."""
    browser_context = browser.new_context(**context)
    try:
        page = browser_context.new_page()
        log_in(page, server.base, username, server.passwords[username], path)
        yield page
    finally:
        browser_context.close()


async def log_in_async(page: Any, server: LiveServer, username: str, path: str) -> None:
    """`log_in` with Playwright's async API."""
    await page.goto(f"{server.base}/login?next={path}")
    await page.get_by_label("Organisation").fill("demo")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(server.passwords[username])
    await page.get_by_role("button", name="Log in").click()
    await page.locator('[data-testid="connection"][data-state="live"]').wait_for()


async def screenshot_async(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def wait_live(page: Any) -> None:
    """Until the screen says it is live (the snapshot or replay applied, the pong back)."""
    page.locator('[data-testid="connection"][data-state="live"]').wait_for()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, name: str) -> None:
    """Saved under docs/screenshots/ for the guides (small: the viewport, not the full page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def routing_setup(
    admin: httpx.Client,
    ids: dict[str, str],
    *,
    offer_timeout: int = 60,
    disposition_required: bool = False,
) -> None:
    """The support queue (chat, voice) served by agent1 and agent2 (until `omnidesk demo`
    sets this up itself)."""
    queue = {
        "id": "support",
        "name": "Support",
        "channels": ["chat", "voice"],
        "steps": [{"target": None}],
        "offer_timeout_seconds": offer_timeout,
        "wrap_up_seconds": 120,
        "disposition_required": disposition_required,
    }
    ok(admin.post("/api/v1/routing/queues", json=queue), 201)
    for name in ("agent1", "agent2"):
        profile = {"queues": {"support": 1}, "capacity": {"chat": 2, "voice": 1}}
        ok(admin.put(f"/api/v1/routing/agents/{ids[name]}", json=profile))


@pytest.fixture(scope="module")
def site() -> Iterator[dict[str, Any]]:
    """The customer's website: another origin, serving the page set in `page["html"]`."""
    page: dict[str, Any] = {"html": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    page["origin"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield page
    httpd.shutdown()
    thread.join(timeout=10)
