"""What every API request body shares, whichever domain defines it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator


class Input(BaseModel):
    """Every request body rejects unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL: refuse it as bad input (422), not as a database error.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value
