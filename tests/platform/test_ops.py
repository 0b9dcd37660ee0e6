"""Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from omnidesk.app import create_app
from omnidesk.platform import migrate
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.settings import load_settings
from spine_checks import assert_problem, routes


def test_healthz_and_readyz(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "migration": migrate.head_revision()}


def test_readyz_fails_when_migrations_are_behind(client, app) -> None:
    async def go() -> None:
        session = app.state.services.db.session(SYSTEM)
        try:
            await session.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
            await session.commit()
        finally:
            await session.close()

    client.portal.call(go)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "0000_older" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200  # the process itself is fine


def test_readyz_fails_when_the_database_is_unreachable(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/missing-dir/omnidesk.db"
    app = create_app(load_settings(None, database_url=url, auto_migrate=False))
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["detail"].startswith("database:")
        assert client.get("/healthz").json() == {"status": "ok"}


def _samples(client: Any, name: str) -> list[str]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return [line for line in response.text.splitlines() if line.startswith(name + "{")]


def test_metrics_count_requests_by_route_template(tenants, as_user, client) -> None:
    admin = as_user("admin")
    agent_id = tenants["demo"].ids["agent1"]
    for _ in range(3):
        assert admin.get(f"/api/v1/users/{agent_id}").status_code == 200
    assert admin.get("/api/v1/users/" + tenants["other"].ids["agent1"]).status_code == 404
    # (Under the API: any other page is the desk's, served at "/".)
    assert client.get("/api/v1/no/such/page").status_code == 404

    requests = _samples(client, "omnidesk_http_requests_total")
    by_labels = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in requests}
    user_route = 'route="/api/v1/users/{user_id}"'
    assert by_labels[f'omnidesk_http_requests_total{{method="GET",{user_route},status="200"}}'] == 3
    assert by_labels[f'omnidesk_http_requests_total{{method="GET",{user_route},status="404"}}'] == 1
    assert any('route="unmatched"' in line and 'status="404"' in line for line in requests)
    # Templates, never raw paths: ids would make the label set unbounded.
    text_ = client.get("/metrics").text
    assert agent_id not in text_ and "/no/such/page" not in text_
    assert _samples(client, "omnidesk_http_request_duration_seconds_count")


def test_openapi_documents_every_route(client, app) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Omnidesk"
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    http_routes = {
        r
        for r in routes(app)
        if r[0] not in ("WEBSOCKET", "MOUNT")
        and r[1] not in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
        # The survey page: HTML for customers, not the API (whose JSON twin,
        # /api/v1/surveys/responses/{token}, is documented).
        and r[1] != "/s/{token}"
    }
    assert http_routes, "no routes found"
    assert http_routes <= documented, sorted(http_routes - documented)
    # Request bodies are documented as closed: unknown fields are refused, and clients can see so.
    schemas = spec["components"]["schemas"]
    for name in ("UserCreate", "UserUpdate", "TeamCreate", "LoginIn", "TokenCreate"):
        assert schemas[name].get("additionalProperties") is False, name
    docs = client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


def test_method_not_allowed_names_every_method_of_the_path(client) -> None:
    """405's Allow lists what the path supports, though each method is its own route."""
    spec = client.get("/openapi.json").json()
    for template, operations in spec["paths"].items():
        path = re.sub(r"{[^}]+}", "x", template)
        response = client.options(path)
        assert_problem(response, 405)
        expected = ", ".join(sorted(method.upper() for method in operations))
        assert response.headers["allow"] == expected, (template, response.headers["allow"])
    tokens = client.options("/api/v1/api-tokens")
    assert tokens.headers["allow"] == "GET, POST"
    asset = client.post(_docs_assets(client)[0])
    assert_problem(asset, 405)
    assert asset.headers["allow"] == "GET, HEAD"


def _docs_assets(client: Any) -> list[str]:
    html = client.get("/docs").text
    return re.findall(r"""(?:src|href)=['"]([^'"]+\.(?:js|css))['"]""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_need_no_internet(client, page) -> None:
    """Swagger UI and ReDoc load their scripts from this server, never from a CDN."""
    response = client.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert not re.search(r"""(?:src|href)=['"](?:https?:)?//""", response.text), response.text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", response.text)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, response.text
    if page == "/docs":
        assert any(a.endswith(".css") for a in assets), response.text
    for asset in assets:
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 1000, asset
