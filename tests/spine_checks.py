"""Assertions shared by the spine's HTTP tests (problem details, the event log, the audit log)."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    """A problem-details response with this status whose detail mentions every fragment."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text}"
    )
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    body = response.json()
    assert body["status"] == status, body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert body["title"] and body["type"].startswith("/problems/"), body
    for fragment in fragments:
        assert fragment.lower() in body["detail"].lower(), f"{fragment!r} not in {body['detail']!r}"
    return body  # type: ignore[no-any-return]


def all_events(admin: Any, after: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Every event an admin sees after `after`, and the log's cursor."""
    events: list[dict[str, Any]] = []
    while True:
        response = admin.get("/api/v1/events", params={"after": after, "limit": 1000})
        assert response.status_code == 200, response.text
        page = response.json()
        events.extend(page["events"])
        if page["last_event_id"] == after:
            return events, after
        after = page["last_event_id"]


def event_cursor(admin: Any) -> int:
    return all_events(admin)[1]


def assert_no_new_events(admin: Any, cursor: int) -> None:
    """Nothing the requests since `cursor` did is in the log. The KPI ingester's figures
    (`analytics.*_figures`) are left out: the server pushes them on its own time (e.g. every
    team's when it first reads a tenant's log), whatever the requests were."""
    events, _ = all_events(admin, cursor)
    done = [e for e in events if not e["event"].startswith("analytics.")]
    assert done == [], f"the event log grew: {done}"


def audit_entries(admin: Any) -> list[dict[str, Any]]:
    """The whole audit log, newest first."""
    response = admin.get("/api/v1/audit-log", params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route, HTTP and WebSocket, however FastAPI nests included routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI versions that copy included routes into app.routes
        found: list[Any] = list(app.routes)
    else:
        found = list(iter_route_contexts(app.routes))
    result = set()
    for route in found:
        methods = getattr(route, "methods", None)
        if not methods:  # WebSocket routes and mounts have none
            kind = type(getattr(route, "original_route", route)).__name__
            methods = {"WEBSOCKET"} if "WebSocket" in kind else {"MOUNT"}
        for method in set(methods) - {"HEAD", "OPTIONS"}:
            result.add((method, route.path))
    return result


def events_of(admin: Any, kind: str) -> list[dict[str, Any]]:
    """Every event of one type an admin sees."""
    return [e for e in all_events(admin)[0] if e["event"] == kind]
