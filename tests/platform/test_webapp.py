"""The browser app at "/" (platform/webapp.py): its pages and assets, the API untouched beside
it, and a page that says what to do when the app was not built."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from omnidesk.app import create_app
from omnidesk.platform.settings import Settings


@pytest.fixture
def built(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>desk</title>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    return dist


def test_pages_assets_and_the_api_beside_them(settings: Settings, built: Path) -> None:
    with TestClient(create_app(settings.model_copy(update={"web_dir": built}))) as client:
        for page in ("/", "/agent", "/supervisor?x=1", "/login"):
            r = client.get(page)
            assert (r.status_code, r.text) == (200, "<!doctype html><title>desk</title>"), page
            assert r.headers["cache-control"] == "no-cache"
        asset = client.get("/assets/index-abc123.js")
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
        assert client.get("/assets/missing.js").status_code == 404
        assert client.get("/favicon.svg").text == "<svg/>"
        assert client.get("/../../etc/passwd").text.startswith("<!doctype")  # never outside
        # The API keeps its own answers: a problem for an unknown path, 405 with its Allow.
        unknown = client.get("/api/v1/no-such-thing")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        wrong = client.get("/api/v1/routing/offers/x/accept")
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
        assert client.get("/openapi.json").json()["info"]["title"] == "Omnidesk"
        assert client.get("/healthz").status_code == 200


def test_a_missing_build_says_how_to_make_it(settings: Settings, tmp_path: Path) -> None:
    empty = settings.model_copy(update={"web_dir": tmp_path / "nothing"})
    with TestClient(create_app(empty)) as client:
        r = client.get("/agent")
        assert r.status_code == 503
        assert "make install" in r.text
        assert client.get("/healthz").status_code == 200
