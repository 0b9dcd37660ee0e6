"""HTTP plumbing shared by every domain's endpoints: request context, errors, limits, metrics."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Mount, compile_path
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnidesk.platform.auth import service as auth
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.errors import (
    TITLES,
    DomainError,
    Forbidden,
    PayloadTooLarge,
    Problem,
    Unauthenticated,
    problem,
    problem_of,
)
from omnidesk.platform.logging import get_logger
from omnidesk.platform.services import AppServices
from omnidesk.platform.uow import UnitOfWork

log = get_logger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PROBLEM = "application/problem+json"


def services_of(request: Request | WebSocket) -> AppServices:
    return request.app.state.services  # type: ignore[no-any-return]


def client_ip(request: Request | WebSocket) -> str | None:
    return request.client.host if request.client else None


@dataclass
class Context:
    principal: Principal
    uow: UnitOfWork
    ip: str | None


def bearer_token(headers: Any) -> str | None:
    value: str | None = headers.get("authorization")
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthenticated("use 'Authorization: Bearer <token>'")
    return credentials.strip()


def _credential(request: Request | WebSocket) -> tuple[str, str]:
    """The credential a request names itself with: ("token", …) or ("cookie", …)."""
    token = bearer_token(request.headers)
    if token is not None:
        return "token", token
    cookie = request.cookies.get(services_of(request).settings.session_cookie_name)
    if not cookie:
        raise Unauthenticated("not logged in")
    return "cookie", cookie


async def _resolve(
    request: Request | WebSocket, kind: str, credential: str, uow_session: Any, *, write: bool
) -> Principal:
    services = services_of(request)
    if kind == "token":
        return await auth.from_token(uow_session, services.identities, credential, write=write)
    return await auth.from_cookie(
        uow_session, services.settings, services.identities, credential, write=write
    )


def _check_csrf(request: Request | WebSocket, kind: str, principal: Principal) -> None:
    if kind != "cookie" or not isinstance(request, Request) or request.method in SAFE_METHODS:
        return
    # Double submit: the CSRF token is readable by our own pages only and must come back in a
    # header, which a cross-site form or image cannot set.
    header = services_of(request).settings.csrf_header_name
    sent = request.headers.get(header, "")
    if not principal.csrf_token or not _same(sent, principal.csrf_token):
        raise Forbidden(f"missing or wrong {header} header")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def authenticated(request: Request | WebSocket) -> Principal:
    """Who sends this request or socket.

    A credential resolved a moment ago is answered from the process's principal cache
    (platform/auth/cache.py: a few seconds, forgotten at once when this process changes the
    user, their teams, sessions or tokens). Otherwise authentication reads in a read-only
    session (`Database.read_session`): on SQLite every writing transaction takes the
    database's one write lock, and a reconnect storm of hundreds of sockets (or every request
    of a busy desk) must not queue behind writers just to be recognised. Only when the session
    or token row must change — its last-seen touch, at most once a minute, or an expired
    session's removal — does it resolve again in its own short writing transaction."""
    services = services_of(request)
    kind, credential = _credential(request)
    key = services.principals.key(kind, credential)
    principal = services.principals.get(key)
    if principal is None:
        services.metrics.auth_lookups.labels("miss").inc()
        principal = await _from_database(request, kind, credential)
        services.principals.put(key, principal)
    else:
        services.metrics.auth_lookups.labels("hit").inc()
    _check_csrf(request, kind, principal)
    return principal


async def _from_database(request: Request | WebSocket, kind: str, credential: str) -> Principal:
    services = services_of(request)
    async with services.db.read_session(SYSTEM) as reading:
        try:
            return await _resolve(request, kind, credential, reading, write=False)
        except auth.TouchDue as due:
            touch: auth.TouchDue | None = due
        except auth.WriteNeeded:
            touch = None
    session = services.db.session(SYSTEM)
    try:
        if touch is not None:
            # Good; only its last-seen mark is due: one UPDATE in a short transaction.
            await touch.touch(session)
            principal = touch.principal
        else:
            principal = await _resolve(request, kind, credential, session, write=True)
        await session.commit()
        return principal
    finally:
        await session.close()


async def request_context(request: Request) -> AsyncIterator[Context]:
    """One session per request; the endpoint commits with `async with ctx.uow:`."""
    services = services_of(request)
    principal = replace(await authenticated(request), ip=client_ip(request))
    session = services.db.session(principal.tenant_id)
    try:
        uow = UnitOfWork(
            session, services.bus, tenant_id=principal.tenant_id, actor_id=principal.user_id
        )
        yield Context(principal, uow, client_ip(request))
    finally:
        await session.close()


Ctx = Annotated[Context, Depends(request_context)]


async def read_body(request: Request, limit: int, refusal: str, field: str | None = None) -> bytes:
    """The raw request body (an upload), refused with 413 `refusal` as soon as it passes
    `limit` bytes: a huge body is never held whole."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise PayloadTooLarge(refusal, field=field)
    return bytes(data)


def _problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install_error_handlers(app: FastAPI, problem_types: Iterable[type[Exception]] = ()) -> None:
    """One renderer for every domain error: `DomainError` and the `problem_types` of layers that
    cannot import the platform (each an exception class whose instances are `Problem`s)."""

    async def _problem(request: Request, exc: Exception) -> JSONResponse:
        error = cast(Problem, exc)  # registered below for problem types only
        retry_after = error.extra.get("retry_after")
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return _problem_response(error.status, problem_of(error), headers)

    handled: list[type[Exception]] = [DomainError, *problem_types]
    for problem_type in handled:
        app.add_exception_handler(problem_type, _problem)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            detail = next(e for e in errors if e.get("type") == "json_invalid")
            ctx = detail.get("ctx") or {}
            return _problem_response(
                400,
                problem(
                    400,
                    "malformed_json",
                    "Malformed JSON",
                    f"the body is not valid JSON: {ctx.get('error', 'parse error')}",
                ),
            )
        if isinstance(exc.body, bytes | bytearray):
            # FastAPI hands the raw bytes on when the Content-Type is not JSON; "body: Input should
            # be a valid dictionary" would not tell the client what to change.
            sent = request.headers.get("content-type") or "no Content-Type"
            return _problem_response(
                415,
                problem(
                    415,
                    "unsupported_media_type",
                    "Unsupported media type",
                    f"request bodies must be JSON with Content-Type: application/json, not {sent}",
                ),
            )
        cleaned = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in errors
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in cleaned)
        return _problem_response(
            422, problem(422, "validation_failed", "Validation failed", summary, errors=cleaned)
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        titles = {status: TITLES[status] for status in (400, 404, 405, 413)}
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # The router names the methods of the first route matching the path only; GET and
            # POST on one path are two routes, and the client must learn of both.
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        code = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
        return _problem_response(
            exc.status_code,
            problem(exc.status_code, code, titles.get(exc.status_code, "Error"), str(exc.detail)),
            headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return _problem_response(
            500, problem(500, "internal_error", "Internal error", "an unexpected error occurred")
        )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on the request's path."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    # Below a proxy's prefix routes match the path without it; inside a mount, root_path is the
    # mount's own prefix and the whole path is what the app's route table knows.
    paths = {path, path[len(root) :]} if root and path.startswith(root) else {path}
    methods: set[str] = set()
    for pattern, route_methods in _route_patterns(request.app):
        if any(pattern.fullmatch(p) for p in paths):
            methods |= route_methods
    return sorted(methods)


def _route_patterns(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    patterns: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "route_patterns", None
    )
    if patterns is None:
        # FastAPI nests included routers rather than copying their routes; this walks them
        # with the full paths (prefix included).
        patterns = []
        for route in iter_route_contexts(app.routes):
            if not route.path:
                continue
            if route.methods:
                regex, _, _ = compile_path(route.path)
                patterns.append((regex, frozenset(route.methods)))
            elif isinstance(route.original_route, Mount) and isinstance(
                route.original_route.app, StaticFiles
            ):
                under = re.compile(re.escape(route.path) + "/.*")
                patterns.append((under, frozenset({"GET", "HEAD"})))
        app.state.route_patterns = patterns
    return patterns


class BodyLimitMiddleware:
    """Rejects request bodies over the limit with 413, by Content-Length or while streaming.

    `overrides` maps a path prefix to its own limit (an upload route that takes larger bodies
    than the API's JSON); the longest prefix that matches whole path segments wins.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Longest first, so "/a/b" is tried before "/a"; trailing slashes do not matter.
        self.overrides = sorted(
            ((prefix.rstrip("/"), limit) for prefix, limit in (overrides or {}).items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides:
            # By whole segments: "/upload" must not also cover "/uploads-admin".
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                body = problem(400, "bad_content_length", "Bad request", "invalid Content-Length")
                await JSONResponse(body, status_code=400, media_type=PROBLEM)(scope, receive, send)
                return
            if int(declared) > max_bytes:
                body = problem(
                    413,
                    "payload_too_large",
                    "Payload too large",
                    f"request bodies are limited to {max_bytes} bytes",
                )
                await JSONResponse(body, status_code=413, media_type=PROBLEM)(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise HTTPException(413, f"request bodies are limited to {max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


RECEIVED_AT = "omnidesk.received_at"


def received_at(request: Request) -> datetime:
    """When this request reached the server (stamped by MetricsMiddleware; now without it)."""
    stamp = request.scope.get(RECEIVED_AT)
    return datetime.fromtimestamp(stamp if stamp is not None else time.time(), UTC)


class MetricsMiddleware:
    """Counts requests by route template (never raw paths: ids would explode the label set)."""

    def __init__(self, app: ASGIApp, api_prefix: str) -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        # When the request reached the server, for whoever judges it by that (routing honours
        # an offer's answer that arrived in time even if it was handled late): received_at().
        scope[RECEIVED_AT] = time.time()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            # Routes of included routers report their path without the router's prefix.
            if scope["path"].startswith(self.api_prefix) and route is not None:
                template = self.api_prefix + template
            metrics = scope["app"].state.metrics
            metrics.requests.labels(scope["method"], template, str(status)).inc()
            metrics.latency.labels(scope["method"], template).observe(time.perf_counter() - start)
