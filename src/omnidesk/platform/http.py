"""HTTP plumbing shared by every domain's endpoints: request context, errors, limits, metrics."""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnidesk.core.routing.errors import RoutingError
from omnidesk.platform.auth import service as auth
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.errors import (
    DomainError,
    Forbidden,
    TooManyRequests,
    Unauthenticated,
    problem,
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


async def authenticate(request: Request | WebSocket, uow_session: Any) -> Principal:
    services = services_of(request)
    token = bearer_token(request.headers)
    if token is not None:
        return await auth.from_token(uow_session, token)
    cookie = request.cookies.get(services.settings.session_cookie_name)
    if not cookie:
        raise Unauthenticated("not logged in")
    principal = await auth.from_cookie(uow_session, services.settings, cookie)
    if isinstance(request, Request) and request.method not in SAFE_METHODS:
        # Double submit: the CSRF token is readable by our own pages only and must come back
        # in a header, which a cross-site form or image cannot set.
        sent = request.headers.get(services.settings.csrf_header_name, "")
        if not principal.csrf_token or not _same(sent, principal.csrf_token):
            raise Forbidden(f"missing or wrong {services.settings.csrf_header_name} header")
    return principal


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def request_context(request: Request) -> AsyncIterator[Context]:
    """One session per request; the endpoint commits with `async with ctx.uow:`."""
    services = services_of(request)
    session = services.db.session(SYSTEM)
    try:
        principal = replace(await authenticate(request, session), ip=client_ip(request))
        # Authentication is its own short transaction (it may touch last_seen): on SQLite an open
        # transaction holds the write lock, which other units of work in this request need.
        await session.commit()
        uow = UnitOfWork(
            session, services.bus, tenant_id=principal.tenant_id, actor_id=principal.user_id
        )
        yield Context(principal, uow, client_ip(request))
    finally:
        await session.close()


Ctx = Annotated[Context, Depends(request_context)]


def _problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        extra = {k: v for k, v in exc.extra.items() if k != "retry_after"}
        return _problem_response(
            exc.status, problem(exc.status, exc.code, exc.title, exc.detail, **extra), headers
        )

    @app.exception_handler(RoutingError)
    async def _routing(request: Request, exc: RoutingError) -> JSONResponse:
        # The pure core's errors carry their status and code; render them like domain errors.
        status = exc.http_status
        title = {404: "Not found", 409: "Conflict", 422: "Invalid request"}.get(
            status, "Bad request"
        )
        return _problem_response(
            status, problem(status, exc.code, title, exc.message, **exc.details)
        )

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
        titles = {
            400: "Bad request",
            404: "Not found",
            405: "Method not allowed",
            413: "Payload too large",
        }
        code = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
        return _problem_response(
            exc.status_code,
            problem(exc.status_code, code, titles.get(exc.status_code, "Error"), str(exc.detail)),
            dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return _problem_response(
            500, problem(500, "internal_error", "Internal error", "an unexpected error occurred")
        )


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
