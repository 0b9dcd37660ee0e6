"""Domain errors carry their HTTP status; one handler renders them as problem details (RFC 9457).

Anything that looks like a `Problem` is rendered the same way: the platform's `DomainError` and
its subclasses, and error types of layers that must not import the platform (the pure routing
core's `RoutingError`), which the composition root registers (platform/http.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

# The title of a problem whose type does not name its own.
TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
}


class Problem(Protocol):
    """An error the HTTP layer renders as problem+json; it may also have a `title`."""

    @property
    def status(self) -> int: ...

    @property
    def code(self) -> str: ...

    @property
    def detail(self) -> str: ...

    @property
    def extra(self) -> Mapping[str, Any]: ...


def problem_of(error: Problem) -> dict[str, Any]:
    """The problem-details body of an error (`retry_after` travels as a header, not here)."""
    title = getattr(error, "title", None) or TITLES.get(error.status, "Error")
    extra = {k: v for k, v in error.extra.items() if k != "retry_after"}
    return problem(error.status, error.code, title, error.detail, **extra)


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Invalid(DomainError):
    status = 422
    code = "invalid"
    title = "Invalid request"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class TooManyRequests(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body
