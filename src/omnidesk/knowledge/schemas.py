"""API shapes of knowledge and scripts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from omnidesk.platform.fields import Id, Name, ShortName
from omnidesk.platform.schemas import Input

Kind = Literal["article", "script"]
Step = Annotated[str, Field(min_length=1, max_length=2000)]


class ArticleIn(Input):
    kind: Kind = "article"
    title: Name
    body: Annotated[str, Field(max_length=50_000)] = ""
    steps: Annotated[list[Step], Field(max_length=100)] = Field(
        default_factory=list, description="A script's steps, in order."
    )
    queue_ids: Annotated[list[Id], Field(max_length=100)] = Field(
        default_factory=list, description="The queues it is for; empty: every queue."
    )
    tags: Annotated[list[ShortName], Field(max_length=20)] = Field(default_factory=list)


class ArticleOut(BaseModel):
    id: uuid.UUID
    kind: Kind
    title: str
    body: str
    steps: list[str]
    queue_ids: list[str]
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None
