"""Typed domain errors of the routing core.

Every error carries a stable `code` and the `http_status` the service layer renders, as plain
data: the HTTP layer renders it with the one handler of every domain error (it reads `status`,
`code`, `detail` and `extra`, the platform's `Problem` shape), and the core imports nothing to
offer them. The engine validates a command completely before it changes anything: when
`Engine.handle` raises, the command had no effect (timers that were already due did fire; their
events are on `error.events`, see `Engine.handle`).
"""

from __future__ import annotations

from typing import Any


class RoutingError(Exception):
    code: str = "routing_error"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details
        # Events produced by timers that fired before the command was rejected (see Engine.handle).
        self.events: list[Any] = []

    # The problem-details view (RFC 9457) the HTTP layer reads; the same data under its names.
    @property
    def status(self) -> int:
        return self.http_status

    @property
    def detail(self) -> str:
        return self.message

    @property
    def extra(self) -> dict[str, Any]:
        return self.details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


# --- 404: unknown ids ---------------------------------------------------------------------------


class NotFound(RoutingError):
    code = "not_found"
    http_status = 404


class UnknownQueue(NotFound):
    code = "unknown_queue"

    def __init__(self, queue_id: str) -> None:
        super().__init__(f"unknown queue {queue_id!r}", queue_id=queue_id)


class UnknownAgent(NotFound):
    code = "unknown_agent"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"unknown agent {agent_id!r}", agent_id=agent_id)


class UnknownContact(NotFound):
    code = "unknown_contact"

    def __init__(self, contact_id: str) -> None:
        super().__init__(f"unknown contact {contact_id!r}", contact_id=contact_id)


class UnknownOffer(NotFound):
    code = "unknown_offer"

    def __init__(self, offer_id: str) -> None:
        super().__init__(f"unknown offer {offer_id!r}", offer_id=offer_id)


class UnknownWrapUp(NotFound):
    code = "unknown_wrap_up"

    def __init__(self, agent_id: str, contact_id: str) -> None:
        super().__init__(
            f"agent {agent_id!r} is not wrapping up contact {contact_id!r}",
            agent_id=agent_id,
            contact_id=contact_id,
        )


# --- 409: illegal transitions ------------------------------------------------------------------


class Conflict(RoutingError):
    code = "conflict"
    http_status = 409


class DuplicateId(Conflict):
    code = "duplicate_id"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class OfferNotPending(Conflict):
    """The offer exists(ed) but is no longer pending: it timed out, was revoked or answered."""

    code = "offer_not_pending"


class CapacityExceeded(Conflict):
    code = "capacity_exceeded"


# --- 422: invalid definitions or command payloads ------------------------------------------------


class InvalidDefinition(RoutingError):
    code = "invalid_definition"
    http_status = 422


class InvalidRule(InvalidDefinition):
    """A step's target expression does not compile; carries the rule's line and column."""

    code = "invalid_rule"

    def __init__(self, message: str, *, line: int, column: int, field: str) -> None:
        super().__init__(
            f"{field}: {message} (line {line}, column {column})",
            line=line,
            column=column,
            field=field,
        )
        self.line = line
        self.column = column
