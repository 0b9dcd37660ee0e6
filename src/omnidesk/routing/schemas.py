"""API shapes of routing. Queue definitions use the engine's own JSON form (docs/routing.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from omnidesk.directory.schemas import Input

Name = Annotated[str, Field(min_length=1, max_length=128)]


class AgentProfile(Input):
    """An agent's routing profile; id, name and time zone come from the user, and teams from
    the user's teams unless given (a later membership change replaces them with those)."""

    skills: dict[str, Annotated[int, Field(ge=1, le=5)]] = Field(default_factory=dict)
    capacity: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: {"voice": 1, "chat": 3, "email": 2}
    )
    blending: dict[str, list[str]] = Field(default_factory=dict)
    queues: dict[str, int] = Field(default_factory=dict)
    languages: list[str] = Field(default_factory=list)
    working_hours: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)
    teams: Annotated[list[uuid.UUID], Field(max_length=100)] | None = None


class AgentStateIn(Input):
    state: Literal["available", "away", "offline"]
    reason: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ContactIn(Input):
    queue_id: Name
    channel: Annotated[str, Field(min_length=1, max_length=32)]
    contact_id: Name | None = None
    priority: Annotated[int, Field(ge=-1000, le=1000)] = 0
    attributes: dict[str, Any] = Field(default_factory=dict)
    emergency: bool = False
    preferred_agent_id: str | None = None
    preferred_for_seconds: Annotated[float, Field(gt=0, le=86400)] = 30.0
    last_agent_id: str | None = None
    sticky_for_seconds: Annotated[float, Field(gt=0, le=86400)] = 30.0


class RejectIn(Input):
    reason: Annotated[str, Field(max_length=200)] | None = None


class WrapUpEndIn(Input):
    disposition: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class WrapUpExtendIn(Input):
    seconds: Annotated[float, Field(gt=0, le=3600)] | None = None


class TransferIn(Input):
    target_kind: Literal["agent", "queue", "external"]
    target: Annotated[str, Field(min_length=1, max_length=128)]
    reserve_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0


class ConsultIn(Input):
    target_kind: Literal["agent", "queue"]
    target: Annotated[str, Field(min_length=1, max_length=128)]
    consult_id: Name | None = None  # generated when not given


class ConsultEndIn(Input):
    transfer: bool = False  # warm transfer: the consultant takes the contact over


class RequeueIn(Input):
    queue_id: Name | None = None


class PriorityIn(Input):
    priority: Annotated[int, Field(ge=-1000, le=1000)]
