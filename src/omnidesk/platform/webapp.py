"""Serving the built browser app (web/, built by `make install`) at "/".

A single-page app: its hashed assets under /assets are cached for good; any other page is
answered with index.html (never cached, so a new build is picked up at once) and the app's own
router shows it. A middleware rather than a route: the API, its documents and the operations
endpoints never reach it, so an unknown API path stays the API's 404 problem and a wrong method
its 405 with the API's Allow (a catch-all route would match them). Without a build, every page
says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
# Paths the app never answers: the API, survey pages, its documents and the operations
# endpoints.
RESERVED = ("/api/", "/s/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics")

MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Omnidesk: desk not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The desk is not built yet</h1>
<p>This server runs, but the browser app's files are missing from <code>{directory}</code>.</p>
<p>Build them with <code>make install</code> (or <code>npm ci &amp;&amp; npm run build</code> in
<code>web/</code>), then reload this page. The API is up meanwhile:
see <a href="/docs">/docs</a>.</p>
</body></html>
"""


def default_web_dir() -> Path:
    """web/dist of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


class WebAppMiddleware:
    def __init__(self, app: ASGIApp, directory: Path) -> None:
        self.app = app
        self.directory = directory.resolve()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or path.startswith(RESERVED)
        ):
            await self.app(scope, receive, send)
            return
        await self.page(path)(scope, receive, send)

    def page(self, path: str) -> Response:
        index = self.directory / "index.html"
        if not index.is_file():
            return HTMLResponse(MISSING.format(directory=self.directory), status_code=503)
        wanted = (self.directory / path.lstrip("/")).resolve()
        inside = wanted.is_relative_to(self.directory)
        if path.startswith("/assets/"):
            if not inside or not wanted.is_file():
                return PlainTextResponse("not found", status_code=404)
            # Vite names assets by their content's hash: a name never changes what it holds.
            return FileResponse(
                wanted, headers={"Cache-Control": "public, max-age=31536000, immutable"}
            )
        if inside and wanted.is_file():
            return FileResponse(wanted, headers={"Cache-Control": "no-cache"})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
