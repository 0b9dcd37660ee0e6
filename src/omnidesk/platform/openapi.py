"""What /openapi.json says beyond the routes' own models: error responses and authentication.

Every error is rendered as one problem document (RFC 9457, `application/problem+json`) by the
error handlers; this declares it on every route, for the statuses that route can return:

- 422 where the route takes parameters or a body (validation), and 400/413/415 with a body
  (malformed JSON, too large, not JSON);
- 401 and 403 where the route needs a login (no or a bad credential; a missing CSRF header or
  a role that may not do this);
- 404 where a path names something;
- whatever a route declares itself with `responses=errors(...)` (409, 404 without a path id, ...).

It also names the two ways to authenticate (a bearer API token, or the session cookie plus the
CSRF header), so a generated client knows which calls need credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from omnidesk.platform.http import PROBLEM, request_context

TITLES = {
    400: "Malformed request (e.g. the body is not valid JSON)",
    401: "Not logged in, or the credential is not valid",
    403: "Not allowed (role or team), or the CSRF header is missing",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body is too large",
    415: "The body is not JSON",
    422: "Invalid input; `errors` or `field` names what",
    429: "Too many attempts; retry after `Retry-After` seconds",
    503: "Not available right now",
}
# Public routes (no login) that still refuse: the login itself. Declared here because the
# auth endpoints are the platform's own and have no domain decorator to say it.
PUBLIC_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/auth/login"): (401, 429),
}
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (POST /api/v1/api-tokens): `Authorization: Bearer <token>`.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "omnidesk_session",
        "description": "The session cookie of POST /api/v1/auth/login; requests that change "
        "something also send the login's `csrf_token` in the X-CSRF-Token header.",
    },
}


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error (RFC 9457). `code` is stable for programs; `detail` is for people. Errors may
    carry more members, e.g. `errors` (validation), `field`, or the ids involved."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["/problems/not_found"])
    title: str
    status: int
    detail: str
    code: str = Field(examples=["not_found"])
    errors: list[FieldError] | None = None


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: the error statuses this route returns besides the
    ones `describe_api` derives (see the module docstring)."""
    return {status: {"description": TITLES.get(status, "Error")} for status in statuses}


def documented(model: Any, code: int = 200, *refused: int) -> dict[str, Any]:
    """Route decorator arguments that declare the response body as `model` without re-encoding
    what the route returns (its own JSON form: timestamps, field order and all go out as they
    are). The conformance test (tests/platform/test_openapi_conformance.py) holds the answers
    to `model`; `refused` are error statuses as for `errors`."""
    responses: dict[int | str, dict[str, Any]] = {code: {"model": model}, **errors(*refused)}
    return {"response_model": None, "status_code": code, "responses": responses}


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` of a route that reads its JSON body itself (to check a signature over
    the raw bytes before parsing): the body is still the named model in the document, given to
    `describe_api(..., body_models=...)`."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def describe_api(
    app: FastAPI,
    *,
    session_cookie: str = "omnidesk_session",
    body_models: Iterable[type[BaseModel]] = (),
) -> None:
    """Make app.openapi() declare problem responses and security on every route, and the
    request body models of routes that read their bodies themselves (`body_schema`)."""
    generate = app.openapi
    models = tuple(body_models)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                body = model.model_json_schema(
                    by_alias=True, ref_template="#/components/schemas/{model}"
                )
                schemas.update(body.pop("$defs", {}))
                schemas[model.__name__] = body
            _describe(app, schema, session_cookie)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _describe(app: FastAPI, schema: dict[str, Any], session_cookie: str) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    # FastAPI's own 422 models describe a body this app never sends (its handler renders
    # problems); drop them when nothing refers to them any more.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    cookie = {**SECURITY_SCHEMES["sessionCookie"], "name": session_cookie}
    components["securitySchemes"] = {
        "bearerAuth": SECURITY_SCHEMES["bearerAuth"],
        "sessionCookie": cookie,
    }
    for path, method, route in _api_routes(app):
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        authenticated = _depends_on(route.dependant, request_context)
        if authenticated:
            operation["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
        statuses = _statuses(route, method, path, authenticated)
        responses = operation.setdefault("responses", {})
        for status in sorted(statuses):
            entry = responses.setdefault(str(status), {})
            if entry.get("description") in (None, "", "Validation Error"):
                entry["description"] = TITLES.get(status, "Error")
            entry["content"] = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        operation["responses"] = dict(sorted(responses.items()))


def _api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(full path, method, route) of every documented route, however FastAPI nests routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI versions that copy included routes into app.routes
        found: list[Any] = list(app.routes)
    else:
        found = list(iter_route_contexts(app.routes))
    for context in found:
        route = getattr(context, "original_route", context)
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in context.methods or ():
                yield context.path_format, method, route


def _statuses(route: APIRoute, method: str, path: str, authenticated: bool) -> set[int]:
    dependant = route.dependant
    # Declared error statuses become problems, unless the route describes that body itself.
    statuses = {
        int(code)
        for code, entry in route.responses.items()
        if str(code).isdigit() and int(code) >= 400 and not {"model", "content"} & set(entry)
    }
    statuses.update(PUBLIC_ERRORS.get((method, path), ()))
    params = _all(dependant, lambda d: [*d.path_params, *d.query_params, *d.header_params])
    body = _all(dependant, lambda d: list(d.body_params)) or _reads_body(route)
    if params or body:
        statuses.add(422)
    if body:
        statuses.update((400, 413, 415))
    if authenticated:
        statuses.update((401, 403))
    if dependant.path_params:
        statuses.add(404)
    return statuses


def _reads_body(route: APIRoute) -> bool:
    # A route that reads the raw body itself (an upload) declares it in openapi_extra.
    return bool((route.openapi_extra or {}).get("requestBody"))


def _all(dependant: Dependant, pick: Callable[[Dependant], Iterable[Any]]) -> list[Any]:
    found = list(pick(dependant))
    for sub in dependant.dependencies:
        found.extend(_all(sub, pick))
    return found


def _depends_on(dependant: Dependant, target: Callable[..., Any]) -> bool:
    return any(d.call is target or _depends_on(d, target) for d in dependant.dependencies)
