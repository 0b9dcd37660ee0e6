"""/openapi.json describes bodies, errors and authentication; the README lists every route group."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from omnidesk.app import create_app
from omnidesk.platform.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite:///unused.db"))  # no lifespan: not opened
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_error_status_is_a_problem_document(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            # The readiness probe's 503 is its own small JSON for load balancers.
            if status.startswith(("4", "5")) and (path, status) != ("/readyz", "503"):
                assert response["content"] == PROBLEM, (method, path, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_authenticated_routes_say_so_and_declare_401_and_403(document: dict[str, Any]) -> None:
    public = {"/healthz", "/readyz", "/metrics", "/api/v1/auth/login"}
    # Providers' webhooks: authenticated by the account's signature (401), not by a login.
    webhooks = ("/api/v1/channels/whatsapp/", "/api/v1/channels/webhook/")
    # The chat widget's visitor API: no login; its widget key (404) and the visitor's identity
    # headers (401) instead (docs/channels.md, "Web chat").
    widget = "/api/v1/chat/widget/"
    # A sent survey's answer: no login, its token is the credential (404 unknown, 409, 410).
    survey = "/api/v1/surveys/responses/"
    for method, path, operation in _operations(document):
        if path.startswith(survey):
            assert "security" not in operation and "404" in operation["responses"], path
            continue
        if path.startswith(widget):
            assert "security" not in operation and "404" in operation["responses"], path
            if path.endswith(("/conversation", "/messages", "/files", "/offline")):
                assert "401" in operation["responses"], (method, path)
            continue
        if path.startswith(webhooks) and method == "POST":
            assert "security" not in operation and "401" in operation["responses"], path
            continue
        if path in public or path.startswith(webhooks):
            assert "security" not in operation, (method, path)
            continue
        assert operation["security"] == [{"bearerAuth": []}, {"sessionCookie": []}], path
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= set(operation["responses"]), (method, path)
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"401", "422", "429"} <= set(login)


def test_request_bodies_are_typed(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            schema = content["schema"]
            if media == "application/json":
                assert "$ref" in schema, (method, path, schema)  # a named model, not {}
    queue = document["components"]["schemas"]["QueueDefinition"]
    assert {"id", "channels", "steps", "hours"} <= set(queue["properties"])
    assert queue["additionalProperties"] is False


def test_the_readme_lists_every_route_group(document: dict[str, Any]) -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    assert rows, "the README's endpoint table is gone"
    for path in document["paths"]:
        segments = [s for s in path.split("/") if s]
        if segments[:2] != ["api", "v1"]:
            assert any(f"`{path}`" in row for row in rows), path
            continue
        group = f"/api/v1/{segments[2]}"
        matching = [row for row in rows if re.search(re.escape(group) + r"[`/?]", row)]
        assert matching, f"no README row for {group} ({path})"
        # The group's second level too (routing/queues, wfm/erlang, voice/recordings, ...).
        if len(segments) > 3 and not segments[3].startswith("{"):
            assert any(f"/{segments[3]}" in row for row in matching), path
