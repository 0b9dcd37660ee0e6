"""API shapes of team communication (and the payloads of its events)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from omnidesk.platform.auth.roles import Role
from omnidesk.platform.schemas import Input

ThreadKind = Literal["direct", "team", "all"]
Body = Annotated[str, Field(min_length=1, max_length=4000)]
Note = Annotated[str, Field(max_length=200)]


class UserRef(BaseModel):
    id: uuid.UUID
    display_name: str


class ContactUser(UserRef):
    role: Role


class TeamRef(BaseModel):
    id: uuid.UUID
    name: str


class ThreadInfo(BaseModel):
    """What a thread is, the same for everyone in it."""

    id: uuid.UUID
    kind: ThreadKind
    team: TeamRef | None = Field(None, description="The team of a `team` thread.")
    users: list[UserRef] = Field(
        default_factory=list, description="The two users of a `direct` thread."
    )


class ImMessageOut(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    number: int = Field(description="1, 2, ... within the thread")
    author: UserRef
    body: str
    broadcast: bool
    posted_at: datetime


class ThreadOut(ThreadInfo):
    """A thread as one user sees it: how far they have read it."""

    last_number: int
    last_read: int
    unread: int
    last_message: ImMessageOut | None


class Posted(BaseModel):
    thread: ThreadInfo
    message: ImMessageOut


class MessageIn(Input):
    """Exactly one target: an existing thread, a user (their direct thread with you), a team
    (its thread), or everyone (broadcasts only, by supervisors and admins)."""

    thread_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    everyone: bool = False
    body: Body
    broadcast: bool = Field(
        False, description="A supervisor's announcement to a team (always so for everyone)."
    )

    @model_validator(mode="after")
    def _one_target(self) -> MessageIn:
        given = [self.thread_id, self.user_id, self.team_id, self.everyone or None]
        if sum(x is not None for x in given) != 1:
            raise ValueError("give exactly one of thread_id, user_id, team_id, everyone")
        if not self.body.strip():
            raise ValueError("the message is blank")
        return self


class ReadIn(Input):
    up_to: int = Field(ge=0, description="The number of the last message read.")


class ReadOut(BaseModel):
    thread_id: uuid.UUID
    last_read: int


class HandIn(Input):
    note: Note | None = None


class HandOut(BaseModel):
    user: UserRef
    note: str | None
    raised_at: datetime


class Contacts(BaseModel):
    """Whom you may write to: your teams' threads and users you share a team with as supervisor
    or supervised (admins: everyone)."""

    teams: list[TeamRef]
    users: list[ContactUser]
